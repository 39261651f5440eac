"""Decrypted callback XML → typed `WeComEvent` (PROTOCOL.md §2).

Contract: `parse_event` returns one of the models in `wecom_oa.wecom.events` or raises
`MalformedEvent` (an InvalidInput, HTTP 400) naming what is wrong. Unknown message types and events
become `UnknownEvent`, never an error. The XML is screened before parsing (`crypto.screen_xml`: UTF-8
only, no DTD or entity declaration outside CDATA text, in any encoding), then parsed by a parser
that refuses DTDs, entities and external references itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from pydantic import ValidationError

from wecom_oa.errors import InvalidInput
from wecom_oa.wecom.crypto import UnsafeXmlError, safe_fromstring
from wecom_oa.wecom.events import (
    ChangeContactEvent,
    EnterAgentEvent,
    Message,
    SysApprovalChangeEvent,
    TemplateCardEvent,
    TextMessage,
    UnknownEvent,
    WeComEvent,
)

GENERIC_MESSAGE_TYPES = frozenset({"image", "voice", "video", "location", "link", "file"})


class MalformedEvent(InvalidInput):
    """The decrypted callback plaintext is not a usable WeCom payload."""


# --- element helpers ----------------------------------------------------------------------------


def _children(el: Element, tag: str) -> list[Element]:
    # A direct scan: iterfind/findall go through the pure-Python ElementPath (hot path).
    return [child for child in el if child.tag == tag]


def _text(el: Element | None, tag: str, *inner: str) -> str | None:
    """Text of the first `tag` child (then of `inner` descendants); '' when empty, None when absent."""
    child = None if el is None else el.find(tag)
    for name in inner:
        child = None if child is None else child.find(name)
    return None if child is None else (child.text or "")


def _num(el: Element, tag: str) -> str | None:
    """Numeric text for pydantic to coerce; None when absent or blank."""
    value = _text(el, tag)
    if value is None:
        return None
    return value.strip() or None


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _texts(el: Element, tag: str) -> list[str]:
    """Every `tag` child's text; a `tag` with children contributes its children's texts."""
    out: list[str] = []
    for child in _children(el, tag):
        nodes = list(child) or [child]
        out.extend(n.text for n in nodes if n.text and n.text.strip())
    return out


def raw_fields(el: Element) -> dict[str, Any]:
    """Element → JSON-able dict: leaves are text, nested elements dicts, repeated tags lists."""
    out: dict[str, Any] = {}
    for child in el:
        value: Any = raw_fields(child) if len(child) else (child.text or "")
        if child.tag not in out:
            out[child.tag] = value
        elif isinstance(out[child.tag], list):
            out[child.tag].append(value)
        else:
            out[child.tag] = [out[child.tag], value]
    return out


# --- builders per kind --------------------------------------------------------------------------


def _envelope(root: Element) -> dict[str, Any]:
    return {
        "to_user_name": _text(root, "ToUserName"),
        "from_user_name": _text(root, "FromUserName"),
        "create_time": _num(root, "CreateTime"),
        "msg_type": (_text(root, "MsgType") or "").strip(),
        "agent_id": _num(root, "AgentID"),
    }


def _text_message(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    return {**env, "content": _text(root, "Content"), "msg_id": _num(root, "MsgId")}


def _generic_message(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    return {**env, "msg_id": _num(root, "MsgId"), "fields": raw_fields(root)}


def _enter_agent(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    return {**env, "event_key": _text(root, "EventKey") or ""}


def _detail(d: Element) -> dict[str, Any]:
    return {
        "approver_user_id": _text(d, "Approver", "UserId") or "",
        "speech": _text(d, "Speech") or "",
        "sp_status": _num(d, "SpStatus"),
        "sp_time": _num(d, "SpTime") or 0,
        "attach": _texts(d, "Attach"),
    }


def _record(r: Element) -> dict[str, Any]:
    return {
        "sp_status": _num(r, "SpStatus"),
        "approver_attr": _num(r, "ApproverAttr"),
        "details": [_detail(d) for d in _children(r, "Details")],
    }


def _comment(c: Element) -> dict[str, Any]:
    return {
        "user_id": _text(c, "CommentUserInfo", "UserId") or "",
        "comment_time": _num(c, "CommentTime"),
        "comment_content": _text(c, "CommentContent") or "",
        "comment_id": (_text(c, "CommentId") or "").strip(),
        "attach": _texts(c, "Attach"),
    }


def _process_node(n: Element) -> dict[str, Any]:
    subs = [
        {
            "user_id": _text(s, "UserInfo", "UserId") or "",
            "speech": _text(s, "Speech") or "",
            "sp_yj": _num(s, "SpYj"),
            "sp_time": _num(s, "Sptime") or _num(s, "SpTime"),
            "media_ids": _texts(s, "MediaIds"),
        }
        for s in _children(n, "SubNodeList")
    ]
    return {
        "node_type": _num(n, "NodeType"),
        "sp_status": _num(n, "SpStatus"),
        "apv_rel": _num(n, "ApvRel"),
        "sub_nodes": subs,
    }


def _approval(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    info = root.find("ApprovalInfo")
    if info is None:
        raise MalformedEvent("sys_approval_change event has no ApprovalInfo element")
    process = info.find("ProcessList")
    approval = {
        "sp_no": _num(info, "SpNoStr") or _num(info, "SpNo"),
        "sp_name": _text(info, "SpName") or "",
        "sp_status": _num(info, "SpStatus"),
        "template_id": (_text(info, "TemplateId") or "").strip(),
        "apply_time": _num(info, "ApplyTime"),
        "applyer": {
            "user_id": _text(info, "Applyer", "UserId") or "",
            "party": _text(info, "Applyer", "Party") or "",
        },
        "sp_record": [_record(r) for r in _children(info, "SpRecord")],
        "notifyer": [u for n in _children(info, "Notifyer") if (u := _text(n, "UserId"))],
        "comments": [_comment(c) for c in _children(info, "Comments")],
        "process_list": None if process is None else [_process_node(n) for n in _children(process, "NodeList")],
        "statu_change_event": _num(info, "StatuChangeEvent"),
    }
    return {**env, "approval": approval}


def _selected_item(item: Element) -> dict[str, Any]:
    option_ids: list[str] = []
    # Both spellings are seen in the wild (PROTOCOL.md §2.3); a bare OptionId list is accepted too.
    for container, leaf in (("OptionIds", "OptionId"), ("OpitonIds", "OpitonId")):
        for box in _children(item, container):
            option_ids.extend(_texts(box, leaf))
        option_ids.extend(_texts(item, leaf))
    return {"question_key": _text(item, "QuestionKey") or "", "option_ids": option_ids}


def _card_click(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    return {
        **env,
        "event_key": _text(root, "EventKey") or "",
        "task_id": _text(root, "TaskId"),
        "card_type": (_text(root, "CardType") or "").strip(),
        "response_code": _text(root, "ResponseCode") or "",
        "selected_items": [
            _selected_item(i) for box in _children(root, "SelectedItems") for i in _children(box, "SelectedItem")
        ],
    }


_CONTACT_TEXT = {
    "user_id": "UserID", "new_user_id": "NewUserID", "name": "Name", "position": "Position",
    "mobile": "Mobile", "email": "Email", "biz_mail": "BizMail", "avatar": "Avatar", "alias": "Alias",
    "telephone": "Telephone", "address": "Address",
}
_CONTACT_INT = {
    "main_department": "MainDepartment", "gender": "Gender", "status": "Status", "id": "Id",
    "parent_id": "ParentId", "order": "Order", "tag_id": "TagId",
}
_CONTACT_CSV = {
    "department": "Department", "is_leader_in_dept": "IsLeaderInDept", "direct_leader": "DirectLeader",
    "add_user_items": "AddUserItems", "del_user_items": "DelUserItems",
    "add_party_items": "AddPartyItems", "del_party_items": "DelPartyItems",
}


def _contact(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {**env, "change_type": (_text(root, "ChangeType") or "").strip() or None}
    out.update({k: _text(root, tag) for k, tag in _CONTACT_TEXT.items()})
    out.update({k: _num(root, tag) for k, tag in _CONTACT_INT.items()})
    out.update({k: _csv(_text(root, tag)) for k, tag in _CONTACT_CSV.items()})
    out["fields"] = raw_fields(root)
    return out


def _unknown(root: Element, env: dict[str, Any]) -> dict[str, Any]:
    return {**env, "fields": raw_fields(root)}


_Builder = Callable[[Element, dict[str, Any]], dict[str, Any]]

_EVENTS: dict[str, tuple[type, _Builder]] = {
    "enter_agent": (EnterAgentEvent, _enter_agent),
    "sys_approval_change": (SysApprovalChangeEvent, _approval),
    "template_card_event": (TemplateCardEvent, _card_click),
    "change_contact": (ChangeContactEvent, _contact),
}


# --- entry point --------------------------------------------------------------------------------


def _parse_xml(xml: str | bytes) -> Element:
    if not isinstance(xml, str | bytes) or not xml:
        raise MalformedEvent("callback plaintext is empty")
    try:
        return safe_fromstring(xml, text_in_sections=True)
    except UnsafeXmlError as exc:
        raise MalformedEvent(f"callback plaintext refused: {exc.reason}") from exc
    except DefusedXmlException as exc:
        raise MalformedEvent("callback plaintext contains a DTD, entity or external reference") from exc
    except (ParseError, ValueError, LookupError) as exc:
        raise MalformedEvent("callback plaintext is not well-formed XML") from exc


def _select(root: Element, env: dict[str, Any]) -> tuple[type, _Builder]:
    msg_type = env["msg_type"]
    if msg_type == "text":
        return TextMessage, _text_message
    if msg_type in GENERIC_MESSAGE_TYPES:
        return Message, _generic_message
    if msg_type == "event":
        event = (_text(root, "Event") or "").strip()
        env["event"] = event
        return _EVENTS.get(event.lower(), (UnknownEvent, _unknown))
    env["event"] = None
    return UnknownEvent, _unknown


def parse_event(xml: str | bytes) -> WeComEvent:
    """Typed event for one decrypted callback. Raises MalformedEvent (400) naming the problem."""
    root = _parse_xml(xml)
    env = _envelope(root)
    if not env["msg_type"]:
        raise MalformedEvent("callback plaintext has no MsgType element")
    model, build = _select(root, env)
    try:
        return model.model_validate(build(root, env))
    except RecursionError as exc:
        raise MalformedEvent("callback plaintext is nested too deeply") from exc
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        details = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in problems]
        fields = ", ".join(d["field"] for d in details)
        label = env.get("event") or env["msg_type"]
        raise MalformedEvent(f"invalid {label} callback: {fields}", details=details) from exc
