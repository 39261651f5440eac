"""The 18:00 daily summary per project group, and the markdown splitting every digest uses.

`build_daily_summary` turns plain open-item lists (tasks, tickets, approvals with due times and SLA
ratios) into sections with counts and the top N by risk, each with a link. `render_markdown` turns a
summary into one or more messages, split on line boundaries within the channel's byte limit (robot
markdown 4096 bytes, app/appchat markdown 2048); nothing is dropped: long titles are shortened with a
visible "…" and the link, overflow beyond top N is counted with a link, and a line longer than a whole
message is wrapped rather than cut. Text comes from `templates/digests.yaml` via `Templates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field

from wecom_oa.errors import InvalidInput
from wecom_oa.texts import (
    ROBOT_MARKDOWN_LIMIT,
    Templates,
    format_duration,
    shorten,
    split_markdown,
)
from wecom_oa.validation import Model

if TYPE_CHECKING:
    from wecom_oa.worktime.calendar import WorkdayCalendar


ItemKind = Literal["task", "ticket", "approval", "alert"]
SectionKey = Literal["tasks", "overdue_tickets", "open_tickets", "approvals", "risks"]
SECTION_ORDER: tuple[SectionKey, ...] = ("risks", "overdue_tickets", "open_tickets", "approvals", "tasks")


# ---------------------------------------------------------------------------------------------
# summary model


class OpenItem(Model):
    """An open task, ticket or approval as read from the open-items index (never history)."""

    model_config = ConfigDict(extra="ignore")
    kind: ItemKind
    id: str = Field(min_length=1)
    title: str
    group: str = Field(min_length=1)
    owner: str | None = None  # responsible userid
    owner_name: str | None = None
    due_at: datetime | None = None
    sla_ratio: float | None = Field(default=None, ge=0)  # SLA time used / allowed; >= 1 is breached


class SummaryLine(Model):
    kind: ItemKind
    id: str
    title: str
    url: str
    owner: str | None
    owner_name: str | None
    due_at: datetime | None
    risk: float
    overdue_by: timedelta | None


class Section(Model):
    key: SectionKey
    count: int
    items: list[SummaryLine]
    shown_above: int = 0  # counted here but already listed in an earlier section (not repeated)

    @property
    def more(self) -> int:
        return self.count - self.shown_above - len(self.items)


class DailySummary(Model):
    group: str
    group_name: str
    day: date
    generated_at: datetime
    timezone: str
    sections: list[Section]
    list_url: str | None = None

    @property
    def is_empty(self) -> bool:
        return all(s.count == 0 for s in self.sections)

    def section(self, key: SectionKey) -> Section:
        return next(s for s in self.sections if s.key == key)


def risk_of(item: OpenItem, now: datetime) -> float:
    """SLA ratio when known; else 1.0 past due and 0.0 otherwise (sort key, higher first)."""
    if item.sla_ratio is not None:
        return item.sla_ratio
    return 1.0 if item.due_at is not None and item.due_at <= now else 0.0


def is_overdue(item: OpenItem, now: datetime) -> bool:
    return (item.due_at is not None and item.due_at <= now) or (item.sla_ratio is not None and item.sla_ratio >= 1)


def _sort_key(item: OpenItem, now: datetime) -> tuple[float, datetime, str, str]:
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return (-risk_of(item, now), item.due_at or far, item.kind, item.id)


def item_url(base_url: str, links: Mapping[str, str], item: OpenItem) -> str:
    path = links.get(item.kind, f"/{item.kind}s/{{id}}")
    return base_url.rstrip("/") + path.format(id=quote(item.id, safe=""))


def build_daily_summary(
    group: str,
    items: Iterable[OpenItem],
    now: datetime,
    *,
    group_name: str | None = None,
    base_url: str,
    links: Mapping[str, str] | None = None,
    top_n: int = 5,
    risk_threshold: float = 0.8,
    item_kinds: Sequence[ItemKind] = (),
    timezone: str = "Asia/Shanghai",
) -> DailySummary:
    """One group's summary: sections risks / overdue tickets / pending approvals / unfinished tasks.

    Items of other groups are ignored. Each section keeps its full count and the top N by risk
    (SLA ratio, then earliest due, then id: deterministic). Raises InvalidInput for a naive `now`.
    """
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware", details={"field": "now"})
    if top_n < 1:
        raise InvalidInput("top_n must be at least 1", details={"field": "top_n"})
    links = links or {}
    mine = [i for i in items if i.group == group and (not item_kinds or i.kind in item_kinds)]
    mine.sort(key=lambda i: _sort_key(i, now))
    members: dict[SectionKey, list[OpenItem]] = {
        "risks": [i for i in mine if is_overdue(i, now) or risk_of(i, now) >= risk_threshold],
        "overdue_tickets": [i for i in mine if i.kind == "ticket" and is_overdue(i, now)],
        "open_tickets": [i for i in mine if i.kind == "ticket"],
        "approvals": [i for i in mine if i.kind == "approval"],
        "tasks": [i for i in mine if i.kind == "task"],
    }
    # 未完成工单 counts every open ticket but lists only those the risk sections above did not.
    risky = {(i.kind, i.id) for i in members["risks"]} | {(i.kind, i.id) for i in members["overdue_tickets"]}
    calm = [i for i in members["open_tickets"] if (i.kind, i.id) not in risky]
    sections = [
        Section(key=key, count=len(members[key]), items=[_line(i, now, base_url, links) for i in members[key][:top_n]])
        for key in SECTION_ORDER if key != "open_tickets"
    ]
    sections.insert(SECTION_ORDER.index("open_tickets"), Section(
        key="open_tickets", count=len(members["open_tickets"]), shown_above=len(members["open_tickets"]) - len(calm),
        items=[_line(i, now, base_url, links) for i in calm[:top_n]]))
    list_path = links.get("list")
    return DailySummary(
        group=group,
        group_name=group_name or group,
        day=now.astimezone(ZoneInfo(timezone)).date(),
        generated_at=now,
        timezone=timezone,
        sections=sections,
        list_url=base_url.rstrip("/") + list_path.format(group=quote(group, safe="")) if list_path else None,
    )


def build_daily_summaries(
    groups: Mapping[str, str], items: Iterable[OpenItem], now: datetime, **options: Any
) -> dict[str, DailySummary]:
    """Summaries for every group in `groups` (id -> display name), reading `items` once."""
    by_group: dict[str, list[OpenItem]] = {g: [] for g in groups}
    for item in items:
        if item.group in by_group:
            by_group[item.group].append(item)
    return {
        g: build_daily_summary(g, by_group[g], now, group_name=name, **options) for g, name in groups.items()
    }


def _line(item: OpenItem, now: datetime, base_url: str, links: Mapping[str, str]) -> SummaryLine:
    overdue_by = now - item.due_at if item.due_at is not None and item.due_at <= now else None
    return SummaryLine(
        kind=item.kind,
        id=item.id,
        title=item.title,
        url=item_url(base_url, links, item),
        owner=item.owner,
        owner_name=item.owner_name,
        due_at=item.due_at,
        risk=risk_of(item, now),
        overdue_by=overdue_by,
    )


def should_send(
    calendar: WorkdayCalendar, day: date, *, summary: DailySummary | None = None, only_if_non_empty: bool = True
) -> bool:
    """Send on workdays of the calendar (调休 Saturdays included, holidays excluded); an empty summary
    with `only_if_non_empty` sends nothing."""
    if not calendar.is_workday(day):
        return False
    return not (only_if_non_empty and summary is not None and summary.is_empty)


# ---------------------------------------------------------------------------------------------
# rendering


def render_markdown(
    summary: DailySummary,
    templates: Templates,
    *,
    limit_bytes: int = ROBOT_MARKDOWN_LIMIT,
    mentions: bool = True,
    max_title_chars: int = 60,
) -> list[str]:
    """Markdown messages for one summary, each within `limit_bytes` UTF-8 bytes.

    `mentions`: write `<@userid>` for owners (robot `markdown` only; not `markdown_v2` or app
    messages, where the owner's name is written instead).
    """
    tz = ZoneInfo(summary.timezone)
    t = "daily_summary"
    lines = [templates.fill(f"{t}.header", group=summary.group_name, date=summary.day.isoformat())]
    counts = {s.key: s.count for s in summary.sections}
    lines.append(templates.fill(f"{t}.totals", **counts))
    if summary.is_empty:
        lines.append(templates.fill(f"{t}.empty"))
    for section in summary.sections:
        if section.count == 0 or section.count == section.shown_above:
            continue
        lines.append(templates.fill(f"{t}.section", title=templates.text(f"{t}.titles.{section.key}"), count=section.count))
        for index, line in enumerate(section.items, start=1):
            lines.append(_item_text(templates, line, index, tz, mentions=mentions, max_title_chars=max_title_chars))
        if section.more > 0:
            key = f"{t}.more_link" if summary.list_url else f"{t}.more"
            lines.append(templates.fill(key, more=section.more, url=summary.list_url or ""))
    return split_markdown(lines, limit_bytes, continued=templates.text(f"{t}.continued"))


def _item_text(
    templates: Templates, line: SummaryLine, index: int, tz: ZoneInfo, *, mentions: bool, max_title_chars: int
) -> str:
    t = "daily_summary"
    owner = ""
    if line.owner:
        who = f"<@{line.owner}>" if mentions else (line.owner_name or line.owner)
        owner = templates.fill(f"{t}.owner", who=who)
    due = ""
    if line.overdue_by is not None:
        due = templates.fill(f"{t}.overdue", overdue=format_duration(templates, line.overdue_by))
    elif line.due_at is not None:
        due = templates.fill(f"{t}.due", due=line.due_at.astimezone(tz).strftime("%m-%d %H:%M"))
    sla = templates.fill(f"{t}.sla", pct=f"{line.risk:.0%}") if line.risk > 0 and line.overdue_by is None else ""
    return templates.fill(
        f"{t}.item",
        index=index,
        kind=templates.text(f"{t}.kinds.{line.kind}"),
        title=shorten(line.title, max_title_chars),
        url=line.url,
        owner=owner,
        due=due,
        sla=sla,
    )
