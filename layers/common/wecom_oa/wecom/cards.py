"""Template-card builders (PROTOCOL §3.3); every people-facing text comes from `templates/cards.yaml`.

Cards and their button keys (the callback handler matches these keys):

| builder                     | card_type           | buttons (key)          |
|-----------------------------|---------------------|------------------------|
| `approval_card`             | button_interaction  | `approve`, `reject`    |
| `approval_final_card`       | button_interaction  | greyed out (`replace_text` 已同意/已驳回) |
| `ticket_card`               | button_interaction  | `accept`               |
| `ticket_escalation_notice`  | text_notice         | —                      |
| `ack_card`                  | button_interaction  | `ack` (确认已读)        |
| `ack_final_card`            | button_interaction  | greyed out (已确认)     |

Final-state cards keep the original `task_id` and card type and set `replace_text`, which WeCom
shows as a grey, non-clickable button; pass them to `WeComClient.update_template_card(card=…)`.
Alternatively `update_template_card(replace_name=…)` with `final_button_text(…)`.

Templates are rendered by `render`: `{name}` placeholders only (no attribute or index access, no
conversions, nothing evaluated); a missing or unknown name raises `CardTemplateError` naming the
card and the placeholder. Placeholders are also checked against each card's names when the YAML
is loaded, so a typo fails at load, not at the first send.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ConfigDict, ValidationError, model_validator

from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.validation import Model
from wecom_oa.wecom.client import TASK_ID_RE

APPROVE, REJECT, ACCEPT, ACK = "approve", "reject", "accept", "ack"
RESOLVE, TRANSFER, COMMENT, TRANSFER_SUBMIT, DONE, REJECT_SUBMIT = (
    "resolve", "transfer", "comment", "transfer_submit", "done", "reject_submit")
TICKET_ACTION_KEYS = (RESOLVE, TRANSFER, COMMENT)
TRANSFER_QUESTION, REASON_QUESTION, OTHER_REASON = "transfer_to", "reason", "other"
MAX_SELECT_OPTIONS = 10
MAX_HORIZONTAL_ITEMS = 6
_PREFIX_RE = re.compile(r"^[0-9A-Za-z_\-]{1,40}$")
_formatter = string.Formatter()


class CardTemplateError(ConfigurationError):
    """cards.yaml is invalid or a template names a placeholder the card does not provide."""

    code = "card_template_error"


def render(template: str, values: Mapping[str, Any], *, where: str) -> str:
    """Substitute `{name}` placeholders from `values`; `where` names the template in errors."""
    out: list[str] = []
    for literal, field, spec, conversion in _parse(template, where):
        out.append(literal)
        if field is None:
            continue
        _check_field(field, spec, conversion, where)
        if field not in values:
            raise CardTemplateError(
                f"{where}: placeholder {{{field}}} is not available (available: {', '.join(sorted(values))})"
            )
        value = values[field]
        out.append(format(value, spec) if spec else str(value))
    return "".join(out)


def placeholders(template: str, *, where: str) -> set[str]:
    names = set()
    for _, field, spec, conversion in _parse(template, where):
        if field is not None:
            _check_field(field, spec, conversion, where)
            names.add(field)
    return names


def _parse(template: str, where: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(_formatter.parse(template))
    except ValueError as exc:
        raise CardTemplateError(f"{where}: malformed template ({exc}); write {{{{ and }}}} for braces") from None


def _check_field(field: str, spec: str | None, conversion: str | None, where: str) -> None:
    if not field.isidentifier():
        raise CardTemplateError(f"{where}: placeholder {{{field}}} must be a plain name")
    if conversion or (spec and "{" in spec):
        raise CardTemplateError(f"{where}: placeholder {{{field}}} may not use conversions or nested fields")


# -- the YAML model -------------------------------------------------------------------------------

class _Section(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Button(_Section):
    text: str
    style: int = 1


class Source(_Section):
    desc: str = ""
    desc_color: int = 0


class ApprovalTexts(_Section):
    title: str
    desc: str
    stage: str
    warning_line: str
    more_fields_key: str
    more_fields_value: str
    buttons: dict[str, Button]

    @model_validator(mode="after")
    def _keys(self) -> ApprovalTexts:
        if set(self.buttons) != {APPROVE, REJECT}:
            raise ValueError(f"approval.buttons must be exactly {APPROVE} and {REJECT}")
        return self


class ApprovalFinalTexts(_Section):
    title: str
    desc: str
    result: str
    approved: str
    rejected: str


class TicketTexts(_Section):
    title: str
    desc: str
    priority_key: str
    due_key: str
    type_key: str
    reporter_key: str
    accept_button: Button
    accepted: str
    priorities: dict[str, str]


class EscalationTexts(_Section):
    title: str
    desc: str
    emphasis_title: str
    emphasis_desc: str
    ticket_key: str
    assignee_key: str
    due_key: str
    priority_key: str


class DurationTexts(_Section):
    days: str
    hours: str
    minutes: str
    less_than_minute: str


class AckTexts(_Section):
    title: str
    desc: str
    deadline: str
    button: Button


class AckFinalTexts(_Section):
    result: str
    replace_text: str


class TicketActionTexts(_Section):
    title: str
    desc: str
    buttons: dict[str, Button]
    transfer_title: str
    transfer_question: str
    transfer_team: str
    transfer_submit: Button
    resolved: str
    transferred: str

    @model_validator(mode="after")
    def _keys(self) -> TicketActionTexts:
        if set(self.buttons) != set(TICKET_ACTION_KEYS):
            raise ValueError(f"ticket_actions.buttons must be exactly {', '.join(TICKET_ACTION_KEYS)}")
        return self


class TaskTexts(_Section):
    title: str
    desc: str
    button: Button
    done: str


class RejectReasonTexts(_Section):
    title: str
    desc: str
    question: str
    reasons: list[str]
    other: str
    submit: Button

    @model_validator(mode="after")
    def _count(self) -> RejectReasonTexts:
        if not 1 <= len(self.reasons) <= 9:  # WeCom's select shows at most 10 options, 'other' included
            raise ValueError("reject_reason.reasons: give 1 to 9 reasons")
        return self


_APPROVAL_NAMES = {"type_name", "applicant_name", "applicant", "submitted_at", "approval_id", "stage",
                   "stage_name"}
_TICKET_NAMES = {"title", "ticket_id", "priority_name", "due", "type_name", "reporter_name"}
ALLOWED_PLACEHOLDERS: dict[str, set[str]] = {
    "approval.title": _APPROVAL_NAMES,
    "approval.desc": _APPROVAL_NAMES,
    "approval.stage": _APPROVAL_NAMES,
    "approval.warning_line": {"text"},
    "approval.more_fields_value": {"count"},
    "approval_final.title": {"type_name", "applicant_name", "decision", "by_name", "decided_at", "approval_id"},
    "approval_final.desc": {"type_name", "applicant_name", "decision", "by_name", "decided_at", "approval_id"},
    "approval_final.result": {"type_name", "applicant_name", "decision", "by_name", "decided_at", "approval_id"},
    "ticket.title": _TICKET_NAMES,
    "ticket.desc": _TICKET_NAMES,
    **{f"ticket_escalation.{f}": {"title", "ticket_id", "level", "overdue", "assignee_name", "due",
                                  "priority_name"}
       for f in ("title", "desc", "emphasis_title", "emphasis_desc")},
    **{f"duration.{f}": {"n"} for f in ("days", "hours", "minutes")},
    **{f"ack.{f}": {"title", "sender_name", "content", "deadline"} for f in ("title", "desc", "deadline")},
    "ack_final.result": {"title", "acked_at"},
    **{f"ticket_actions.{f}": {"title", "ticket_id", "status_label", "assignee_name"}
       for f in ("title", "desc", "transfer_title")},
    "ticket_actions.transfer_team": {"team_label"},
    **{f"task.{f}": {"title", "due", "link"} for f in ("title", "desc")},
    **{f"reject_reason.{f}": {"type_name", "applicant_name", "approval_id"} for f in ("title", "desc")},
}


class CardTemplates(_Section):
    source: Source
    datetime_format: str
    default_url: str
    approval: ApprovalTexts
    approval_final: ApprovalFinalTexts
    ticket: TicketTexts
    ticket_escalation: EscalationTexts
    duration: DurationTexts
    ack: AckTexts
    ack_final: AckFinalTexts
    ticket_actions: TicketActionTexts
    task: TaskTexts
    reject_reason: RejectReasonTexts

    @model_validator(mode="after")
    def _placeholders(self) -> CardTemplates:
        for where, allowed in ALLOWED_PLACEHOLDERS.items():
            section, field = where.split(".")
            text = getattr(getattr(self, section), field)
            unknown = placeholders(text, where=where) - allowed
            if unknown:
                raise ValueError(f"{where} uses unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        return self


def default_templates_path() -> Path:
    from wecom_oa.settings import get_settings

    return get_settings().templates_dir / "cards.yaml"


@lru_cache(maxsize=8)
def load_card_templates(path: Path | None = None) -> CardTemplates:
    """Parse and validate cards.yaml (cached per path). Raises `CardTemplateError` naming the problem."""
    path = path or default_templates_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CardTemplateError(f"{path.name}: cannot read card templates ({type(exc).__name__})") from None
    try:
        return CardTemplates.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False))
        raise CardTemplateError(f"{path.name}: {problems}") from None


# -- ids ------------------------------------------------------------------------------------------

def new_task_id(prefix: str) -> str:
    """A fresh card task_id `<prefix>-<16 random url-safe chars>`, matching [0-9A-Za-z_-@]{1,128}.
    Never contains '@' (reserved for per-batch suffixes, see `client.batch_task_id`)."""
    if not _PREFIX_RE.match(prefix):
        raise InvalidInput("task id prefix must be 1-40 characters [0-9A-Za-z_-]")
    task_id = f"{prefix}-{secrets.token_urlsafe(12)}"
    assert TASK_ID_RE.match(task_id)
    return task_id


# -- builders -------------------------------------------------------------------------------------

class CardBuilder:
    """Builds template_card payloads (dicts ready for `WeComClient.send_template_card`)."""

    def __init__(self, templates: CardTemplates | None = None, *, timezone: str = "Asia/Shanghai") -> None:
        self.t = templates or load_card_templates()
        self.tz = ZoneInfo(timezone)

    # -- helpers ----------------------------------------------------------------------------
    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime(self.t.datetime_format) if moment else ""

    def duration(self, delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        if minutes < 1:
            return self.t.duration.less_than_minute
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        d = self.t.duration
        parts = [render(tpl, {"n": n}, where=f"duration.{name}")
                 for name, tpl, n in (("days", d.days, days), ("hours", d.hours, hours), ("minutes", d.minutes, minutes))
                 if n]
        return "".join(parts)

    def _base(self, card_type: str, title: str, desc: str, task_id: str | None) -> dict[str, Any]:
        card: dict[str, Any] = {"card_type": card_type, "main_title": {"title": title, "desc": desc}}
        if self.t.source.desc:
            card["source"] = {"desc": self.t.source.desc, "desc_color": self.t.source.desc_color}
        if task_id is not None:
            if not TASK_ID_RE.match(task_id):
                raise InvalidInput("task_id must match [0-9A-Za-z_-@] and be at most 128 bytes")
            card["task_id"] = task_id
        return card

    @staticmethod
    def _link(card: dict[str, Any], url: str | None) -> None:
        if url:
            card["card_action"] = {"type": 1, "url": url}

    def _horizontal(self, fields: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """At most 6 rows (WeCom's limit); overflow is announced in the last row, never dropped silently."""
        items = [{"keyname": str(k), "value": str(v)} for k, v in fields]
        if len(items) > MAX_HORIZONTAL_ITEMS:
            hidden = len(items) - (MAX_HORIZONTAL_ITEMS - 1)
            items = items[: MAX_HORIZONTAL_ITEMS - 1] + [{
                "keyname": self.t.approval.more_fields_key,
                "value": render(self.t.approval.more_fields_value, {"count": hidden},
                                where="approval.more_fields_value"),
            }]
        return items

    # -- approvals --------------------------------------------------------------------------
    def approval_card(self, *, task_id: str, approval_id: str, type_name: str, applicant: str,
                      applicant_name: str, submitted_at: datetime, fields: Sequence[tuple[str, str]] = (),
                      flags: Sequence[str] = (), stage: int | None = None, stage_name: str = "",
                      detail_url: str | None = None) -> dict[str, Any]:
        """Interactive approval card: form fields as rows, flags/warnings as lines, approve/reject buttons."""
        a = self.t.approval
        values = {"type_name": type_name, "applicant_name": applicant_name, "applicant": applicant,
                  "submitted_at": self.when(submitted_at), "approval_id": approval_id,
                  "stage": stage if stage is not None else "", "stage_name": stage_name}
        card = self._base("button_interaction", render(a.title, values, where="approval.title"),
                          render(a.desc, values, where="approval.desc"), task_id)
        lines = [render(a.stage, values, where="approval.stage")] if stage is not None else []
        lines += [render(a.warning_line, {"text": f}, where="approval.warning_line") for f in flags]
        if lines:
            card["sub_title_text"] = "\n".join(lines)
        if fields:
            card["horizontal_content_list"] = self._horizontal(fields)
        card["button_list"] = [
            {"text": a.buttons[key].text, "style": a.buttons[key].style, "key": key} for key in (APPROVE, REJECT)
        ]
        self._link(card, detail_url)
        return card

    def approval_final_card(self, *, task_id: str, approval_id: str, type_name: str, applicant_name: str,
                            approved: bool, by_name: str, decided_at: datetime,
                            fields: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        """The approval card after the decision: result and decider shown, buttons greyed out."""
        f = self.t.approval_final
        decision = f.approved if approved else f.rejected
        values = {"type_name": type_name, "applicant_name": applicant_name, "decision": decision,
                  "by_name": by_name, "decided_at": self.when(decided_at), "approval_id": approval_id}
        card = self._base("button_interaction", render(f.title, values, where="approval_final.title"),
                          render(f.desc, values, where="approval_final.desc"), task_id)
        card["sub_title_text"] = render(f.result, values, where="approval_final.result")
        if fields:
            card["horizontal_content_list"] = self._horizontal(fields)
        a = self.t.approval
        card["button_list"] = [
            {"text": a.buttons[key].text, "style": a.buttons[key].style, "key": key} for key in (APPROVE, REJECT)
        ]
        card["replace_text"] = decision
        return card

    def final_button_text(self, kind: str) -> str:
        """Text for `update_template_card(replace_name=…)`: approved, rejected, accepted or acked."""
        texts = {"approved": self.t.approval_final.approved, "rejected": self.t.approval_final.rejected,
                 "accepted": self.t.ticket.accepted, "acked": self.t.ack_final.replace_text,
                 "resolved": self.t.ticket_actions.resolved, "transferred": self.t.ticket_actions.transferred,
                 "done": self.t.task.done}
        if kind not in texts:
            raise InvalidInput(f"unknown final state {kind!r}; expected one of {sorted(texts)}")
        return texts[kind]

    # -- tickets ----------------------------------------------------------------------------
    def _priority(self, priority: str) -> str:
        return self.t.ticket.priorities.get(priority, priority)

    def ticket_card(self, *, task_id: str, ticket_id: str, title: str, priority: str, due: datetime | None,
                    type_name: str = "", reporter_name: str = "", detail_url: str | None = None) -> dict[str, Any]:
        """Ticket assignment card with an `accept` button."""
        tk = self.t.ticket
        values = {"title": title, "ticket_id": ticket_id, "priority_name": self._priority(priority),
                  "due": self.when(due), "type_name": type_name, "reporter_name": reporter_name}
        card = self._base("button_interaction", render(tk.title, values, where="ticket.title"),
                          render(tk.desc, values, where="ticket.desc"), task_id)
        rows = [(tk.priority_key, values["priority_name"])]
        if due is not None:
            rows.append((tk.due_key, values["due"]))
        if type_name:
            rows.append((tk.type_key, type_name))
        if reporter_name:
            rows.append((tk.reporter_key, reporter_name))
        card["horizontal_content_list"] = self._horizontal(rows)
        card["button_list"] = [{"text": tk.accept_button.text, "style": tk.accept_button.style, "key": ACCEPT}]
        self._link(card, detail_url)
        return card

    def ticket_escalation_notice(self, *, ticket_id: str, title: str, level: int, overdue: timedelta,
                                 assignee_name: str, due: datetime | None, priority: str,
                                 detail_url: str | None = None) -> dict[str, Any]:
        """Non-interactive notice to the next escalation level (text_notice; needs a link, so the
        template's `default_url` is used when the ticket has no detail page)."""
        e = self.t.ticket_escalation
        values = {"title": title, "ticket_id": ticket_id, "level": level, "overdue": self.duration(overdue),
                  "assignee_name": assignee_name, "due": self.when(due), "priority_name": self._priority(priority)}
        card = self._base("text_notice", render(e.title, values, where="ticket_escalation.title"),
                          render(e.desc, values, where="ticket_escalation.desc"), None)
        card["emphasis_content"] = {
            "title": render(e.emphasis_title, values, where="ticket_escalation.emphasis_title"),
            "desc": render(e.emphasis_desc, values, where="ticket_escalation.emphasis_desc"),
        }
        rows = [(e.ticket_key, ticket_id), (e.assignee_key, assignee_name), (e.priority_key, values["priority_name"])]
        if due is not None:
            rows.append((e.due_key, values["due"]))
        card["horizontal_content_list"] = self._horizontal(rows)
        card["card_action"] = {"type": 1, "url": detail_url or self.t.default_url}
        return card

    # -- acknowledgements -------------------------------------------------------------------
    def ack_card(self, *, task_id: str, title: str, sender_name: str, content: str,
                 deadline: datetime | None = None, detail_url: str | None = None) -> dict[str, Any]:
        """Notice card with one `ack` button (确认已读)."""
        k = self.t.ack
        values = {"title": title, "sender_name": sender_name, "content": content, "deadline": self.when(deadline)}
        card = self._base("button_interaction", render(k.title, values, where="ack.title"),
                          render(k.desc, values, where="ack.desc"), task_id)
        lines = [content] if content else []
        if deadline is not None:
            lines.append(render(k.deadline, values, where="ack.deadline"))
        if lines:
            card["sub_title_text"] = "\n".join(lines)
        card["button_list"] = [{"text": k.button.text, "style": k.button.style, "key": ACK}]
        self._link(card, detail_url)
        return card

    def ack_final_card(self, *, task_id: str, title: str, sender_name: str, content: str,
                       acked_at: datetime) -> dict[str, Any]:
        """The notice card after acknowledgement: the `ack` button greyed out as 已确认."""
        card = self.ack_card(task_id=task_id, title=title, sender_name=sender_name, content=content)
        result = render(self.t.ack_final.result, {"title": title, "acked_at": self.when(acked_at)},
                        where="ack_final.result")
        card["sub_title_text"] = "\n".join(x for x in (content, result) if x)
        card["replace_text"] = self.t.ack_final.replace_text
        return card

    # -- actions where people are: a ticket's next steps, a to-do's 完成, a rejection's reason ---
    def _choice_card(self, task_id: str, title: str, desc: str, question_key: str, question: str,
                     options: Sequence[tuple[str, str]], submit: Button, submit_key: str) -> dict[str, Any]:
        """multiple_interaction: one select (WeCom: at most 10 options) and a submit button."""
        if not 1 <= len(options) <= MAX_SELECT_OPTIONS:
            raise InvalidInput(f"a select card takes 1 to {MAX_SELECT_OPTIONS} options, got {len(options)}")
        card = self._base("multiple_interaction", title, desc, task_id)
        card["select_list"] = [{"question_key": question_key, "title": question, "selected_id": options[0][0],
                                "option_list": [{"id": i, "text": t[:16]} for i, t in options]}]
        card["submit_button"] = {"text": submit.text, "key": submit_key}
        return card

    def ticket_actions_card(self, *, task_id: str, ticket_id: str, title: str, status_label: str,
                            assignee_name: str, detail_url: str | None = None) -> dict[str, Any]:
        """The handler's card: 解决 / 转派 / 备注."""
        a = self.t.ticket_actions
        values = {"title": title, "ticket_id": ticket_id, "status_label": status_label,
                  "assignee_name": assignee_name}
        card = self._base("button_interaction", render(a.title, values, where="ticket_actions.title"),
                          render(a.desc, values, where="ticket_actions.desc"), task_id)
        card["button_list"] = [{"text": a.buttons[k].text, "style": a.buttons[k].style, "key": k}
                               for k in TICKET_ACTION_KEYS]
        self._link(card, detail_url)
        return card

    def ticket_transfer_card(self, *, task_id: str, ticket_id: str, title: str, status_label: str,
                             options: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """Choose the new handler: option ids are `user:<userid>` or `team:<key>`."""
        a = self.t.ticket_actions
        values = {"title": title, "ticket_id": ticket_id, "status_label": status_label, "assignee_name": ""}
        return self._choice_card(task_id, render(a.transfer_title, values, where="ticket_actions.transfer_title"),
                                 render(a.desc, values, where="ticket_actions.desc"), TRANSFER_QUESTION,
                                 a.transfer_question, options, a.transfer_submit, TRANSFER_SUBMIT)

    def team_option(self, team_label: str) -> str:
        return render(self.t.ticket_actions.transfer_team, {"team_label": team_label},
                      where="ticket_actions.transfer_team")

    def task_card(self, *, task_id: str, title: str, due: str, link: str, content: str) -> dict[str, Any]:
        """A to-do with a 完成 button; the card opens the task's page."""
        k = self.t.task
        values = {"title": title, "due": due, "link": link}
        card = self._base("button_interaction", render(k.title, values, where="task.title"),
                          render(k.desc, values, where="task.desc"), task_id)
        card["sub_title_text"] = content
        card["button_list"] = [{"text": k.button.text, "style": k.button.style, "key": DONE}]
        self._link(card, link)
        return card

    def reject_reason_card(self, *, task_id: str, type_name: str, applicant_name: str,
                           approval_id: str) -> dict[str, Any]:
        """After 驳回: the configured reasons plus 其他 (a text reply follows)."""
        r = self.t.reject_reason
        values = {"type_name": type_name, "applicant_name": applicant_name, "approval_id": approval_id}
        options = [(f"r{i}", text) for i, text in enumerate(r.reasons)] + [(OTHER_REASON, r.other)]
        return self._choice_card(task_id, render(r.title, values, where="reject_reason.title"),
                                 render(r.desc, values, where="reject_reason.desc"), REASON_QUESTION,
                                 r.question, options, r.submit, REJECT_SUBMIT)

    def reject_reason_text(self, option_id: str) -> str | None:
        """The reason an option id stands for; None for 其他 or an unknown id."""
        if option_id.startswith("r") and option_id[1:].isdigit() and int(option_id[1:]) < len(self.t.reject_reason.reasons):
            return self.t.reject_reason.reasons[int(option_id[1:])]
        return None
