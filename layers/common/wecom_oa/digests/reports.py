"""Missing daily reports: who has not reported for N workdays in a row (default 3).

Only workdays of the business calendar count (weekends and holidays are skipped, 调休 make-up
Saturdays count). By default today is not counted: the 09:30 run checks the workdays before today.
Reports come from WeCom 汇报 (journal) or POST /reports; either way a report covers one date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from wecom_oa.directory import Directory, leader
from wecom_oa.errors import NotFound
from wecom_oa.texts import Templates
from wecom_oa.validation import Model

if TYPE_CHECKING:
    from wecom_oa.worktime.calendar import WorkdayCalendar


class ReportPolicy(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)
    consecutive_workdays: int = Field(default=3, ge=1, le=30)
    lookback_days: int = Field(default=60, ge=7, le=366)  # bounds the streak search
    include_today: bool = False
    notify_leader: bool = True  # the leader hears once per streak, when it reaches the threshold
    # After the first reminder at the threshold, the member is reminded again every this many
    # missing workdays of the same streak (not every day).
    remind_every_workdays: int = Field(default=3, ge=1, le=30)
    # Optional HR follow-up (绩效面谈): these userids hear once per streak when it reaches hr_after_workdays.
    hr_recipients: tuple[str, ...] = ()
    hr_after_workdays: int = Field(default=5, ge=1, le=60)
    # WeCom 汇报 journals that count as a daily report: template name or template id (管理后台 → 汇报 →
    # the template's settings). Both empty: journals are not imported (POST /reports only).
    journal_templates: tuple[str, ...] = ("日报",)
    journal_template_ids: tuple[str, ...] = ()

    @property
    def imports_journals(self) -> bool:
        return bool(self.journal_templates or self.journal_template_ids)

    def journal_counts(self, template_name: str, template_id: str) -> bool:
        """Whether a journal of this template is a daily report."""
        return template_name in self.journal_templates or bool(template_id and template_id in self.journal_template_ids)


class DailyReport(Model):
    """A daily report received (WeCom 汇报 callback/sync, or POST /reports)."""

    model_config = ConfigDict(extra="forbid")
    userid: str = Field(min_length=1)
    date: date
    source: Literal["wecom", "api"] = "api"


class ReportsPost(Model):
    """POST /reports: `{reports: [{userid, date}, …]}`, or one report `{userid, date}` alone."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reports": [{"userid": "zhangsan", "date": "2026-12-03"}, {"userid": "lisi", "date": "2026-12-03"}]},
        {"userid": "wangwu", "date": "2026-12-03"},
    ]})
    reports: list[DailyReport] = Field(min_length=1, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _one_report(cls, data: Any) -> Any:
        return {"reports": [data]} if isinstance(data, Mapping) and "reports" not in data else data


class MissingReport(Model):
    userid: str
    streak: int  # consecutive missing workdays, up to the lookback
    dates: list[date]  # those workdays, oldest first
    leader: str | None = None


class LeaderNote(Model):
    leader: str
    members: list[MissingReport]


def dates_by_user(reports: Iterable[DailyReport]) -> dict[str, set[date]]:
    out: dict[str, set[date]] = defaultdict(set)
    for report in reports:
        out[report.userid].add(report.date)
    return dict(out)


def workdays_back(calendar: WorkdayCalendar, today: date, *, include_today: bool, lookback_days: int) -> list[date]:
    """Workdays from the latest counted day backwards (newest first), within `lookback_days`."""
    first = today if include_today else today - timedelta(days=1)
    days = (first - timedelta(days=k) for k in range(lookback_days))
    return [d for d in days if calendar.is_workday(d)]


def journal_window_start(calendar: WorkdayCalendar, today: date, policy: ReportPolicy) -> date:
    """The first local day whose reports can change today's decision: the oldest of the latest
    `consecutive_workdays` counted workdays (the lookback's first day when it holds fewer).

    Importing journals from this day on suffices when the digest runs every workday: each run's
    window reaches back past the previous run, so together they cover every day without gaps."""
    days = workdays_back(calendar, today, include_today=policy.include_today, lookback_days=policy.lookback_days)
    if len(days) >= policy.consecutive_workdays:
        return days[policy.consecutive_workdays - 1]
    first = today if policy.include_today else today - timedelta(days=1)
    return first - timedelta(days=policy.lookback_days - 1)


def find_missing(
    users: Iterable[str],
    report_dates: Mapping[str, Iterable[date]],
    calendar: WorkdayCalendar,
    today: date,
    policy: ReportPolicy | None = None,
    *,
    active_since: Mapping[str, date] | None = None,
    excused: Mapping[str, Iterable[date]] | None = None,
) -> list[MissingReport]:
    """Users whose latest `consecutive_workdays` workdays all lack a report, sorted by userid.

    `active_since` (when tracking started for the user: first run, or first seen in the directory)
    stops the streak: days before it are not held against the user. `excused` days (approved leave)
    neither count as missing nor break the streak.
    """
    policy = policy or ReportPolicy()
    workdays = workdays_back(calendar, today, include_today=policy.include_today, lookback_days=policy.lookback_days)
    since = active_since or {}
    off = {u: set(days) for u, days in (excused or {}).items()}
    out = []
    for userid in sorted(set(users)):
        reported = set(report_dates.get(userid, ()))
        streak = []
        for day in workdays:
            if day in reported or (userid in since and day < since[userid]):
                break
            if day in off.get(userid, ()):
                continue
            streak.append(day)
        if len(streak) >= policy.consecutive_workdays:
            out.append(MissingReport(userid=userid, streak=len(streak), dates=sorted(streak)))
    return out


def with_leaders(missing: Iterable[MissingReport], directory: Directory) -> tuple[list[MissingReport], list[LeaderNote]]:
    """Fill each user's level-1 leader and group the notes per leader (users without one get no note)."""
    filled: list[MissingReport] = []
    per_leader: dict[str, list[MissingReport]] = defaultdict(list)
    for item in missing:
        try:
            boss = leader(directory, item.userid, 1)
        except NotFound:
            boss = None
        item = item.model_copy(update={"leader": boss})
        filled.append(item)
        if boss is not None:
            per_leader[boss].append(item)
    notes = [LeaderNote(leader=boss, members=members) for boss, members in sorted(per_leader.items())]
    return filled, notes


def render_reminder(item: MissingReport, templates: Templates) -> str:
    return templates.fill(
        "reports.reminder",
        streak=item.streak,
        dates="、".join(d.strftime("%m-%d") for d in item.dates),
        last=item.dates[-1].strftime("%m-%d"),
    )


def render_leader_note(note: LeaderNote, templates: Templates, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    lines = [templates.fill("reports.leader_header", count=len(note.members))]
    for item in note.members:
        lines.append(templates.fill(
            "reports.leader_line",
            name=names.get(item.userid, item.userid),
            userid=item.userid,
            streak=item.streak,
            since=item.dates[0].strftime("%m-%d"),
        ))
    return "\n".join(lines)
