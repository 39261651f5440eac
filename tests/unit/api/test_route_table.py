"""The api function's route table (routes.py) names, for each route, the module that serves it: the
modules register exactly those routes, the template exposes exactly those (plus /health), and
loading the handler loads no feature until a request needs one."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from local.stack import load_template
from wecom_oa import api
from wecom_oa.routes import ROUTE_MODULES

ROOT = Path(__file__).resolve().parents[3]


def test_given_every_listed_module_then_it_registers_exactly_its_listed_routes() -> None:
    for module in {m for _, _, m in ROUTE_MODULES}:
        importlib.import_module(module)
    registered = {(m, p, fn.__module__) for m, p, fn in api.ROUTES}
    listed = {(m, api.resolver_path(p), module) for m, p, module in ROUTE_MODULES}
    assert registered == listed


def test_given_the_template_then_the_api_function_serves_the_listed_routes_and_health() -> None:
    template = load_template(ROOT / "template.yaml")
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}
    assert routes == {(m, p) for m, p, _ in ROUTE_MODULES} | {("GET", "/health")}


def test_given_a_cold_start_then_the_handler_loads_no_feature() -> None:
    code = ("import sys, app; print(sorted(m for m in sys.modules if m.split('.')[1:2] and m.split('.')[1] in "
            "{'approvals','tickets','digests','notices','tasks','budgets'} and m.startswith('wecom_oa.')))")
    env_path = f"{ROOT / 'layers' / 'common'}:{ROOT / 'functions' / 'api'}:{ROOT}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "['wecom_oa.approvals', 'wecom_oa.approvals.limits']", out.stdout
