"""SLA policy files: the shipped seed, selection by type and priority, durations, and validation
errors that name the file and the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from wecom_oa.errors import ConfigurationError
from wecom_oa.worktime.calendar import load_calendars
from wecom_oa.worktime.sla import SlaPolicySet, load_sla_policies, parse_duration

MINIMAL_CLOCK = "target: 1h"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sla_policies.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def policy_file(clock_body: str, clock: str = "first_response") -> str:
    indented = "\n".join("        " + line for line in clock_body.splitlines())
    return f"policies:\n  - name: p\n    clocks:\n      {clock}:\n{indented}\n"


def test_given_shipped_policies_when_loaded_then_repair_seed_matches_the_issue():
    policies = load_sla_policies(calendars=load_calendars())
    repair = policies.select("repair", "P3").clocks["first_response"]

    assert repair.target == timedelta(hours=1) and repair.time == "business"
    assert repair.warnings == [0.8]
    assert [(e.level, e.after, e.notify[0].kind, e.notify[0].level) for e in repair.escalations] == [
        (1, timedelta(hours=1), "handler_leader", 1),
        (2, timedelta(hours=3), "handler_leader", 2),
    ]
    assert repair.stop_on == ["accept"]
    complaint = policies.select("complaint").clocks["resolution"]
    assert (complaint.target, complaint.time, complaint.pausable) == (timedelta(hours=24), "wall", False)


def test_given_policies_when_selecting_then_the_most_specific_match_wins():
    policies = load_sla_policies()

    assert policies.select("repair", "P1").name == "repair-urgent"
    assert policies.select("repair", "P2").name == "repair"
    assert policies.select("repair").name == "repair"
    assert policies.select("consulting", "P1").name == "default"


def test_given_no_catch_all_when_nothing_matches_then_configuration_error():
    policies = SlaPolicySet.model_validate(
        {"policies": [{"name": "r", "match": {"type": "repair"}, "clocks": {"resolution": {"target": "8h"}}}]}
    )

    with pytest.raises(ConfigurationError, match="no SLA policy matches"):
        policies.select("complaint", "P1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1h", timedelta(hours=1)), ("90m", timedelta(minutes=90)), ("1h30m", timedelta(minutes=90)),
     ("1.5h", timedelta(minutes=90)), ("45s", timedelta(seconds=45)), ("PT2H", "PT2H")],
)
def test_given_duration_text_when_parsed_then_hours_minutes_seconds(text, expected):
    assert parse_duration(text) == expected


def test_given_iso_duration_in_a_policy_when_loaded_then_accepted():
    policies = SlaPolicySet.model_validate({"policies": [{"name": "d", "clocks": {"resolution": {"target": "PT2H"}}}]})

    assert policies.policies[0].clocks["resolution"].target == timedelta(hours=2)
    assert policies.policies[0].clocks["resolution"].stop_on == ["resolve", "close"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (policy_file("target: soon"), "policies.0.clocks.first_response.target"),
        (policy_file("target: 0m"), "target must be positive"),
        (policy_file("target: 1h\nwarnings: [1.5]"), "policies.0.clocks.first_response.warnings"),
        (policy_file("target: 1h\ntime: calendar"), "policies.0.clocks.first_response.time"),
        (
            policy_file("target: 1h\nescalations: [{after: 1h, notify: [{kind: user}]}]"),
            "userid is required",
        ),
        (
            policy_file("target: 1h\nescalations: [{after: 1h, notify: [{kind: role, tag: x, level: 2}]}]"),
            "level is only allowed",
        ),
        (
            policy_file("target: 1h\nescalations: [{after: 3h, notify: [{kind: handler}]}, {after: 1h, notify: [{kind: handler}]}]"),
            "must come after level 1",
        ),
        (policy_file("target: 1h\nescalations: [{after: 1h, notify: []}]"), "notify"),
        (policy_file(MINIMAL_CLOCK, clock="update"), "clocks.update.stop_on"),
        (policy_file(MINIMAL_CLOCK, clock="response"), "use the name 'first_response'"),
        (policy_file("target: 1h\nsurprise: true"), "surprise"),
        (policy_file(MINIMAL_CLOCK) + policy_file(MINIMAL_CLOCK).replace("policies:\n", "").replace("name: p", "name: q"), "same type/priority"),
        ("policies: []\n", "policies"),
    ],
)
def test_given_a_bad_policy_file_when_loaded_then_error_names_file_and_field(tmp_path, body, expected):
    with pytest.raises(ConfigurationError) as err:
        load_sla_policies(write(tmp_path, body))

    assert err.value.message.startswith("sla_policies.yaml")
    assert expected in err.value.message


def test_given_a_clock_with_an_unknown_calendar_when_loaded_with_calendars_then_error_names_it(tmp_path):
    path = write(tmp_path, policy_file("target: 1h\ncalendar: night-shift"))

    assert load_sla_policies(path).policies[0].clocks["first_response"].calendar == "night-shift"
    with pytest.raises(ConfigurationError, match=r"policies\.0\.clocks\.first_response\.calendar.*night-shift"):
        load_sla_policies(path, calendars=load_calendars())
