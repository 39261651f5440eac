"""Rule set linter, loader, version registry and sample runner.

`lint_file` / `lint_ruleset` report every problem as a `LintFinding` naming the file, the row and
the problem: invalid structure, unknown inputs/fields/templates/pre-checks, invalid cells, overlaps
(`unique`), gaps (no row and no `default` for some input values), unreachable rows (shadowed under
`first`/`priority`, or matching nothing), and, given a Directory, roles and users that resolve to
nobody. `load_ruleset` refuses a file with any error (ConfigurationError), so a bad file never
becomes active.

Coverage analysis is exact for ordered inputs (money, number, date, duration), enums and bools: each
input's values are split into classes by every cell boundary and one representative per class is
tested. Free text and applicant attributes are split into the literals the cells mention plus
"anything else" (and, for tag sets, "none" and "all of them").

Versions: `<type>.yaml` holds the active version; `<type>.v<N>.yaml` keeps older versions that
approvals in flight still use. `RuleRegistry.get(type, version)` loads the one an approval started on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError

from wecom_oa.approvals.prechecks import (
    BUILTIN_CHECKS,
    ApprovalTemplates,
    InMemorySeenInvoices,
    InvoiceUse,
    StaticBudgets,
    StaticLeaveBalances,
    builtin_prechecks,
    default_templates,
    format_duration,
)
from wecom_oa.approvals.rules import (
    APPLICANT_ATTRIBUTES,
    FORM_MODELS,
    ApprovalRequest,
    Cell,
    CellSyntaxError,
    Decision,
    EvaluationContext,
    InputSpec,
    Row,
    RuleSet,
    cell_shape,
    evaluate,
    parse_cell,
)
from wecom_oa.directory import Directory
from wecom_oa.errors import ConfigurationError, NotFound, OAError
from wecom_oa.validation import Model

RULE_FILE = re.compile(r"^(?P<type>[a-z][a-z0-9_]*)(?:\.v(?P<version>[1-9]\d*))?\.ya?ml$")
NON_RULE_FILES = frozenset({"samples.yaml", "samples.yml"})
MAX_GAPS_REPORTED = 10
MAX_LEAVES = 200_000


class LintFinding(Model):
    model_config = ConfigDict(frozen=True)

    file: str
    row: str | None = None
    code: str
    severity: Literal["error", "warning"] = "error"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f" row {self.row}" if self.row else "")
        return f"{where}: {self.severity} [{self.code}] {self.message}"


# --- entry points ------------------------------------------------------------------------------


def lint_file(
    path: Path, *, directory: Directory | None = None, templates: ApprovalTemplates | None = None
) -> tuple[RuleSet | None, list[LintFinding]]:
    """Parse and lint one rule file; the rule set is None when it could not be built."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return None, [LintFinding(file=path.name, code="unreadable", message=_yaml_problem(exc))]
    return lint_data(raw, file=path.name, directory=directory, templates=templates)


def lint_data(
    raw: Any, *, file: str, directory: Directory | None = None, templates: ApprovalTemplates | None = None
) -> tuple[RuleSet | None, list[LintFinding]]:
    if not isinstance(raw, Mapping):
        return None, [LintFinding(file=file, code="structure", message="a rule file is a mapping with type, version, inputs, rows")]
    try:
        ruleset = RuleSet.model_validate(raw)
    except ValidationError as exc:
        return None, _validation_findings(file, raw, exc)
    return ruleset, lint_ruleset(ruleset, file=file, directory=directory, templates=templates)


def lint_ruleset(
    ruleset: RuleSet,
    *,
    file: str,
    directory: Directory | None = None,
    templates: ApprovalTemplates | None = None,
    known_prechecks: Iterable[str] = BUILTIN_CHECKS,
) -> list[LintFinding]:
    """Every problem of a structurally valid rule set (see module docstring)."""
    linter = _Linter(ruleset, file, directory, templates or default_templates(), frozenset(known_prechecks))
    return linter.run()


def load_ruleset(
    path: Path, *, directory: Directory | None = None, templates: ApprovalTemplates | None = None
) -> RuleSet:
    """A rule set that lints clean (warnings allowed); raises ConfigurationError naming file/row/problem."""
    ruleset, findings = lint_file(path, directory=directory, templates=templates)
    errors = [f for f in findings if f.severity == "error"]
    if errors or ruleset is None:
        raise ConfigurationError(
            f"rule file {path.name} refused: " + "; ".join(str(f) for f in errors[:5])
            + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""),
            details=[f.model_dump() for f in errors],
        )
    ruleset.compiled()
    return ruleset


# --- registry ----------------------------------------------------------------------------------


class RuleRegistry:
    """Rule files of one directory: the active version per type and the kept older versions."""

    def __init__(
        self, root: Path, *, directory: Directory | None = None, templates: ApprovalTemplates | None = None
    ) -> None:
        self.root = root
        self._directory = directory
        self._templates = templates
        self._cache: dict[Path, RuleSet] = {}

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.glob("*.y*ml") if p.name not in NON_RULE_FILES)

    def types(self) -> list[str]:
        return sorted({m["type"] for p in self.files() if (m := RULE_FILE.match(p.name))})

    def active(self, type_: str) -> RuleSet:
        """The active rule set of a type; NotFound when the type has no `<type>.yaml`."""
        path = self._path(type_)
        if path is None:
            raise NotFound(f"no approval rules for type {type_!r}")
        return self._load(path)

    def get(self, type_: str, version: int) -> RuleSet:
        """A specific version (for approvals in flight); ConfigurationError when it is not kept."""
        active_path = self._path(type_)
        if active_path is not None:
            active = self._load(active_path)
            if active.version == version:
                return active
        for suffix in (".yaml", ".yml"):
            path = self.root / f"{type_}.v{version}{suffix}"
            if path.exists():
                return self._load(path)
        if active_path is None:
            raise NotFound(f"no approval rules for type {type_!r}")
        raise ConfigurationError(
            f"rule set {type_} v{version} is not available: keep {type_}.v{version}.yaml while approvals "
            "started on it are open"
        )

    def versions(self, type_: str) -> list[int]:
        found = set()
        for path in self.files():
            match = RULE_FILE.match(path.name)
            if match and match["type"] == type_:
                found.add(int(match["version"]) if match["version"] else self._load(path).version)
        return sorted(found)

    def lint_all(self) -> dict[str, tuple[RuleSet | None, list[LintFinding]]]:
        results = {p.name: lint_file(p, directory=self._directory, templates=self._templates) for p in self.files()}
        for name, (ruleset, findings) in results.items():
            findings += _filename_findings(name, ruleset)
        for name, finding in _version_clashes(results):
            results[name][1].append(finding)
        return results

    def _path(self, type_: str) -> Path | None:
        for suffix in (".yaml", ".yml"):
            path = self.root / f"{type_}{suffix}"
            if path.exists():
                return path
        return None

    def _load(self, path: Path) -> RuleSet:
        if path not in self._cache:
            ruleset = load_ruleset(path, directory=self._directory, templates=self._templates)
            problems = _filename_findings(path.name, ruleset)
            if problems:
                raise ConfigurationError(f"rule file {path.name} refused: {problems[0]}")
            self._cache[path] = ruleset
        return self._cache[path]


def _version_clashes(results: Mapping[str, tuple[RuleSet | None, list[LintFinding]]]) -> list[tuple[str, LintFinding]]:
    seen: dict[tuple[str, int], tuple[str, RuleSet]] = {}
    clashes = []
    for name, (ruleset, _) in sorted(results.items()):
        if ruleset is None:
            continue
        key = (ruleset.type, ruleset.version)
        if key in seen and seen[key][1] != ruleset:
            message = f"{ruleset.type} v{ruleset.version} is also defined, differently, in {seen[key][0]}"
            clashes.append((name, LintFinding(file=name, code="version_clash", message=message)))
        seen.setdefault(key, (name, ruleset))
    return clashes


def _filename_findings(name: str, ruleset: RuleSet | None) -> list[LintFinding]:
    match = RULE_FILE.match(name)
    if ruleset is None or match is None:
        return []
    findings = []
    if match["type"] != ruleset.type:
        findings.append(LintFinding(file=name, code="filename", message=f"file is named for {match['type']!r} but type is {ruleset.type!r}"))
    if match["version"] and int(match["version"]) != ruleset.version:
        findings.append(LintFinding(file=name, code="filename", message=f"file is named v{match['version']} but version is {ruleset.version}"))
    return findings


# --- structural problems -----------------------------------------------------------------------


def _validation_findings(file: str, raw: Mapping[str, Any], exc: ValidationError) -> list[LintFinding]:
    rows = raw.get("rows") if isinstance(raw.get("rows"), list) else []
    findings = []
    for err in exc.errors():
        loc = list(err["loc"])
        row = None
        if len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int) and loc[1] < len(rows):
            candidate = rows[loc[1]]
            row = str(candidate.get("id")) if isinstance(candidate, Mapping) and candidate.get("id") else f"#{loc[1] + 1}"
            loc = loc[2:]
        where = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
        message = f"{where}: {err['msg']}" if where else err["msg"]
        findings.append(LintFinding(file=file, row=row, code="structure", message=message))
    return findings


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"not valid YAML{where} (quote cells that start with > [ ( or -)"


# --- the linter --------------------------------------------------------------------------------


@dataclass
class _Linter:
    ruleset: RuleSet
    file: str
    directory: Directory | None
    templates: ApprovalTemplates
    known_prechecks: frozenset[str]
    findings: list[LintFinding] = field(default_factory=list)

    def run(self) -> list[LintFinding]:
        self._inputs()
        cells = self._cells()
        self._rows()
        self._prechecks()
        if self.directory is not None:
            self._approvers()
        if cells is not None:
            self.findings += _coverage(self.ruleset, cells, self.file)
        return self.findings

    def add(self, code: str, message: str, row: str | None = None, severity: str = "error") -> None:
        self.findings.append(LintFinding(file=self.file, row=row, code=code, message=message, severity=severity))

    def _inputs(self) -> None:
        form_model = FORM_MODELS.get(self.ruleset.type)
        for name, spec in self.ruleset.inputs.items():
            kind, _, attr = self.ruleset.source_of(name).partition(".")
            if kind == "applicant" and attr not in APPLICANT_ATTRIBUTES:
                self.add("unknown_field", f"input {name}: unknown applicant attribute {attr!r} "
                         f"(one of {', '.join(APPLICANT_ATTRIBUTES)})")
            if kind == "form" and form_model is not None and attr not in form_model.model_fields:
                self.add("unknown_field", f"input {name}: {self.ruleset.type} forms have no field {attr!r}")
            if spec.domain is not None:
                try:
                    parse_cell(spec.domain, spec)
                except CellSyntaxError as exc:
                    self.add("invalid_cell", f"input {name} domain: {exc.message}")

    def _cells(self) -> dict[str, dict[str, Cell]] | None:
        """Parsed cells per row id, or None when any cell is invalid (coverage is then skipped)."""
        parsed: dict[str, dict[str, Cell]] = {}
        ok = True
        for row in self.ruleset.rows:
            parsed[row.id] = {}
            for name, text in row.when.items():
                spec = self.ruleset.inputs.get(name)
                if spec is None:
                    self.add("unknown_field", f"unknown input {name!r} (declare it under inputs)", row.id)
                    ok = False
                    continue
                try:
                    parsed[row.id][name] = parse_cell(text, spec)
                except CellSyntaxError as exc:
                    self.add("invalid_cell", f"input {name}: {exc.message}", row.id)
                    ok = False
        return parsed if ok else None

    def _rows(self) -> None:
        seen: set[str] = set()
        rows: list[Row] = [*self.ruleset.rows, *([self.ruleset.default] if self.ruleset.default else [])]
        for row in rows:
            if row.id in seen:
                self.add("duplicate_row", f"row id {row.id!r} is used twice", row.id)
            seen.add(row.id)
            self._row_outcome(row)
        if self.ruleset.default is not None and self.ruleset.default.when:
            self.add("structure", "the default row takes no when", "default")

    def _row_outcome(self, row: Row) -> None:
        if row.outcome == "route" and not row.route:
            self.add("structure", "outcome route needs at least one stage", row.id)
        if row.outcome != "route" and row.route:
            self.add("structure", f"outcome {row.outcome} takes no route", row.id)
        if self.ruleset.hit_policy == "priority" and row.priority is None and row.id != "default":
            self.add("structure", "hit policy priority needs a priority on every row", row.id)
        if row.suggestion_template and not self.templates.has("suggestions", row.suggestion_template):
            self.add("unknown_template", f"suggestion_template {row.suggestion_template!r} is not in "
                     f"{self.templates.source} suggestions", row.id)
        names = [s.name for s in row.stages]
        if len(names) != len(set(names)):
            self.add("structure", "two stages of the route share a name", row.id)
        for stage in row.stages:
            for spec in stage.approvers:
                field_name = spec.partition(":")[2] if spec.startswith("form_field:") else None
                model = FORM_MODELS.get(self.ruleset.type)
                if field_name and model is not None and field_name not in model.model_fields:
                    self.add("unknown_field", f"stage {stage.name}: {self.ruleset.type} forms have no field "
                             f"{field_name!r}", row.id)

    def _prechecks(self) -> None:
        for config in self.ruleset.prechecks:
            if config.check not in self.known_prechecks:
                self.add("unknown_precheck", f"unknown pre-check {config.check!r} (one of "
                         f"{', '.join(sorted(self.known_prechecks))})")

    def _approvers(self) -> None:
        assert self.directory is not None
        for row in [*self.ruleset.rows, *([self.ruleset.default] if self.ruleset.default else [])]:
            for stage in row.stages:
                for spec in [*stage.approvers, stage.on_unresolved]:
                    problem = _unresolvable(self.directory, spec)
                    if problem:
                        self.add("unresolvable_approver", f"stage {stage.name}: {problem}", row.id)


def _unresolvable(directory: Directory, spec: str) -> str | None:
    kind, _, arg = spec.partition(":")
    try:
        if kind == "role":
            members = [u for u in directory.tag_members(arg) if _active(directory, u)]
            return None if members else f"role {arg!r} has no active members"
        if kind in ("user", "admin"):
            directory.user(arg)
    except NotFound:
        return f"{'role' if kind == 'role' else 'user'} {arg!r} is not in the directory"
    return None


def _active(directory: Directory, userid: str) -> bool:
    try:
        return directory.user(userid).status == 1
    except NotFound:
        return False


# --- coverage: gaps, overlaps, unreachable rows ------------------------------------------------


@dataclass(frozen=True)
class _Class:
    label: str
    value: Any


def _coverage(ruleset: RuleSet, cells: Mapping[str, Mapping[str, Cell]], file: str) -> list[LintFinding]:
    rows = ruleset.rows
    used = [n for n in ruleset.inputs if any(n in cells[r.id] and not cells[r.id][n].is_any for r in rows)]
    classes = {n: _classes(n, ruleset.inputs[n], [cells[r.id][n] for r in rows if n in cells[r.id]]) for n in used}
    walk = _Walk(ruleset, cells, used, classes)
    walk.visit(0, tuple(range(len(rows))), ())
    return walk.findings(file)


def _classes(name: str, spec: InputSpec, row_cells: Sequence[Cell]) -> list[_Class]:
    domain = parse_cell(spec.domain, spec) if spec.domain else None
    shape = cell_shape(spec)
    if shape == "ordered":
        found = _ordered_classes(spec, set().union(*(c.points() for c in row_cells), domain.points() if domain else set()))
    elif shape == "bool":
        found = [_Class("true", True), _Class("false", False)]
    elif spec.type == "enum":
        found = [_Class(f'"{v}"', v) for v in spec.values]
    else:
        literals = sorted(set().union(*(c.values for c in row_cells)), key=str)
        found = _text_classes(literals, shape == "set")
    return [c for c in found if domain is None or domain.matches(c.value)]


def _text_classes(literals: list[Any], is_set: bool) -> list[_Class]:
    others = ",".join(f'"{v}"' for v in literals)
    if not is_set:
        return [*(_Class(f'"{v}"', v) for v in literals), _Class(f"not {others}" if others else "-", "\x00other")]
    found = [_Class(f'"{v}"', frozenset({v})) for v in literals]
    found.append(_Class(f"none of {others}" if others else "-", frozenset()))
    if len(literals) > 1:
        found.append(_Class(f"all of {others}", frozenset(literals)))
    return found


def _ordered_classes(spec: InputSpec, points: set[Any]) -> list[_Class]:
    ordered = sorted(points)
    if not ordered:
        return [_Class("-", _below(spec, None))]
    found = [_Class(f"< {_lit(ordered[0])}", _below(spec, ordered[0]))]
    for i, point in enumerate(ordered):
        found.append(_Class(f"= {_lit(point)}", point))
        if i + 1 < len(ordered):
            middle = _between(point, ordered[i + 1])
            if middle is not None:
                found.append(_Class(f"({_lit(point)}..{_lit(ordered[i + 1])})", middle))
    found.append(_Class(f"> {_lit(ordered[-1])}", _above(ordered[-1])))
    return found


def _below(spec: InputSpec, point: Any) -> Any:
    if point is None:
        return {"date": date(2000, 1, 1), "duration": timedelta(0)}.get(spec.type, Decimal(0))
    return point - (timedelta(days=1) if isinstance(point, date | timedelta) else Decimal(1))


def _above(point: Any) -> Any:
    return point + (timedelta(days=1) if isinstance(point, date | timedelta) else Decimal(1))


def _between(lo: Any, hi: Any) -> Any:
    if isinstance(lo, date):
        middle = lo + (hi - lo) // 2
        return middle if lo < middle < hi else None
    return lo + (hi - lo) / 2


def _lit(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


class _Walk:
    """Depth-first split of the input space by class, carrying the rows still matching."""

    def __init__(self, ruleset: RuleSet, cells: Mapping[str, Mapping[str, Cell]], used: list[str],
                 classes: Mapping[str, list[_Class]]) -> None:
        self.ruleset = ruleset
        self.rows = ruleset.rows
        self.cells = cells
        self.used = used
        self.classes = classes
        self.gaps: list[tuple[tuple[str, str], ...]] = []
        self.overlaps: dict[tuple[int, int], tuple[tuple[str, str], ...]] = {}
        self.ties: dict[tuple[int, int], tuple[tuple[str, str], ...]] = {}
        self.candidates_seen: set[int] = set()
        self.winners: set[int] = set()
        self.leaves = 0
        self.truncated = False

    def visit(self, depth: int, candidates: tuple[int, ...], point: tuple[tuple[str, str], ...]) -> None:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            self.truncated = True
            return
        if not candidates:
            if len(self.gaps) < MAX_GAPS_REPORTED + 1:
                self.gaps.append(point)
            return
        if depth == len(self.used) or not self._split_needed(depth, candidates):
            self._leaf(candidates, point)
            return
        name = self.used[depth]
        for cls in self.classes[name]:
            remaining = tuple(i for i in candidates if self._matches(i, name, cls.value))
            self.visit(depth + 1, remaining, (*point, (name, cls.label)))

    def _split_needed(self, depth: int, candidates: tuple[int, ...]) -> bool:
        return any(
            (cell := self.cells[self.rows[i].id].get(name)) is not None and not cell.is_any
            for name in self.used[depth:] for i in candidates
        )

    def _matches(self, index: int, name: str, value: Any) -> bool:
        cell = self.cells[self.rows[index].id].get(name)
        return cell is None or cell.matches(value)

    def _leaf(self, candidates: tuple[int, ...], point: tuple[tuple[str, str], ...]) -> None:
        self.candidates_seen.update(candidates)
        policy = self.ruleset.hit_policy
        if policy == "first":
            self.winners.add(candidates[0])
        elif policy == "priority":
            best = max(candidates, key=lambda i: (self.rows[i].priority or 0, -i))
            self.winners.add(best)
            for other in candidates:
                if other != best and self.rows[other].priority == self.rows[best].priority:
                    self.ties.setdefault((best, other), point)
        else:
            self.winners.update(candidates)
            if policy == "unique":
                for a in candidates:
                    for b in candidates:
                        if a < b:
                            self.overlaps.setdefault((a, b), point)

    def findings(self, file: str) -> list[LintFinding]:
        out: list[LintFinding] = []
        if self.ruleset.default is None:
            for point in self.gaps[:MAX_GAPS_REPORTED]:
                out.append(LintFinding(file=file, code="gap", message=f"no row matches {_point(point)}"))
            if len(self.gaps) > MAX_GAPS_REPORTED:
                out.append(LintFinding(file=file, code="gap", message="more gaps not listed"))
        for (a, b), point in self.overlaps.items():
            out.append(LintFinding(file=file, row=self.rows[b].id, code="overlap",
                                   message=f"overlaps row {self.rows[a].id} at {_point(point)} (hit policy unique)"))
        for (a, b), point in self.ties.items():
            out.append(LintFinding(file=file, row=self.rows[b].id, code="priority_tie", severity="warning",
                                   message=f"same priority as row {self.rows[a].id} at {_point(point)}; "
                                   "the earlier row wins"))
        for i, row in enumerate(self.rows):
            if i not in self.candidates_seen:
                out.append(LintFinding(file=file, row=row.id, code="unreachable", message="matches no input values"))
            elif i not in self.winners:
                out.append(LintFinding(file=file, row=row.id, code="unreachable",
                                       message=f"shadowed by earlier rows under hit policy {self.ruleset.hit_policy}"))
        if self.truncated:
            out.append(LintFinding(file=file, code="coverage_truncated", severity="warning",
                                   message=f"coverage analysis stopped after {MAX_LEAVES} cases"))
        return out


def _point(point: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name} {label}" for name, label in point) or "any input"


# --- samples -----------------------------------------------------------------------------------


class SampleContext(Model):
    """Fake port data for one sample: leave balances per user, budgets per department id, invoices."""

    model_config = ConfigDict(extra="forbid")

    balances: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    budgets: dict[int, Decimal] = Field(default_factory=dict)
    seen_invoices: list[InvoiceUse] = Field(default_factory=list)


class StageExpectation(Model):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    approvers: list[str] | None = None
    skipped: bool | None = None


class SampleExpectation(Model):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["auto_approve", "auto_reject", "route"] | None = None
    status: str | None = None
    rows: list[str] | None = None
    route: list[StageExpectation] | None = None
    findings: list[str] | None = None  # "code:severity", e.g. budget_exceeded:flag
    suggestion_contains: list[str] = Field(default_factory=list)
    explanation_contains: list[str] = Field(default_factory=list)
    error: str | None = None


class Sample(Model):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    applicant: str
    form: dict[str, Any]
    version: int | None = None
    context: SampleContext = Field(default_factory=SampleContext)
    expect: SampleExpectation


class SampleFile(Model):
    model_config = ConfigDict(extra="forbid")

    samples: list[Sample] = Field(min_length=1)


class SampleResult(Model):
    name: str
    ok: bool
    problems: list[str]
    decision: Decision | None = None


def load_samples(path: Path) -> list[Sample]:
    try:
        return SampleFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).samples
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path.name}: {_yaml_problem(exc)}") from None
    except ValidationError as exc:
        where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors()[:5])
        raise ConfigurationError(f"{path.name}: {where}") from None


def run_sample(
    sample: Sample, registry: RuleRegistry, directory: Directory, templates: ApprovalTemplates | None = None
) -> SampleResult:
    """Evaluate a sample form and compare with its expectations (a dry run; nothing is stored)."""
    context = EvaluationContext(
        directory=directory,
        prechecks=builtin_prechecks(
            balances=StaticLeaveBalances(sample.context.balances),
            invoices=InMemorySeenInvoices(sample.context.seen_invoices),
            budgets=StaticBudgets(sample.context.budgets),
        ),
        templates=templates,
    )
    request = ApprovalRequest(type=sample.type, applicant=sample.applicant, form=sample.form)
    try:
        ruleset = registry.get(sample.type, sample.version) if sample.version else registry.active(sample.type)
        decision = evaluate(ruleset, request, context)
    except OAError as exc:
        expected = sample.expect.error
        ok = expected is not None and expected in {c.__name__ for c in type(exc).__mro__}
        problems = [] if ok else [f"raised {type(exc).__name__}: {exc.message}"]
        return SampleResult(name=sample.name, ok=ok, problems=problems)
    problems = _compare(sample.expect, decision)
    return SampleResult(name=sample.name, ok=not problems, problems=problems, decision=decision)


def _compare(expect: SampleExpectation, decision: Decision) -> list[str]:
    problems = []
    if expect.error:
        problems.append(f"expected {expect.error}, got outcome {decision.outcome}")
    checks = [
        ("outcome", expect.outcome, decision.outcome),
        ("status", expect.status, decision.status),
        ("rows", expect.rows, decision.matched_rows),
        ("findings", sorted(expect.findings) if expect.findings is not None else None,
         sorted(f"{f.code}:{f.severity}" for f in decision.findings)),
    ]
    problems += [f"{what}: expected {want}, got {got}" for what, want, got in checks if want is not None and want != got]
    if expect.route is not None:
        problems += _compare_route(expect.route, decision)
    problems += [f"suggestion lacks {text!r} (got {decision.suggestion!r})"
                 for text in expect.suggestion_contains if text not in (decision.suggestion or "")]
    joined = "\n".join(decision.explanation)
    problems += [f"explanation lacks {text!r}" for text in expect.explanation_contains if text not in joined]
    return problems


def _compare_route(expected: list[StageExpectation], decision: Decision) -> list[str]:
    got = decision.route
    if len(expected) != len(got):
        return [f"route: expected {len(expected)} stages, got {len(got)} ({[s.name for s in got]})"]
    problems = []
    for want, stage in zip(expected, got, strict=True):
        for attr in ("name", "approvers", "skipped"):
            value = getattr(want, attr)
            if value is not None and value != getattr(stage, attr):
                problems.append(f"stage {stage.index} {attr}: expected {value}, got {getattr(stage, attr)}")
    return problems


__all__ = [
    "LintFinding",
    "RuleRegistry",
    "Sample",
    "SampleResult",
    "lint_data",
    "lint_file",
    "lint_ruleset",
    "load_ruleset",
    "load_samples",
    "run_sample",
]
