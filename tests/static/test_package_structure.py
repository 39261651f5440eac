"""The package is organised by feature (issue 17): a reader finds a behaviour from the folder
names, features meet only through each other's public names, and no two modules of different
features or kernels import each other in a circle (lazy imports inside functions count too: they
hide a circle, they do not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "wecom_oa"
FEATURES = {"approvals", "tickets", "digests", "notices", "tasks", "budgets"}
KERNELS = {"wecom", "aws", "messaging", "worktime", "cli"}
# A circle inside one feature is that feature's business; each is listed here and may only shrink.
ALLOWED_CIRCLES = [{"wecom_oa.approvals.notifier", "wecom_oa.approvals.service"}]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _owner(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> list[tuple[str, str | None, ast.AST]]:
    """(imported module, imported name or None, node) for every wecom_oa import of `module`."""
    out = []
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(_owner(a.name), None, node) for a in node.names if a.name.startswith("wecom_oa.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wecom_oa"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                out.append((full, None, node) if full in MODULES else (_owner(node.module), a.name, node))
    return out


def _area(module: str) -> str:
    """The feature or kernel a module belongs to (`wecom_oa.x` for a top-level platform module)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in FEATURES | KERNELS else module


def _circles() -> list[set[str]]:
    edges = {m: {i for i, _, _ in _imports(m) if i in MODULES and i != m and i != "wecom_oa"} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for start in sorted(MODULES):  # iterative Tarjan
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = set()
                    while True:
                        w = stack.pop()
                        component.add(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_given_the_package_then_it_is_organised_by_feature_not_by_layer() -> None:
    for layer in ("domain", "services", "adapters", "models"):
        assert not (PACKAGE / layer).exists(), f"{layer}/ is a layer folder: its modules belong to a feature"
    for area in FEATURES | KERNELS:
        assert (PACKAGE / area / "__init__.py").exists(), area
    for feature in FEATURES:
        assert (PACKAGE / feature / "service.py").exists(), f"{feature} has its service in {feature}/service.py"


def test_given_every_import_then_no_circle_joins_modules_of_different_areas() -> None:
    circles = _circles()
    for circle in circles:
        areas = {_area(m) for m in circle}
        assert len(areas) == 1, f"import circle across {sorted(areas)}: {sorted(circle)}"
        assert circle in ALLOWED_CIRCLES, f"a new import circle inside {areas.pop()}: {sorted(circle)}"
    stale = [c for c in ALLOWED_CIRCLES if c not in circles]
    assert not stale, f"these circles are gone; remove them from ALLOWED_CIRCLES: {stale}"


def test_given_a_module_of_another_area_then_none_of_its_private_names_is_used() -> None:
    reach_ins = []
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}
        for imported, name, node in _imports(module):
            foreign = imported in MODULES and _area(imported) != _area(module)
            if name is None and isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if f"{node.module}.{a.name}" == imported:
                        aliases[a.asname or a.name] = imported
            elif foreign and name and name.startswith("_") and not name.startswith("__"):
                reach_ins.append(f"{module} imports {imported}.{name}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")
                    and _area(aliases[node.value.id]) != _area(module)):
                reach_ins.append(f"{module} uses {aliases[node.value.id]}.{node.attr}")
    assert not reach_ins, "\n".join(sorted(set(reach_ins)))


def test_given_the_checker_then_it_sees_a_circle_and_a_reach_in() -> None:
    """The checks can fail: the allowed circle is found, and `_area` tells features apart."""
    assert {"wecom_oa.approvals.notifier", "wecom_oa.approvals.service"} in _circles()
    assert _area("wecom_oa.tickets.service") != _area("wecom_oa.approvals.service")
    assert _area("wecom_oa.settings") == "wecom_oa.settings"
