"""Recipients per request are bounded, and unknown userids are found from the company roster: a
list naming 1000 strangers costs one roster read, not one directory lookup each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from wecom_oa import people
from wecom_oa.api import MAX_PARTIES, MAX_TAGS, MAX_USERIDS
from wecom_oa.directory import StaticDirectory
from wecom_oa.errors import InputLimitExceeded, InvalidInput
from wecom_oa.notices.models import check_recipient_counts

COMPANY = Path(__file__).resolve().parents[2] / "fixtures" / "directory.yaml"


class CountingDirectory:
    """The fixture company, counting what a WeCom-backed directory would have to ask WeCom."""

    def __init__(self) -> None:
        self.inner, self.calls = StaticDirectory.from_yaml(COMPANY), Counter()

    def user(self, userid: str):
        self.calls["user"] += 1
        return self.inner.user(userid)

    def department_members(self, dept_id: int, *, recursive: bool = True) -> list[str]:
        self.calls["members"] += 1
        return self.inner.department_members(dept_id, recursive=recursive)

    def preload(self, userids) -> None:
        self.calls["preload"] += 1


def test_given_999_unknown_userids_then_400_without_a_lookup_each() -> None:
    directory = CountingDirectory()
    ghosts = [f"ghost-{i}" for i in range(999)]  # with zhangsan: MAX_USERIDS

    with pytest.raises(InvalidInput) as caught:
        people.require_members(["zhangsan", *ghosts], "reports.userid", directory=directory)

    assert directory.calls["user"] == 1 and directory.calls["members"] == 1  # zhangsan, and the roster once
    assert "'ghost-0'" in caught.value.message and "and 979 more" in caught.value.message
    assert len(caught.value.details) == 999 and "zhangsan" not in caught.value.message


def test_given_a_few_names_then_they_are_looked_up_one_by_one_without_the_roster() -> None:
    directory = CountingDirectory()

    with pytest.raises(InvalidInput, match="'ghost'"):
        people.require_members(["zhangsan", "ghost"], "touser", directory=directory)
    assert directory.calls == Counter(user=2)


def test_given_an_inactive_member_in_a_long_list_then_it_is_named_as_inactive() -> None:
    directory = CountingDirectory()
    names = ["zhangsan", "lisi", "lina", "wangwu", "chenshi"]

    assert people.problems(names, directory=directory) == [("chenshi", "inactive member")]
    assert people.problems(names, directory=directory, active=False) == []


def test_given_a_list_longer_than_the_limit_then_400_naming_max_userids_before_any_lookup() -> None:
    directory = CountingDirectory()

    with pytest.raises(InputLimitExceeded, match=f"the limit is {MAX_USERIDS} per request \\(max_userids\\)"):
        people.require_members(["zhangsan"] * (MAX_USERIDS + 1), "touser", directory=directory)
    assert not directory.calls


@pytest.mark.parametrize(("body", "named"), [
    ({"touser": [f"u{i}" for i in range(MAX_USERIDS + 1)]}, "touser: 1001 recipients; the limit is 1000 per notice (max_userids)"),
    ({"touser": "|".join(f"u{i}" for i in range(MAX_USERIDS + 1))}, "(max_userids)"),
    ({"toparty": list(range(MAX_PARTIES + 1))}, f"toparty: {MAX_PARTIES + 1} recipients; the limit is {MAX_PARTIES}"),
    ({"totag": ["t"] * (MAX_TAGS + 1)}, "(max_tags)"),
])
def test_given_a_notice_over_a_recipient_limit_then_400_naming_it(body, named) -> None:
    with pytest.raises(InputLimitExceeded) as caught:
        check_recipient_counts(body)
    assert named in caught.value.message


def test_given_a_notice_at_the_recipient_limits_then_it_passes() -> None:
    check_recipient_counts({"touser": ["u"] * MAX_USERIDS, "toparty": [1] * MAX_PARTIES, "totag": "a|b"})
