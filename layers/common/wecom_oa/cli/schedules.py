"""One source for schedule times: `config/digests.yaml`. What fires them is EventBridge Scheduler,
declared in `template.yaml` (a `ScheduleV2` event per schedule, its `Input` naming the schedule);
`make schedules` copies each schedule's expression and timezone from digests.yaml into the template,
and `make check` fails while the two differ, saying so.

    python -m wecom_oa.cli.schedules [--template template.yaml] [--config config/digests.yaml]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wecom_oa.settings import PACKAGE_DIR, get_settings

TEMPLATE = PACKAGE_DIR.parents[2] / "template.yaml"
_EVENT = re.compile(r"^(?P<indent> +)(?P<name>\w+):\n(?P=indent)  Type: ScheduleV2\n(?P<body>(?:(?P=indent)  .*\n)+)",
                    re.M)


@dataclass(frozen=True)
class Fired:
    event: str
    expression: str
    timezone: str
    line: int


def fired(template_text: str) -> dict[str, Fired]:
    """schedule name → how the template fires it (the ScheduleV2 events whose Input names it)."""
    out = {}
    for m in _EVENT.finditer(template_text):
        body = m.group("body")
        schedule = re.search(r"Input: '(\{.*\})'", body)
        expression = re.search(r"ScheduleExpression: (.+)", body)
        timezone = re.search(r"ScheduleExpressionTimezone: (.+)", body)
        if schedule and expression:
            name = json.loads(schedule.group(1)).get("schedule")
            line = template_text[:m.start("body") + expression.start()].count("\n") + 1
            out[name] = Fired(m.group("name"), expression.group(1).strip(),
                              timezone.group(1).strip() if timezone else "UTC", line)
    return out


def differences(template_path: Path, config_path: Path, config: Any = None) -> list[str]:
    """Each schedule whose time differs between digests.yaml and the template, or that only one has
    (`config`: digests.yaml already loaded)."""
    from wecom_oa.digests.schedules import load_digest_config

    config = config or load_digest_config(config_path)
    events = fired(template_path.read_text(encoding="utf-8"))
    out = []
    for spec in config.schedules:
        event = events.get(spec.name)
        if event is None:
            out.append(f"{config_path.name}: schedule {spec.name!r} is fired by no ScheduleV2 event in "
                       f"{template_path.name} (add one whose Input is {{\"schedule\": \"{spec.name}\"}})")
        elif (event.expression, event.timezone) != (spec.expression, spec.timezone):
            out.append(f"{config_path.name}: schedule {spec.name!r} is {spec.expression} {spec.timezone}, but "
                       f"{template_path.name}:{event.line} ({event.event}) fires it at {event.expression} "
                       f"{event.timezone}: digests.yaml is the source, run `make schedules` to copy it")
    for name in sorted(set(events) - {s.name for s in config.schedules}):
        out.append(f"{template_path.name}:{events[name].line}: {events[name].event} fires {name!r}, which "
                   f"{config_path.name} does not define")
    return out


def sync(template_path: Path, config_path: Path) -> list[str]:
    """Copy every schedule's expression and timezone from digests.yaml into the template (in place,
    comments kept); returns the events changed."""
    from wecom_oa.digests.schedules import load_digest_config

    specs = {s.name: s for s in load_digest_config(config_path).schedules}
    text = template_path.read_text(encoding="utf-8")
    changed = []

    def rewrite(m: re.Match[str]) -> str:
        body = m.group("body")
        schedule = re.search(r"Input: '(\{.*\})'", body)
        spec = specs.get(json.loads(schedule.group(1)).get("schedule")) if schedule else None
        if spec is None:
            return m.group(0)
        new = re.sub(r"(ScheduleExpression: ).+", lambda e: e.group(1) + spec.expression, body, count=1)
        new = re.sub(r"(ScheduleExpressionTimezone: ).+", lambda e: e.group(1) + spec.timezone, new, count=1)
        if new != body:
            changed.append(m.group("name"))
        return m.group(0).replace(body, new)

    template_path.write_text(_EVENT.sub(rewrite, text), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="schedules", description="Copy digests.yaml's schedule times into template.yaml.")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args(argv)
    config = args.config or get_settings().config_dir / "digests.yaml"
    changed = sync(args.template, config)
    print(f"{args.template.name}: " + (f"updated {', '.join(changed)}" if changed else "already matches digests.yaml"))
    left = differences(args.template, config)
    for problem in left:
        print(f"  {problem}", file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
