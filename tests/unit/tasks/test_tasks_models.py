"""Tasks API models and the pure helpers of tasks.service: validation names the field; ids and
handover due times are derived deterministically (the group check is the service's, tested over
HTTP in tests/integration/digests/test_tasks_e2e.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wecom_oa.tasks.models import CreateTaskRequest, DoneRequest

VALID = {"title": "提交结项报告", "owner": "zhangsan", "group": "proj-a", "due_at": "2026-03-05T18:00:00+08:00"}


def _fields(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


def test_given_a_complete_body_when_validated_then_due_at_keeps_its_offset() -> None:
    request = CreateTaskRequest.model_validate(VALID)

    assert request.due_at == datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("UTC"))
    assert request.model_dump(mode="json")["due_at"] == "2026-03-05T18:00:00+08:00"


@pytest.mark.parametrize(("change", "field"), [
    ({"due_at": "2026-03-05T18:00:00"}, "due_at"),
    ({"owner": "zhang san"}, "owner"),
    ({"title": "   "}, "title"),
    ({"assignee": "lisi"}, "assignee"),
    ({"external_id": ""}, "external_id"),
])
def test_given_one_bad_field_when_validated_then_the_error_names_it(change, field) -> None:
    with pytest.raises(ValidationError) as info:
        CreateTaskRequest.model_validate({**VALID, **change})

    assert _fields(info.value) == [field]


def test_given_a_missing_owner_and_group_when_validated_then_both_are_named() -> None:
    with pytest.raises(ValidationError) as info:
        CreateTaskRequest.model_validate({"title": "x"})

    assert sorted(_fields(info.value)) == ["group", "owner"]


def test_given_done_bodies_when_validated_then_by_is_optional_and_extra_keys_rejected() -> None:
    assert DoneRequest.model_validate({}).by is None
    with pytest.raises(ValidationError) as info:
        DoneRequest.model_validate({"by": "lisi", "when": "now"})
    assert _fields(info.value) == ["when"]


@settings(max_examples=50, deadline=None)
@given(a=st.text(min_size=1, max_size=80), b=st.text(min_size=1, max_size=80))
def test_given_external_ids_when_mapped_to_task_ids_then_equal_ids_exactly_for_equal_external_ids(a, b) -> None:
    from wecom_oa.tasks.service import task_id_for

    assert task_id_for(a) == task_id_for(a)
    assert (task_id_for(a) == task_id_for(b)) is (a == b)
    assert task_id_for(a).isascii() and "/" not in task_id_for(a)


@pytest.mark.parametrize(("start", "expected"), [
    ("2026-03-05", "2026-03-05T09:00:00+08:00"),
    ("2026-03-05T14:00:00+08:00", "2026-03-05T09:00:00+08:00"),  # half-day leave: still 09:00 that day
    ("", None),
    (None, None),
    ("next week", None),
])
def test_given_a_leave_start_when_the_handover_due_is_derived_then_it_is_0900_local(start, expected) -> None:
    from wecom_oa.tasks.service import handover_due

    due = handover_due(start, ZoneInfo("Asia/Shanghai"))

    assert (due.isoformat() if due else None) == expected
