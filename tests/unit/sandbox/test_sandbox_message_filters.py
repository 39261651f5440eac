"""`GET /_sandbox/messages` can be narrowed to one person (or robot), one msgtype, and what came
after a sequence number, so a person following the tour reads their own inbox, not everything."""

from __future__ import annotations

from local.server import filter_messages

MESSAGES = [
    {"seq": 1, "msgtype": "text", "recipients": {"userids": ["lina", "lisi"]}},
    {"seq": 2, "msgtype": "template_card", "recipients": {"userids": ["lina"]}},
    {"seq": 3, "msgtype": "markdown", "robot": "project-group", "recipients": {}},
    {"seq": 4, "msgtype": "text", "recipients": {"userids": ["zhangsan"]}},
]


def _seqs(**args: str) -> list[int]:
    return [m["seq"] for m in filter_messages(MESSAGES, args)]


def test_given_filters_then_only_matching_messages_are_listed() -> None:
    assert _seqs() == [1, 2, 3, 4]
    assert _seqs(to="lina") == [1, 2]
    assert _seqs(to="project-group") == [3]
    assert _seqs(msgtype="text") == [1, 4]
    assert _seqs(since="2") == [3, 4]
    assert _seqs(to="lina", msgtype="text", since="0") == [1]
    assert _seqs(since="soon") == [1, 2, 3, 4]  # not a sequence number: ignored
