"""`make run`'s own routes (/_sandbox/…) answer junk with a 4xx naming the problem, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

SANDBOX_POSTS = ("/_sandbox/click", "/_sandbox/chat", "/_sandbox/journals", "/_sandbox/approvals/{x}/decide",
                 "/_sandbox/approvals/{x}/withdraw", "/_sandbox/approvals/{x}/submitted",
                 "/_sandbox/schedules/{x}/fire")
KEYS = ("userid", "task_id", "key", "text", "date", "template_name", "approve", "speech")
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
bodies = st.dictionaries(st.sampled_from(KEYS), scalars | st.lists(scalars, max_size=3), max_size=5)
segments = st.text(min_size=1, max_size=20).filter(lambda s: not set(s) & set("/?#%\x00"))


@pytest.fixture
def client(local_app):
    from werkzeug.test import Client

    from local.server import LocalApp

    return Client(LocalApp(local_app.stack, local_app.sandbox, local_app.simulator))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(SANDBOX_POSTS), segment=segments, body=bodies | st.binary(max_size=40))
def test_given_junk_when_posted_to_a_sandbox_route_then_never_5xx(client, route, segment, body) -> None:
    path = route.replace("{x}", segment)
    kwargs = {"json": body} if isinstance(body, dict) else {"data": body}

    resp = client.post(path, **kwargs)

    assert resp.status_code < 500, (path, body, resp.get_data(as_text=True))
    if resp.status_code >= 400:
        assert resp.get_json()["error"]["message"], resp.get_data(as_text=True)
