from __future__ import annotations

import shutil

from wecom_oa.cli.rules_check import main


def test_given_the_shipped_rules_when_checked_then_exit_0_and_every_sample_passes(capsys, rules_dir):
    from pathlib import Path

    # the company the shipped config names (its other files are checked against it too)
    demo = Path(__file__).resolve().parents[3] / "local" / "sandbox" / "demo_directory.yaml"
    code = main(["--dir", str(rules_dir), "--directory", str(demo)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok   expense.yaml (expense v1, unique, 2 rows)" in out
    assert "result: OK" in out and "FAIL" not in out and "ok   budgets.yaml" in out


def test_given_a_broken_rule_file_when_checked_then_exit_1_and_the_row_is_named(capsys, tmp_path, rules_dir, tables_dir):
    for path in rules_dir.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(tables_dir / "bad_cell.yaml", tmp_path / "leave.yaml")
    code = main(["--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL leave.yaml" in out and "leave.yaml row r1: error [invalid_cell]" in out
    assert "result: FAILED" in out


def test_given_a_missing_directory_file_when_checked_then_exit_2(capsys, tmp_path):
    assert main(["--dir", str(tmp_path), "--directory", str(tmp_path / "none.yaml")]) == 2


def _rules_copy(rules_dir, target):
    target.mkdir()
    for path in rules_dir.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


def test_given_a_budget_for_an_unknown_department_when_checked_then_a_warning_names_it(capsys, tmp_path, rules_dir):
    rules = _rules_copy(rules_dir, tmp_path / "approval_rules")
    (tmp_path / "budgets.yaml").write_text("period: month\ndepartments: {9: 50000, 999: 10}\n", encoding="utf-8")

    code = main(["--dir", str(rules)])

    out = capsys.readouterr().out
    assert code == 0 and "warn budgets.yaml: departments.999: no such department" in out
    assert "departments.9:" not in out


def test_given_an_invalid_budgets_file_when_checked_then_exit_1_naming_the_field(capsys, tmp_path, rules_dir):
    rules = _rules_copy(rules_dir, tmp_path / "approval_rules")
    (tmp_path / "budgets.yaml").write_text("period: fortnight\n", encoding="utf-8")

    code = main(["--dir", str(rules)])

    out = capsys.readouterr().out
    assert code == 1 and "FAIL budgets.yaml: period" in out
