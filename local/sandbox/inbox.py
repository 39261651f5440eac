"""What each person sees in WeCom, read from the sandbox's message log.

`inbox(messages, userid)` is one member's app conversation (texts, markdown, text cards and template
cards as they look *now*: a card updated after a click shows its new state, not the first one) plus
what robots and app chats showed them; `robot(messages, name)` is one group robot's transcript.
`transcript(entries)` renders either as plain Chinese text for a person to read.

Times are shown in Asia/Shanghai, as the WeCom client shows them to the company.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(at: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def card_text(card: dict[str, Any]) -> str:
    """A template card or text card as lines of text: title, description, fields, buttons."""
    if "title" in card and "main_title" not in card:  # textcard
        return "\n".join(x for x in (f"【{card.get('title', '')}】", card.get("description", ""),
                                     card.get("url", "")) if x)
    lines = []
    main = card.get("main_title") or {}
    if main.get("title"):
        lines.append(f"【{main['title']}】")
    if main.get("desc"):
        lines.append(main["desc"])
    if card.get("sub_title_text"):
        lines.append(card["sub_title_text"])
    for row in card.get("horizontal_content_list") or []:
        lines.append(f"{row.get('keyname', '')}: {row.get('value', '')}")
    selects = card.get("select_list") or ([card["button_selection"]] if card.get("button_selection") else [])
    for sel in selects:
        options = " / ".join(o.get("text", "") for o in sel.get("option_list") or [])
        lines.append(f"{sel.get('title', '')}: ({options})")
    if card.get("replace_text"):  # an updated interactive card: buttons greyed out, this text instead
        lines.append(f"[{card['replace_text']}]")
        return "\n".join(lines)
    buttons = [b.get("text", "") for b in card.get("button_list") or []]
    if card.get("submit_button"):
        buttons.append(card["submit_button"].get("text", ""))
    if buttons:
        lines.append("[" + "] [".join(buttons) + "]")
    return "\n".join(lines)


def _entry(message: dict[str, Any], card: dict[str, Any] | None, state: str | None) -> dict[str, Any]:
    source = (f"群机器人 {message['robot']}" if message.get("robot")
              else f"群聊 {message['chatid']}" if message.get("chatid") else "应用消息")
    if card is not None:
        text = card_text(card)
        if state:
            text += f"\n（已处理：{state}）"
    else:
        text = message.get("content") or ""
    done = bool(state or (card or {}).get("replace_text"))
    keys = [] if done else [b.get("key") for b in (card or {}).get("button_list") or [] if b.get("key")]
    return {"seq": message["seq"], "at": message["at"], "local_time": _local(message["at"]), "source": source,
            "msgtype": message.get("msgtype"), "task_id": message.get("task_id"), "keys": keys,
            "text": text}


def _current(messages: list[dict[str, Any]], userid: str | None) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
    """task_id → (current card, replace_name) as `userid` sees it (updates may target one member)."""
    now: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
    for m in messages:
        if m.get("api") != "message/update_template_card":
            continue
        if userid is not None and userid not in (m.get("recipients") or {}).get("userids", []):
            continue
        card, state = now.get(m["task_id"], (None, None))
        if m.get("replace_name"):
            state = m["replace_name"]
        if m.get("card"):
            card, state = m["card"], None
        now[m["task_id"]] = (card, state)
    return now


def inbox(messages: list[dict[str, Any]], userid: str) -> list[dict[str, Any]]:
    uid = userid.lower()
    current = _current(messages, userid)
    out = []
    for m in messages:
        if m.get("api") == "message/update_template_card":
            continue
        recipients = [u.lower() for u in (m.get("recipients") or {}).get("userids", [])]
        if uid not in recipients:
            continue
        card = m.get("card")
        state = None
        if m.get("task_id") in current:
            replaced, state = current[m["task_id"]]
            card = replaced or card
        out.append(_entry(m, card, state))
    return out


def robot(messages: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [_entry(m, m.get("card"), None) for m in messages if m.get("robot") == name]


def transcript(title: str, entries: list[dict[str, Any]]) -> str:
    lines = [f"# {title}", ""]
    for e in entries:
        lines.append(f"── {e['local_time']}  {e['source']}")
        lines.extend(f"   {line}" for line in e["text"].splitlines() or [""])
        lines.append("")
    if not entries:
        lines.append("（没有消息）")
    return "\n".join(lines) + "\n"
