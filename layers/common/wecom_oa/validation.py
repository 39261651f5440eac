"""Input validation shared by every feature: a pydantic model (or TypeAdapter) over request data,
with `InvalidInput` naming the first bad field and listing all of them (400 through http.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from wecom_oa.errors import InvalidInput


def parse(model: type[BaseModel] | TypeAdapter[Any], data: Any) -> Any:
    """Validate `data`; InvalidInput names the first bad field and lists all in `details`."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        raise InvalidInput(f"{details[0]['field']}: {details[0]['problem']}", details=details) from None
