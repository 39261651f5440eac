"""Input validation shared by every feature: a pydantic model (or TypeAdapter) over request data,
with `InvalidInput` naming the first bad field and listing all of them (400 through http.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from wecom_oa.errors import InvalidInput


class Model(BaseModel):
    """The base of the models a cold start loads (the API's bodies and the domain they use): the
    validator is built on first use instead of at import (`defer_build`), so a function loads
    the models of every route but builds only those of the request it serves."""

    model_config = ConfigDict(defer_build=True)


def clip(text: str, size: int = 24) -> str:
    """`text` cut for a message (a 500 KB key is named by its first characters)."""
    return text if len(text) <= size else text[:size] + "…"


def where(path: tuple[str | int, ...]) -> str:
    """`form.items[2].name` for a path of keys and indexes; `(body)` for the root."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{clip(part)}" if out else clip(part))
    return out or "(body)"


WHERE = {"body": "request body", "query": "query", "path": "path"}


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic error list → `[{field, problem}]` without echoing input values back. The field is
    named as the caller wrote it (`actuals[0].actual_qty`), without powertools' leading `body`,
    `query` or `path`."""
    out = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if loc and loc[0] in WHERE:
            loc = loc[1:]
        out.append({"field": where(loc), "problem": err.get("msg", "invalid")})
    return out


def parse(model: type[BaseModel] | TypeAdapter[Any], data: Any) -> Any:
    """Validate `data`; InvalidInput names the first bad field and lists all in `details`."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc.errors(include_url=False, include_input=False))
        raise InvalidInput(f"{details[0]['field']}: {details[0]['problem']}", details=details) from None
