"""Reference oracle: the approval rule engine's evaluation path as it was before the rule sets got
an index (wecom_oa/approvals/rules.py at commit 4f6a78e), frozen here verbatim except for this
docstring and two lines marked `reference:` (its own cell compilation and a module-level compiled
cache), so `test_rules_equivalence` can prove the indexed engine gives identical decisions.

It scans every row, traces every examined row and validates the Decision with pydantic: slow and
obviously the old behaviour. Do not edit it to follow a change of the engine; a deliberate change of
behaviour changes the equivalence test instead, with the reason. Decisions it returns are instances of
its own `Decision` copy; compare them to the engine's through `model_dump`.

Original module docstring follows.

Approval rule sets as decision tables, and their evaluation.

A rule set (YAML under config/approval_rules/, linted by `rules_lint`) has typed `inputs`, a
`hit_policy` and `rows`; each row has cells (`when: {input: cell}`) and an outcome: auto_approve,
auto_reject or route (stages of approvers). `evaluate()` runs the rule set's pre-checks, matches the
rows, resolves the route to concrete userids through the Directory port and returns a `Decision`
with the matched rows, a per-cell explanation and the input snapshot. It stores nothing, so a dry
run is the same call.

Cell grammar (no eval; literals typed by the input):

    cell     := "-" | "not" tests | "not" "(" tests ")" | tests
    tests    := test ("," test)*
    test     := OP literal | ("[" | "(") literal ".." literal ("]" | ")") | literal
    OP       := "<" | "<=" | ">" | ">=" | "=" | "!="
    literal  := number | date (2026-01-01) | duration (3d, 4h30m, P3D) | "quoted" | word | true | false

Ranges and `<`/`>` apply to money, number, date and duration inputs; text, enum and applicant
attributes take `=`, `!=`, one-of lists and `not`; bool takes true/false. A cell that does not parse
raises `CellSyntaxError`. Set-valued attributes (applicant.role / applicant.tags: the WeCom tags the
applicant belongs to) match when any of the applicant's tags matches, and `not` when none does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from wecom_oa.approvals.limits import (
    FORM_MAX_BYTES,
    FORM_MAX_DEPTH,
    FORM_MAX_EXTRA_KEY_CHARS,
    FORM_MAX_EXTRA_KEYS,
    FORM_MAX_EXTRA_VALUE_BYTES,
    FORM_MAX_LIST_ITEMS,
)
from wecom_oa.approvals.prechecks import (
    ApprovalTemplates,
    CheckSubject,
    Finding,
    PreCheck,
    PreCheckConfig,
    default_templates,
    display,
)
from wecom_oa.directory import Directory, User, department_head, leader
from wecom_oa.errors import ConfigurationError, InputLimitExceeded, InvalidInput, NotFound
from wecom_oa.validation import Model

InputType = Literal["money", "number", "date", "duration", "text", "enum", "bool", "user_attribute"]
HitPolicy = Literal["first", "unique", "priority", "collect"]
Outcome = Literal["auto_approve", "auto_reject", "route"]

ORDERED_TYPES = frozenset({"money", "number", "date", "duration"})
APPLICANT_ATTRIBUTES = {"userid": "single", "department": "single", "position": "single", "region": "single",
                        "role": "set", "tags": "set"}
STATUS_BY_OUTCOME = {"auto_approve": "approved", "auto_reject": "auto_rejected", "route": "pending"}
MAX_LEADER_LEVELS = 10


class CellSyntaxError(ConfigurationError):
    """A cell, duration or approver spec that does not follow the grammar."""


class NoRuleMatched(ConfigurationError):
    """No row matched and the rule set has no `default`: the table has a gap."""


class AmbiguousMatch(ConfigurationError):
    """More than one row matched under the `unique` hit policy."""


class UnresolvedApprover(ConfigurationError):
    """A stage resolved to nobody and its `on_unresolved` is `fail` (or the fallback failed too)."""


# --- durations -------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)w)?(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?"
                       r"(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


@cache
def _iso_duration() -> TypeAdapter[timedelta]:
    return TypeAdapter(timedelta)


def parse_duration(text: str) -> timedelta:
    """`3d`, `4h30m`, `1.5d`, `90s` or ISO-8601 `P3D`/`PT6H`; raises CellSyntaxError otherwise."""
    text = text.strip()
    match = _DURATION.match(text)
    if text and match and any(match.groups()):
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if text[:1] in ("P", "-") and "P" in text:
        try:
            return _iso_duration().validate_python(text)
        except ValidationError:
            pass
    raise CellSyntaxError(f"invalid duration {text!r} (use e.g. 3d, 4h30m or P3D)")


# --- cells -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|“[^”]*”)
      | (?P<date>\d{4}-\d{2}-\d{2})(?!\w)
      | (?P<dur>(?:\d+(?:\.\d+)?[wdhms])+|P(?:\d+[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?)(?!\w)
      | (?P<num>-?\d+(?:\.\d+)?)(?![\w])
      | (?P<op><=|>=|!=|<|>|=)
      | (?P<dots>\.\.)
      | (?P<punct>[\[\](),])
      | (?P<word>[^\W\d]\w*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Interval:
    """An interval of an ordered type; None means unbounded on that side."""

    lo: Any = None
    lo_closed: bool = False
    hi: Any = None
    hi_closed: bool = False

    def contains(self, value: Any) -> bool:
        if self.lo is not None and (value < self.lo or (value == self.lo and not self.lo_closed)):
            return False
        return not (self.hi is not None and (value > self.hi or (value == self.hi and not self.hi_closed)))

    def is_empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))


@dataclass(frozen=True, slots=True)
class Cell:
    """A parsed cell. `shape`: ordered (intervals), single (one value), set (a set of values)."""

    source: str
    shape: Literal["ordered", "single", "set", "bool"]
    is_any: bool = False
    negated: bool = False
    intervals: tuple[Interval, ...] = ()
    values: frozenset[Any] = frozenset()

    def matches(self, value: Any) -> bool:
        if self.is_any:
            return True
        if value is None:
            return False
        if self.shape == "ordered":
            hit = any(iv.contains(value) for iv in self.intervals)
        elif self.shape == "set":
            hit = not self.values.isdisjoint(value)
        else:
            hit = value in self.values
        return hit != self.negated

    def literals(self) -> frozenset[Any]:
        return self.values

    def points(self) -> set[Any]:
        """Interval end points (for coverage analysis of ordered inputs)."""
        found = set()
        for iv in self.intervals:
            found.update(p for p in (iv.lo, iv.hi) if p is not None)
        return found


ANY_CELL_TEXT = "-"


def cell_shape(spec: InputSpec) -> Literal["ordered", "single", "set", "bool"]:
    if spec.type in ORDERED_TYPES:
        return "ordered"
    if spec.type == "bool":
        return "bool"
    if spec.type == "user_attribute" and APPLICANT_ATTRIBUTES.get(spec.attribute or "") == "set":
        return "set"
    return "single"


def parse_cell(text: str, spec: InputSpec) -> Cell:
    """Parse one cell for an input; raises CellSyntaxError naming the problem."""
    source = text.strip()
    shape = cell_shape(spec)
    if source == ANY_CELL_TEXT:
        return Cell(source, shape, is_any=True)
    if not source:
        raise CellSyntaxError("empty cell (use - for any value)")
    tokens = _tokenize(source)
    negated = False
    if tokens and tokens[0] == ("word", "not"):
        negated = True
        tokens = tokens[1:]
        if tokens and tokens[0] == ("punct", "(") and tokens[-1] == ("punct", ")"):
            tokens = tokens[1:-1]
    if not tokens:
        raise CellSyntaxError(f"{source!r}: nothing to compare with")
    tests = _split_commas(tokens, source)
    if shape == "ordered":
        intervals = tuple(iv for t in tests for iv in _ordered_test(t, spec, source))
        return Cell(source, shape, negated=negated, intervals=intervals)
    single_negated, values = _discrete_tests(tests, spec, source)
    if single_negated and len(tests) > 1:
        raise CellSyntaxError(f"{source!r}: != cannot be combined with other values; use not \"A\",\"B\"")
    return Cell(source, shape, negated=negated != single_negated, values=frozenset(values))


def _tokenize(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    stripped = source.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match or match.end() == pos:
            raise CellSyntaxError(f"{source!r}: unexpected text at {stripped[pos:pos + 12]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _split_commas(tokens: list[tuple[str, str]], source: str) -> list[list[tuple[str, str]]]:
    tests: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for tok in tokens:
        if tok in (("punct", "["), ("punct", "(")):
            depth += 1
        elif tok in (("punct", "]"), ("punct", ")")):
            depth -= 1
        if tok == ("punct", ",") and depth == 0:
            tests.append([])
        else:
            tests[-1].append(tok)
    if any(not t for t in tests):
        raise CellSyntaxError(f"{source!r}: empty item in list")
    return tests


def _ordered_test(test: list[tuple[str, str]], spec: InputSpec, source: str) -> list[Interval]:
    kinds = [k for k, _ in test]
    if kinds[0] == "op" and len(test) == 2:
        op, value = test[0][1], _ordered_literal(test[1], spec, source)
        return {
            "<": [Interval(hi=value)],
            "<=": [Interval(hi=value, hi_closed=True)],
            ">": [Interval(lo=value)],
            ">=": [Interval(lo=value, lo_closed=True)],
            "=": [Interval(value, True, value, True)],
            "!=": [Interval(hi=value), Interval(lo=value)],
        }[op]
    if len(test) == 5 and test[0][1] in "[(" and kinds[2] == "dots" and test[4][1] in "])":
        lo, hi = _ordered_literal(test[1], spec, source), _ordered_literal(test[3], spec, source)
        interval = Interval(lo, test[0][1] == "[", hi, test[4][1] == "]")
        if interval.is_empty():
            raise CellSyntaxError(f"{source!r}: empty range")
        return [interval]
    if len(test) == 1:
        value = _ordered_literal(test[0], spec, source)
        return [Interval(value, True, value, True)]
    raise CellSyntaxError(f"{source!r}: expected a comparison such as <= 1000 or a range such as (1000..5000]")


def _ordered_literal(token: tuple[str, str], spec: InputSpec, source: str) -> Any:
    kind, text = token
    try:
        if spec.type in ("money", "number") and kind == "num":
            return Decimal(text)
        if spec.type == "date" and kind == "date":
            return date.fromisoformat(text)
        if spec.type == "duration" and kind in ("dur", "word"):
            return parse_duration(text)
    except (ValueError, InvalidOperation, CellSyntaxError):
        pass
    raise CellSyntaxError(f"{source!r}: {text!r} is not a {spec.type} value")


def _discrete_tests(tests: list[list[tuple[str, str]]], spec: InputSpec, source: str) -> tuple[bool, list[Any]]:
    negated = False
    values = []
    for test in tests:
        if test[0][0] == "op":
            if test[0][1] not in ("=", "!=") or len(test) != 2:
                raise CellSyntaxError(f"{source!r}: {spec.type} inputs only take =, != or a list of values")
            negated = test[0][1] == "!="
            test = test[1:]
        if len(test) != 1:
            raise CellSyntaxError(f"{source!r}: expected a single value, got {' '.join(t for _, t in test)!r}")
        values.append(_discrete_literal(test[0], spec, source))
    return negated, values


def _discrete_literal(token: tuple[str, str], spec: InputSpec, source: str) -> Any:
    kind, text = token
    if spec.type == "bool":
        if kind == "word" and text in ("true", "false"):
            return text == "true"
        raise CellSyntaxError(f"{source!r}: bool inputs take true, false or -")
    if kind == "str":
        value = text[1:-1].replace('\\"', '"')
    elif kind in ("word", "num", "date", "dur") and text not in ("not", "true", "false"):
        value = text
    else:
        raise CellSyntaxError(f"{source!r}: {text!r} is not a value")
    if spec.type == "enum" and value not in spec.values:
        raise CellSyntaxError(f"{source!r}: {value!r} is not one of {', '.join(spec.values)}")
    return value


# --- rule set models --------------------------------------------------------------------------

_SPEC = re.compile(r"^(?:department_head|role:\S.*|user:\S+|leader:[1-9]\d?|form_field:[A-Za-z_]\w*)$")
_UNRESOLVED = re.compile(r"^(?:escalate_to_leader|fail|admin:\S+)$")


def _cell_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class InputSpec(Model):
    """A typed input. `source` is `form.<field>` (default `form.<name>`) or `applicant.<attribute>`
    for user_attribute inputs; `domain` is a cell giving the values the input may take."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: InputType
    source: str | None = None
    values: list[str] = Field(default_factory=list)
    domain: str | None = None
    required: bool = True
    label: str | None = None

    @field_validator("domain", mode="before")
    @classmethod
    def _domain_text(cls, value: Any) -> Any:
        return _cell_text(value)

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("enum inputs need values")
        if self.type != "enum" and self.values:
            raise ValueError("values are only for enum inputs")
        if self.type == "user_attribute" and self.source is not None and not self.source.startswith("applicant."):
            raise ValueError("user_attribute sources are applicant.<attribute>")
        if self.type != "user_attribute" and self.source is not None and not self.source.startswith("form."):
            raise ValueError("sources are form.<field> (applicant.* needs type user_attribute)")
        return self

    @property
    def attribute(self) -> str | None:
        return self.source.split(".", 1)[1] if self.source and self.source.startswith("applicant.") else None


class Timeout(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after: str
    action: Literal["remind", "escalate", "auto_approve", "auto_reject"] = "remind"
    max_reminders: int = Field(0, ge=0, le=50)

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value) <= timedelta(0):
            raise ValueError("timeout must be positive")
        return value

    @property
    def after_seconds(self) -> int:
        return int(parse_duration(self.after).total_seconds())


class Stage(Model):
    """One approval stage. mode: any (或签), all (会签), sequential (依次审批)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    approvers: list[str] = Field(min_length=1)
    mode: Literal["any", "all", "sequential"] = "any"
    timeout: Timeout | None = None
    # No "keep": an applicant never approves their own stage (skip it, or their leader decides).
    on_self_approval: Literal["skip", "next_leader"] = "skip"
    on_unresolved: str = "escalate_to_leader"

    @field_validator("approvers")
    @classmethod
    def _specs(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _SPEC.match(v)]
        if bad:
            raise ValueError(
                f"unknown approver spec {bad[0]!r} (role:<tag>, user:<userid>, department_head, "
                "leader:<N>, form_field:<field>)"
            )
        return value

    @field_validator("on_unresolved")
    @classmethod
    def _unresolved(cls, value: str) -> str:
        if not _UNRESOLVED.match(value):
            raise ValueError("on_unresolved is escalate_to_leader, fail or admin:<userid>")
        return value


# A route item is an inline stage or the name of one under the rule set's `stages`.
StageOrRef = Annotated[
    Annotated[Stage, Tag("stage")] | Annotated[str, Tag("ref")],
    Discriminator(lambda v: "ref" if isinstance(v, str) else "stage"),
]


class Row(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    when: dict[str, str] = Field(default_factory=dict)
    outcome: Outcome
    priority: int | None = None
    route: list[StageOrRef] = Field(default_factory=list)
    suggestion_template: str | None = None
    reason: str | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _cells_as_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: _cell_text(v) for k, v in value.items()}
        return value

    @property
    def stages(self) -> list[Stage]:
        return [s for s in self.route if isinstance(s, Stage)]


class DefaultRow(Row):
    id: str = "default"


class RuleSet(Model):
    """A versioned decision table for one approval type. Load files through `rules_lint.load_ruleset`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    description: str = ""
    hit_policy: HitPolicy = "unique"
    inputs: dict[str, InputSpec]
    stages: dict[str, Stage] = Field(default_factory=dict)
    rows: list[Row] = Field(min_length=1)
    default: DefaultRow | None = None
    prechecks: list[PreCheckConfig] = Field(default_factory=list)
    # Who decides when the route leaves no person (the top of the hierarchy, everyone skipped):
    # the first spec that resolves to someone other than the applicant. None resolving: rejected
    # with a reason. Never approved by nobody.
    fallback_approvers: list[str] = Field(default_factory=list)

    _compiled: CompiledRuleSet | None = PrivateAttr(default=None)
    _declared: frozenset[str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_stage_refs(self) -> RuleSet:
        for row in [*self.rows, *([self.default] if self.default else [])]:
            unknown = [s for s in row.route if isinstance(s, str) and s not in self.stages]
            if unknown:
                raise ValueError(f"row {row.id}: unknown stage {unknown[0]!r} (define it under stages)")
            object.__setattr__(row, "route", [self.stages[s] if isinstance(s, str) else s for s in row.route])
        return self

    def input_spec(self, name: str) -> InputSpec:
        return self.inputs[name]

    def source_of(self, name: str) -> str:
        spec = self.inputs[name]
        if spec.source:
            return spec.source
        return f"applicant.{name}" if spec.type == "user_attribute" else f"form.{name}"

    def compiled(self) -> CompiledRuleSet:
        """Cells parsed once; raises CellSyntaxError / ConfigurationError naming the row and input."""
        if self._compiled is None:
            self._compiled = compile_ruleset(self)
        return self._compiled


@dataclass(frozen=True, slots=True)
class CompiledRow:
    row: Row
    index: int
    cells: tuple[tuple[str, Cell], ...]  # only the cells that are not "-"


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    rows: tuple[CompiledRow, ...]
    domains: dict[str, Cell]
    tag_literals: dict[str, frozenset[str]] = field(default_factory=dict)


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    rows = []
    tag_literals: dict[str, set[str]] = {}
    for index, row in enumerate(ruleset.rows):
        cells = []
        for name, text in row.when.items():
            if name not in ruleset.inputs:
                raise ConfigurationError(f"row {row.id}: unknown input {name!r}")
            try:
                cell = parse_cell(text, ruleset.inputs[name])
            except CellSyntaxError as exc:
                raise CellSyntaxError(f"row {row.id}, input {name}: {exc.message}") from None
            if not cell.is_any:
                cells.append((name, cell))
                if cell.shape == "set":
                    tag_literals.setdefault(name, set()).update(cell.values)
        rows.append(CompiledRow(row, index, tuple(cells)))
    domains = {}
    for name, spec in ruleset.inputs.items():
        if spec.domain is not None:
            try:
                domains[name] = parse_cell(spec.domain, spec)
            except CellSyntaxError as exc:
                raise CellSyntaxError(f"input {name} domain: {exc.message}") from None
    return CompiledRuleSet(tuple(rows), domains, {k: frozenset(v) for k, v in tag_literals.items()})


# --- requests and contract forms --------------------------------------------------------------


class ExpenseForm(Model):
    """API contract of the shipped `expense` type (amount in CNY)."""

    model_config = ConfigDict(extra="allow")

    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    reason: str = Field(min_length=1, max_length=500)
    invoice_no: str | None = Field(None, max_length=64)


LeaveType = Literal["annual", "comp_time", "personal", "sick", "marriage", "maternity", "paternity",
                    "bereavement", "other"]


class LeaveForm(Model):
    """API contract of the shipped `leave` type: comp_time = 调休, personal = 事假."""

    model_config = ConfigDict(extra="allow")

    leave_type: LeaveType
    start: date
    end: date
    days: Decimal = Field(gt=0, max_digits=6, decimal_places=2)
    handover_to: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> LeaveForm:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


FORM_MODELS: dict[str, type[BaseModel]] = {"expense": ExpenseForm, "leave": LeaveForm}

# Bounds of an approval form: approvals/limits.py (light, so the API lists them without loading rules).
_EXTRA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Form fields a pre-check reads besides its `field` parameter.
PRECHECK_FIELDS: dict[str, tuple[str, ...]] = {"leave_balance": ("leave_type", "days", "start", "end"),
                                               "duplicate_invoice": ("invoice_no",), "budget": ("amount",)}


def declared_form_fields(ruleset: RuleSet) -> frozenset[str]:
    """Form keys the type knows: its contract form's fields, the rule set's form inputs, the
    fields its approver specs (`form_field:`) and pre-checks read. Computed once per rule set
    (it is frozen): every evaluation checks the form against it (a quarter of an evaluation's
    time when it was recomputed each call)."""
    if ruleset._declared is None:
        ruleset._declared = _declared_form_fields(ruleset)
    return ruleset._declared


def _declared_form_fields(ruleset: RuleSet) -> frozenset[str]:
    model = FORM_MODELS.get(ruleset.type)
    fields = set(model.model_fields) if model is not None else set()
    fields.update(ruleset.source_of(n).split(".", 1)[1] for n, spec in ruleset.inputs.items()
                  if spec.type != "user_attribute")
    stages = [*ruleset.stages.values()]
    for row in [*ruleset.rows, *([ruleset.default] if ruleset.default else [])]:
        stages.extend(s for s in row.route if isinstance(s, Stage))
    specs = [*ruleset.fallback_approvers, *(spec for stage in stages for spec in stage.approvers)]
    fields.update(spec.split(":", 1)[1] for spec in specs if spec.startswith("form_field:"))
    for check in ruleset.prechecks:
        fields.update(PRECHECK_FIELDS.get(check.check, ()))
        if isinstance(check.params.get("field"), str):
            fields.add(check.params["field"])
    return frozenset(fields)


def _form_limit(limit: str, maximum: int, message: str, at: str) -> InputLimitExceeded:
    return InputLimitExceeded(message, details={"limit": limit, "max": maximum, "where": at})


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def _clip(text: str, size: int = 24) -> str:
    return text if len(text) <= size else text[:size] + "…"


def check_form_bounds(ruleset: RuleSet, form: Mapping[str, Any]) -> None:
    """InputLimitExceeded (400) naming the bound a form breaks: its size, nesting or list lengths,
    or a key that is not a field of the type beyond the few small extras allowed."""
    declared = declared_form_fields(ruleset)
    stack: list[tuple[Any, str, int]] = [(v, f"form.{_clip(str(k))}", 1) for k, v in form.items()]
    while stack:  # iterative: a form nested past every limit is refused, never recursed into
        value, at, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple) and depth > FORM_MAX_DEPTH:
            raise _form_limit("form_max_depth", FORM_MAX_DEPTH,
                              f"form nests deeper than {FORM_MAX_DEPTH} levels at {at} (form_max_depth)", at)
        if isinstance(value, Mapping):
            stack.extend((v, f"{at}.{_clip(str(k))}", depth + 1) for k, v in value.items())
        elif isinstance(value, list | tuple):
            if len(value) > FORM_MAX_LIST_ITEMS:
                raise _form_limit("form_max_list_items", FORM_MAX_LIST_ITEMS, f"{at}: {len(value)} items; the "
                                  f"limit is {FORM_MAX_LIST_ITEMS} (form_max_list_items)", at)
            stack.extend((v, f"{at}[{i}]", depth + 1) for i, v in enumerate(value))
    fields = ", ".join(sorted(declared)) or "none"
    extras = [str(k) for k in form if str(k) not in declared]
    for key in extras:
        if len(key) > FORM_MAX_EXTRA_KEY_CHARS or not _EXTRA_KEY.match(key):
            raise _form_limit("form_max_extra_key_chars", FORM_MAX_EXTRA_KEY_CHARS,
                              f"form key {_clip(key)!r} is not a field of {ruleset.type} (fields: {fields}); an extra "
                              f"key must be 1-{FORM_MAX_EXTRA_KEY_CHARS} letters, digits or _ (form_max_extra_key_chars)",
                              f"form.{_clip(key)}")
    if len(extras) > FORM_MAX_EXTRA_KEYS:
        raise _form_limit("form_max_extra_keys", FORM_MAX_EXTRA_KEYS,
                          f"form has {len(extras)} keys that are not fields of {ruleset.type} (fields: {fields}); "
                          f"at most {FORM_MAX_EXTRA_KEYS} extra keys are kept (form_max_extra_keys)", "form")
    for key in extras:
        if (size := _json_size(form[key])) > FORM_MAX_EXTRA_VALUE_BYTES:
            raise _form_limit("form_max_extra_value_bytes", FORM_MAX_EXTRA_VALUE_BYTES,
                              f"form key {key!r} is not a field of {ruleset.type} and its value is {size} bytes; an "
                              f"extra key's value may take {FORM_MAX_EXTRA_VALUE_BYTES} (form_max_extra_value_bytes)",
                              f"form.{key}")
    if (size := _json_size(dict(form))) > FORM_MAX_BYTES:
        raise _form_limit("form_max_bytes", FORM_MAX_BYTES,
                          f"form is {size} bytes as JSON; the limit is {FORM_MAX_BYTES} (form_max_bytes)", "form")


class ApprovalRequest(Model):
    model_config = ConfigDict(extra="forbid")

    type: str
    applicant: str = Field(min_length=1)
    form: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None


# --- decisions --------------------------------------------------------------------------------


class CellTrace(Model):
    input: str
    label: str
    cell: str
    value: Any
    matched: bool


class RowTrace(Model):
    """One evaluated row: all cells when it matched, the first failing cell when it did not."""

    row: str
    matched: bool
    cells: list[CellTrace]


class ResolvedTimeout(Model):
    after: str
    after_seconds: int
    action: str
    max_reminders: int


class ResolvedStage(Model):
    index: int
    name: str
    mode: str
    specs: list[str]
    approvers: list[str]
    approver_names: list[str] = Field(default_factory=list)
    skipped: bool = False
    timeout: ResolvedTimeout | None = None
    notes: list[str] = Field(default_factory=list)


class Decision(Model):
    """The result of evaluating a request; what an approval stores (version, rows, inputs)."""

    type: str
    ruleset_version: int
    hit_policy: HitPolicy
    outcome: Outcome
    status: Literal["approved", "auto_rejected", "pending"]
    matched_rows: list[str]
    explanation: list[str]
    trace: list[RowTrace]
    inputs: dict[str, Any]
    route: list[ResolvedStage]
    findings: list[Finding]
    suggestion: str | None = None
    reason: str | None = None

    @property
    def flags(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "flag"]


@dataclass
class EvaluationContext:
    """The ports an evaluation needs: the directory, pre-check implementations, the texts."""

    directory: Directory
    prechecks: Mapping[str, PreCheck] = field(default_factory=dict)
    templates: ApprovalTemplates | None = None

    def texts(self) -> ApprovalTemplates:
        return self.templates or default_templates()


# --- evaluation -------------------------------------------------------------------------------


def evaluate(ruleset: RuleSet, request: ApprovalRequest, context: EvaluationContext) -> Decision:
    """Decide a request. Raises InvalidInput (bad form or applicant), ConfigurationError subclasses
    (NoRuleMatched, AmbiguousMatch, UnresolvedApprover) and whatever a pre-check's port raises."""
    if request.type != ruleset.type:
        raise InvalidInput(f"type {request.type!r} does not match rule set {ruleset.type!r}",
                           details=[{"field": "type", "problem": "mismatch"}])
    compiled = _compiled(ruleset)  # reference: its own compiled cells, never the engine's index
    texts = context.texts()
    applicant = _applicant(context.directory, request.applicant)
    form = _validated_form(ruleset, request)
    values = _input_values(ruleset, compiled, form, applicant, context.directory)
    findings = _run_prechecks(ruleset, request, form, applicant, context, texts)
    rejections = [f for f in findings if f.severity == "reject"]
    if rejections:
        return _rejected_by_precheck(ruleset, values, findings, rejections, texts)
    matched, trace = _match(ruleset, compiled, values)
    return _decide(ruleset, matched, trace, values, findings, applicant, form, context, texts)


_COMPILED: dict[int, tuple[Any, CompiledRuleSet]] = {}


def _compiled(ruleset: Any) -> CompiledRuleSet:  # reference: cached per rule set object, kept alive
    entry = _COMPILED.get(id(ruleset))
    if entry is None or entry[0] is not ruleset:
        entry = _COMPILED[id(ruleset)] = (ruleset, compile_ruleset(ruleset))
    return entry[1]


def _applicant(directory: Directory, userid: str) -> User:
    try:
        return directory.user(userid)
    except NotFound:
        raise InvalidInput(f"applicant {userid!r} is not in the directory",
                           details=[{"field": "applicant", "problem": "unknown user"}]) from None


def _validated_form(ruleset: RuleSet, request: ApprovalRequest) -> dict[str, Any]:
    """The form within its bounds (`check_form_bounds`), then through the type's contract model."""
    check_form_bounds(ruleset, request.form)
    model = FORM_MODELS.get(request.type)
    if model is None:
        return dict(request.form)
    try:
        return model.model_validate(request.form).model_dump()
    except ValidationError as exc:
        details = [{"field": "form." + ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        first = details[0]
        raise InvalidInput(f"{first['field']}: {first['problem']}", details=details) from None


def _input_values(
    ruleset: RuleSet, compiled: CompiledRuleSet, form: Mapping[str, Any], applicant: User, directory: Directory
) -> dict[str, Any]:
    values = {}
    for name, spec in ruleset.inputs.items():
        source = ruleset.source_of(name)
        if spec.type == "user_attribute":
            raw = _applicant_attribute(source.split(".", 1)[1], applicant, directory, compiled.tag_literals.get(name))
        else:
            raw = form.get(source.split(".", 1)[1])
        value = None if raw is None else coerce_value(raw, spec, name)
        if value is None and spec.required:
            raise InvalidInput(f"{source} is required", details=[{"field": source, "problem": "missing"}])
        domain = compiled.domains.get(name)
        if value is not None and domain is not None and not domain.matches(value):
            raise InvalidInput(f"{source}: {display(value)} is outside {domain.source}",
                               details=[{"field": source, "problem": f"outside {domain.source}"}])
        values[name] = value
    return values


def coerce_value(raw: Any, spec: InputSpec, name: str) -> Any:
    """A request value as the input's type; raises InvalidInput naming the input."""
    try:
        if spec.type in ("money", "number"):
            if isinstance(raw, bool):
                raise ValueError
            value = Decimal(str(raw))
            if not value.is_finite():
                raise ValueError
            return value
        if spec.type == "date":
            return raw if isinstance(raw, date) and not isinstance(raw, datetime) else date.fromisoformat(str(raw)[:10])
        if spec.type == "duration":
            return raw if isinstance(raw, timedelta) else parse_duration(str(raw))
        if spec.type == "bool":
            if isinstance(raw, bool):
                return raw
            raise ValueError
        if spec.type == "enum" and str(raw) not in spec.values:
            raise ValueError
        if isinstance(raw, frozenset):
            return raw
        return str(raw)
    except (ValueError, ArithmeticError, CellSyntaxError):
        raise InvalidInput(f"{name}: {raw!r} is not a valid {spec.type}",
                           details=[{"field": name, "problem": f"expected {spec.type}"}]) from None


def _applicant_attribute(
    attribute: str, user: User, directory: Directory, tag_literals: frozenset[str] | None
) -> Any:
    if attribute == "userid":
        return user.userid
    if attribute == "department":
        return directory.department(user.department).name if user.department is not None else None
    if attribute in ("position", "region"):
        return getattr(user, attribute) or None
    if attribute in ("role", "tags"):
        return frozenset(t for t in (tag_literals or ()) if user.userid in _tag_members(directory, t))
    raise ConfigurationError(f"unknown applicant attribute {attribute!r}")


def _tag_members(directory: Directory, tag: str) -> list[str]:
    try:
        return directory.tag_members(tag)
    except NotFound:
        return []


def _run_prechecks(
    ruleset: RuleSet,
    request: ApprovalRequest,
    form: dict[str, Any],
    applicant: User,
    context: EvaluationContext,
    texts: ApprovalTemplates,
) -> list[Finding]:
    if not ruleset.prechecks:
        return []
    dept_id = applicant.department
    dept_name = context.directory.department(dept_id).name if dept_id is not None else None
    subject = CheckSubject(type=request.type, applicant=applicant.userid, form=form, department_id=dept_id,
                           department_name=dept_name, request_id=request.request_id)
    findings: list[Finding] = []
    for config in ruleset.prechecks:
        check = context.prechecks.get(config.check)
        if check is None:
            findings.append(Finding(check=config.check, code="precheck_unavailable", severity="flag",
                                    message=texts.text("flags", "precheck_unavailable", check=config.check)))
            continue
        findings.extend(check.run(subject, config, texts))
    return findings


def _match(
    ruleset: RuleSet, compiled: CompiledRuleSet, values: Mapping[str, Any]
) -> tuple[list[Row], list[dict[str, Any]]]:
    """Matched rows and the trace as plain dicts (validated once, in bulk, by `Decision`)."""
    matched: list[CompiledRow] = []
    trace: list[dict[str, Any]] = []
    for crow in compiled.rows:
        failed = None
        for name, cell in crow.cells:
            if not cell.matches(values[name]):
                failed = (name, cell)
                break
        if failed is None:
            matched.append(crow)
            cells = [_cell_trace(ruleset, n, c, values[n], True) for n, c in crow.cells]
            trace.append({"row": crow.row.id, "matched": True, "cells": cells})
            if ruleset.hit_policy == "first":
                break
        else:
            cells = [_cell_trace(ruleset, failed[0], failed[1], values[failed[0]], False)]
            trace.append({"row": crow.row.id, "matched": False, "cells": cells})
    return _select(ruleset, matched), trace


def _cell_trace(ruleset: RuleSet, name: str, cell: Cell, value: Any, matched: bool) -> dict[str, Any]:
    label = ruleset.inputs[name].label or name
    return {"input": name, "label": label, "cell": cell.source, "value": _snapshot_value(value), "matched": matched}


def _select(ruleset: RuleSet, matched: list[CompiledRow]) -> list[Row]:
    if ruleset.hit_policy == "unique" and len(matched) > 1:
        raise AmbiguousMatch(f"rule set {ruleset.type} v{ruleset.version}: rows "
                             f"{', '.join(c.row.id for c in matched)} all match under hit policy unique")
    if ruleset.hit_policy == "priority" and matched:
        best = max(matched, key=lambda c: (c.row.priority or 0, -c.index))
        return [best.row]
    return [c.row for c in matched]


def _decide(
    ruleset: RuleSet,
    matched: list[Row],
    trace: list[dict[str, Any]],
    values: Mapping[str, Any],
    findings: list[Finding],
    applicant: User,
    form: Mapping[str, Any],
    context: EvaluationContext,
    texts: ApprovalTemplates,
) -> Decision:
    if not matched:
        if ruleset.default is None:
            raise NoRuleMatched(f"rule set {ruleset.type} v{ruleset.version}: no row matches "
                                + ", ".join(f"{k}={display(v)}" for k, v in values.items()))
        matched = [ruleset.default]
    outcome, stages = _combine(matched)
    route = resolve_route(stages, applicant, form, context.directory, texts) if outcome == "route" else []
    deciding = [r for r in matched if r.outcome == outcome]
    suggestion = _suggestion(deciding, values, texts)
    reason = "；".join(r.reason for r in deciding if r.reason) or None
    if outcome == "route" and all(st.skipped or not st.approvers for st in route):
        fallback = _fallback_stage(ruleset, len(route) + 1, applicant, form, context.directory, texts)
        if fallback is not None:
            route.append(fallback)
        else:  # nobody could decide: refused with the reason, never approved by "system"
            outcome, reason = "auto_reject", texts.text("explanations", "no_approver")
            route = []
    explanation = _explain(ruleset, matched, trace, findings, outcome, route, texts)
    return Decision(
        type=ruleset.type, ruleset_version=ruleset.version, hit_policy=ruleset.hit_policy, outcome=outcome,
        status=STATUS_BY_OUTCOME[outcome], matched_rows=[r.id for r in matched], explanation=explanation,
        trace=trace, inputs=_snapshot(values), route=route, findings=findings, suggestion=suggestion, reason=reason,
    )


def _combine(rows: Sequence[Row]) -> tuple[Outcome, list[Stage]]:
    """Collect semantics (also right for a single row): any reject wins, then routes merge in row
    order (a stage name already present is not repeated), else approve."""
    outcomes = {r.outcome for r in rows}
    if "auto_reject" in outcomes:
        return "auto_reject", []
    if "route" in outcomes:
        stages: list[Stage] = []
        for row in rows:
            stages.extend(s for s in row.stages if s.name not in {x.name for x in stages})
        return "route", stages
    return "auto_approve", []


def _suggestion(rows: Sequence[Row], values: Mapping[str, Any], texts: ApprovalTemplates) -> str | None:
    rendered = [texts.text("suggestions", r.suggestion_template, **values) for r in rows if r.suggestion_template]
    return "\n".join(rendered) or None


def _rejected_by_precheck(
    ruleset: RuleSet, values: Mapping[str, Any], findings: list[Finding], rejections: list[Finding],
    texts: ApprovalTemplates,
) -> Decision:
    explanation = [_ruleset_line(ruleset, texts)]
    explanation += [texts.text("explanations", "precheck_reject", message=f.message) for f in rejections]
    explanation += [texts.text("explanations", "precheck_flag", message=f.message)
                    for f in findings if f.severity == "flag"]
    explanation.append(texts.text("outcomes", "auto_reject"))
    suggestion = "\n".join(f.suggestion for f in rejections if f.suggestion) or None
    return Decision(
        type=ruleset.type, ruleset_version=ruleset.version, hit_policy=ruleset.hit_policy, outcome="auto_reject",
        status="auto_rejected", matched_rows=[], explanation=explanation, trace=[], inputs=_snapshot(values),
        route=[], findings=findings, suggestion=suggestion, reason=rejections[0].message,
    )


def _explain(
    ruleset: RuleSet, matched: list[Row], trace: list[dict[str, Any]], findings: list[Finding], outcome: Outcome,
    route: list[ResolvedStage], texts: ApprovalTemplates,
) -> list[str]:
    by_row = {t["row"]: t for t in trace}
    lines = [_ruleset_line(ruleset, texts)]
    for row in matched:
        row_trace = by_row.get(row.id)
        if row_trace is None:
            lines.append(texts.text("explanations", "default_row"))
            continue
        cells = "；".join(_cell_text_line(c, texts) for c in row_trace["cells"]) or texts.text("explanations", "no_conditions")
        key = "row_matched_reason" if row.reason else "row_matched"
        lines.append(texts.text("explanations", key, row=row.id, cells=cells, reason=row.reason or ""))
    lines += [texts.text("explanations", "precheck_flag", message=f.message) for f in findings if f.severity == "flag"]
    lines.append(texts.text("outcomes", outcome))
    for stage in route:
        approvers = display([f"{n}（{u}）" for n, u in zip(stage.approver_names, stage.approvers, strict=True)])
        key = "stage_skipped" if stage.skipped else "stage"
        lines.append(texts.text("explanations", key, index=stage.index, name=stage.name, approvers=approvers,
                                mode=texts.text("modes", stage.mode)))
        lines += stage.notes
    return lines


def _ruleset_line(ruleset: RuleSet, texts: ApprovalTemplates) -> str:
    return texts.text("explanations", "ruleset", type=ruleset.type, version=ruleset.version,
                      hit_policy=texts.text("hit_policies", ruleset.hit_policy))


def _cell_text_line(cell: Mapping[str, Any], texts: ApprovalTemplates) -> str:
    key = "cell_matched" if cell["matched"] else "cell_missed"
    return texts.text("explanations", key, label=cell["label"], value=cell["value"], cell=cell["cell"])


def _snapshot_value(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, timedelta):
        return display(value)
    return value


def _snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _snapshot_value(v) for k, v in values.items()}


# --- route resolution -------------------------------------------------------------------------


def resolve_route(
    stages: Sequence[Stage], applicant: User, form: Mapping[str, Any], directory: Directory,
    texts: ApprovalTemplates,
) -> list[ResolvedStage]:
    """Stages with concrete active userids. Self-approval and empty stages follow the stage's
    `on_self_approval` / `on_unresolved`; raises UnresolvedApprover when that says fail."""
    return [resolve_stage(i, s, applicant, form, directory, texts) for i, s in enumerate(stages, start=1)]


def resolve_stage(
    index: int, stage: Stage, applicant: User, form: Mapping[str, Any], directory: Directory,
    texts: ApprovalTemplates,
) -> ResolvedStage:
    resolved = _unique([u for spec in stage.approvers for u in _resolve_spec(spec, applicant, form, directory)])
    resolved = [u for u in resolved if _active(directory, u)]
    notes: list[str] = []
    approvers = resolved
    if applicant.userid in resolved:
        approvers = [u for u in resolved if u != applicant.userid]
        if stage.on_self_approval == "next_leader":
            boss = leader(directory, applicant.userid, 1)
            if boss is not None and _active(directory, boss) and boss not in approvers:
                approvers.append(boss)
                notes.append(texts.text("explanations", "self_next_leader", index=index, leader=boss))
            elif boss is None and not approvers:
                notes.append(texts.text("explanations", "self_no_leader", index=index))
                return _resolved(index, stage, directory, [], notes, skipped=True)
        elif not approvers:
            notes.append(texts.text("explanations", "self_skipped", index=index))
            return _resolved(index, stage, directory, [], notes, skipped=True)
    if not approvers:
        approvers, note = _fallback(index, stage, applicant, directory, texts)
        notes.append(note)
    return _resolved(index, stage, directory, approvers, notes)


def _fallback_stage(ruleset: RuleSet, index: int, applicant: User, form: Mapping[str, Any], directory: Directory,
                    texts: ApprovalTemplates) -> ResolvedStage | None:
    for spec in ruleset.fallback_approvers:
        people = [u for u in _unique(_resolve_spec(spec, applicant, form, directory))
                  if u != applicant.userid and _active(directory, u)]
        if people:
            stage = Stage(name=texts.text("explanations", "fallback_stage_name"), approvers=[spec], mode="any")
            note = texts.text("explanations", "fallback_stage", index=index, specs=spec)
            return _resolved(index, stage, directory, people, [note])
    return None


def _resolved(
    index: int, stage: Stage, directory: Directory, approvers: list[str], notes: list[str], *, skipped: bool = False
) -> ResolvedStage:
    timeout = None
    if stage.timeout is not None:
        timeout = ResolvedTimeout(after=stage.timeout.after, after_seconds=stage.timeout.after_seconds,
                                  action=stage.timeout.action, max_reminders=stage.timeout.max_reminders)
    return ResolvedStage(index=index, name=stage.name, mode=stage.mode, specs=list(stage.approvers),
                         approvers=approvers, approver_names=[_name(directory, u) for u in approvers],
                         skipped=skipped, timeout=timeout, notes=notes)


def _resolve_spec(spec: str, applicant: User, form: Mapping[str, Any], directory: Directory) -> list[str]:
    kind, _, arg = spec.partition(":")
    if kind == "role":
        return _tag_members(directory, arg)
    if kind == "user":
        return [arg] if _known(directory, arg) else []
    if kind == "department_head":
        head = department_head(directory, applicant.userid)
        if head is None and _heads_own_department(directory, applicant):
            return [applicant.userid]  # the top head approving their own request: self-approval rules apply
        return [head] if head else []
    if kind == "leader":
        boss = leader(directory, applicant.userid, int(arg))
        return [boss] if boss else []
    if kind == "form_field":
        value = form.get(arg)
        users = [value] if isinstance(value, str) else list(value or [])
        return [u for u in users if isinstance(u, str) and _known(directory, u)]
    raise CellSyntaxError(f"unknown approver spec {spec!r}")


def _heads_own_department(directory: Directory, applicant: User) -> bool:
    if applicant.department is None:
        return False
    return applicant.userid in directory.department(applicant.department).leaders


def _fallback(
    index: int, stage: Stage, applicant: User, directory: Directory, texts: ApprovalTemplates
) -> tuple[list[str], str]:
    rule = stage.on_unresolved
    specs = "、".join(stage.approvers)
    if rule == "escalate_to_leader":
        top = _top_of_chain(directory, applicant.userid)
        if top is not None:
            return [top], texts.text("explanations", "unresolved_leader", index=index, specs=specs, leader=top)
    elif rule.startswith("admin:"):
        admin = rule.split(":", 1)[1]
        if _known(directory, admin) and _active(directory, admin):
            return [admin], texts.text("explanations", "unresolved_admin", index=index, specs=specs, admin=admin)
    raise UnresolvedApprover(
        f"stage {index} ({stage.name}): nobody resolves for {', '.join(stage.approvers)} "
        f"(applicant {applicant.userid}, on_unresolved {rule})"
    )


def _top_of_chain(directory: Directory, userid: str) -> str | None:
    """The highest active leader above the user (walks at most MAX_LEADER_LEVELS levels)."""
    top = None
    current = userid
    seen = {userid}
    for _ in range(MAX_LEADER_LEVELS):
        nxt = leader(directory, current, 1)
        if nxt is None or nxt in seen:
            break
        seen.add(nxt)
        if _active(directory, nxt):
            top = nxt
        current = nxt
    return top


def _name(directory: Directory, userid: str) -> str:
    try:
        return directory.user(userid).name
    except NotFound:
        return userid


def _known(directory: Directory, userid: str) -> bool:
    try:
        directory.user(userid)
    except NotFound:
        return False
    return True


def _active(directory: Directory, userid: str) -> bool:
    try:
        return directory.user(userid).status == 1
    except NotFound:
        return False


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
