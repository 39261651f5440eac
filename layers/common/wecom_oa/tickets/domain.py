"""Tickets (工单): types, templates, routing, the status machine and dwell time. Pure: no I/O but YAML.

Vocabulary
- **Status** is the lifecycle every ticket shares: `new` (待受理) → `in_progress` (accepted, 处理中)
  ⇄ `waiting_customer` (待客户回复) → `resolved` (已解决) → `closed` (已关闭). `TRANSITIONS` is the table.
- **Stage** is a business phase a template defines (e.g. repair: `intake` → `diagnosis` →
  `after_sales` → `acceptance`), moved by the `advance` action independently of the status.
- A field's `required_at` names stages and/or statuses at which it must have a value;
  `required_from: <stage>` in YAML adds that stage and every later one.
- **Priority** is P1 (紧急, most urgent) … P4 (低); P3 (普通) is the default.

`apply_action` is pure: it returns the new ticket, one history entry and *effects* (notifications,
SLA clock changes) that the caller carries out; it never writes or sends anything itself.
Every accepted action bumps `version` by one; the history entry's `seq` is the new version, so a
ticket's history is gap-free and ordered by `seq`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from wecom_oa.clock import company_stamp
from wecom_oa.errors import ConfigurationError, Forbidden, IllegalTransition, InvalidInput
from wecom_oa.validation import Model

MAX_FIELDS_PER_TEMPLATE = 30
DEFAULT_CATALOG_PATH = Path(__file__).resolve().parents[1] / "config" / "ticket_types.yaml"

_KEY = r"^[a-z][a-z0-9_]{0,39}$"
_USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
Key = Annotated[str, Field(pattern=_KEY)]
UserId = Annotated[str, Field(pattern=_USERID.pattern)]


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.NEW, Status.IN_PROGRESS, Status.WAITING_CUSTOMER})


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Source(StrEnum):
    API = "api"
    CHAT = "chat"
    OPPORTUNITY = "opportunity"


class Action(StrEnum):
    ACCEPT = "accept"
    TRANSFER = "transfer"
    WAIT_CUSTOMER = "wait_customer"
    RESUME = "resume"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    COMMENT = "comment"
    ADVANCE = "advance"
    ESCALATE = "escalate"


S = Status
# action → {status it may be taken in → status it leads to}. Anything missing is illegal.
TRANSITIONS: Mapping[Action, Mapping[Status, Status]] = {
    Action.ACCEPT: {S.NEW: S.IN_PROGRESS},
    Action.TRANSFER: {S.NEW: S.NEW, S.IN_PROGRESS: S.NEW},
    Action.WAIT_CUSTOMER: {S.IN_PROGRESS: S.WAITING_CUSTOMER},
    Action.RESUME: {S.WAITING_CUSTOMER: S.IN_PROGRESS},
    Action.RESOLVE: {S.IN_PROGRESS: S.RESOLVED, S.WAITING_CUSTOMER: S.RESOLVED},
    Action.REOPEN: {S.RESOLVED: S.IN_PROGRESS},
    Action.CLOSE: {S.NEW: S.CLOSED, S.IN_PROGRESS: S.CLOSED, S.WAITING_CUSTOMER: S.CLOSED, S.RESOLVED: S.CLOSED},
    Action.COMMENT: {s: s for s in (S.NEW, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED)},
    Action.ADVANCE: {s: s for s in OPEN_STATUSES},
    Action.ESCALATE: {s: s for s in OPEN_STATUSES},
}


# -- templates ------------------------------------------------------------------------------------
class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    USER = "user"
    DEPARTMENT = "department"
    LINKED_RECORD = "linked_record"


_ORDERED_TYPES = {FieldType.NUMBER, FieldType.MONEY, FieldType.DATE}
_OPTION_TYPES = {FieldType.ENUM, FieldType.MULTI_ENUM}


class _Frozen(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Option(_Frozen):
    value: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=64)


class LinkedRecord(_Frozen):
    """A record in another system (CRM opportunity, order), with a snapshot of its customer data
    taken when linked, so the ticket stays readable if the other system changes or is down."""

    kind: Key
    id: str = Field(min_length=1, max_length=128)
    snapshot: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=30)


class FieldSpec(_Frozen):
    key: Key
    label: str = Field(min_length=1, max_length=64)
    type: FieldType
    required_at: frozenset[str] = frozenset()
    required_from: str | None = None
    options: tuple[Option, ...] = ()
    kinds: tuple[Key, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int = Field(2000, ge=1, le=20000)
    customer_visible: bool = False

    @model_validator(mode="after")
    def _shape(self) -> FieldSpec:
        if (self.type in _OPTION_TYPES) != bool(self.options):
            raise ValueError("options are required for enum/multi_enum fields and only for them")
        if len({o.value for o in self.options}) != len(self.options):
            raise ValueError("option values must be unique")
        if (self.type == FieldType.LINKED_RECORD) != bool(self.kinds):
            raise ValueError("kinds are required for linked_record fields and only for them")
        if (self.min is not None or self.max is not None) and self.type not in (FieldType.NUMBER, FieldType.MONEY):
            raise ValueError("min/max apply to number and money fields only")
        return self

    @property
    def option_values(self) -> frozenset[str]:
        return frozenset(o.value for o in self.options)


class StageSpec(_Frozen):
    key: Key
    label: str = Field(min_length=1, max_length=64)


class Template(_Frozen):
    """Custom fields and stages. One template may serve several ticket types (and departments)."""

    key: Key
    label: str = Field(min_length=1, max_length=64)
    stages: tuple[StageSpec, ...] = Field(min_length=1)
    fields: tuple[FieldSpec, ...] = Field(default=(), max_length=MAX_FIELDS_PER_TEMPLATE)

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        stage_keys = [s.key for s in self.stages]
        if len(set(stage_keys)) != len(stage_keys):
            raise ValueError("stage keys must be unique")
        if clash := set(stage_keys) & set(Status):
            raise ValueError(f"stage keys must not reuse status names: {sorted(clash)}")
        field_keys = [f.key for f in self.fields]
        if len(set(field_keys)) != len(field_keys):
            raise ValueError("field keys must be unique")
        expanded = tuple(self._expand(f) for f in self.fields)
        object.__setattr__(self, "fields", expanded)
        return self

    def _expand(self, spec: FieldSpec) -> FieldSpec:
        stage_keys = [s.key for s in self.stages]
        known = set(stage_keys) | set(Status)
        if unknown := spec.required_at - known:
            raise ValueError(f"field {spec.key}: required_at names unknown stages {sorted(unknown)}")
        if spec.required_from is None:
            return spec
        if spec.required_from not in stage_keys:
            raise ValueError(f"field {spec.key}: required_from names unknown stage {spec.required_from!r}")
        later = stage_keys[stage_keys.index(spec.required_from):]
        return spec.model_copy(update={"required_at": spec.required_at | set(later)})

    @property
    def field_map(self) -> dict[str, FieldSpec]:
        # Not cached: model_copy would carry a stale cache into a copy with other fields.
        return {f.key: f for f in self.fields}

    @property
    def stage_keys(self) -> list[str]:
        return [s.key for s in self.stages]

    def with_requirements(self, extra: Mapping[str, frozenset[str]]) -> Template:
        """This template with more `required_at` names per field (a type's own requirements)."""
        if not extra:
            return self
        fields = tuple(
            f.model_copy(update={"required_at": f.required_at | extra.get(f.key, frozenset())}) for f in self.fields
        )
        return self.model_copy(update={"fields": fields})


class Team(_Frozen):
    key: Key
    label: str = Field(min_length=1, max_length=64)
    dispatchers: tuple[UserId, ...] = Field(min_length=1)
    # Who gets a new ticket when its reporter is the team's only dispatcher (e.g. the team's leader).
    backup: tuple[UserId, ...] = ()


class ChatIntake(_Frozen):
    """A WeCom chat message starting with one of `keywords` opens a ticket of the type for its
    sender: the rest of the message is the title and, with `text_field`, that field's value."""

    keywords: tuple[Annotated[str, Field(min_length=1, max_length=20)], ...] = Field(min_length=1)
    text_field: Key | None = None


class TicketType(_Frozen):
    key: Key
    label: str = Field(min_length=1, max_length=64)
    template: Key
    team: Key | None = None  # None: the routing default's team
    default_priority: Priority = Priority.P3
    customer_visible: bool = False
    require: dict[Key, frozenset[str]] = Field(default_factory=dict)
    chat: ChatIntake | None = None


# -- routing --------------------------------------------------------------------------------------
class Condition(_Frozen):
    """One test on a field value; every operator given must hold. A missing field never matches."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    field: Key
    eq: str | int | float | None = None
    in_: tuple[str | int | float, ...] | None = Field(None, alias="in")
    contains: str | None = None
    gt: Decimal | date | None = None
    gte: Decimal | date | None = None
    lt: Decimal | date | None = None
    lte: Decimal | date | None = None

    @model_validator(mode="after")
    def _has_operator(self) -> Condition:
        if all(getattr(self, op) is None for op in ("eq", "in_", "contains", "gt", "gte", "lt", "lte")):
            raise ValueError(f"condition on {self.field} needs an operator (eq, in, contains, gt, gte, lt, lte)")
        return self

    def matches(self, spec: FieldSpec, value: Any) -> bool:
        if value is None:
            return False
        if self.eq is not None and _comparable(spec, value) != _comparable(spec, self.eq):
            return False
        if self.in_ is not None and _comparable(spec, value) not in {_comparable(spec, v) for v in self.in_}:
            return False
        if self.contains is not None and (not isinstance(value, list) or self.contains not in value):
            return False
        return self._ordered(spec, value)

    def _ordered(self, spec: FieldSpec, value: Any) -> bool:
        bounds = [(self.gt, "gt"), (self.gte, "gte"), (self.lt, "lt"), (self.lte, "lte")]
        if all(b is None for b, _ in bounds):
            return True
        actual = date.fromisoformat(value) if spec.type == FieldType.DATE else Decimal(str(value))
        checks = {"gt": actual.__gt__, "gte": actual.__ge__, "lt": actual.__lt__, "lte": actual.__le__}
        return all(checks[name](bound) for bound, name in bounds if bound is not None)


def _comparable(spec: FieldSpec, value: Any) -> Any:
    """Numbers and money compare by value (1234.5 == "1234.50"); everything else as text."""
    if spec.type in (FieldType.NUMBER, FieldType.MONEY):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return str(value)


class RouteTarget(_Frozen):
    team: Key | None = None
    assignee: UserId | None = None
    cc: tuple[UserId, ...] = ()


class RuleWhen(_Frozen):
    types: tuple[Key, ...] = ()
    priorities: tuple[Priority, ...] = ()
    fields: tuple[Condition, ...] = ()


class RoutingRule(_Frozen):
    id: Key
    when: RuleWhen = Field(default_factory=RuleWhen)
    route: RouteTarget

    @model_validator(mode="after")
    def _targets_someone(self) -> RoutingRule:
        if self.route.team is None and self.route.assignee is None:
            raise ValueError(f"rule {self.id}: route needs a team and/or an assignee")
        return self


class DefaultRoute(_Frozen):
    team: Key
    assignee: UserId | None = None
    cc: tuple[UserId, ...] = ()


class Routing(_Frozen):
    rules: tuple[RoutingRule, ...] = ()
    default: DefaultRoute


class RouteDecision(NamedTuple):
    team: str
    assignee: str | None
    cc: tuple[str, ...]
    rule: str  # the matched rule id, or "default"


# -- the catalog (config/ticket_types.yaml) ---------------------------------------------------------
def _keyed(value: Any) -> Any:
    """YAML mappings `{key: {...}}` → lists of models that carry their key."""
    if isinstance(value, Mapping):
        return [{"key": k, **(v or {})} for k, v in value.items()]
    return value


class TicketCatalog(_Frozen):
    version: str = Field(min_length=1)
    status_labels: dict[Status, str]
    priority_labels: dict[Priority, str]
    teams: tuple[Team, ...] = Field(min_length=1)
    templates: tuple[Template, ...] = Field(min_length=1)
    types: tuple[TicketType, ...] = Field(min_length=1)
    routing: Routing

    @field_validator("teams", "templates", "types", mode="before")
    @classmethod
    def _keyed_inputs(cls, value: Any) -> Any:
        return _keyed(value)

    @model_validator(mode="after")
    def _references(self) -> TicketCatalog:
        for name, items in (("teams", self.teams), ("templates", self.templates), ("types", self.types)):
            keys = [i.key for i in items]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{name}: duplicate keys")
        for t in self.types:
            self._check_type(t)
        keywords = [k for t in self.types if t.chat for k in t.chat.keywords]
        if duplicated := sorted({k for k in keywords if keywords.count(k) > 1}):
            raise ValueError(f"types: chat keyword(s) {duplicated} used by more than one type")
        self._check_team(self.routing.default.team, "routing.default")
        for rule in self.routing.rules:
            self._check_rule(rule)
        return self

    def _check_team(self, team: str | None, where: str) -> None:
        if team is not None and team not in self.team_map:
            raise ValueError(f"{where}: unknown team {team!r}")

    def _check_type(self, t: TicketType) -> None:
        if t.template not in self.template_map:
            raise ValueError(f"types.{t.key}: unknown template {t.template!r}")
        self._check_team(t.team, f"types.{t.key}")
        template = self.template_map[t.template]
        known = set(template.stage_keys) | set(Status)
        for field_key, names in t.require.items():
            if field_key not in template.field_map:
                raise ValueError(f"types.{t.key}.require: unknown field {field_key!r}")
            if unknown := names - known:
                raise ValueError(f"types.{t.key}.require.{field_key}: unknown stages {sorted(unknown)}")
        text_field = t.chat.text_field if t.chat else None
        if text_field is not None:
            spec = template.field_map.get(text_field)
            if spec is None or spec.type != FieldType.TEXT:
                raise ValueError(f"types.{t.key}.chat.text_field: {text_field!r} is not a text field of "
                                 f"template {t.template!r}")

    def _check_rule(self, rule: RoutingRule) -> None:
        where = f"routing.rules.{rule.id}"
        self._check_team(rule.route.team, where)
        types = rule.when.types or tuple(t.key for t in self.types)
        for type_key in types:
            if type_key not in self.type_map:
                raise ValueError(f"{where}: unknown type {type_key!r}")
        for cond in rule.when.fields:
            specs = [self.template_for(k).field_map.get(cond.field) for k in types]
            if not any(specs):
                raise ValueError(f"{where}: no template of its types has field {cond.field!r}")
            for spec in filter(None, specs):
                _check_condition(spec, cond, where)

    @cached_property
    def team_map(self) -> dict[str, Team]:
        return {t.key: t for t in self.teams}

    @cached_property
    def template_map(self) -> dict[str, Template]:
        return {t.key: t for t in self.templates}

    @cached_property
    def type_map(self) -> dict[str, TicketType]:
        return {t.key: t for t in self.types}

    @cached_property
    def _effective_templates(self) -> dict[str, Template]:
        return {t.key: self.template_map[t.template].with_requirements(t.require) for t in self.types}

    def ticket_type(self, key: str) -> TicketType:
        try:
            return self.type_map[key]
        except KeyError:
            raise InvalidInput(
                f"unknown ticket type {key!r}",
                details=[{"field": "type", "problem": f"unknown ticket type; known: {', '.join(self.type_map)}"}],
            ) from None

    def chat_intake(self, content: str) -> tuple[TicketType, str] | None:
        """The type whose chat keyword starts `content` (the longest keyword wins) and the text
        after it; None when no keyword matches."""
        text = content.strip()
        hits = [(k, t) for t in self.types if t.chat for k in t.chat.keywords if text.startswith(k)]
        if not hits:
            return None
        keyword, ticket_type = max(hits, key=lambda hit: len(hit[0]))
        return ticket_type, text[len(keyword):].strip(" :：\t\n")

    def template_for(self, type_key: str) -> Template:
        """The type's template with the type's own extra requirements applied."""
        self.ticket_type(type_key)
        return self._effective_templates[type_key]


def _check_condition(spec: FieldSpec, cond: Condition, where: str) -> None:
    ordered = any(getattr(cond, op) is not None for op in ("gt", "gte", "lt", "lte"))
    if ordered and spec.type not in _ORDERED_TYPES:
        raise ValueError(f"{where}: {cond.field} is {spec.type}, not comparable with gt/gte/lt/lte")
    bound_type = date if spec.type == FieldType.DATE else Decimal
    bounds = [b for b in (cond.gt, cond.gte, cond.lt, cond.lte) if b is not None]
    if any(not isinstance(b, bound_type) for b in bounds):
        raise ValueError(f"{where}: bounds on {cond.field} must be {'dates' if bound_type is date else 'numbers'}")
    if cond.contains is not None and spec.type != FieldType.MULTI_ENUM:
        raise ValueError(f"{where}: contains applies to multi_enum fields, {cond.field} is {spec.type}")
    if spec.type in _OPTION_TYPES:
        wanted = [cond.eq, cond.contains, *(cond.in_ or ())]
        if bad := [str(v) for v in wanted if v is not None and str(v) not in spec.option_values]:
            raise ValueError(f"{where}: {cond.field} has no option(s) {bad}")


def load_catalog(path: Path = DEFAULT_CATALOG_PATH) -> TicketCatalog:
    """Read and validate a ticket catalog. Raises `ConfigurationError` naming the file and field."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read ticket catalog ({type(exc).__name__})") from None
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{path.name}: the ticket catalog must be a mapping")
    try:
        return TicketCatalog.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(file)", "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        first = problems[0]
        raise ConfigurationError(
            f"{path.name}: {first['field']}: {first['problem']}", details=problems
        ) from None


# -- field validation -----------------------------------------------------------------------------
def field_problems(
    template: Template, fields: Mapping[str, Any], stage: str, status: Status | None = None, *,
    required: bool = True,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Normalised values and `[{field, problem}]` for `fields` at `stage` (and `status`);
    `required=False` checks the values given but not which are missing."""
    problems: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        spec = template.field_map.get(key)
        if spec is None:
            problems.append({"field": f"fields.{key}", "problem": f"not a field of template {template.key}"})
            continue
        if _is_empty(value):
            continue
        try:
            clean[key] = _normalise(spec, value)
        except ValueError as exc:
            problems.append({"field": f"fields.{key}", "problem": str(exc)})
    at = ({stage} | ({status} if status else set())) if required else set()
    for spec in template.fields:
        if spec.required_at & at and _is_empty(fields.get(spec.key)):
            problems.append({"field": f"fields.{spec.key}", "problem": f"{spec.label} is required at {'/'.join(sorted(spec.required_at & at))}"})
    return clean, problems


def validate_fields(
    template: Template, fields: Mapping[str, Any], stage: str, status: Status | None = None, *,
    required: bool = True,
) -> dict[str, Any]:
    """Normalised `fields`; raises `InvalidInput` with details `[{field, problem}]` on any problem."""
    clean, problems = field_problems(template, fields, stage, status, required=required)
    if problems:
        names = ", ".join(p["field"] for p in problems)
        raise InvalidInput(f"invalid ticket fields: {names}", details=problems)
    return clean


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def _normalise(spec: FieldSpec, value: Any) -> Any:
    return _NORMALISERS[spec.type](spec, value)


def _text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    if len(value) > spec.max_length:
        raise ValueError(f"longer than {spec.max_length} characters")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


def _in_range(spec: FieldSpec, number: Decimal) -> None:
    if spec.min is not None and number < spec.min:
        raise ValueError(f"must be at least {spec.min}")
    if spec.max is not None and number > spec.max:
        raise ValueError(f"must be at most {spec.max}")


def _number(spec: FieldSpec, value: Any) -> int | float:
    number = _decimal(value)
    _in_range(spec, number)
    return int(number) if number == number.to_integral_value() else float(number)


def _money(spec: FieldSpec, value: Any) -> str:
    """CNY amount as a string with two decimals (no float rounding in storage)."""
    number = _decimal(value)
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("money has at most 2 decimal places")
    if number < 0:
        raise ValueError("money must not be negative")
    _in_range(spec, number)
    return str(number.quantize(Decimal("0.01")))


def _date(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


def _enum(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str) or value not in spec.option_values:
        raise ValueError(f"must be one of {sorted(spec.option_values)}")
    return value


def _multi_enum(spec: FieldSpec, value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of options")
    if bad := [v for v in value if not isinstance(v, str) or v not in spec.option_values]:
        raise ValueError(f"unknown options {bad}; allowed {sorted(spec.option_values)}")
    if len(set(value)) != len(value):
        raise ValueError("options must not repeat")
    return list(value)


def _user(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str) or not _USERID.match(value):
        raise ValueError("must be a WeCom userid")
    return value


def _department(spec: FieldSpec, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() or int(value) < 1:
        raise ValueError("must be a WeCom department id (positive integer)")
    return int(value)


def _linked(spec: FieldSpec, value: Any) -> dict[str, Any]:
    try:
        record = LinkedRecord.model_validate(value)
    except ValidationError:
        raise ValueError("must be {kind, id, snapshot?}") from None
    if record.kind not in spec.kinds:
        raise ValueError(f"kind must be one of {list(spec.kinds)}")
    return record.model_dump()


_NORMALISERS = {
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.MONEY: _money,
    FieldType.DATE: _date,
    FieldType.ENUM: _enum,
    FieldType.MULTI_ENUM: _multi_enum,
    FieldType.USER: _user,
    FieldType.DEPARTMENT: _department,
    FieldType.LINKED_RECORD: _linked,
}


# -- routing --------------------------------------------------------------------------------------
def route(catalog: TicketCatalog, type_key: str, priority: Priority, fields: Mapping[str, Any]) -> RouteDecision:
    """First matching rule wins; nothing matching → the default route. A missing team falls back to
    the type's team, then to the default route's team."""
    ticket_type = catalog.ticket_type(type_key)
    template = catalog.template_for(type_key)
    d = catalog.routing.default
    for rule in catalog.routing.rules:
        if _rule_matches(rule.when, template, type_key, priority, fields):
            r = rule.route
            return RouteDecision(r.team or ticket_type.team or d.team, r.assignee, r.cc, rule.id)
    return RouteDecision(ticket_type.team or d.team, d.assignee, d.cc, "default")


def _rule_matches(
    when: RuleWhen, template: Template, type_key: str, priority: Priority, fields: Mapping[str, Any]
) -> bool:
    if when.types and type_key not in when.types:
        return False
    if when.priorities and priority not in when.priorities:
        return False
    for cond in when.fields:
        spec = template.field_map.get(cond.field)
        if spec is None or not cond.matches(spec, fields.get(cond.field)):
            return False
    return True


# -- the ticket -----------------------------------------------------------------------------------
class CustomerTicketView(_Frozen):
    """What may be shown outside the company: no people, team, CC, linked data or internal fields."""

    id: str
    type: str
    title: str
    status: Status
    stage: str
    priority: Priority
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    fields: dict[str, Any]


class Ticket(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")  # stored items carry key attributes

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    type: Key
    title: str = Field(min_length=1, max_length=200)
    reporter: str = Field(min_length=1, max_length=128)
    priority: Priority
    fields: dict[str, Any] = Field(default_factory=dict)
    team: Key
    assignee: UserId | None = None
    cc: tuple[UserId, ...] = ()
    status: Status = Status.NEW
    stage: Key
    version: int = Field(1, ge=1)
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    next_due: datetime | None = None
    escalation_level: int = Field(0, ge=0)
    customer_visible: bool = False
    source: Source = Source.API
    linked: tuple[LinkedRecord, ...] = ()
    route_rule: str = "default"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def customer_view(self, template: Template | None = None) -> CustomerTicketView:
        """The outward view. Only fields the template marks `customer_visible` are included (none
        without a template). Raises `Forbidden` when the ticket is not shared with customers."""
        if not self.customer_visible:
            raise Forbidden(f"ticket {self.id} is not shared with customers")
        visible = {f.key for f in template.fields if f.customer_visible} if template else set()
        return CustomerTicketView(
            id=self.id, type=self.type, title=self.title, status=self.status, stage=self.stage,
            priority=self.priority, created_at=self.created_at, updated_at=self.updated_at,
            resolved_at=self.resolved_at,
            fields={k: v for k, v in self.fields.items() if k in visible},
        )


class HistoryEntry(_Frozen):
    """One append-only record per accepted change; `status`/`stage`/`team`/`assignee` are the
    values *after* the change, so dwell time can be computed from the history alone."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # stored items carry key attributes

    ticket_id: str
    seq: int = Field(ge=1)
    at: datetime
    by: str
    action: Action | Literal["create", "sla"]  # "sla": the escalation timer warned, breached or escalated
    from_status: Status | None = None
    status: Status
    stage: str
    team: str
    assignee: str | None = None
    comment: str | None = None
    reason: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)


class Notify(_Frozen):
    """Send `template` (a message template key) to `to`. `context` always names the ticket's id and title."""

    kind: Literal["notify"] = "notify"
    channel: Literal["card", "text"]
    to: tuple[str, ...]
    template: str
    context: dict[str, Any]


class SlaChange(_Frozen):
    """Change an SLA clock: `response` runs until accepted, `resolution` until resolved (paused
    while waiting for the customer)."""

    kind: Literal["sla"] = "sla"
    op: Literal["start", "pause", "resume", "stop"]
    clock: Literal["response", "resolution"]


Effect = Annotated[Notify | SlaChange, Field(discriminator="kind")]


class Outcome(NamedTuple):
    ticket: Ticket
    entry: HistoryEntry
    effects: tuple[Notify | SlaChange, ...]


class NewTicket(Model):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    reporter: str = Field(min_length=1, max_length=128)
    priority: Priority | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    source: Source = Source.API
    linked: list[LinkedRecord] = Field(default_factory=list, max_length=20)
    customer_visible: bool | None = None


class Target(_Frozen):
    """Where a transfer goes: a team, a person, or both."""

    team: Key | None = None
    assignee: UserId | None = None

    @model_validator(mode="after")
    def _someone(self) -> Target:
        if self.team is None and self.assignee is None:
            raise ValueError("give a team and/or an assignee")
        return self


class ActionPayload(Model):
    """Action arguments. `to`: a `Target` for transfer, a stage key for advance, the userid to
    notify for escalate. `fields` are merged into the ticket's fields and validated at the
    resulting stage and status."""

    model_config = ConfigDict(extra="forbid")

    to: Target | str | None = None
    comment: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=500)
    fields: dict[str, Any] | None = None


def new_ticket_id(now: datetime) -> str:
    """Sortable, short and unguessable enough to print on a card: `T20250301-8F3A2C`."""
    return f"T{company_stamp(now)}-{secrets.token_hex(3).upper()}"


def open_ticket(catalog: TicketCatalog, request: NewTicket, *, ticket_id: str, now: datetime) -> Outcome:
    """Validate, route and build a new ticket. Raises `InvalidInput` naming the field."""
    ticket_type = catalog.ticket_type(request.type)
    template = catalog.template_for(request.type)
    stage = template.stages[0].key
    # A chat message cannot carry structured fields: the handler completes them, and any later
    # action while the ticket is still `new` requires them as usual.
    fields = validate_fields(template, request.fields, stage, Status.NEW, required=request.source != Source.CHAT)
    if request.source == Source.OPPORTUNITY and not any(r.kind == "opportunity" for r in request.linked):
        raise InvalidInput(
            "a ticket from an opportunity must link it",
            details=[{"field": "linked", "problem": "needs a record of kind opportunity"}],
        )
    priority = request.priority or ticket_type.default_priority
    decision = route(catalog, request.type, priority, fields)
    ticket = Ticket(
        id=ticket_id, type=request.type, title=request.title, reporter=request.reporter, priority=priority,
        fields=fields, team=decision.team, assignee=decision.assignee, cc=decision.cc, stage=stage,
        created_at=now, updated_at=now, source=request.source, linked=tuple(request.linked),
        customer_visible=ticket_type.customer_visible if request.customer_visible is None else request.customer_visible,
        route_rule=decision.rule,
    )
    entry = _entry(ticket, "create", request.reporter, now, None, changes={"route_rule": decision.rule})
    effects: list[Notify | SlaChange] = [SlaChange(op="start", clock="response"), SlaChange(op="start", clock="resolution")]
    handlers = _handlers(catalog, ticket)
    if not [h for h in handlers if h != request.reporter]:
        # Logged by the team's only dispatcher: the team's backup gets it; without one, the
        # dispatcher's own card still comes, so the ticket reaches someone who can accept it.
        backup = catalog.team_map[ticket.team].backup if not ticket.assignee else ()
        handlers = [b for b in backup if b != request.reporter] or handlers
    notes = [
        _notify(catalog, ticket, "card", handlers, "ticket.assigned",
                request.reporter if handlers != [request.reporter] else ""),
        _notify(catalog, ticket, "text", ticket.cc, "ticket.cc", request.reporter),
    ]
    effects += [n for n in notes if n is not None]
    return Outcome(ticket, entry, tuple(effects))


def apply_action(
    ticket: Ticket,
    action: Action | str,
    by: str,
    now: datetime,
    payload: ActionPayload | Mapping[str, Any] | None = None,
    *,
    catalog: TicketCatalog,
) -> Outcome:
    """Apply one action. Raises `IllegalTransition` (naming the status and action) or `InvalidInput`."""
    action = _parse_action(action)
    args = payload if isinstance(payload, ActionPayload) else ActionPayload.model_validate(payload or {})
    allowed = TRANSITIONS[action]
    if ticket.status not in allowed:
        raise IllegalTransition(
            f"cannot {action} ticket {ticket.id}: it is {ticket.status}",
            details={"ticket_id": ticket.id, "status": ticket.status.value, "action": action.value,
                     "allowed": sorted(a.value for a, m in TRANSITIONS.items() if ticket.status in m)},
        )
    target = allowed[ticket.status]
    update, planned = _HANDLERS[action](ticket, args, catalog, by)
    update = {"status": target, **update, **_timestamps(ticket, target, now)}
    after = ticket.model_copy(update={**update, "version": ticket.version + 1, "updated_at": now})
    after = _with_fields(after, args, catalog)
    changes = {k: v for k, v in update.items() if k not in ("status", "stage") and getattr(ticket, k) != v}
    if args.fields:
        changes["fields"] = {k: after.fields.get(k) for k in args.fields}
    entry = _entry(after, action, by, now, ticket.status, comment=args.comment, reason=args.reason, changes=changes)
    effects = [_resolve_planned(catalog, after, p, by, args) for p in planned]
    effects += _sla_effects(ticket.status, target)
    return Outcome(after, entry, tuple(_dedupe(e for e in effects if e is not None)))


def _parse_action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise InvalidInput(
            f"unknown action {action!r}",
            details=[{"field": "action", "problem": f"one of {', '.join(a.value for a in Action)}"}],
        ) from None


def _with_fields(after: Ticket, args: ActionPayload, catalog: TicketCatalog) -> Ticket:
    """Merge payload fields and check the requirements of the resulting stage and status."""
    template = catalog.template_for(after.type)
    merged = {**after.fields, **(args.fields or {})}
    clean = validate_fields(template, merged, after.stage, after.status)
    return after.model_copy(update={"fields": clean})


def _timestamps(ticket: Ticket, target: Status, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if target == Status.IN_PROGRESS and ticket.accepted_at is None:
        out["accepted_at"] = now
    if target == Status.RESOLVED:
        out["resolved_at"] = now
    if target == Status.CLOSED:
        out["closed_at"] = now
    if target not in OPEN_STATUSES:
        out["next_due"] = None
    if ticket.status == Status.RESOLVED and target == Status.IN_PROGRESS:
        out["resolved_at"] = None
    return out


def _sla_effects(before: Status, after: Status) -> list[SlaChange]:
    """Clock changes implied by the status move alone (a transfer's response restart is planned by it)."""
    out: list[SlaChange] = []
    if before == Status.NEW and after != Status.NEW:
        out.append(SlaChange(op="stop", clock="response"))
    if after == Status.WAITING_CUSTOMER:
        out.append(SlaChange(op="pause", clock="resolution"))
    elif before in (Status.WAITING_CUSTOMER, Status.RESOLVED) and after == Status.IN_PROGRESS:
        out.append(SlaChange(op="resume", clock="resolution"))
    elif before in OPEN_STATUSES and after not in OPEN_STATUSES:
        out.append(SlaChange(op="stop", clock="resolution"))
    return out


class _Message(NamedTuple):
    """A notification planned by a handler, rendered against the ticket *after* the action.
    `to=None` means the ticket's handlers (assignee, else the team's dispatchers)."""

    channel: Literal["card", "text"]
    template: str
    to: tuple[str, ...] | None = None
    extra: tuple[str, ...] = ()  # payload attributes to copy into the context (comment, reason)


Handled = tuple[dict[str, Any], list[_Message | SlaChange]]


def _accept(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    return {"assignee": by}, [_Message("text", "ticket.accepted", (t.reporter,))]  # the acceptor handles it


def _transfer(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    if not isinstance(a.to, Target):
        raise InvalidInput("transfer needs a target", details=[{"field": "to", "problem": "give {team, assignee}"}])
    team = a.to.team or t.team
    if team not in c.team_map:
        raise InvalidInput(f"unknown team {team!r}", details=[{"field": "to.team", "problem": "unknown team"}])
    assignee = a.to.assignee  # a team alone puts the ticket in that team's queue
    if team == t.team and assignee == t.assignee:
        raise InvalidInput("transfer to the current handler", details=[{"field": "to", "problem": "already assigned there"}])
    planned: list[_Message | SlaChange] = [
        SlaChange(op="start", clock="response"),
        _Message("card", "ticket.transferred", None, ("reason",)),
    ]
    return {"team": team, "assignee": assignee}, planned


def _wait_customer(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    return {}, [_Message("text", "ticket.waiting_customer", (t.reporter,), ("comment",))]


def _resume(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    return {}, [_Message("text", "ticket.resumed", None, ("comment",))]


def _resolve(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    return {}, [_Message("card", "ticket.resolved", (t.reporter, *t.cc), ("comment",))]


def _reopen(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    _require(a.reason, "reason", "say why the ticket is reopened")
    return {}, [_Message("card", "ticket.reopened", None, ("reason",))]


def _close(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    if t.status != Status.RESOLVED:
        _require(a.reason, "reason", "closing an unresolved ticket cancels it; say why")
    people = (t.reporter, *_handlers(c, t), *t.cc)
    return {}, [_Message("text", "ticket.closed", people, ("reason",))]


def _comment(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    _require(a.comment, "comment", "a comment needs text")
    return {}, [_Message("text", "ticket.commented", (*_handlers(c, t), *t.cc), ("comment",))]


def _advance(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    stages = c.template_for(t.type).stage_keys
    if not isinstance(a.to, str) or a.to not in stages:
        raise InvalidInput("advance needs a stage", details=[{"field": "to", "problem": f"one of {stages}"}])
    if a.to == t.stage:
        raise InvalidInput(f"ticket {t.id} is already at stage {a.to}", details=[{"field": "to", "problem": "current stage"}])
    return {"stage": a.to}, [_Message("text", "ticket.stage_changed", t.cc)]


def _escalate(t: Ticket, a: ActionPayload, c: TicketCatalog, by: str) -> Handled:
    if not isinstance(a.to, str) or not _USERID.match(a.to):
        raise InvalidInput("escalate needs a userid", details=[{"field": "to", "problem": "a WeCom userid"}])
    cc = t.cc if a.to in t.cc else (*t.cc, a.to)
    update = {"cc": cc, "escalation_level": t.escalation_level + 1}
    return update, [_Message("card", "ticket.escalated", (a.to,), ("reason",))]


_HANDLERS = {
    Action.ACCEPT: _accept,
    Action.TRANSFER: _transfer,
    Action.WAIT_CUSTOMER: _wait_customer,
    Action.RESUME: _resume,
    Action.RESOLVE: _resolve,
    Action.REOPEN: _reopen,
    Action.CLOSE: _close,
    Action.COMMENT: _comment,
    Action.ADVANCE: _advance,
    Action.ESCALATE: _escalate,
}


def _require(value: str | None, field: str, problem: str) -> None:
    if not value or not value.strip():
        raise InvalidInput(f"{field} is required: {problem}", details=[{"field": field, "problem": problem}])


def _handlers(catalog: TicketCatalog, ticket: Ticket) -> list[str]:
    return [ticket.assignee] if ticket.assignee else list(catalog.team_map[ticket.team].dispatchers)


def _resolve_planned(
    catalog: TicketCatalog, after: Ticket, planned: _Message | SlaChange, by: str, args: ActionPayload
) -> Notify | SlaChange | None:
    if isinstance(planned, SlaChange):
        return planned
    to = _handlers(catalog, after) if planned.to is None else planned.to
    extra = {k: getattr(args, k) for k in planned.extra}
    return _notify(catalog, after, planned.channel, to, planned.template, by, **extra)


def _notify(
    catalog: TicketCatalog, ticket: Ticket, channel: Literal["card", "text"], to: Iterable[str], template: str,
    by: str, **extra: str | None,
) -> Notify | None:
    """A notification to everyone in `to` but the actor; None when nobody is left."""
    people = tuple(dict.fromkeys(p for p in to if p and p != by))
    if not people:
        return None
    ticket_type = catalog.type_map.get(ticket.type)
    team = catalog.team_map.get(ticket.team)
    context = {
        "ticket_id": ticket.id, "title": ticket.title, "type": ticket.type,
        "type_label": ticket_type.label if ticket_type else ticket.type,
        "status": ticket.status.value, "status_label": catalog.status_labels.get(ticket.status, ticket.status.value),
        "priority": ticket.priority.value, "priority_label": catalog.priority_labels.get(ticket.priority, ""),
        "team": ticket.team, "team_label": team.label if team else ticket.team,
        "stage": ticket.stage, "assignee": ticket.assignee, "by": by,
        **{k: v for k, v in extra.items() if v},
    }
    return Notify(channel=channel, to=people, template=template, context=context)


def _dedupe(effects: Iterable[Notify | SlaChange]) -> list[Notify | SlaChange]:
    """Drop repeated clock changes (e.g. two 'stop response'), keeping the first of each."""
    seen: set[tuple[str, str]] = set()
    out: list[Notify | SlaChange] = []
    for e in effects:
        if isinstance(e, SlaChange):
            if (e.op, e.clock) in seen:
                continue
            seen.add((e.op, e.clock))
        out.append(e)
    return out


def _entry(
    ticket: Ticket, action: Action | Literal["create"], by: str, now: datetime, from_status: Status | None,
    *, comment: str | None = None, reason: str | None = None, changes: Mapping[str, Any] | None = None,
) -> HistoryEntry:
    return HistoryEntry(
        ticket_id=ticket.id, seq=ticket.version, at=now, by=by, action=action, from_status=from_status,
        status=ticket.status, stage=ticket.stage, team=ticket.team, assignee=ticket.assignee,
        comment=comment, reason=reason, changes=dict(changes or {}),
    )


# -- dwell time -----------------------------------------------------------------------------------
class BusinessTime(Protocol):
    """Anything that measures business time between two instants (e.g. the BusinessCalendar)."""

    def business_time_between(self, a: datetime, b: datetime) -> timedelta: ...


class Dwell(_Frozen):
    wall: timedelta = timedelta(0)
    business: timedelta | None = None


class DwellReport(_Frozen):
    """Time spent per status, per stage and per team. The open interval after the last entry runs
    to `until` unless the ticket is closed."""

    by_status: dict[str, Dwell]
    by_stage: dict[str, Dwell]
    by_team: dict[str, Dwell]


def dwell_times(
    history: Iterable[HistoryEntry], *, until: datetime, calendar: BusinessTime | None = None
) -> DwellReport:
    entries = sorted(history, key=lambda e: e.seq)
    totals: dict[str, dict[str, list[timedelta]]] = {"status": {}, "stage": {}, "team": {}}
    for current, nxt in zip(entries, [*entries[1:], None], strict=True):
        if nxt is None and current.status == Status.CLOSED:
            break
        end = nxt.at if nxt is not None else max(until, current.at)
        wall = end - current.at
        business = calendar.business_time_between(current.at, end) if calendar else timedelta(0)
        for dim, key in (("status", current.status.value), ("stage", current.stage), ("team", current.team)):
            acc = totals[dim].setdefault(key, [timedelta(0), timedelta(0)])
            acc[0] += wall
            acc[1] += business
    return DwellReport(**{
        f"by_{dim}": {k: Dwell(wall=w, business=b if calendar else None) for k, (w, b) in values.items()}
        for dim, values in totals.items()
    })
