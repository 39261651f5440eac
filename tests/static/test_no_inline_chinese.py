"""People-facing Chinese lives in YAML templates a company can edit (templates/*.yaml), never in
Python string literals. Docstrings and comments may name Chinese terms; a literal that is not
people-facing text (a WeCom protocol value, an operator hint naming a console page, an API doc
example) is allowed only when listed below with its reason. Examples in a model's
`json_schema_extra` are OpenAPI documentation (docs/openapi.json), not text anyone is sent."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "wecom_oa"
CJK = re.compile(r"[\u4e00-\u9fff]")

# (path inside wecom_oa, a fragment of the literal) → why that literal is not people-facing text.
ALLOWED: dict[tuple[str, str], str] = {
    ("openapi.py", "工单"): "the OpenAPI document's description (English) naming the Chinese terms",
    ("wecom/errors.py", "企业ID"): "operator hint (English) naming a WeCom admin console page",
    ("wecom/errors.py", "企业可信IP"): "operator hint (English) naming a WeCom admin console page",
    ("wecom/errors.py", "可调用接口的应用"): "operator hint (English) naming a WeCom admin console page",
    ("digests/service.py", "可调用接口的应用"): "operator hint (English) naming a WeCom admin console page",
    ("worktime/calendar.py", "调休 workdays"): "configuration error (English) naming the Chinese term",
    ("digests/reports.py", "日报"): "default WeCom 汇报 template name matched against journal data (a config value)",
    # Owned by the approval pre-checks work, which moves these display values into templates.
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _schema_examples(tree: ast.AST) -> set[int]:
    """Constants inside a `json_schema_extra=…` argument (a model's OpenAPI examples)."""
    return {id(node) for kw in ast.walk(tree) if isinstance(kw, ast.keyword) and kw.arg == "json_schema_extra"
            for node in ast.walk(kw.value)}


def chinese_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string constant with CJK text that is not a docstring or an
    OpenAPI example; f-string parts count as literals."""
    tree = ast.parse(source)
    docs = _docstrings(tree) | _schema_examples(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and CJK.search(node.value)]


def test_the_scanner_finds_literals_and_f_string_parts_but_not_docstrings_or_comments() -> None:
    source = ('"""模块说明"""\n# 注释\ndef f(x):\n    """函数说明"""\n    return f"{x}月" + "未分配"\n'
              'c = ConfigDict(json_schema_extra={"examples": [{"title": "示例"}]})\n')

    assert sorted(text for _, text in chinese_literals(source)) == ["月", "未分配"]


def test_given_the_package_then_no_python_file_holds_people_facing_chinese_outside_the_allow_list() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for line, text in chinese_literals(path.read_text(encoding="utf-8")):
            if not any(path_ == relative and fragment in text for path_, fragment in ALLOWED):
                found.append(f"{relative}:{line}: {text!r}")

    assert not found, "move these texts into templates/*.yaml (or allow-list a protocol value):\n" + "\n".join(found)
