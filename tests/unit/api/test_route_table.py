"""The api function's routers (wecom_oa.routes): the template exposes exactly the routes they
declare (plus /health), each serves only its path segments, and loading the handler loads no
feature until a request needs one (then only that feature's router and models)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

from local.stack import load_template
from wecom_oa.routes import ROUTERS, segment

ROOT = Path(__file__).resolve().parents[3]
# The input limits table (wecom_oa.api.LIMITS) lists the approval form's limits.
PLATFORM = ["wecom_oa.approvals", "wecom_oa.approvals.limits"]
FEATURES = {"approvals", "tickets", "digests", "notices", "tasks", "budgets", "messaging"}


def _resolver_routes() -> set[tuple[str, str]]:
    import functions.api.app as handler

    app = handler.include_all()
    return {(r.method, re.sub(r"<(\w+)>", r"{\1}", r.path)) for r in app._static_routes + app._dynamic_routes}


def test_given_the_template_then_the_api_function_serves_exactly_the_resolver_routes() -> None:
    template = load_template(ROOT / "template.yaml")
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    exposed = {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}

    assert exposed == _resolver_routes()


def test_given_each_router_then_it_serves_only_the_path_segments_it_is_listed_for() -> None:
    for module in set(ROUTERS.values()):
        router = importlib.import_module(module).router
        served = {segment(path) for path, *_ in router._routes}
        assert served == {name for name, m in ROUTERS.items() if m == module}, module


def _loaded_after(code: str) -> list[str]:
    probe = (code + "; import sys; print(sorted(m for m in sys.modules if m.startswith('wecom_oa.') "
             "and m.split('.')[1] in " + repr(FEATURES) + "))")
    env_path = f"{ROOT / 'layers' / 'common'}:{ROOT / 'functions' / 'api'}:{ROOT}"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"})
    return eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own subprocess printing a list of names


def test_given_a_cold_start_then_the_handler_loads_no_feature() -> None:
    assert _loaded_after("import app") == PLATFORM


def test_given_a_path_then_only_its_feature_router_is_included() -> None:
    loaded = _loaded_after("import app; from wecom_oa import routes; routes.include_for(app.app, '/tickets/TK1', "
                           "app.INCLUDED); routes.include_for(app.app, '/nowhere', app.INCLUDED)")

    assert "wecom_oa.tickets.api" in loaded
    assert not [m for m in loaded if m.split(".")[1] != "tickets" and m not in PLATFORM], loaded
    assert "wecom_oa.tickets.service" not in loaded  # imported when a route of it runs
