"""The console's pages under hostile input: any path, body, cookie and query, logged in or not,
answers a Chinese HTML page (or a redirect to login), never a 5xx, and a refused POST writes nothing."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

segments = st.text(min_size=1, max_size=80).filter(lambda s: "?" not in s and "#" not in s and s.strip("/"))
bodies = st.one_of(st.binary(max_size=400), st.text(max_size=200).map(str.encode),
                   st.dictionaries(st.sampled_from(["csrf", "action", "version", "to", "comment", "decision",
                                                    "field.repair_cost", "reason"]),
                                   st.text(max_size=40), max_size=6)
                   .map(lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()))
cookies = st.one_of(st.just(""), st.text(max_size=120).map(lambda v: f"oa_console={v}"),
                    st.text(max_size=60).map(lambda v: f"oa_console_login={v}"))
pages = st.sampled_from(["tickets", "approvals", "notices", "groups", "tasks", "progress", "dwell", "auth",
                         "static", "static/vendor"])


def _table_keys(app) -> set[tuple[str, str]]:
    dynamo = app.stack.client("dynamodb")
    pages_ = dynamo.get_paginator("scan").paginate(TableName=app.stack.env["TABLE_NAME"], ProjectionExpression="pk, sk")
    return {(i["pk"]["S"], i["sk"]["S"]) for page in pages_ for i in page["Items"]
            if not i["pk"]["S"].startswith(("TOKEN#", "DIRECTORY#"))}


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["GET", "POST"]), page=pages, rest=st.lists(segments, max_size=3), body=bodies,
       cookie=cookies, query=st.text(max_size=80))
def test_given_any_request_to_the_console_then_never_5xx_and_a_refusal_writes_nothing(
        local_app, method, page, rest, body, cookie, query) -> None:
    path = "/console/" + "/".join([page, *rest])
    before = _table_keys(local_app)
    headers = {"content-type": "application/x-www-form-urlencoded", **({"cookie": cookie} if cookie else {})}
    resp = local_app.stack.http(method, path, body=body if method == "POST" else None,
                                query=re.sub(r"[\s#]", "", query), headers=headers)

    status = resp["statusCode"]
    assert status < 500, (method, path, body[:200], resp["body"][:300])
    if status >= 400:
        assert resp["headers"]["content-type"].startswith("text/html"), resp["headers"]
        assert re.search(r"[\u4e00-\u9fff]", resp["body"]), "an error page in Chinese"
        assert _table_keys(local_app) <= before, ("a refused request wrote", method, path)
