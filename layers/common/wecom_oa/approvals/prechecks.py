"""Pre-checks: policy checks run before the decision table (leave balance, duplicate invoice, budget).

A rule set lists the checks it wants (`prechecks: [{check, on_fail, params}]`); the caller supplies
the implementations in the evaluation context, each built on a port an adapter implements:

- `LeaveBalanceProvider.balances(userid)` → remaining days per leave type (WeCom vacation quota);
- `SeenInvoices.first_use(invoice_no)` → the earlier request that used the invoice, if any;
- `BudgetProvider.remaining(department_id)` → the department's remaining budget in CNY, or None.

A check returns `Finding`s. `severity` is the rule set's `on_fail`: `flag` findings are shown on the
approvers' cards, a `reject` finding turns the decision into auto_reject. Messages and suggestions
are Chinese, rendered from `templates/approvals.yaml` (`ApprovalTemplates`).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from wecom_oa.errors import ConfigurationError
from wecom_oa.validation import Model

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "approvals.yaml"

Severity = Literal["flag", "reject"]


class Finding(Model):
    """One pre-check result. `data` holds the figures the message was rendered from."""

    model_config = ConfigDict(frozen=True)

    check: str
    code: str
    severity: Severity
    message: str
    suggestion: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class PreCheckConfig(Model):
    """A rule set's request for one check; `on_fail` decides whether a finding flags or rejects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str
    on_fail: Severity = "flag"
    params: dict[str, Any] = Field(default_factory=dict)


class CheckSubject(Model):
    """What a check sees of the request: validated form values and the applicant's department."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    type: str
    applicant: str
    form: dict[str, Any]
    department_id: int | None = None
    department_name: str | None = None
    request_id: str | None = None


class PreCheck(Protocol):
    """A pluggable check. Raises `UpstreamError` when its port fails (retried by the caller)."""

    name: str

    def run(self, subject: CheckSubject, config: PreCheckConfig, templates: ApprovalTemplates) -> list[Finding]: ...


# --- templates ---------------------------------------------------------------------------------


VALUE_WORDS = ("bool_true", "bool_false", "empty_list", "missing", "list_separator")


class ApprovalTemplates:
    """People-facing Chinese texts, by section and key, with `{name}` placeholders only.

    Placeholders are plain names (no attribute or index access, no conversions), checked on load,
    so a company editing the YAML cannot reach into objects through a format string. Section
    `values` holds the words values are shown with (`display`): all of VALUE_WORDS, or none (then
    the shipped file's words apply).
    """

    def __init__(self, sections: Mapping[str, Mapping[str, str]], source: str = "<memory>") -> None:
        self.source = source
        self._fixed: dict[tuple[Any, ...], str] = {}
        self._words: Mapping[str, str] | None = None
        self._memo: dict[Hashable, Any] = {}
        self._sections = {s: dict(v) for s, v in sections.items()}
        for section, entries in self._sections.items():
            for key, text in entries.items():
                _check_placeholders(source, f"{section}.{key}", text)
        if "values" in self._sections:
            missing = [k for k in VALUE_WORDS if k not in self._sections["values"]]
            if missing:
                raise ConfigurationError(f"{source}: missing template values.{missing[0]}")

    @classmethod
    def load(cls, path: Path | None = None) -> ApprovalTemplates:
        """Load a templates file; raises ConfigurationError naming the file and the bad entry."""
        path = path or DEFAULT_TEMPLATES
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"{path.name}: cannot read templates ({type(exc).__name__})") from None
        try:
            sections = _template_file().validate_python(raw)
        except ValidationError as exc:
            where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors())
            raise ConfigurationError(f"{path.name}: {where}") from None
        return cls(sections, source=path.name)

    def has(self, section: str, key: str) -> bool:
        return key in self._sections.get(section, {})

    def text(self, section: str, key: str, **values: Any) -> str:
        """Render `section.key`; raises ConfigurationError when the entry or a value is missing."""
        try:
            template = self._sections[section][key]
        except KeyError:
            raise ConfigurationError(f"{self.source}: missing template {section}.{key}") from None
        try:
            words = self._words if self._words is not None else self._load_words()
            return template.format_map({k: display(v, words) for k, v in values.items()})
        except KeyError as exc:
            raise ConfigurationError(
                f"{self.source}: template {section}.{key} uses {{{exc.args[0]}}}, which is not provided"
            ) from None

    def fixed(self, section: str, key: str, **values: str | int) -> str:
        """`text` for an entry whose values come from a small, finite set (a rule set's type,
        version and hit policy; an outcome; a mode): rendered once per file and values, then reused
        (an explanation's fixed lines were a third of an evaluation's time). Same errors as `text`."""
        memo = (section, key, *values.items())
        line = self._fixed.get(memo)
        if line is None:
            line = self._fixed[memo] = self.text(section, key, **values)
        return line

    def memo(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """A value derived from this file's texts alone (e.g. a rule row's explanation line with its
        value slots left open), built once per key; the key names everything it was derived from."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value

    def leave_type_name(self, leave_type: str) -> str:
        return self._sections.get("leave_types", {}).get(leave_type, leave_type)

    def _load_words(self) -> Mapping[str, str]:
        self._words = self.value_words()  # the shipped file's, when this one has none, never change
        return self._words

    def value_words(self) -> Mapping[str, str]:
        """The `values` words of this file, else of the shipped templates file."""
        if "values" in self._sections:
            return self._sections["values"]
        shipped = default_templates()
        if shipped is self:
            raise ConfigurationError(f"{self.source}: missing template values.{VALUE_WORDS[0]}")
        return shipped.value_words()




@cache
def _template_file() -> TypeAdapter[dict[str, dict[str, str]]]:
    return TypeAdapter(dict[str, dict[str, str]])


def _check_placeholders(source: str, where: str, text: str) -> None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigurationError(f"{source}: template {where}: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or conversion or spec:
            raise ConfigurationError(f"{source}: template {where}: placeholder {{{field}}} must be a plain name")


@lru_cache(maxsize=1)
def default_templates() -> ApprovalTemplates:
    return ApprovalTemplates.load(DEFAULT_TEMPLATES)


def display(value: Any, words: Mapping[str, str] | None = None) -> str:
    """A value as people read it: 2.5 not 2.50, dates as ISO, durations as 3d4h; booleans, empty
    lists, missing values and the list separator in the `values` words of the templates (`words`,
    default: the shipped templates file's)."""
    if type(value) is str:  # the common cases first: explanations show mostly text and numbers
        return value
    if type(value) is int:
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return display(Decimal(str(value)))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if not isinstance(value, bool | frozenset | set | list | tuple) and value is not None:
        return str(value)
    words = words if words is not None else default_templates().value_words()
    if isinstance(value, bool):
        return words["bool_true"] if value else words["bool_false"]
    if isinstance(value, frozenset | set):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return words["list_separator"].join(display(v, words) for v in value) if value else words["empty_list"]
    return words["missing"]


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + ("".join(parts) or "0s")


# --- ports -------------------------------------------------------------------------------------


class LeaveBalanceProvider(Protocol):
    def balances(self, userid: str) -> dict[str, Decimal]:
        """Remaining days per leave type the company tracks (types absent here are not limited)."""
        ...


class InvoiceUse(Model):
    model_config = ConfigDict(frozen=True)

    invoice_no: str
    request_id: str
    applicant: str
    used_at: datetime | None = None


class SeenInvoices(Protocol):
    def first_use(self, invoice_no: str) -> InvoiceUse | None:
        """The earliest request that used this (normalised) invoice number, or None."""
        ...


class BudgetProvider(Protocol):
    def remaining(self, department_id: int) -> Decimal | None:
        """Remaining budget of the department in CNY; None when no budget is set (no check)."""
        ...


class StaticLeaveBalances:
    """In-memory balances (tests, samples, the CLI)."""

    def __init__(self, balances: Mapping[str, Mapping[str, Decimal | float | int]]) -> None:
        self._balances = {u: {t: Decimal(str(d)) for t, d in b.items()} for u, b in balances.items()}

    def balances(self, userid: str) -> dict[str, Decimal]:
        return dict(self._balances.get(userid, {}))


class InMemorySeenInvoices:
    def __init__(self, uses: Iterable[InvoiceUse] = ()) -> None:
        self._uses: dict[str, InvoiceUse] = {}
        for use in uses:
            self.record(use)

    def record(self, use: InvoiceUse) -> None:
        self._uses.setdefault(normalise_invoice_no(use.invoice_no), use)

    def first_use(self, invoice_no: str) -> InvoiceUse | None:
        return self._uses.get(normalise_invoice_no(invoice_no))


class StaticBudgets:
    def __init__(self, remaining: Mapping[int, Decimal | float | int]) -> None:
        self._remaining = {int(k): Decimal(str(v)) for k, v in remaining.items()}

    def remaining(self, department_id: int) -> Decimal | None:
        return self._remaining.get(department_id)


def normalise_invoice_no(invoice_no: str) -> str:
    """Invoice numbers compare without case and whitespace: ' inv 001 ' == 'INV001'."""
    return "".join(invoice_no.split()).upper()


# --- checks ------------------------------------------------------------------------------------


class LeaveBalanceCheck:
    """Flags/rejects leave longer than the balance of its type, suggesting the other types left.

    params: `unlimited_types` (default [personal]): types offered as alternatives without a balance;
    `never_suggest` (default [sick]): types that are no substitute for another (病假 needs an illness).
    Only types whose balance covers the whole request are suggested. Types the provider does not
    return are not limited and are never checked.
    """

    name = "leave_balance"

    def __init__(self, provider: LeaveBalanceProvider) -> None:
        self._provider = provider

    def run(self, subject: CheckSubject, config: PreCheckConfig, templates: ApprovalTemplates) -> list[Finding]:
        leave_type = subject.form.get("leave_type")
        days = _decimal(subject.form.get("days"))
        balances = self._provider.balances(subject.applicant)
        if leave_type is None or days is None or leave_type not in balances:
            return []
        balance = balances[leave_type]
        if balance >= days:
            return []
        alternatives = _alternatives(leave_type, balances, config.params.get("unlimited_types", ["personal"]),
                                     days=days, never=config.params.get("never_suggest", ["sick"]))
        name = templates.leave_type_name(leave_type)
        message = templates.text("flags", "leave_balance_insufficient", leave_type_name=name, balance=balance, days=days)
        return [
            Finding(
                check=self.name,
                code="leave_balance_insufficient",
                severity=config.on_fail,
                message=message,
                suggestion=_leave_suggestion(templates, alternatives),
                data={
                    "leave_type": leave_type,
                    "balance": str(balance),
                    "days": str(days),
                    "alternatives": [
                        {"leave_type": t, "balance": None if b is None else str(b)} for t, b in alternatives
                    ],
                },
            )
        ]


def _alternatives(
    leave_type: str, balances: Mapping[str, Decimal], unlimited: Iterable[str], *, days: Decimal,
    never: Iterable[str] = (),
) -> list[tuple[str, Decimal | None]]:
    """Other types that cover all `days`: with a balance that large, or unlimited."""
    skip = {leave_type, *never}
    found: list[tuple[str, Decimal | None]] = [(t, b) for t, b in balances.items() if t not in skip and b >= days]
    found += [(t, None) for t in unlimited if t not in skip and t not in balances]
    return found


def _leave_suggestion(templates: ApprovalTemplates, alternatives: list[tuple[str, Decimal | None]]) -> str:
    if not alternatives:
        return templates.text("suggestions", "leave_no_alternative")
    items = [
        templates.text("suggestions", "leave_alternative_unlimited", name=templates.leave_type_name(t))
        if balance is None
        else templates.text(
            "suggestions", "leave_alternative_item", name=templates.leave_type_name(t), balance=balance
        )
        for t, balance in alternatives
    ]
    separator = (templates.text("suggestions", "list_separator") if templates.has("suggestions", "list_separator")
                 else templates.value_words()["list_separator"])
    return templates.text("suggestions", "leave_alternatives", alternatives=separator.join(items))


class DuplicateInvoiceCheck:
    """Flags/rejects an invoice number already used by another request (case/space-insensitive)."""

    name = "duplicate_invoice"

    def __init__(self, seen: SeenInvoices) -> None:
        self._seen = seen

    def run(self, subject: CheckSubject, config: PreCheckConfig, templates: ApprovalTemplates) -> list[Finding]:
        invoice_no = subject.form.get("invoice_no")
        if not invoice_no:
            return []
        use = self._seen.first_use(str(invoice_no))
        if use is None or (subject.request_id is not None and use.request_id == subject.request_id):
            return []
        used_at = use.used_at.date() if use.used_at else "—"
        message = templates.text(
            "flags", "duplicate_invoice", invoice_no=invoice_no, request_id=use.request_id,
            applicant=use.applicant, used_at=used_at,
        )
        return [
            Finding(
                check=self.name,
                code="duplicate_invoice",
                severity=config.on_fail,
                message=message,
                suggestion=templates.text("suggestions", "duplicate_invoice"),
                data={"invoice_no": str(invoice_no), "first_request_id": use.request_id, "first_applicant": use.applicant},
            )
        ]


class BudgetCheck:
    """Flags/rejects an amount above the applicant's department's remaining budget.

    params: `field` (default amount): the form field holding the CNY amount.
    """

    name = "budget"

    def __init__(self, provider: BudgetProvider) -> None:
        self._provider = provider

    def run(self, subject: CheckSubject, config: PreCheckConfig, templates: ApprovalTemplates) -> list[Finding]:
        amount = _decimal(subject.form.get(config.params.get("field", "amount")))
        if amount is None or subject.department_id is None:
            return []
        remaining = self._provider.remaining(subject.department_id)
        if remaining is None or amount <= remaining:
            return []
        department = subject.department_name or str(subject.department_id)
        message = templates.text("flags", "budget_exceeded", department=department, amount=amount, remaining=remaining)
        return [
            Finding(
                check=self.name,
                code="budget_exceeded",
                severity=config.on_fail,
                message=message,
                suggestion=templates.text("suggestions", "budget_exceeded"),
                data={"department_id": subject.department_id, "amount": str(amount), "remaining": str(remaining)},
            )
        ]


BUILTIN_CHECKS = ("leave_balance", "duplicate_invoice", "budget")


def builtin_prechecks(
    *,
    balances: LeaveBalanceProvider | None = None,
    invoices: SeenInvoices | None = None,
    budgets: BudgetProvider | None = None,
) -> dict[str, PreCheck]:
    """The built-in checks for the ports given, keyed by the name rule sets use."""
    checks: dict[str, PreCheck] = {}
    if balances is not None:
        checks["leave_balance"] = LeaveBalanceCheck(balances)
    if invoices is not None:
        checks["duplicate_invoice"] = DuplicateInvoiceCheck(invoices)
    if budgets is not None:
        checks["budget"] = BudgetCheck(budgets)
    return checks


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None
