"""The sandbox company: `SANDBOX_DIRECTORY` YAML → `StaticDirectory` plus what only the sandbox needs.

File shape (see `demo_directory.yaml`, the default):

    corp_name: 星辰科技有限公司
    legacy_contact_fields: false  # true: user/get answers like an app created before 2022-06-20
    vacation_types: [{id: 1, key: annual, name: 年假}, {id: 4, key: comp_time, name: 调休, hours_per_day: 8}]
    departments:    [{id, name, parentid, leaders: [userid]}]
    users:          [{userid, name, departments, main_department, direct_leader, position, status,
                      mobile, email, gender, vacation: {annual: 5, comp_time: {assigned: 2, used: 0.5}}}]
    tags:           [{tagid, tagname, userids, partyids}]
    robots:         [{name, key, chat}]                              # group-robot webhook keys
    approval_templates: [{template_id, name}]                        # sp_name of oa/applyevent forms
    partners:       [{corpid, corp_name, agentid, group, users: [{userid, name}]}]
                    # downstream corps of the upstream/downstream chain (上下游) the app is shared with

`mobile`, `email` and `gender` are kept in the file but user/get and user/list return them only
when `legacy_contact_fields` is true: WeCom stopped giving them (and avatar, biz_mail, qr_code,
address) to self-built apps created on or after 2022-06-20 (official doc 90196), and the default
sandbox app is such an app.

Vacation balances are in days (a bare number means "assigned, nothing used"); the API answers in
seconds like WeCom: 86 400 s per day, or `hours_per_day` × 3600 s for an hourly type. Cross references (leaders, parents, tag members, vacation
keys) are checked on load; every problem raises `ConfigurationError` naming the file and the field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from wecom_oa.directory import Department, StaticDirectory, Tag, User
from wecom_oa.errors import ConfigurationError

DEMO_DIRECTORY = Path(__file__).resolve().with_name("demo_directory.yaml")
SECONDS_PER_DAY = 86_400


def _days_shorthand(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"assigned": value}
    return value


class Balance(BaseModel):
    """One vacation balance, in days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assigned: float = Field(ge=0)
    used: float = Field(0, ge=0)

    @property
    def left(self) -> float:
        return max(0.0, self.assigned - self.used)


class VacationType(BaseModel):
    """A leave type; `hours_per_day` makes it hourly (按小时, WeCom time_attr 1) with that many hours a day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    key: str = Field(pattern=r"^[a-z_]+$")
    name: str
    hours_per_day: float | None = Field(None, gt=0, le=24)

    @property
    def seconds_per_day(self) -> int:
        return round(self.hours_per_day * 3600) if self.hours_per_day else SECONDS_PER_DAY


class Robot(BaseModel):
    """A group robot: `key` is what webhook/send?key= carries; `name` is what records show."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    key: str = Field(min_length=8)
    chat: str = ""


class PartnerMember(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    userid: str = Field(min_length=1)
    name: str = Field(min_length=1)


class Partner(BaseModel):
    """A downstream corp (dealer, partner factory) the app is shared with: it has its own corpid,
    the shared app's agentid in that corp, and its members."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    corpid: str = Field(min_length=1)
    corp_name: str = Field(min_length=1)
    agentid: int
    group: str = ""
    users: tuple[PartnerMember, ...] = Field(min_length=1)


class ApprovalTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: str
    name: str


class SandboxUser(User):
    """A directory user plus the profile fields user/get returns and the vacation balances."""

    model_config = ConfigDict(extra="forbid")

    mobile: str = ""
    email: str = ""
    gender: str = "0"
    vacation: dict[str, Annotated[Balance, BeforeValidator(_days_shorthand)]] = Field(default_factory=dict)

    def base(self) -> User:
        return User.model_validate(self.model_dump(include=set(User.model_fields)))


_DEFAULT_VACATION_TYPES = [
    VacationType(id=1, key="annual", name="年假"),
    VacationType(id=2, key="personal", name="事假"),
    VacationType(id=3, key="sick", name="病假"),
    VacationType(id=4, key="comp_time", name="调休"),
]


class SandboxDirectoryFile(BaseModel):
    """The YAML file, validated with its cross references."""

    model_config = ConfigDict(extra="forbid")

    corp_name: str = "沙箱企业"
    legacy_contact_fields: bool = False
    vacation_types: list[VacationType] = Field(default_factory=lambda: list(_DEFAULT_VACATION_TYPES))
    departments: list[Department] = Field(min_length=1)
    users: list[SandboxUser] = Field(min_length=1)
    tags: list[Tag] = Field(default_factory=list)
    robots: list[Robot] = Field(default_factory=list)
    approval_templates: list[ApprovalTemplate] = Field(default_factory=list)
    partners: list[Partner] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> SandboxDirectoryFile:
        problems = [*_unique_problems(self), *_reference_problems(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _duplicates(values: list[Any]) -> list[Any]:
    return sorted((v for v, n in Counter(values).items() if n > 1), key=str)


def _unique_problems(f: SandboxDirectoryFile) -> list[str]:
    checks = {
        "users.userid": [u.userid for u in f.users],
        "departments.id": [d.id for d in f.departments],
        "tags.tagid": [t.tagid for t in f.tags],
        "tags.tagname": [t.tagname for t in f.tags],
        "robots.key": [r.key for r in f.robots],
        "robots.name": [r.name for r in f.robots],
        "vacation_types.key": [v.key for v in f.vacation_types],
    }
    out = [f"duplicate {name}: {_duplicates(vals)}" for name, vals in checks.items() if _duplicates(vals)]
    out += [f"users.userid {u.userid!r} must be lower-case" for u in f.users if u.userid != u.userid.lower()]
    return out


def _reference_problems(f: SandboxDirectoryFile) -> list[str]:
    users = {u.userid for u in f.users}
    depts = {d.id for d in f.departments}
    keys = {v.key for v in f.vacation_types}
    out: list[str] = []
    for d in f.departments:
        if d.parentid is not None and d.parentid not in depts:
            out.append(f"departments[{d.id}].parentid {d.parentid} is not a department")
        out += [f"departments[{d.id}].leaders: unknown user {u!r}" for u in d.leaders if u not in users]
    for u in f.users:
        out += [f"users[{u.userid}].departments: unknown department {d}" for d in u.departments if d not in depts]
        if u.main_department is not None and u.main_department not in u.departments:
            out.append(f"users[{u.userid}].main_department {u.main_department} is not in its departments")
        out += [f"users[{u.userid}].direct_leader: unknown user {x!r}" for x in u.direct_leader if x not in users]
        out += [f"users[{u.userid}].vacation: unknown vacation type {k!r}" for k in u.vacation if k not in keys]
    for t in f.tags:
        out += [f"tags[{t.tagname}].userids: unknown user {x!r}" for x in t.userids if x not in users]
        out += [f"tags[{t.tagname}].partyids: unknown department {p}" for p in t.partyids if p not in depts]
    return out


@dataclass(frozen=True)
class SandboxExtras:
    """What the sandbox knows beyond the `Directory` port."""

    corp_name: str = "沙箱企业"
    legacy_contact_fields: bool = False  # user/get answers like an app created before 2022-06-20
    profiles: dict[str, SandboxUser] = field(default_factory=dict)
    vacation_types: tuple[VacationType, ...] = tuple(_DEFAULT_VACATION_TYPES)
    robots: tuple[Robot, ...] = ()
    approval_templates: tuple[ApprovalTemplate, ...] = ()
    partners: tuple[Partner, ...] = ()

    def partner(self, corpid: str) -> Partner | None:
        return next((p for p in self.partners if p.corpid == corpid), None)

    def robot_by_key(self, key: str) -> Robot | None:
        return next((r for r in self.robots if r.key == key), None)

    def template_name(self, template_id: str) -> str | None:
        return next((t.name for t in self.approval_templates if t.template_id == template_id), None)

    def balances(self, userid: str) -> list[tuple[VacationType, Balance]]:
        """Every configured vacation type with the user's balance (zero when the YAML has none)."""
        profile = self.profiles.get(userid)
        own = profile.vacation if profile else {}
        return [(vt, own.get(vt.key, Balance(assigned=0))) for vt in self.vacation_types]


@dataclass(frozen=True)
class SandboxCompany:
    directory: StaticDirectory
    extras: SandboxExtras


def company_from_mapping(data: Any, source: str = "<mapping>") -> SandboxCompany:
    """Validate a parsed YAML document; raises ConfigurationError naming `source` and the fields."""
    try:
        parsed = SandboxDirectoryFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigurationError(f"invalid sandbox directory {source}: {problems}") from None
    directory = StaticDirectory([u.base() for u in parsed.users], parsed.departments, parsed.tags)
    extras = SandboxExtras(
        corp_name=parsed.corp_name,
        legacy_contact_fields=parsed.legacy_contact_fields,
        profiles={u.userid: u for u in parsed.users},
        vacation_types=tuple(parsed.vacation_types),
        robots=tuple(parsed.robots),
        approval_templates=tuple(parsed.approval_templates),
        partners=tuple(parsed.partners),
    )
    return SandboxCompany(directory, extras)


def load_sandbox_directory(path: Path | None = None) -> SandboxCompany:
    """Load `path` (the `SANDBOX_DIRECTORY` setting), or the demo company when None."""
    source = path or DEMO_DIRECTORY
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read sandbox directory {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"sandbox directory {source} is not valid YAML: {exc}") from None
    return company_from_mapping(data if data is not None else {}, str(source))
