"""Callback XML the WeCom side sends, rendered from sandbox records (decrypted form; the simulator
encrypts it). `approval_change_xml` renders `sys_approval_change` (PROTOCOL.md §2.4) from an
approval form as oa/getapprovaldetail's `info` (`WeComSandbox.approval` / `decide_approval`);
`user_update_xml` renders change_contact update_user from a user/get record; `text_message_xml`
a member's text message to the app (chat intake).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from local.sandbox.approvals import EVENT_SUBMITTED


def _add(parent: Element, tag: str, value: Any) -> Element:
    child = SubElement(parent, tag)
    child.text = "" if value is None else str(value)
    return child


def _record(parent: Element, record: dict[str, Any]) -> None:
    node = SubElement(parent, "SpRecord")
    _add(node, "SpStatus", record.get("sp_status"))
    _add(node, "ApproverAttr", record.get("approverattr"))
    for d in record.get("details") or []:
        details = SubElement(node, "Details")
        _add(SubElement(details, "Approver"), "UserId", (d.get("approver") or {}).get("userid", ""))
        _add(details, "Speech", d.get("speech", ""))
        _add(details, "SpStatus", d.get("sp_status"))
        _add(details, "SpTime", d.get("sptime") or 0)


def approval_change_xml(info: dict[str, Any], *, corp_id: str, agent_id: int | str, create_time: int,
                        statu_change_event: int | None = None) -> str:
    """The sys_approval_change XML for the form's current state. `statu_change_event` defaults to
    the one `decide_approval` returned with the form (`info["statu_change_event"]`), else 1 (提单)."""
    event = statu_change_event if statu_change_event is not None else info.get("statu_change_event", EVENT_SUBMITTED)
    root = Element("xml")
    for tag, value in (("ToUserName", corp_id), ("FromUserName", "sys"), ("CreateTime", create_time),
                       ("MsgType", "event"), ("Event", "sys_approval_change"), ("AgentID", agent_id)):
        _add(root, tag, value)
    approval = SubElement(root, "ApprovalInfo")
    for tag, key in (("SpNo", "sp_no"), ("SpNoStr", "sp_no"), ("SpName", "sp_name"), ("SpStatus", "sp_status"),
                     ("TemplateId", "template_id"), ("ApplyTime", "apply_time")):
        _add(approval, tag, info.get(key))
    applyer = SubElement(approval, "Applyer")
    _add(applyer, "UserId", (info.get("applyer") or {}).get("userid", ""))
    _add(applyer, "Party", (info.get("applyer") or {}).get("partyid", ""))
    for record in info.get("sp_record") or []:
        _record(approval, record)
    for notifyer in info.get("notifyer") or []:
        _add(SubElement(approval, "Notifyer"), "UserId", notifyer.get("userid", ""))
    _add(approval, "StatuChangeEvent", event)
    return tostring(root, encoding="unicode")


def user_update_xml(user: dict[str, Any], *, corp_id: str, create_time: int) -> str:
    """change_contact update_user for a user/get record (`WeComSandbox.set_department_leaders`):
    the department and leader fields WeCom sends when a user's departments or head roles change."""
    root = Element("xml")
    for tag, value in (("ToUserName", corp_id), ("FromUserName", "sys"), ("CreateTime", create_time),
                       ("MsgType", "event"), ("Event", "change_contact"), ("ChangeType", "update_user"),
                       ("UserID", user["userid"]),
                       ("Department", ",".join(str(d) for d in user.get("department") or [])),
                       ("MainDepartment", user.get("main_department")),
                       ("IsLeaderInDept", ",".join(str(x) for x in user.get("is_leader_in_dept") or [])),
                       ("DirectLeader", ",".join(user.get("direct_leader") or []))):
        _add(root, tag, value)
    return tostring(root, encoding="unicode")


def text_message_xml(sender: str, content: str, *, msg_id: str, corp_id: str, agent_id: int | str,
                     create_time: int) -> str:
    """A member's text message to the app (MsgType text), as WeCom delivers it."""
    root = Element("xml")
    for tag, value in (("ToUserName", corp_id), ("FromUserName", sender), ("CreateTime", create_time),
                       ("MsgType", "text"), ("Content", content), ("MsgId", msg_id), ("AgentID", agent_id)):
        _add(root, tag, value)
    return tostring(root, encoding="unicode")
