from __future__ import annotations

import pytest

from wecom_oa.approvals.rules_lint import lint_file


def codes(findings):
    return sorted(((f.code, f.row) for f in findings if f.severity == "error"), key=lambda c: (c[0], c[1] or ""))


def messages(findings, code):
    return [f.message for f in findings if f.code == code]


@pytest.mark.parametrize("name", ["expense", "leave", "onboarding"])
def test_given_the_shipped_rules_when_linted_with_the_directory_then_clean(rules_dir, directory, name):
    ruleset, findings = lint_file(rules_dir / f"{name}.yaml", directory=directory)
    assert ruleset is not None and findings == []


def test_given_overlapping_rows_under_unique_when_linted_then_the_overlap_names_both_rows(tables_dir):
    _, findings = lint_file(tables_dir / "overlap.yaml")
    assert codes(findings) == [("overlap", "b")]
    assert messages(findings, "overlap") == ["overlaps row a at amount (500..1000) (hit policy unique)"]
    assert all(f.file == "overlap.yaml" for f in findings)


def test_given_a_gap_when_linted_then_each_uncovered_range_is_reported(tables_dir):
    _, findings = lint_file(tables_dir / "gap.yaml")
    assert messages(findings, "gap") == [
        "no row matches amount (1000..5000)",
        'no row matches amount = 5000, region not "华东"',
        'no row matches amount > 5000, region not "华东"',
    ]


def test_given_a_gap_when_the_table_has_a_default_then_no_gap_is_reported(table, tables_dir):
    from wecom_oa.approvals.rules_lint import lint_ruleset

    ruleset = table("gap", default={"outcome": "auto_reject"})
    assert [f for f in lint_ruleset(ruleset, file="gap.yaml") if f.code == "gap"] == []


def test_given_a_shadowed_row_under_first_when_linted_then_it_is_unreachable(tables_dir):
    _, findings = lint_file(tables_dir / "unreachable.yaml")
    assert codes(findings) == [("unreachable", "mid")]


def test_given_the_same_table_under_collect_when_linted_then_the_row_is_reachable(table):
    from wecom_oa.approvals.rules_lint import lint_ruleset

    assert lint_ruleset(table("unreachable", hit_policy="collect"), file="x.yaml") == []


def test_given_unknown_fields_when_linted_then_each_is_named(tables_dir):
    _, findings = lint_file(tables_dir / "unknown_field.yaml")
    assert codes(findings) == [("unknown_field", None), ("unknown_field", None), ("unknown_field", "r1"),
                               ("unknown_field", "r2")]
    text = " | ".join(messages(findings, "unknown_field"))
    assert "'colour'" in text and "'rank'" in text and "'amont'" in text and "'approver'" in text


def test_given_bad_cells_when_linted_then_each_row_and_problem_is_named(tables_dir):
    _, findings = lint_file(tables_dir / "bad_cell.yaml")
    assert codes(findings) == [("invalid_cell", "r1"), ("invalid_cell", "r2"), ("invalid_cell", "r3")]
    text = " | ".join(messages(findings, "invalid_cell"))
    assert "input days" in text and "'holiday' is not one of annual, sick" in text and "empty range" in text


def test_given_roles_nobody_holds_when_linted_with_a_directory_then_unresolvable(tables_dir, directory):
    _, findings = lint_file(tables_dir / "unresolvable.yaml", directory=directory)
    assert messages(findings, "unresolvable_approver") == [
        "stage 法务审批: role '法务' is not in the directory",
        "stage 空角色审批: role '空角色' has no active members",
        "stage 指定人: user 'nobody' is not in the directory",
        "stage 指定人: user 'ghost' is not in the directory",
    ]
    _, without_directory = lint_file(tables_dir / "unresolvable.yaml")
    assert without_directory == []


def test_given_priority_rows_when_linted_then_ties_warn_and_missing_priorities_fail(table):
    from wecom_oa.approvals.rules_lint import lint_ruleset

    ruleset = table("overlap", hit_policy="priority")
    findings = lint_ruleset(ruleset, file="overlap.yaml")
    assert ("structure", "a") in codes(findings) and ("structure", "b") in codes(findings)
    assert [f.code for f in findings if f.severity == "warning"] == ["priority_tie"]


def test_given_structural_errors_when_linted_then_the_row_id_is_named(tmp_path):
    path = tmp_path / "expense.yaml"
    path.write_text(
        "type: expense\nversion: 1\ninputs: {amount: {type: money}}\n"
        "rows:\n  - {id: r1, when: {amount: '-'}, outcome: approve}\n"
        "  - {id: r2, outcome: route, route: [{name: s, approvers: [boss]}]}\n",
        encoding="utf-8",
    )
    _, findings = lint_file(path)
    assert [(f.file, f.row, f.code) for f in findings] == [("expense.yaml", "r1", "structure"),
                                                           ("expense.yaml", "r2", "structure")]
    assert "outcome" in findings[0].message and "boss" in findings[1].message


def test_given_invalid_yaml_when_linted_then_the_line_is_named(tmp_path):
    path = tmp_path / "expense.yaml"
    path.write_text("type: expense\nrows:\n  - when: {amount: > 1000}\n", encoding="utf-8")
    _, findings = lint_file(path)
    assert findings[0].code == "unreadable" and "line 3" in findings[0].message


def test_given_an_unknown_suggestion_template_and_precheck_when_linted_then_both_are_named(table):
    from wecom_oa.approvals.rules_lint import lint_ruleset

    ruleset = table("overlap", hit_policy="first", prechecks=[{"check": "credit_score"}])
    rows = [r.model_dump() for r in ruleset.rows]
    rows[1]["suggestion_template"] = "no_such_text"
    findings = lint_ruleset(table("overlap", hit_policy="first", prechecks=[{"check": "credit_score"}], rows=rows),
                            file="t.yaml")
    assert codes(findings) == [("unknown_precheck", None), ("unknown_template", "b")]
