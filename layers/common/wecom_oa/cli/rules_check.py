"""Lint every approval rule file, run the sample forms against them, check budgets.yaml and every
other configuration file (cli/config_check.py: file, line, key path; people, departments, robots).

    python -m wecom_oa.cli.rules_check [--dir DIR] [--directory FILE] [--samples FILE]

--dir defaults to the package's config/approval_rules (or OA_CONFIG_DIR/approval_rules). The demo
directory is, in order: --directory, SANDBOX_DIRECTORY, local/sandbox/demo_directory.yaml,
tests/fixtures/directory.yaml. Exit code 0 when every file lints clean and every sample passes, 1 on
any failure, 2 when the inputs themselves cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wecom_oa.approvals.rules_lint import RuleRegistry, load_samples, run_sample
from wecom_oa.cli.config_check import check_configs
from wecom_oa.directory import StaticDirectory
from wecom_oa.errors import ConfigurationError
from wecom_oa.settings import PACKAGE_DIR, get_settings

REPO_ROOT = PACKAGE_DIR.parents[2]
DIRECTORY_CANDIDATES = ("local/sandbox/demo_directory.yaml", "tests/fixtures/directory.yaml")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        rules_dir = args.dir or get_settings().config_dir / "approval_rules"
        directory_path = args.directory or _find_directory()
        directory = StaticDirectory.from_yaml(directory_path)
    except (ConfigurationError, OSError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    print(f"rules:     {rules_dir}\ndirectory: {directory_path}\n")
    registry = RuleRegistry(rules_dir, directory=directory)
    lint_ok = _report_lint(registry)
    samples_ok = _report_samples(registry, directory, args.samples or rules_dir / "samples.yaml")
    budgets_ok = _report_budgets(rules_dir.parent / "budgets.yaml", directory)
    configs_ok = not check_configs(rules_dir.parent, directory, _robot_names(directory_path))
    ok = lint_ok and samples_ok and budgets_ok and configs_ok
    print("\nresult: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def _robot_names(directory_path: Path) -> set[str]:
    """The robot names the checked company has: its secret's robot_keys (WECOM_ROBOT_KEYS), else
    the directory YAML's `robots` (the sandbox company)."""
    import json
    import os

    import yaml

    if os.environ.get("WECOM_ROBOT_KEYS"):
        return set(json.loads(os.environ["WECOM_ROBOT_KEYS"]))
    data = yaml.safe_load(directory_path.read_text(encoding="utf-8")) or {}
    return {r["name"] for r in data.get("robots") or [] if isinstance(r, dict) and r.get("name")}


def _report_budgets(path: Path, directory: StaticDirectory) -> bool:
    """budgets.yaml loads (else a failure naming the field); departments the directory lacks are warned about."""
    from wecom_oa.budgets.domain import load_budget_config
    from wecom_oa.errors import NotFound

    print("\nBudgets")
    if not path.exists():
        print(f"  ok   no {path.name}: no department has a budget")
        return True
    try:
        config = load_budget_config(path)
    except ConfigurationError as exc:
        print(f"  FAIL {exc.message}")
        return False
    unknown = []
    for dept in config.departments:
        try:
            directory.department(dept)
        except NotFound:
            unknown.append(dept)
    # A warning, not a failure: the check runs against a demo or exported directory, which may not
    # hold every department of the company's real WeCom.
    for dept in unknown:
        print(f"  warn {path.name}: departments.{dept}: no such department in the directory checked against")
    print(f"  ok   {path.name} ({config.period}, {len(config.departments)} departments)")
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rules_check", description="Lint approval rules and run samples.")
    parser.add_argument("--dir", type=Path, help="directory of rule files")
    parser.add_argument("--directory", type=Path, help="directory YAML (users, departments, tags)")
    parser.add_argument("--samples", type=Path, help="samples file (default: DIR/samples.yaml)")
    return parser


def _find_directory() -> Path:
    configured = get_settings().sandbox_directory
    if configured is not None:
        return configured
    for base in (REPO_ROOT, Path.cwd()):
        for candidate in DIRECTORY_CANDIDATES:
            if (base / candidate).exists():
                return base / candidate
    raise ConfigurationError("no demo directory: pass --directory or set SANDBOX_DIRECTORY")


def _report_lint(registry: RuleRegistry) -> bool:
    results = registry.lint_all()
    if not results:
        print(f"no rule files in {registry.root}")
        return False
    ok = True
    print("Lint")
    for name, (ruleset, findings) in results.items():
        errors = [f for f in findings if f.severity == "error"]
        ok = ok and not errors and ruleset is not None
        summary = (f"{ruleset.type} v{ruleset.version}, {ruleset.hit_policy}, {len(ruleset.rows)} rows"
                   if ruleset else "not loaded")
        print(f"  {'FAIL' if errors or ruleset is None else 'ok  '} {name} ({summary})")
        for finding in findings:
            print(f"         {finding}")
    return ok


def _report_samples(registry: RuleRegistry, directory: StaticDirectory, path: Path) -> bool:
    if not path.exists():
        print(f"\nno samples file at {path}")
        return True
    try:
        samples = load_samples(path)
    except ConfigurationError as exc:
        print(f"\nSamples\n  FAIL {exc.message}")
        return False
    print(f"\nSamples ({path.name})")
    results = [run_sample(s, registry, directory) for s in samples]
    for result in results:
        detail = ""
        if result.decision is not None:
            stages = " → ".join(f"{s.name}[{','.join(s.approvers) or 'skip'}]" for s in result.decision.route)
            detail = f"  {result.decision.outcome} {','.join(result.decision.matched_rows)} {stages}".rstrip()
        print(f"  {'ok  ' if result.ok else 'FAIL'} {result.name}{detail}")
        for problem in result.problems:
            print(f"         {problem}")
    failed = sum(not r.ok for r in results)
    print(f"  {len(results) - failed}/{len(results)} passed")
    return failed == 0


if __name__ == "__main__":
    sys.exit(main())
