"""Approval rule sets as decision tables, and their evaluation.

A rule set (YAML under config/approval_rules/, linted by `rules_lint`) has typed `inputs`, a
`hit_policy` and `rows`; each row has cells (`when: {input: cell}`) and an outcome: auto_approve,
auto_reject or route (stages of approvers). `evaluate()` runs the rule set's pre-checks, matches the
rows, resolves the route to concrete userids through the Directory port and returns a `Decision`
with the matched rows, a per-cell explanation and the input snapshot. It stores nothing, so a dry
run is the same call.

Speed (issue 18): a rule set is compiled once per (frozen) version: cells parsed, and an index per
input that some row has a cell on (the sorted end points of an ordered input's intervals, a dict per
literal of a single-valued one, tag masks for role/tags), each giving the bit mask of the rows a value
lets through. Matching intersects those masks; only the matched rows' cells are read to explain, and
each explanation line's fixed text is rendered once per templates file. The trace of every examined
row (`Decision.trace`, in the dry run's body) is built when it is read or serialised. Decisions are
the same as the full row-by-row scan's: tests/unit/rules/test_rules_equivalence.py checks them against
a frozen copy of that engine on random tables and forms.

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
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
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
        compiled = self.__pydantic_private__.get("_compiled")  # not `self._compiled`: pydantic's slow path
        if compiled is None:
            compiled = self._compiled = compile_ruleset(self)
        return compiled


@dataclass(frozen=True, slots=True)
class CompiledRow:
    row: Row
    index: int
    cells: tuple[tuple[str, Cell], ...]  # only the cells that are not "-"
    # What the row's explanation line is rendered from besides the values: (id, reason, (label, cell)…).
    explain_key: tuple[Any, ...] = ()


class _ScanIndex:
    """Rows an input's value lets through, as a bit mask (bit i: row i), by testing each cell of the
    input: the general case, exactly `Cell.matches`."""

    __slots__ = ("cells", "free")

    def __init__(self, free: int, cells: Sequence[tuple[int, Cell]]) -> None:
        self.free = free  # rows with no cell on this input ("-")
        self.cells = tuple(cells)

    def mask(self, value: Any) -> int:
        mask = self.free
        for bit, cell in self.cells:
            if cell.matches(value):
                mask |= bit
        return mask


class _OrderedIndex:
    """An interval index of an ordered input: the sorted end points of every cell cut the line into
    points and open gaps, each with the rows it lets through; a value is found by bisection."""

    __slots__ = ("none", "points", "regions")

    def __init__(self, free: int, cells: Sequence[tuple[int, Cell]]) -> None:
        points = sorted({p for _, cell in cells for p in cell.points()})
        # regions[2i]: the gap below points[i] (above points[i-1]); regions[2i+1]: points[i] itself.
        bounds = [None, *points, None]
        regions = []
        for i in range(len(points) + 1):
            regions.append(_rows_of(free, cells, lambda iv, a=bounds[i], b=bounds[i + 1]: _covers(iv, a, b)))
            if i < len(points):
                regions.append(_rows_of(free, cells, lambda iv, p=points[i]: iv.contains(p)))
        self.none = free  # a missing value matches only "-"
        self.points = points
        self.regions = tuple(regions)

    def mask(self, value: Any) -> int:
        if value is None:
            return self.none
        i = bisect_left(self.points, value)
        if i < len(self.points) and self.points[i] == value:
            return self.regions[2 * i + 1]
        return self.regions[2 * i]


def _covers(interval: Interval, below: Any, above: Any) -> bool:
    """Whether the interval holds the whole open gap (below, above) between two consecutive end
    points (None: unbounded). Every end point of the interval is one of the points, so it holds
    all of the gap or none of it."""
    lo_ok = interval.lo is None or (below is not None and interval.lo <= below)
    return lo_ok and (interval.hi is None or (above is not None and interval.hi >= above))


def _rows_of(free: int, cells: Sequence[tuple[int, Cell]], hits: Any) -> int:
    mask = free
    for bit, cell in cells:
        if any(hits(iv) for iv in cell.intervals) != cell.negated:
            mask |= bit
    return mask


class _LookupIndex:
    """A dict index of a single-valued input (text, enum, bool, applicant attribute): the rows each
    literal of its cells lets through, and those any other value does (the negated cells)."""

    __slots__ = ("by_value", "none", "other", "scan")

    def __init__(self, free: int, cells: Sequence[tuple[int, Cell]]) -> None:
        literals = {v for _, cell in cells for v in cell.values}
        self.by_value = {v: free | sum(b for b, c in cells if (v in c.values) != c.negated) for v in literals}
        self.other = free | sum(b for b, c in cells if c.negated)
        self.none = free
        self.scan = _ScanIndex(free, cells)

    def mask(self, value: Any) -> int:
        if value is None:
            return self.none
        try:
            return self.by_value.get(value, self.other)
        except TypeError:  # unhashable: cells cannot hold it, test them as they are
            return self.scan.mask(value)


class _SetIndex:
    """An index of a set-valued applicant attribute (role, tags): a value (the applicant's tags)
    lets a cell through when one of its tags is in the cell, or, negated, when none is."""

    __slots__ = ("free", "negated", "negated_with", "with_tag")

    def __init__(self, free: int, cells: Sequence[tuple[int, Cell]]) -> None:
        self.free = free
        self.negated = sum(b for b, c in cells if c.negated)
        tags = {v for _, cell in cells for v in cell.values}
        self.with_tag = {t: sum(b for b, c in cells if not c.negated and t in c.values) for t in tags}
        self.negated_with = {t: sum(b for b, c in cells if c.negated and t in c.values) for t in tags}

    def mask(self, value: Any) -> int:
        if value is None:
            return self.free
        hit = missed = 0
        for tag in value:
            hit |= self.with_tag.get(tag, 0)
            missed |= self.negated_with.get(tag, 0)
        return self.free | hit | (self.negated & ~missed)


_INDEX_BY_SHAPE = {"ordered": _OrderedIndex, "single": _LookupIndex, "bool": _LookupIndex, "set": _SetIndex}


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    rows: tuple[CompiledRow, ...]
    domains: dict[str, Cell]
    tag_literals: dict[str, frozenset[str]] = field(default_factory=dict)
    # One index per input that some row has a cell on: value → bit mask of the rows it lets through.
    index: tuple[tuple[str, Any], ...] = ()
    all_rows: int = 0
    # Row ids are distinct and the default row's id is none of them: the explanation needs only
    # the matched rows' cells (otherwise it reads the trace of every examined row, as it always did).
    plain_ids: bool = True
    # (input, spec, `form.<field>` / `applicant.<attribute>`, field or attribute) in declared order.
    sources: tuple[tuple[str, InputSpec, str, str], ...] = ()


def _build_index(ruleset: RuleSet, rows: Sequence[CompiledRow]) -> tuple[tuple[str, Any], ...]:
    index = []
    for name, spec in ruleset.inputs.items():
        cells = [(1 << crow.index, cell) for crow in rows for n, cell in crow.cells if n == name]
        if not cells:
            continue
        free = sum(1 << crow.index for crow in rows) & ~sum(b for b, _ in cells)
        index.append((name, _INDEX_BY_SHAPE[cell_shape(spec)](free, cells)))
    return tuple(index)


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
        labels = tuple((ruleset.inputs[n].label or n, c.source) for n, c in cells)
        rows.append(CompiledRow(row, index, tuple(cells), ("row_line", row.id, row.reason, labels)))
    domains = {}
    for name, spec in ruleset.inputs.items():
        if spec.domain is not None:
            try:
                domains[name] = parse_cell(spec.domain, spec)
            except CellSyntaxError as exc:
                raise CellSyntaxError(f"input {name} domain: {exc.message}") from None
    ids = [row.id for row in ruleset.rows]
    plain_ids = len(set(ids)) == len(ids) and (ruleset.default is None or ruleset.default.id not in ids)
    return CompiledRuleSet(tuple(rows), domains, {k: frozenset(v) for k, v in tag_literals.items()},
                           index=_build_index(ruleset, rows), all_rows=(1 << len(rows)) - 1, plain_ids=plain_ids,
                           sources=tuple((n, spec, ruleset.source_of(n), ruleset.source_of(n).split(".", 1)[1])
                                         for n, spec in ruleset.inputs.items()))


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
    declared = ruleset.__pydantic_private__.get("_declared")  # a dict read, not pydantic's __getattr__
    if declared is None:
        declared = ruleset._declared = _declared_form_fields(ruleset)
    return declared


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


_FORM_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # what json.dumps(…) builds on every call
_SCALAR_TYPES = frozenset({str, int, float, bool, Decimal, type(None)})


def _json_size(value: Any) -> int:
    return len(_FORM_JSON.encode(value).encode())


def _clip(text: str, size: int = 24) -> str:
    return text if len(text) <= size else text[:size] + "…"


def _fields_text(declared: frozenset[str]) -> str:
    return ", ".join(sorted(declared)) or "none"


def check_form_bounds(ruleset: RuleSet, form: Mapping[str, Any]) -> None:
    """InputLimitExceeded (400) naming the bound a form breaks: its size, nesting or list lengths,
    or a key that is not a field of the type beyond the few small extras allowed."""
    declared = declared_form_fields(ruleset)
    # Only containers are walked (a scalar breaks no bound but the total size, checked below).
    stack: list[tuple[Any, str, int]] = [(v, f"form.{_clip(str(k))}", 1) for k, v in form.items()
                                         if type(v) not in _SCALAR_TYPES and isinstance(v, Mapping | list | tuple)]
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
    extras = [str(k) for k in form if str(k) not in declared]
    for key in extras:
        if len(key) > FORM_MAX_EXTRA_KEY_CHARS or not _EXTRA_KEY.match(key):
            raise _form_limit("form_max_extra_key_chars", FORM_MAX_EXTRA_KEY_CHARS,
                              f"form key {_clip(key)!r} is not a field of {ruleset.type} (fields: {_fields_text(declared)}); an extra "
                              f"key must be 1-{FORM_MAX_EXTRA_KEY_CHARS} letters, digits or _ (form_max_extra_key_chars)",
                              f"form.{_clip(key)}")
    if len(extras) > FORM_MAX_EXTRA_KEYS:
        raise _form_limit("form_max_extra_keys", FORM_MAX_EXTRA_KEYS,
                          f"form has {len(extras)} keys that are not fields of {ruleset.type} (fields: {_fields_text(declared)}); "
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
    """The result of evaluating a request; what an approval stores (version, rows, inputs).

    `trace` (every examined row: all cells of a matched row, the first failing cell of a missed
    one) is built when it is first read or serialised, from the values the evaluation matched:
    deciding needs only the matched rows, and only a dry run's caller reads the rest. Serialised,
    it sits where it always did (after `explanation`), straight from its plain rows; read as an
    attribute, it is the RowTrace models. Made by `evaluate` (validated construction stays:
    pydantic-core builds a Decision faster than `model_construct`, measured 5.7 vs 7.5 µs)."""

    type: str
    ruleset_version: int
    hit_policy: HitPolicy
    outcome: Outcome
    status: Literal["approved", "auto_rejected", "pending"]
    matched_rows: list[str]
    explanation: list[str]
    inputs: dict[str, Any]
    route: list[ResolvedStage]
    findings: list[Finding]
    suggestion: str | None = None
    reason: str | None = None

    # _rows: the trace as plain rows, or the function that builds them (unset: no rows); _trace: its
    # models once read. Slots, not PrivateAttrs: pydantic initialises those on every construction
    # (3.7 µs of a 40 µs evaluation).
    __slots__ = ("_rows", "_trace")

    @property
    def trace(self) -> list[RowTrace]:
        trace = getattr(self, "_trace", None)
        if trace is None:
            trace = self._trace = _row_traces(self._trace_rows())
        return trace

    def _trace_rows(self) -> list[dict[str, Any]]:
        rows = getattr(self, "_rows", None)
        if callable(rows):
            rows = self._rows = rows()
        return rows or []

    def __copy__(self) -> Decision:  # model_copy(): pydantic copies fields and private attributes, not slots
        copied = super().__copy__()
        for name in self.__slots__:
            if hasattr(self, name):
                object.__setattr__(copied, name, getattr(self, name))
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Decision:
        copied = super().__deepcopy__(memo)
        object.__setattr__(copied, "_rows", deepcopy(self._trace_rows(), memo))
        return copied

    @model_serializer(mode="wrap")
    def _with_trace(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        """The fields, and the trace in its place (after explanation) unless include/exclude leave it out."""
        body = handler(self)
        if (info.include is not None and "trace" not in info.include) or (
                info.exclude is not None and "trace" in info.exclude):
            return body
        # The returned dict is serialised once more by pydantic (by inference, as RowTrace's `value: Any`
        # is): plain rows go in as they are, so the trace is walked once. exclude_none needs the typed walk.
        rows = self._trace_rows()
        body["trace"] = _trace_body().dump_python(rows, mode=info.mode, exclude_none=True) if info.exclude_none else rows
        return {k: body[k] for k in _DECISION_KEYS if k in body}

    @property
    def flags(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "flag"]


_DECISION_KEYS = ("type", "ruleset_version", "hit_policy", "outcome", "status", "matched_rows", "explanation",
                  "trace", "inputs", "route", "findings", "suggestion", "reason")


class _CellTraceBody(TypedDict):  # CellTrace's fields, in its order: how a trace row is serialised
    input: str
    label: str
    cell: str
    value: Any
    matched: bool


class _RowTraceBody(TypedDict):
    row: str
    matched: bool
    cells: list[_CellTraceBody]


@cache
def _trace_body() -> TypeAdapter[list[_RowTraceBody]]:
    return TypeAdapter(list[_RowTraceBody])


@cache
def _row_trace_list() -> TypeAdapter[list[RowTrace]]:
    return TypeAdapter(list[RowTrace])


def _row_traces(rows: list[dict[str, Any]]) -> list[RowTrace]:
    """Trace rows as models, validated in one call: pydantic-core builds the dozens of small models
    of a long trace faster than `model_construct` does one by one (measured 2.5x)."""
    return _row_trace_list().validate_python(rows) if rows else []


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
    compiled = ruleset.compiled()
    texts = context.texts()
    applicant = _applicant(context.directory, request.applicant)
    form = _validated_form(ruleset, request)
    values = _input_values(ruleset, compiled, form, applicant, context.directory)
    findings = _run_prechecks(ruleset, request, form, applicant, context, texts)
    rejections = [f for f in findings if f.severity == "reject"]
    if rejections:
        return _rejected_by_precheck(ruleset, values, findings, rejections, texts)
    matched = _select(ruleset, _match(compiled, values, first=ruleset.hit_policy == "first"))
    return _decide(ruleset, compiled, matched, values, findings, applicant, form, context, texts)


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
    for name, spec, source, key in compiled.sources:
        if spec.type == "user_attribute":
            raw = _applicant_attribute(key, applicant, directory, compiled.tag_literals.get(name))
        else:
            raw = form.get(key)
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


def _match(compiled: CompiledRuleSet, values: Mapping[str, Any], *, first: bool) -> list[CompiledRow]:
    """The matching rows in table order (under `first`, the first only), from the index: the masks
    of the rows each input's value lets through, intersected. The same rows as testing every cell
    of every row (`_trace_rows`), which the property test checks against the engine it replaced."""
    mask = compiled.all_rows
    for name, index in compiled.index:
        mask &= index.mask(values[name])
        if not mask:
            return []
    if first:
        return [compiled.rows[(mask & -mask).bit_length() - 1]]
    rows = []
    while mask:
        low = mask & -mask
        rows.append(compiled.rows[low.bit_length() - 1])
        mask ^= low
    return rows


def _trace_rows(ruleset: RuleSet, compiled: CompiledRuleSet, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The trace of every examined row, as plain dicts: all cells of a matched row, the first failing
    cell (in the row's order) of one that missed; under `first`, up to the first match. A cell passes
    when its input's index lets its row through, as in `_match`."""
    masks = {name: index.mask(values[name]) for name, index in compiled.index}
    trace: list[dict[str, Any]] = []
    for crow in compiled.rows:
        bit = 1 << crow.index
        failed = next(((n, c) for n, c in crow.cells if not masks[n] & bit), None)
        if failed is None:
            trace.append({"row": crow.row.id, "matched": True, "cells": _matched_cells(ruleset, crow, values)})
            if ruleset.hit_policy == "first":
                break
        else:
            cells = [_cell_trace(ruleset, failed[0], failed[1], values[failed[0]], False)]
            trace.append({"row": crow.row.id, "matched": False, "cells": cells})
    return trace


def _matched_cells(ruleset: RuleSet, crow: CompiledRow, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_cell_trace(ruleset, n, c, values[n], True) for n, c in crow.cells]


def _cell_trace(ruleset: RuleSet, name: str, cell: Cell, value: Any, matched: bool) -> dict[str, Any]:
    label = ruleset.inputs[name].label or name
    return {"input": name, "label": label, "cell": cell.source, "value": _snapshot_value(value), "matched": matched}


def _select(ruleset: RuleSet, matched: list[CompiledRow]) -> list[CompiledRow]:
    if ruleset.hit_policy == "unique" and len(matched) > 1:
        raise AmbiguousMatch(f"rule set {ruleset.type} v{ruleset.version}: rows "
                             f"{', '.join(c.row.id for c in matched)} all match under hit policy unique")
    if ruleset.hit_policy == "priority" and matched:
        return [max(matched, key=lambda c: (c.row.priority or 0, -c.index))]
    return matched


def _decide(
    ruleset: RuleSet,
    compiled: CompiledRuleSet,
    selected: list[CompiledRow],
    values: Mapping[str, Any],
    findings: list[Finding],
    applicant: User,
    form: Mapping[str, Any],
    context: EvaluationContext,
    texts: ApprovalTemplates,
) -> Decision:
    matched = [c.row for c in selected]
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
    trace = None
    if compiled.plain_ids:  # only the matched rows' cells are read (the default row has none)
        by_id = {c.row.id: c for c in selected}
        explanation = _explain(ruleset, matched, lambda row: _matched_line(ruleset, by_id.get(row.id), values, texts),
                               findings, outcome, route, texts)
    else:  # a repeated row id reads the last examined row of that id, as the explanation always did
        trace = _trace_rows(ruleset, compiled, values)
        cells_by_row = {t["row"]: t["cells"] for t in trace}
        explanation = _explain(ruleset, matched, lambda row: _traced_line(row, cells_by_row.get(row.id), texts),
                               findings, outcome, route, texts)
    decision = Decision(
        type=ruleset.type, ruleset_version=ruleset.version, hit_policy=ruleset.hit_policy, outcome=outcome,
        status=STATUS_BY_OUTCOME[outcome], matched_rows=[r.id for r in matched], explanation=explanation,
        inputs=_snapshot(values), route=route, findings=findings, suggestion=suggestion, reason=reason,
    )
    decision._rows = trace if trace is not None else lambda: _trace_rows(ruleset, compiled, values)
    return decision


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
        status="auto_rejected", matched_rows=[], explanation=explanation, inputs=_snapshot(values),
        route=[], findings=findings, suggestion=suggestion, reason=rejections[0].message,
    )


def _explain(
    ruleset: RuleSet, matched: list[Row], row_line: Callable[[Row], str | None], findings: list[Finding],
    outcome: Outcome, route: list[ResolvedStage], texts: ApprovalTemplates,
) -> list[str]:
    """`row_line(row)`: the line of a matched row, None for the default row."""
    lines = [_ruleset_line(ruleset, texts)]
    for row in matched:
        line = row_line(row)
        lines.append(line if line is not None else texts.fixed("explanations", "default_row"))
    lines += [texts.text("explanations", "precheck_flag", message=f.message) for f in findings if f.severity == "flag"]
    lines.append(texts.fixed("outcomes", outcome))
    for stage in route:
        lines.append(_stage_line(stage, texts))
        lines += stage.notes
    return lines


def _traced_line(row: Row, cells: list[dict[str, Any]] | None, texts: ApprovalTemplates) -> str | None:
    """A row's line from trace cells (None without them)."""
    if cells is None:
        return None
    text = "；".join(_cell_text_line(c, texts) for c in cells) or texts.fixed("explanations", "no_conditions")
    key = "row_matched_reason" if row.reason else "row_matched"
    return texts.text("explanations", key, row=row.id, cells=text, reason=row.reason or "")


_SLOT = "\x00"  # brackets a slot's number in a line rendered once with its varying values left open


def _open_line(
    texts: ApprovalTemplates, key: tuple[Any, ...], slots: int, render: Callable[[list[str]], str | None]
) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """A line's fixed pieces and the order its slots come in, rendered once per templates file and
    `key` (what the line is made of besides the slot values): `render` gets a marker per slot. None
    when the rendered text holds a stray marker character (then the line is rendered as it is)."""
    def build() -> tuple[tuple[str, ...], tuple[int, ...]] | None:
        parts = (render([f"{_SLOT}{i}{_SLOT}" for i in range(slots)]) or "").split(_SLOT)
        numbers = parts[1::2]
        if len(parts) % 2 == 0 or any(n not in _SLOT_NUMBERS[:slots] for n in numbers):
            return None
        return tuple(parts[0::2]), tuple(int(n) for n in numbers)
    return texts.memo(key, build)


_SLOT_NUMBERS = tuple(str(i) for i in range(64))


def _fill(line: tuple[tuple[str, ...], tuple[int, ...]], values: Sequence[str]) -> str:
    pieces, order = line
    text = pieces[0]
    for slot, piece in zip(order, pieces[1:], strict=True):
        text += values[slot] + piece
    return text


def _matched_line(
    ruleset: RuleSet, crow: CompiledRow | None, values: Mapping[str, Any], texts: ApprovalTemplates
) -> str | None:
    """`_traced_line` of a matched row from its open line and the displayed values of its cells."""
    if crow is None:
        return None
    line = None
    if len(crow.cells) <= len(_SLOT_NUMBERS):
        line = _open_line(texts, crow.explain_key, len(crow.cells), lambda slots: _traced_line(
            crow.row, [{"label": ruleset.inputs[n].label or n, "cell": c.source, "value": slot, "matched": True}
                       for (n, c), slot in zip(crow.cells, slots, strict=True)], texts))
    if line is None:
        return _traced_line(crow.row, _matched_cells(ruleset, crow, values), texts)
    words = texts.value_words()
    return _fill(line, [display(_snapshot_value(values[n]), words) for n, _ in crow.cells])


def _stage_line(stage: ResolvedStage, texts: ApprovalTemplates) -> str:
    approvers = display([f"{n}（{u}）" for n, u in zip(stage.approver_names, stage.approvers, strict=True)])
    key = "stage_skipped" if stage.skipped else "stage"
    line = _open_line(texts, ("stage_line", key, stage.name, stage.mode), 2, lambda slots: texts.text(
        "explanations", key, index=slots[0], name=stage.name, approvers=slots[1], mode=texts.fixed("modes", stage.mode)))
    if line is None:
        return texts.text("explanations", key, index=stage.index, name=stage.name, approvers=approvers,
                          mode=texts.fixed("modes", stage.mode))
    return _fill(line, [display(stage.index), approvers])


def _ruleset_line(ruleset: RuleSet, texts: ApprovalTemplates) -> str:
    return texts.memo(("ruleset_line", ruleset.type, ruleset.version, ruleset.hit_policy), lambda: texts.text(
        "explanations", "ruleset", type=ruleset.type, version=ruleset.version,
        hit_policy=texts.text("hit_policies", ruleset.hit_policy)))


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
