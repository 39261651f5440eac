"""Validation of message bodies, as strict as WeCom (stricter where WeCom silently truncates).

Every function raises `ApiError` with the errcode WeCom uses and an errmsg naming the field.
Byte limits are UTF-8 bytes (PROTOCOL.md §3.2–3.5). Text that WeCom would truncate is rejected
with 45002 instead, so the product's own splitting is exercised in local mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from local.sandbox.errcodes import ApiError, Err

TEXT_LIMIT = 2048
APP_MARKDOWN_LIMIT = 2048
ROBOT_MARKDOWN_LIMIT = 4096
TEXTCARD_TITLE_LIMIT = 128
TEXTCARD_DESCRIPTION_LIMIT = 512
TEXTCARD_BTNTXT_CHARS = 4
TASK_ID_LIMIT = 128
BUTTON_KEY_LIMIT = 1024

CARD_TYPES = frozenset(
    {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
)
INTERACTIVE_CARD_TYPES = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
ROBOT_CARD_TYPES = frozenset({"text_notice", "news_notice"})
_TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]+$")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _invalid(field: str, problem: str) -> ApiError:
    return ApiError(Err.INVALID_PARAMETER, f"invalid parameter {field}: {problem}")


def section(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The `{name: {...}}` object of a message body; missing or not an object → 40058."""
    value = body.get(name)
    if not isinstance(value, dict):
        raise _invalid(name, "object required")
    return value


def required_str(obj: dict[str, Any], field: str, where: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise _invalid(f"{where}.{field}", "non-empty string required")
    return value


def object_list(obj: dict[str, Any], field: str, where: str, low: int, high: int) -> list[dict[str, Any]]:
    value = obj.get(field)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _invalid(f"{where}.{field}", "list of objects required")
    if not low <= len(value) <= high:
        raise _invalid(f"{where}.{field}", f"{len(value)} items, allowed {low}..{high}")
    return value


def content(body: dict[str, Any], msgtype: str, limit: int) -> str:
    """`body[msgtype].content`: empty → 44004, over `limit` bytes → 45002."""
    value = section(body, msgtype).get("content")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(Err.EMPTY_CONTENT, f"empty content: {msgtype}.content")
    size = utf8_len(value)
    if size > limit:
        raise ApiError(
            Err.CONTENT_TOO_LARGE,
            f"content size out of limit: {msgtype}.content is {size} bytes, at most {limit}",
        )
    return value


def _byte_limit(value: str, field: str, limit: int) -> None:
    size = utf8_len(value)
    if size > limit:
        raise ApiError(Err.CONTENT_TOO_LARGE, f"content size out of limit: {field} is {size} bytes, at most {limit}")


def textcard(body: dict[str, Any]) -> dict[str, Any]:
    card = section(body, "textcard")
    _byte_limit(required_str(card, "title", "textcard"), "textcard.title", TEXTCARD_TITLE_LIMIT)
    _byte_limit(required_str(card, "description", "textcard"), "textcard.description", TEXTCARD_DESCRIPTION_LIMIT)
    required_str(card, "url", "textcard")
    btntxt = card.get("btntxt")
    if btntxt is not None and (not isinstance(btntxt, str) or len(btntxt) > TEXTCARD_BTNTXT_CHARS):
        raise _invalid("textcard.btntxt", f"string of at most {TEXTCARD_BTNTXT_CHARS} characters")
    return card


def task_id(value: Any) -> str:
    """A template-card task_id: `[0-9A-Za-z_\\-@]`, 1..128 bytes, else 42014 like WeCom."""
    if not isinstance(value, str) or not value:
        raise ApiError(Err.TASK_ID_INVALID, "taskid is empty: template_card.task_id is required for this card")
    if utf8_len(value) > TASK_ID_LIMIT or not _TASK_ID.match(value):
        raise ApiError(
            Err.TASK_ID_INVALID,
            f"taskid invalid: at most {TASK_ID_LIMIT} bytes of [0-9A-Za-z_-@]",
        )
    return value


@dataclass(frozen=True)
class CardInfo:
    card_type: str
    task_id: str | None
    callback_capable: bool
    keys: tuple[str, ...]  # the callback keys a click may carry (buttons, submit, action menu)


def template_card(body: dict[str, Any], *, robot: bool = False) -> CardInfo:
    """Check a template_card; the caller checks task_id uniqueness (42014)."""
    card = section(body, "template_card")
    card_type = card.get("card_type")
    allowed = ROBOT_CARD_TYPES if robot else CARD_TYPES
    if card_type not in allowed:
        raise _invalid("template_card.card_type", f"one of {sorted(allowed)}")
    keys = _action_menu_keys(card)
    callback_capable = not robot and (card_type in INTERACTIVE_CARD_TYPES or bool(keys))
    _title(card, card_type)
    keys += _CHECKS[card_type](card)
    tid = task_id(card.get("task_id")) if callback_capable or card.get("task_id") is not None else None
    return CardInfo(card_type, tid, callback_capable, tuple(keys))


def _action_menu_keys(card: dict[str, Any]) -> list[str]:
    if "action_menu" not in card:
        return []
    menu = section(card, "action_menu")
    actions = object_list(menu, "action_list", "template_card.action_menu", 1, 3)
    return [required_str(a, "key", "template_card.action_menu.action_list[]") for a in actions]


def _title(card: dict[str, Any], card_type: str) -> None:
    main = card.get("main_title")
    title = main.get("title") if isinstance(main, dict) else None
    if title:
        return
    if card_type == "text_notice" and card.get("sub_title_text"):
        return
    need = "main_title.title or sub_title_text" if card_type == "text_notice" else "main_title.title"
    raise _invalid(f"template_card.{need}", "required")


def _card_action(card: dict[str, Any]) -> None:
    action = section(card, "card_action")
    kind = action.get("type")
    if kind == 1:
        required_str(action, "url", "template_card.card_action")
    elif kind == 2:
        required_str(action, "appid", "template_card.card_action")
    else:
        raise _invalid("template_card.card_action.type", "1 (url) or 2 (mini program)")


def _text_notice(card: dict[str, Any]) -> list[str]:
    _card_action(card)
    return []


def _news_notice(card: dict[str, Any]) -> list[str]:
    _card_action(card)
    if not isinstance(card.get("card_image"), dict) and not isinstance(card.get("image_text_area"), dict):
        raise _invalid("template_card.card_image", "card_image or image_text_area required")
    return []


def _key(obj: dict[str, Any], where: str) -> str:
    key = required_str(obj, "key", where)
    _byte_limit(key, f"{where}.key", BUTTON_KEY_LIMIT)
    return key


def _button_interaction(card: dict[str, Any]) -> list[str]:
    keys = []
    for button in object_list(card, "button_list", "template_card", 1, 6):
        required_str(button, "text", "template_card.button_list[]")
        if button.get("type", 0) == 1:
            required_str(button, "url", "template_card.button_list[]")
        else:
            keys.append(_key(button, "template_card.button_list[]"))
    if len(set(keys)) != len(keys):
        raise _invalid("template_card.button_list[].key", "keys must be unique")
    return keys


def _options(obj: dict[str, Any], where: str, high: int) -> None:
    options = object_list(obj, "option_list", where, 1, high)
    for option in options:
        required_str(option, "id", f"{where}.option_list[]")
        required_str(option, "text", f"{where}.option_list[]")
    if len({o["id"] for o in options}) != len(options):
        raise _invalid(f"{where}.option_list[].id", "ids must be unique")


def _submit(card: dict[str, Any]) -> list[str]:
    submit = section(card, "submit_button")
    required_str(submit, "text", "template_card.submit_button")
    return [_key(submit, "template_card.submit_button")]


def _vote_interaction(card: dict[str, Any]) -> list[str]:
    checkbox = section(card, "checkbox")
    required_str(checkbox, "question_key", "template_card.checkbox")
    if checkbox.get("mode", 0) not in (0, 1):
        raise _invalid("template_card.checkbox.mode", "0 (single) or 1 (multiple)")
    _options(checkbox, "template_card.checkbox", 20)
    return _submit(card)


def _multiple_interaction(card: dict[str, Any]) -> list[str]:
    for select in object_list(card, "select_list", "template_card", 1, 3):
        required_str(select, "question_key", "template_card.select_list[]")
        _options(select, "template_card.select_list[]", 10)
    return _submit(card)


_CHECKS = {
    "text_notice": _text_notice,
    "news_notice": _news_notice,
    "button_interaction": _button_interaction,
    "vote_interaction": _vote_interaction,
    "multiple_interaction": _multiple_interaction,
}


def robot_news(body: dict[str, Any]) -> dict[str, Any]:
    news = section(body, "news")
    for article in object_list(news, "articles", "news", 1, 8):
        required_str(article, "title", "news.articles[]")
        required_str(article, "url", "news.articles[]")
    return news
