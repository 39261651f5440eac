"""The configuration files besides the approval rules: each loads as the server loads it, a mistake is
named with its file, line and key path, and every userid, department and robot the files name is
checked against the directory (`rules_check` runs this; `make check`).

A loader names a mistake by its path in the loaded data (`templates.0.fields.7.type`); where the file
holds a mapping (`templates: {repair: …}`), the index is that mapping's n-th key, so `locate` turns the
path into the file's own keys and the line the value starts on."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from wecom_oa.errors import ConfigurationError, NotFound

_PATH = re.compile(r"^(?P<file>[\w.\-]+\.ya?ml): (?P<path>[\w\-]+(?:\.[\w\-]+)+): (?P<problem>.*)$", re.S)


def locate(path: Path, dotted: str) -> tuple[int | None, str]:
    """(1-based line, key path in the file's own keys) of `dotted` in the YAML file `path`; the line
    of the deepest node found when the path runs past what the file holds."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None, dotted
    keys: list[str] = []
    line = node.start_mark.line + 1 if node is not None else None
    for part in dotted.split("."):
        child = None
        if isinstance(node, yaml.MappingNode):
            pairs = node.value
            match = [(k, v) for k, v in pairs if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not match and part.isdigit() and int(part) < len(pairs):
                match = [pairs[int(part)]]
            if match:
                key, child = match[0]
                keys.append(key.value)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
            keys.append(part)
        if child is None:
            keys.extend(dotted.split(".")[len(keys):])
            break
        node, line = child, child.start_mark.line + 1
    return line, ".".join(keys)


def describe(exc: ConfigurationError, path: Path) -> str:
    """`file:line: key.path: problem` for a loader's error when its path can be found, else its message."""
    details = exc.details if isinstance(exc.details, dict) else {}
    match = _PATH.match(exc.message)
    dotted, problem = (match.group("path"), match.group("problem")) if match else (None, exc.message)
    if dotted is None and details.get("schedule") and details.get("field"):
        schedules = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("schedules") or []
        names = [s.get("name") for s in schedules if isinstance(s, dict)]
        if details["schedule"] in names:
            dotted = f"schedules.{names.index(details['schedule'])}.{details['field']}"
            problem = f"schedule {details['schedule']!r}: {details.get('problem') or exc.message}"
    if dotted is None:
        return exc.message
    line, keys = locate(path, dotted)
    return f"{path.name}:{line}: {keys}: {problem}" if line else f"{path.name}: {keys}: {problem}"


def _loaders(config_dir: Path) -> list[tuple[str, Callable[[Path], Any]]]:
    from wecom_oa.digests.schedules import load_digest_config
    from wecom_oa.tickets.domain import load_catalog
    from wecom_oa.worktime.calendar import load_calendars
    from wecom_oa.worktime.quiet import load_quiet_hours
    from wecom_oa.worktime.sla import load_sla_policies

    def sla(path: Path) -> Any:
        return load_sla_policies(path, calendars=load_calendars(config_dir / "calendars.yaml"))

    def workflow(path: Path) -> Any:
        from wecom_oa.workflows.templates import parse_template

        return parse_template(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)

    def console(path: Path) -> Any:
        from wecom_oa.console.scopes import load_console_config

        return load_console_config(path)

    def alerts(path: Path) -> Any:
        from wecom_oa.alerts.config import load_alert_config

        return load_alert_config(path)

    workflows = [(f"workflows/{p.name}", workflow) for p in sorted((config_dir / "workflows").glob("*.yaml"))]
    return [("calendars.yaml", load_calendars), ("ticket_types.yaml", load_catalog), ("sla_policies.yaml", sla),
            ("digests.yaml", load_digest_config), ("quiet_hours.yaml", load_quiet_hours),
            ("console.yaml", console), ("alerts.yaml", alerts), *workflows]


def load_problems(config_dir: Path) -> list[str]:
    """What stops a configuration file in `config_dir` from loading, one line each (the server
    refuses to start on any, with these messages)."""
    problems = []
    for name, load in _loaders(config_dir):
        path = config_dir / name
        if path.exists():
            try:
                load(path)
            except ConfigurationError as exc:
                problems.append(describe(exc, path))
    return problems


def check_configs(config_dir: Path, directory: Any, robots: set[str]) -> list[str]:
    """Problems of the configuration files in `config_dir` (empty: all load and name known people,
    departments and robots). Prints one line per file."""
    problems: list[str] = []
    loaded: dict[str, Any] = {}
    print("\nConfiguration")
    for name, load in _loaders(config_dir):
        path = config_dir / name
        if not path.exists():
            print(f"  ok   no {name}: the defaults apply")
            continue
        try:
            loaded[name] = load(path)
        except ConfigurationError as exc:
            problems.append(describe(exc, path))
            print(f"  FAIL {problems[-1]}")
            continue
        found = _references(name, loaded[name], config_dir / name, directory, robots)
        problems += found
        print(f"  {'FAIL' if found else 'ok  '} {name}")
        for problem in found:
            print(f"         {problem}")
    return problems


def _references(name: str, config: Any, path: Path, directory: Any, robots: set[str]) -> list[str]:
    """The userids, departments and robots `config` names that the directory does not hold."""
    out: list[str] = []

    def user(userid: str, where: str) -> None:
        try:
            directory.user(userid)
        except NotFound:
            line, keys = locate(path, where)
            out.append(f"{path.name}:{line}: {keys}: unknown userid {userid!r} (not in the directory)")

    def department(dept: int, where: str) -> None:
        try:
            directory.department(dept)
        except NotFound:
            line, keys = locate(path, where)
            out.append(f"{path.name}:{line}: {keys}: unknown department {dept} (not in the directory)")

    if name == "ticket_types.yaml":
        for team in config.teams:
            for field in ("dispatchers", "backup"):
                for userid in getattr(team, field):
                    user(userid, f"teams.{team.key}.{field}")
    elif name == "digests.yaml":
        for i, group in enumerate(config.groups):
            for dept in group.departments:
                department(dept, f"groups.{i}.departments")
        targets = [(f"groups.{i}", g) for i, g in enumerate(config.groups)] + \
                  [(f"schedules.{i}", s) for i, s in enumerate(config.schedules)]
        for where, holder in targets:
            target = getattr(holder, "target", None)
            ref = getattr(target, "ref", None)
            if getattr(target, "kind", None) == "robot" and ref and not ref.startswith("@") and ref not in robots:
                line, keys = locate(path, f"{where}.target.ref")
                out.append(f"{path.name}:{line}: {keys}: unknown robot {ref!r} (robot_keys has {sorted(robots)})")
        from wecom_oa.cli.schedules import TEMPLATE, differences

        if TEMPLATE.exists():  # the schedules' times: digests.yaml is the source, the template follows
            out += differences(TEMPLATE, path, config)
        for userid in config.reports.hr_recipients or []:
            user(userid, "reports.hr_recipients")
    elif name == "console.yaml":
        for userid in config.admins.users:
            user(userid, "admins.users")
        for tag in config.admins.tags:
            try:
                directory.tag_members(tag)
            except NotFound:
                line, keys = locate(path, "admins.tags")
                out.append(f"{path.name}:{line}: {keys}: unknown tag {tag!r} (not in the directory)")
    elif name == "alerts.yaml":
        for rname, rec in config.receivers.items():
            where = f"receivers.{rname}"
            for userid in rec.users or []:
                user(userid, f"{where}.users")
            if rec.tag is not None:
                try:
                    directory.tag_members(rec.tag)
                except NotFound:
                    line, keys = locate(path, f"{where}.tag")
                    out.append(f"{path.name}:{line}: {keys}: unknown tag {rec.tag!r} (not in the directory)")
            if rec.robot is not None and rec.robot not in robots:
                line, keys = locate(path, f"{where}.robot")
                out.append(f"{path.name}:{line}: {keys}: unknown robot {rec.robot!r} (robot_keys has {sorted(robots)})")
        from wecom_oa.digests.schedules import load_digest_config

        digests = path.parent / "digests.yaml"
        try:
            groups = [g.id for g in load_digest_config(digests).groups] if digests.exists() else []
        except ConfigurationError:  # named on its own line
            groups = []
        for i, route in enumerate(config.routes):
            for group in route.digest_groups:
                if groups and group not in groups:
                    line, keys = locate(path, f"routes.{i}.digest_groups")
                    out.append(f"{path.name}:{line}: {keys}: unknown project group {group!r} (digests.yaml has {groups})")
    elif name.startswith("workflows/"):
        for role_name, role in config.roles.items():
            for userid in role.users or []:
                user(userid, f"roles.{role_name}.users")
        from wecom_oa.digests.schedules import load_digest_config

        digests = path.parent.parent / "digests.yaml"
        try:
            groups = [g.id for g in load_digest_config(digests).groups] if digests.exists() else []
        except ConfigurationError:  # named on its own line above
            groups = []
        if groups and config.group not in groups:
            line, keys = locate(path, "group")
            out.append(f"{path.name}:{line}: {keys}: unknown project group {config.group!r} (digests.yaml has {groups})")
    return out
