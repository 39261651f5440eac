"""Every function's IAM role allows what the function really calls (moto does not enforce IAM).

The dynamic test drives the product's flows through the local app and records each boto3 call made
while a template function runs (`local.motoshim.current_function`), as the IAM action and resource
AWS would authorize. The transformed template (samtranslator) gives each function's role; the
recorded (function, action, resource) must be allowed by a statement of that role. The static test
checks what Step Functions itself calls for each state machine (Lambda tasks, events:putEvents).

Each function gets its own wiring cache and fetches its secret itself, as separate Lambda containers
do: one shared in-process cache would hide a call from every function but the first.
"""

from __future__ import annotations

import contextvars
import fnmatch
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from local import motoshim
from local.stack import ACCOUNT, REGION, LocalStack
from tests.integration.approvals.helpers import card_for, final, get, submit, wait_until
from tests.integration.approvals_native.helpers import apply_native, decide, deliver_submitted, redeliver
from tests.integration.digests.support import shanghai, use_test_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local_stack"), pytest.mark.scaled_clock]

ROOT = Path(__file__).resolve().parents[2]
WECOM_EVENTS = ROOT / "tests" / "events" / "wecom"
SECRET_NAME = "wecom-oa/app"

# What the AWS managed policies SAM attaches allow (all on "*"). An unmapped one fails the test.
MANAGED_POLICIES: dict[str, list[str]] = {
    "AWSLambdaBasicExecutionRole": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "AWSLambdaVPCAccessExecutionRole": [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
    "AWSLambdaSQSQueueExecutionRole": [
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "AWSXrayWriteOnlyAccess": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSampling*"],
}
_DYNAMO_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
# The partition key attribute of AppTable (and `id`, as other tables name it): what `dynamodb:LeadingKeys` sees.
PARTITION_KEYS = ("pk", "id")


# ------------------------------------------------------------------------------ IAM requests of a call
@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: `resource` None when the action has no resource we check."""

    function: str
    action: str
    resource: str | None
    leading_keys: tuple[str, ...] | None = None  # partition key values of the items; None: not known


def _leading_keys(keys: list[dict[str, Any] | None]) -> tuple[str, ...] | None:
    """The partition key values of the items a DynamoDB call names (None if one is not known)."""
    out = []
    for key in keys:
        name = next((n for n in PARTITION_KEYS if key and n in key), None)
        if name is None:
            return None
        value = key[name]
        out.append(value["S"] if isinstance(value, dict) else str(value))
    return tuple(out)


def _arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


def _table_arn(params: dict[str, Any], table: str | None = None) -> str:
    arn = _arn("dynamodb", f"table/{table or params['TableName']}")
    return f"{arn}/index/{params['IndexName']}" if params.get("IndexName") else arn


def iam_requests(function: str, prefix: str, operation: str, params: dict[str, Any]) -> list[Request]:
    """The IAM (action, resource) pairs AWS checks for one API call (batch and transaction calls
    are authorized per item action and per table; `*Batch` SQS calls as their single form)."""
    def req(action: str, resource: str | None, keys: tuple[str, ...] | None = None) -> Request:
        return Request(function, f"{prefix}:{action}", resource, keys)

    if prefix == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params["TransactItems"]:
                (kind, body), = item.items()
                out.append(req(_DYNAMO_TRANSACT[kind], _table_arn(body), _leading_keys([body.get("Key") or body.get("Item")])))
            return out
        if operation == "BatchWriteItem":
            return [req(operation, _table_arn({}, table), _leading_keys(
                [(w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key") for w in writes]))
                for table, writes in params["RequestItems"].items()]
        if operation == "BatchGetItem":
            return [req(operation, _table_arn({}, table), _leading_keys(list(spec["Keys"])))
                    for table, spec in params["RequestItems"].items()]
        keys = _leading_keys([params.get("Key") or params.get("Item")]) if "Key" in params or "Item" in params else None
        return [req(operation, _table_arn(params) if "TableName" in params else None, keys)]
    if prefix == "sqs":
        url = params.get("QueueUrl")
        return [req(operation.removesuffix("Batch"), _arn("sqs", url.rstrip("/").rsplit("/", 1)[-1]) if url else None)]
    if prefix == "states":
        arn = params.get("stateMachineArn") or params.get("executionArn")
        return [req(operation, arn)]  # SendTask*: authorized by the task token, no resource checked here
    if prefix == "events" and operation == "PutEvents":
        buses = {e.get("EventBusName") or "default" for e in params["Entries"]}
        return [req(operation, b if b.startswith("arn:") else _arn("events", f"event-bus/{b}")) for b in sorted(buses)]
    if prefix == "secretsmanager":
        secret = params.get("SecretId", "")
        # By name, IAM still evaluates the full ARN, which ends in a random 6-character suffix.
        return [req(operation, secret if secret.startswith("arn:") else _arn("secretsmanager", f"secret:{secret}-AbC123"))]
    if prefix == "lambda" and operation == "Invoke":
        return [req("InvokeFunction", _arn("lambda", f"function:{params['FunctionName']}"))]
    return [req(operation, None)]


class Recorder:
    """Patches BaseClient._make_api_call: every call made while a template function runs."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from botocore.client import BaseClient

        real = BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = motoshim.current_function()
            if function is not None:
                prefix = client.meta.service_model.signing_name
                with recorder._lock:
                    recorder.requests.extend(iam_requests(function, prefix, operation_name, api_params))
            return real(client, operation_name, api_params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)


# ------------------------------------------------------------------------------ what each role allows
@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    leading_keys: tuple[str, ...] | None = None  # a ForAllValues dynamodb:LeadingKeys condition (patterns)

    def allows(self, action: str, resource: str | None, leading_keys: tuple[str, ...] | None = None) -> bool:
        if not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in self.actions):
            return False
        if self.leading_keys is not None and (leading_keys is None or not all(
                any(fnmatch.fnmatchcase(k, p) for p in self.leading_keys) for k in leading_keys)):
            return False  # a key this test cannot see never satisfies the condition
        return resource is None or any(fnmatch.fnmatchcase(resource, r) for r in self.resources)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _leading_key_condition(role_id: str, condition: dict[str, Any] | None) -> tuple[str, ...] | None:
    if not condition:
        return None
    (operator, keys), = condition.items()
    assert operator in ("ForAllValues:StringLike", "ForAllValues:StringEquals") and set(keys) == {"dynamodb:LeadingKeys"}, \
        f"{role_id}: only a ForAllValues dynamodb:LeadingKeys condition is understood here"
    values = tuple(str(v) for v in _as_list(keys["dynamodb:LeadingKeys"]))
    return values if operator.endswith("Like") else tuple(v.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
                                                         for v in values)


def role_statements(transformed: dict[str, Any], role_id: str, stack: LocalStack) -> list[Statement]:
    """The role's Allow statements with resources resolved to the local stack's ARNs, plus what its
    managed policies allow (on "*"); a managed policy under a false condition is not attached."""
    props = transformed["Resources"][role_id]["Properties"]
    out: list[Statement] = []
    for policy in props.get("Policies", []):
        for stmt in _as_list(policy["PolicyDocument"]["Statement"]):
            assert stmt.get("Effect") == "Allow", f"{role_id}: only Allow statements are understood here"
            resources = tuple(str(r) for r in _as_list(stack.resolve(stmt.get("Resource", "*"))))
            out.append(Statement(tuple(_as_list(stmt["Action"])), resources,
                                 _leading_key_condition(role_id, stmt.get("Condition"))))
    for arn in stack.resolve(props.get("ManagedPolicyArns", [])):
        name = str(arn).rsplit("/", 1)[-1]
        assert name in MANAGED_POLICIES, f"{role_id}: map managed policy {name} in MANAGED_POLICIES"
        out.append(Statement(tuple(MANAGED_POLICIES[name]), ("*",)))
    return out


def _role_of(transformed: dict[str, Any], logical_id: str) -> str:
    role = transformed["Resources"][logical_id]["Properties"]["Role"]
    return role["Fn::GetAtt"][0]


def missing_permissions(requests: list[Request], transformed: dict[str, Any], stack: LocalStack) -> list[str]:
    roles: dict[str, list[Statement]] = {}
    missing: set[str] = set()
    for r in requests:
        if r.function not in roles:
            roles[r.function] = role_statements(transformed, _role_of(transformed, r.function), stack)
        if not any(s.allows(r.action, r.resource, r.leading_keys) for s in roles[r.function]):
            keys = f" (items {', '.join(sorted(set(r.leading_keys)))})" if r.leading_keys else ""
            missing.add(f"{r.function}: {r.action} on {r.resource or '(any resource)'}{keys}")
    return sorted(missing)


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    from tests.static.test_template_and_asl import _transform

    return _transform()


# ------------------------------------------------------------------------------ separate "containers"
class PerFunctionCache(dict):
    """`wiring._cache` keyed by the running function: each builds its own clients and credentials."""

    def _key(self, name: str) -> tuple[str | None, str]:
        return motoshim.current_function(), name

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(str(name)))

    def __getitem__(self, name: str) -> Any:
        return super().__getitem__(self._key(name))

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(self._key(name), value)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(self._key(name), default)

    def pop(self, name: Any, *default: Any) -> Any:  # invalidation applies to every container
        for key in [k for k in self if k[1] == name]:
            super().pop(key)
        return default[0] if default else None


def _isolate_containers(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials from Secrets Manager (as deployed) fetched by each function, caches per function,
    and pool threads of a handler (the send ledger's parallel reservations) attributed to it."""
    from aws_lambda_powertools.utilities import parameters

    from wecom_oa import wiring
    from wecom_oa.settings import get_settings, reset_settings

    s = get_settings()
    app.stack.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=json.dumps({
        "corp_secret": s.wecom_secret.get_secret_value(), "token": s.wecom_token.get_secret_value(),
        "encoding_aes_key": s.wecom_encoding_aes_key.get_secret_value()}))
    monkeypatch.setenv("WECOM_SECRET_NAME", SECRET_NAME)
    reset_settings()
    monkeypatch.setattr(wiring, "_cache", PerFunctionCache())
    real_get_secret = parameters.get_secret
    monkeypatch.setattr(parameters, "get_secret",
                        lambda name, **kw: real_get_secret(name, **{**kw, "force_fetch": True}))
    real_submit = ThreadPoolExecutor.submit

    def submit_in_context(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return real_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", submit_in_context)


# ------------------------------------------------------------------------------ flows
def _set_clock(clock: Any) -> Any:
    from wecom_oa.clock import set_clock

    set_clock(clock)
    return clock


def _ok(app: Any, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    code, out = app.http(method, path, body)
    assert code == status, (method, path, out)
    return out


def _wecom_xml(name: str, corp_id: str) -> str:
    import re

    xml = (WECOM_EVENTS / name).read_text(encoding="utf-8")
    return re.sub(r"<ToUserName><!\[CDATA\[[^\]]*\]\]></ToUserName>",
                  f"<ToUserName><![CDATA[{corp_id}]]></ToUserName>", xml)


def _post_sealed_three_times(app: Any, xml: str) -> list[int]:
    """One encrypted callback delivered three times byte for byte (WeCom's retries)."""
    from wecom_oa.wecom.crypto import WeComCrypto
    from wecom_oa.wiring import wecom_credentials

    creds = wecom_credentials()
    crypto = WeComCrypto(creds.token, creds.encoding_aes_key, creds.corp_id)
    from wecom_oa.clock import get_clock

    timestamp = str(int(get_clock().now().timestamp()))  # signed now, as WeCom does (freshness check)
    sealed = crypto.encrypt_callback(xml, timestamp=timestamp, nonce="a1b2c3d4", agent_id=str(creds.agent_id))
    query = urlencode({"msg_signature": sealed.msg_signature, "timestamp": sealed.timestamp, "nonce": sealed.nonce})
    codes = [app.stack.http("POST", "/wecom/callback", body=sealed.body.encode(), query=query,
                            headers={"content-type": "text/xml"})["statusCode"] for _ in range(3)]
    app.stack.drain()
    return codes


def _notices_progress_reports_digests(app: Any) -> set[str]:
    """2025-10-09, a manual clock: notice + ack + follow-ups, progress, reports, the digest schedules."""
    from wecom_oa.clock import ManualClock

    clock = _set_clock(ManualClock(shanghai("2025-10-09 08:00")))
    use_test_config()
    seen = len(app.messages())
    notice = _ok(app, "POST", "/notices", {
        "title": "国庆后复工安排", "content": "请阅读复工安排并确认。", "touser": ["zhangsan", "lisi"],
        "sender": "wangjianguo", "ack_deadline": "2025-10-10T09:00:00+08:00", "nudge_after": 60,
        "escalate_after": 120}, status=201)
    app.stack.drain()  # the events worker sends the notice's cards
    [card] = [m for m in app.messages()[seen:] if m["msgtype"] == "template_card" and m.get("task_id")]
    assert app.click("zhangsan", card["task_id"], "ack")["status"] == 200
    assert _ok(app, "GET", f"/notices/{notice['id']}")["acknowledged"] == 1
    plan = {"order_id": "O-1", "product": "电机外壳", "total_qty": 1300,
            "start": "2025-10-09T08:00:00+08:00", "end": "2025-10-09T21:00:00+08:00"}
    _ok(app, "POST", "/progress", {"plans": [plan]}, status=201)
    clock.set(shanghai("2025-10-09 11:00"))
    _ok(app, "POST", "/progress", {"actuals": [{"order_id": "O-1", "actual_qty": 240}]}, status=201)
    _ok(app, "POST", "/reports", {"reports": [{"userid": "zhangsan", "date": "2025-10-09"}]}, status=201)
    fired = set()
    for name in ("notice-followup", "production-progress-hourly"):
        app.stack.fire(name)
        fired.add(name)
    assert any("您尚未确认通知" in (m.get("content") or "") for m in app.messages()), "follow-up did not nudge"
    assert any("生产进度告警" in (m.get("content") or "") for m in app.messages()), "progress did not alarm"
    clock.set(shanghai("2025-10-10 09:30"))
    app.stack.fire("missing-reports-daily")
    clock.set(shanghai("2025-10-10 18:00"))
    app.stack.fire("daily-summary")
    return fired | {"missing-reports-daily", "daily-summary"}


def _approvals(app: Any) -> None:
    """Card approval with clicks, zero-balance leave, a channel=wecom approval, a native leave."""
    from tests.integration.approvals.helpers import SCALE, START
    from wecom_oa.clock import VirtualClock

    _set_clock(VirtualClock(START, scale=SCALE))
    a = submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车", "invoice_no": "INV-IAM"})
    card = card_for(app, a["id"], "lina")
    app.click("lina", card["task_id"], "approve")
    app.click("lina", card["task_id"], "reject")  # a second click: no effect
    assert final(app, a["id"])["status"] == "approved"
    # A stage-card task that starts after its stage was decided (a click raced a timeout) resumes the
    # execution itself; the token is stale by now, which the notifier tolerates.
    _, failed = motoshim.invoke_local("NotifierFunction", {
        "action": "approval_stage_cards", "approval_id": a["id"], "stage": 1, "round": 1,
        "task_token": "stale-token"}, REGION)
    assert not failed

    leave = submit(app, "leave", "lisi", {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-06", "days": 2})
    assert leave["status"] == "auto_rejected"

    status, w = app.http("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                "form": {"amount": 800, "reason": "打车"}, "channel": "wecom"})
    assert status == 201, w
    sp_no = get(app, w["id"])["sp_no"]
    deliver_submitted(app, sp_no)
    decided = decide(app, sp_no, "lina")
    redeliver(app, sp_no, decided["xml"])
    assert get(app, w["id"])["status"] == "approved"

    native = apply_native("native_leave_zero_balance_applyevent.json")
    deliver_submitted(app, native)


def _tickets(app: Any) -> None:
    """A ticket escalated by its timer, accepted from its card (the worker re-arms the timer), parked
    and resumed through the API (re-arms), resolved; and a chat message to the intake hook."""
    from wecom_oa.clock import VirtualClock
    from wecom_oa.wiring import wecom_credentials

    # Created at the normal pace (at 50 000× a WeCom token lives 0.14 s: on a loaded machine the
    # create's own calls outlived a freshly refreshed token), then fast for the escalation timers.
    _set_clock(VirtualClock(datetime.fromisoformat("2026-03-03T09:00:00+08:00"), scale=1.0))
    t = _ok(app, "POST", "/tickets", {"type": "repair", "title": "包装机异响", "reporter": "chenjing", "priority": "P3",
                                      "fields": {"device_name": "包装机", "location": "一号厂房"}}, status=201)
    from wecom_oa.clock import get_clock as _now

    _set_clock(VirtualClock(_now().now(), scale=2e-5))
    wait_until(lambda: sum("工单升级" in (m.get("content") or "") and t["id"] in m["content"]
                           for m in app.messages()) >= 2, timeout=20, what="both escalation levels")
    # Then time at its normal pace: at 50 000× a WeCom token lives 0.14 s, shorter than a busy call
    from wecom_oa.clock import get_clock

    _set_clock(VirtualClock(get_clock().now(), scale=1.0))
    [card] = [m for m in app.messages() if m["msgtype"] == "template_card" and (m.get("task_id") or "").startswith("tkt")]
    handler = card["recipients"]["userids"][0]
    assert app.click(handler, card["task_id"], "accept")["status"] == 200
    assert _ok(app, "GET", f"/tickets/{t['id']}")["status"] == "in_progress"
    for body in ({"action": "wait_customer", "by": handler}, {"action": "resume", "by": handler},
                 {"action": "resolve", "by": handler, "comment": "已处理",
                  "fields": {"repair_cost": 120, "fault_description": "轴承磨损", "technician": handler}}):
        _ok(app, "POST", f"/tickets/{t['id']}/actions", body)

    chat = _wecom_xml("text.xml", wecom_credentials().corp_id).replace("hello", "报修 打印机卡纸")
    assert app.simulator.post_event(chat)["status"] == 200
    app.stack.drain()


def _console(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console: a WeCom login, the pages, an approval decided on the web, a ticket comment."""
    from tests.integration.console.conftest import BASE, Browser
    from wecom_oa.settings import reset_settings

    for name, value in {"OA_PUBLIC_BASE_URL": BASE, "WECOM_SSO_BASE": f"{BASE}/_sandbox",
                        "CONSOLE_INSECURE_COOKIES": "1"}.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    a = _ok(app, "POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                        "form": {"amount": 300, "reason": "打车", "invoice_no": "INV-IAM-1"}}, status=201)
    wait_until(lambda: any((m.get("task_id") or "").startswith(a["id"]) for m in app.messages()), what="stage card")
    lina = Browser(app)
    home = lina.login("lina")
    for path in ("/console/tickets", "/console/approvals", "/console/notices", f"/console/approvals/{a['id']}"):
        assert lina.get(path).status == 200, path
    page = lina.post(f"/console/approvals/{a['id']}/decide", {"csrf": home.csrf(), "decision": "approved"})
    assert page.status == 302, page.text
    wait_until(lambda: _ok(app, "GET", f"/approvals/{a['id']}")["status"] == "approved", what="web decision")


def _alerts(app: Any) -> None:
    """A line-down alert (group_wait 0): its incident timer sends the first message; then a repeat, a
    claim from the card (the worker) and the source's recovery through the API."""
    from wecom_oa.clock import VirtualClock

    _set_clock(VirtualClock(datetime.fromisoformat("2026-03-03T10:00:00+08:00"), scale=1.0))
    body = {"source": "MES", "type": "设备故障", "severity": "critical", "dedup_key": "iam-1",
            "labels": {"line": "一号线", "device": "烘箱"}, "fields": {"故障描述": "温控失效"}}
    alert = _ok(app, "POST", "/alerts", body, status=201)
    wait_until(lambda: [m for m in app.messages() if (m.get("task_id") or "").startswith("al-")], timeout=20,
               what="the incident's card")
    _ok(app, "POST", "/alerts", body, status=200)
    [card] = [m for m in app.messages() if (m.get("task_id") or "").startswith("al-")]
    assert app.click(card["recipients"]["userids"][0], card["task_id"], "alert_ack")["status"] == 200
    _ok(app, "POST", "/alerts", {**body, "ends_at": "2026-03-03T02:00:00+00:00"}, status=200)
    assert _ok(app, "GET", f"/alerts/{alert['id']}")["state"] == "resolved"


def _callbacks(app: Any) -> None:
    from wecom_oa.wiring import wecom_credentials

    xml = _wecom_xml("contact_update_user.xml", wecom_credentials().corp_id)
    assert _post_sealed_three_times(app, xml) == [200, 200, 200]


def _stop_executions(app: Any, *machines: str) -> None:
    """Stop every running execution of the machines (logical ids)."""
    sfn = app.stack.client("stepfunctions")
    for machine in machines:
        arn = app.stack.physical[machine]["Arn"]
        for ex in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
            sfn.stop_execution(executionArn=ex["executionArn"])


# ------------------------------------------------------------------------------ tests
def test_given_every_flow_when_run_locally_then_each_function_role_allows_every_call_it_made(
        local_app, monkeypatch: pytest.MonkeyPatch, transformed) -> None:
    from wecom_oa.clock import set_clock
    from wecom_oa.digests import service as digests

    # Given separate "containers" per function and a recorder of their AWS calls
    _isolate_containers(local_app, monkeypatch)
    recorder = Recorder()
    recorder.install(monkeypatch)
    results: dict[str, Any] = {}
    try:
        # When every flow runs and every schedule fires
        _approvals(local_app)
        _alerts(local_app)
        _callbacks(local_app)
        _tickets(local_app)
        _console(local_app, monkeypatch)
        fired = _notices_progress_reports_digests(local_app)  # back to 2025: issued tokens stay valid
        digests.reset()  # the shipped schedules again (reconcilers)
        _stop_executions(local_app, "TicketEscalationStateMachine")  # timers for the reconciler to re-arm
        for schedule in local_app.stack.schedules.values():
            if schedule.input.get("schedule") not in fired:
                results[schedule.input.get("schedule")] = local_app.stack.fire(schedule.name)
        local_app.stack.drain()
    finally:
        _stop_executions(local_app, "TicketEscalationStateMachine", "ApprovalStateMachine",
                         "AlertTimerStateMachine")  # quiet teardown
        digests.reset()
        set_clock(None)
    # Then every function ran, and its role allows each (action, resource) it asked for
    assert results["ticket-reconcile"]["result"]["rearmed"] >= 1, results["ticket-reconcile"]
    functions = {k for k, v in local_app.stack.resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert {r.function for r in recorder.requests} == functions
    assert Request("WeComCallbackFunction", "secretsmanager:GetSecretValue",
                   _arn("secretsmanager", f"secret:{SECRET_NAME}-AbC123")) in recorder.requests
    missing = missing_permissions(recorder.requests, transformed, local_app.stack)
    assert missing == [], "calls the deployed roles would refuse:\n" + "\n".join(missing)


def _asl_requests(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> list[tuple[str, str]]:
    """(action, resource) Step Functions itself needs for the ASL's service integrations."""
    from tests.static.test_template_and_asl import _walk_states

    subs = {k: str(stack.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
    text = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
    for key, value in subs.items():
        text = text.replace("${" + key + "}", value)
    out = []
    for name, state in _walk_states(json.loads(text)["States"]):
        if state["Type"] != "Task":
            continue
        integration = state["Resource"].split(":::", 1)[-1].removesuffix(".waitForTaskToken")
        params = state.get("Parameters", {})
        if integration == "lambda:invoke":
            out.append(("lambda:InvokeFunction", params["FunctionName"]))
        elif integration == "events:putEvents":
            for entry in params["Entries"]:
                bus = entry.get("EventBusName", "default")
                out.append(("events:PutEvents", bus if bus.startswith("arn:") else _arn("events", f"event-bus/{bus}")))
        else:
            raise AssertionError(f"{logical_id}.{name}: integration {integration} is not checked; extend this test")
    return out


def test_given_the_asl_service_integrations_then_each_state_machine_role_allows_them(transformed) -> None:
    stack = LocalStack()
    stack._name_resources()  # physical names only: nothing is deployed
    missing = []
    for logical_id, res in stack.resources.items():
        if res["Type"] != "AWS::Serverless::StateMachine":
            continue
        role = transformed["Resources"][logical_id]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        statements = role_statements(transformed, role, stack)
        needs = _asl_requests(stack, logical_id, res["Properties"])
        assert needs, f"{logical_id}: no service integration found"
        missing += [f"{logical_id}: {a} on {r}" for a, r in needs if not any(s.allows(a, r) for s in statements)]
    assert missing == [], "\n".join(missing)


def test_given_a_role_granting_a_table_then_only_that_table_matches() -> None:
    """The matcher itself: a grant on AppTable does not cover another table or another action."""
    stmt = Statement(("dynamodb:GetItem", "dynamodb:Query"), (_arn("dynamodb", "table/app"), _arn("dynamodb", "table/app/index/*")))
    assert stmt.allows("dynamodb:GetItem", _arn("dynamodb", "table/app"))
    assert stmt.allows("dynamodb:query", _arn("dynamodb", "table/app/index/gsi1"))
    assert not stmt.allows("dynamodb:GetItem", _arn("dynamodb", "table/idempotency"))
    assert not stmt.allows("dynamodb:PutItem", _arn("dynamodb", "table/app"))
    reqs = iam_requests("F", "dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "app"}}, {"ConditionCheck": {"TableName": "idem"}}]})
    assert [(r.action, r.resource) for r in reqs] == [("dynamodb:PutItem", _arn("dynamodb", "table/app")),
                                                      ("dynamodb:ConditionCheckItem", _arn("dynamodb", "table/idem"))]


def test_given_a_leading_keys_condition_then_only_items_of_those_partitions_match() -> None:
    """The matcher itself: the callback's grant covers its EVENT# records, nothing else, nor a call
    whose keys are not known (a query or scan)."""
    table = _arn("dynamodb", "table/app")
    stmt = Statement(("dynamodb:PutItem", "dynamodb:GetItem"), (table,), ("EVENT#*",))
    [put] = iam_requests("F", "dynamodb", "PutItem", {"TableName": "app", "Item": {"pk": {"S": "EVENT#k1"}, "sk": {"S": "META"}}})
    [other] = iam_requests("F", "dynamodb", "GetItem", {"TableName": "app", "Key": {"pk": {"S": "TICKET#t1"}, "sk": {"S": "META"}}})
    [scan] = iam_requests("F", "dynamodb", "Scan", {"TableName": "app"})
    [batch] = iam_requests("F", "dynamodb", "BatchWriteItem", {"RequestItems": {"app": [
        {"PutRequest": {"Item": {"pk": {"S": "EVENT#k2"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "CARD#c"}}}}]}})
    assert put.leading_keys == ("EVENT#k1",) and stmt.allows(put.action, put.resource, put.leading_keys)
    assert not stmt.allows(other.action, other.resource, other.leading_keys)
    assert not Statement(("dynamodb:Scan",), (table,), ("EVENT#*",)).allows(scan.action, scan.resource, scan.leading_keys)
    assert batch.leading_keys == ("EVENT#k2", "CARD#c")
    assert not Statement(("dynamodb:BatchWriteItem",), (table,), ("EVENT#*",)).allows(
        batch.action, batch.resource, batch.leading_keys)
