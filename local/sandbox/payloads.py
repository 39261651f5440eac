"""Validation of message bodies, as strict as WeCom, and WeCom's truncation where it truncates.

Every function raises `ApiError` with the errcode WeCom uses and an errmsg naming the field.
Byte limits are UTF-8 bytes (PROTOCOL.md §3.2–3.5). Per field:

- message/send `text.content` over 2048 bytes: truncated to 2048 bytes, never inside a character
  (PROTOCOL.md §3.2 "truncated beyond");
- message/send `textcard`: title over 128 bytes and description over 512 bytes truncated, btntxt
  over 4 characters truncated to 4 (the official message/send page, doc 90236: "超过会自动截断" /
  "超过自动截断"; PROTOCOL.md §3.2 gives only the limits);
- markdown (app 2048, robot 4096 bytes), robot text (2048), app-chat text and text cards: rejected
  with 45002 (the documents give a limit and say nothing of truncation);
- template-card text fields: not limited (WeCom's page only *recommends* lengths); task_id and
  button keys are (42014, 45002).

What was delivered (the truncated text) is what the sandbox records; `Truncated.fields` names what
was cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as _field
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


def truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` of at most `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


@dataclass
class Truncated:
    """The names of the fields WeCom would have cut (`text.content`, `textcard.title`, …)."""

    fields: list[str] = _field(default_factory=list)

    def cut(self, value: str, name: str, limit: int) -> str:
        if utf8_len(value) <= limit:
            return value
        self.fields.append(name)
        return truncate_utf8(value, limit)


def content(body: dict[str, Any], msgtype: str, limit: int, *, truncated: Truncated | None = None) -> str:
    """`body[msgtype].content`: empty → 44004; over `limit` bytes → truncated when `truncated` is
    given (the delivered text is returned and the field noted), else 45002."""
    value = section(body, msgtype).get("content")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(Err.EMPTY_CONTENT, f"empty content: {msgtype}.content")
    if truncated is not None:
        return truncated.cut(value, f"{msgtype}.content", limit)
    _byte_limit(value, f"{msgtype}.content", limit)
    return value


def _byte_limit(value: str, field: str, limit: int) -> None:
    size = utf8_len(value)
    if size > limit:
        raise ApiError(Err.CONTENT_TOO_LARGE, f"content size out of limit: {field} is {size} bytes, at most {limit}")


def textcard(body: dict[str, Any], *, truncated: Truncated | None = None) -> dict[str, Any]:
    """The text card as delivered: over-long title, description and btntxt truncated when
    `truncated` is given (message/send), else rejected (45002 / 40058)."""
    card = section(body, "textcard")
    title = required_str(card, "title", "textcard")
    description = required_str(card, "description", "textcard")
    required_str(card, "url", "textcard")
    btntxt = card.get("btntxt")
    if btntxt is not None and not isinstance(btntxt, str):
        raise _invalid("textcard.btntxt", f"string of at most {TEXTCARD_BTNTXT_CHARS} characters")
    if truncated is None:
        _byte_limit(title, "textcard.title", TEXTCARD_TITLE_LIMIT)
        _byte_limit(description, "textcard.description", TEXTCARD_DESCRIPTION_LIMIT)
        if btntxt is not None and len(btntxt) > TEXTCARD_BTNTXT_CHARS:
            raise _invalid("textcard.btntxt", f"string of at most {TEXTCARD_BTNTXT_CHARS} characters")
        return card
    delivered = {**card, "title": truncated.cut(title, "textcard.title", TEXTCARD_TITLE_LIMIT),
                 "description": truncated.cut(description, "textcard.description", TEXTCARD_DESCRIPTION_LIMIT)}
    if btntxt is not None and len(btntxt) > TEXTCARD_BTNTXT_CHARS:
        truncated.fields.append("textcard.btntxt")
        delivered["btntxt"] = btntxt[:TEXTCARD_BTNTXT_CHARS]
    return delivered


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
