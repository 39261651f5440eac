"""Build the local stack from `template.yaml`: the same resources, wiring and environment as a deploy.

`LocalStack.deploy()` reads the SAM template and, against whatever moto endpoint boto3 talks to
(in-process `mock_aws` in tests, the embedded `ThreadedMotoServer` in `make run`):
- creates the DynamoDB tables, SQS queues (with redrive), event buses and state machines
  (DefinitionUri files with `DefinitionSubstitutions` applied — moto does not apply them);
- builds each function's environment from Globals + its own Environment with local names;
- registers each function's real handler (`CodeUri` + `Handler`) with `local.motoshim`, so Lambda
  tasks in state machines run our code in-process;
- collects the event wiring moto does not run: SQS event sources (`drain()` / `start_pollers()`),
  `ScheduleV2` schedules (`fire()`), and `HttpApi` routes (`route()`), all from the template.

`Conditions` are evaluated from the parameter values first (`evaluate_conditions`), and
`apply_conditions` drops resources and outputs whose condition is false and collapses every `Fn::If`
(`Ref: AWS::NoValue` removes its key or list item). Local mode runs with the defaults
(EgressMode=direct), so the egress VPC is skipped and no function gets a VpcConfig.

Never deployed; nothing here is imported by the functions.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local import motoshim

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT = motoshim.ACCOUNT_ID
STACK_NAME = "wecom-oa-local"


# ------------------------------------------------------------------------------ template loading
class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


# ------------------------------------------------------------------------------ conditions
NO_VALUE = {"Ref": "AWS::NoValue"}


def _condition_value(node: Any, parameters: dict[str, Any]) -> Any:
    """The value of an operand inside a condition: literals, `Ref` to a parameter, `Fn::Join`, `Fn::Select`."""
    if not isinstance(node, dict):
        return node if isinstance(node, list) else str(node)
    (key, arg), = node.items()
    if key == "Ref":
        return parameters[arg]
    if key == "Fn::Join":
        separator, items = arg
        values = _condition_value(items, parameters)
        return separator.join(str(_condition_value(v, parameters)) for v in values)
    if key == "Fn::Select":
        return _condition_value(_condition_value(arg[1], parameters)[int(arg[0])], parameters)
    raise ValueError(f"{key} is not supported inside Conditions by the local stack")


def evaluate_conditions(conditions: dict[str, Any], parameters: dict[str, Any]) -> dict[str, bool]:
    """Truth value of every named condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""
    results: dict[str, bool] = {}

    def truth(node: Any) -> bool:
        (key, arg), = node.items()
        if key == "Condition":
            return named(arg)
        if key == "Fn::Equals":
            left, right = (_condition_value(v, parameters) for v in arg)
            return left == right
        if key == "Fn::Not":
            return not truth(arg[0])
        if key == "Fn::And":
            return all(truth(a) for a in arg)
        if key == "Fn::Or":
            return any(truth(a) for a in arg)
        raise ValueError(f"{key} is not a condition function")

    def named(name: str) -> bool:
        if name not in results:
            results[name] = truth(conditions[name])
        return results[name]

    for name in conditions:
        named(name)
    return results


def apply_conditions(node: Any, conditions: dict[str, bool]) -> Any:
    """`node` with every `Fn::If` replaced by its chosen branch and every `AWS::NoValue` removed."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return apply_conditions(when_true if conditions[name] else when_false, conditions)
        kept = {k: apply_conditions(v, conditions) for k, v in node.items()}
        return {k: v for k, v in kept.items() if v != NO_VALUE}
    if isinstance(node, list):
        return [v for v in (apply_conditions(item, conditions) for item in node) if v != NO_VALUE]
    return node


def conditional_template(template: dict[str, Any], conditions: dict[str, bool]) -> dict[str, Any]:
    """The template as deployed under `conditions`: resources and outputs whose `Condition` is false
    are gone, and no `Fn::If` or `AWS::NoValue` is left outside `Conditions` and `Rules`."""
    result = dict(template)
    for section in ("Resources", "Outputs"):
        entries = template.get(section) or {}
        result[section] = {k: v for k, v in entries.items() if conditions.get(v.get("Condition"), True)}
    for section, body in result.items():
        if section not in ("Conditions", "Rules"):
            result[section] = apply_conditions(body, conditions)
    return result


# ------------------------------------------------------------------------------ model
@dataclass
class Route:
    method: str
    path: str
    function: str
    auth: str  # "AWS_IAM" or "NONE"
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>[\\s\\S]+)", re.escape(self.path))  # greedy {proxy+}
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        self.pattern = re.compile(f"^{regex}$")


@dataclass
class Schedule:
    logical_id: str
    name: str
    expression: str
    timezone: str
    input: dict[str, Any]
    function: str


@dataclass
class QueueSource:
    function: str
    queue_logical_id: str
    batch_size: int
    report_failures: bool


class LocalStack:
    def __init__(self, session: Any = None, template_path: Path = TEMPLATE, parameters: dict[str, str] | None = None):
        import boto3

        self._session = session or boto3.session.Session(region_name=REGION)
        raw = load_template(template_path)
        self.parameters = self._parameter_values(raw, parameters or {})
        self.conditions = evaluate_conditions(raw.get("Conditions") or {}, self.parameters)
        self.template = conditional_template(raw, self.conditions)
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        self.physical: dict[str, dict[str, str]] = {}
        self.env: dict[str, str] = {}
        self.routes: list[Route] = []
        self.schedules: dict[str, Schedule] = {}
        self.queue_sources: list[QueueSource] = []
        self.handlers: dict[str, Callable[..., Any]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def client(self, service: str) -> Any:
        return self._session.client(service, region_name=REGION)

    # -------------------------------------------------------------------------- deploy
    def deploy(self) -> LocalStack:
        motoshim.install()
        self._name_resources()
        # Dead-letter queues first: a redrive policy must point at an existing queue.
        ordered = sorted(self.resources.items(),
                         key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {}))
        for logical_id, res in ordered:
            kind = res["Type"]
            props = res.get("Properties", {})
            if kind == "AWS::DynamoDB::Table":
                self._create_table(logical_id, props)
            elif kind == "AWS::SQS::Queue":
                self._create_queue(logical_id, props)
            elif kind == "AWS::Events::EventBus":
                self.client("events").create_event_bus(Name=self.physical[logical_id]["Ref"])
        self._build_environment()
        os.environ.update(self.env)
        from wecom_oa.aws.dynamo import reset_tables
        from wecom_oa.settings import reset_settings

        reset_settings()
        reset_tables()
        for logical_id, res in self.resources.items():
            if res["Type"] == "AWS::Serverless::Function":
                self._register_function(logical_id, res)
        for logical_id, res in self.resources.items():
            if res["Type"] == "AWS::Serverless::StateMachine":
                self._create_state_machine(logical_id, res["Properties"])
        return self

    @staticmethod
    def _parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
        specs = template.get("Parameters", {})
        for name, spec in specs.items():
            values[name] = str(spec.get("Default", ""))
        # Local identities come from the same environment variables the functions read.
        values["WeComCorpId"] = os.environ.get("WECOM_CORP_ID") or "ww5a1d0c0ffee0b0a7"
        values["WeComAgentId"] = os.environ.get("WECOM_AGENT_ID") or "1000002"
        values["PublicBaseUrl"] = os.environ.get("OA_PUBLIC_BASE_URL") or values.get("PublicBaseUrl", "")
        values.update(overrides)
        for name, spec in specs.items():  # a Ref to a list parameter is a list, as in CloudFormation
            if spec.get("Type") == "CommaDelimitedList" and isinstance(values[name], str):
                values[name] = values[name].split(",")
        return values

    def _name_resources(self) -> None:
        arn = f"arn:aws:{{svc}}:{REGION}:{ACCOUNT}:{{rest}}"
        # Dead-letter queues first: a redrive policy must point at an existing queue.
        ordered = sorted(self.resources.items(),
                         key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {}))
        for logical_id, res in ordered:
            kind = res["Type"]
            props = res.get("Properties", {})
            if kind == "AWS::DynamoDB::Table":
                name = f"{STACK_NAME}-{logical_id}"
                self.physical[logical_id] = {"Ref": name, "Arn": arn.format(svc="dynamodb", rest=f"table/{name}")}
            elif kind == "AWS::SQS::Queue":
                name = f"{STACK_NAME}-{logical_id}"
                self.physical[logical_id] = {
                    "Ref": f"http://sqs.{REGION}.localhost:4566/{ACCOUNT}/{name}",
                    "Arn": arn.format(svc="sqs", rest=name),
                    "QueueName": name,
                }
            elif kind == "AWS::Events::EventBus":
                name = self.resolve(props["Name"]) if "Name" in props else logical_id
                self.physical[logical_id] = {"Ref": name, "Name": name,
                                             "Arn": arn.format(svc="events", rest=f"event-bus/{name}")}
            elif kind == "AWS::Serverless::Function":
                self.physical[logical_id] = {"Ref": logical_id,
                                             "Arn": arn.format(svc="lambda", rest=f"function:{logical_id}")}
            elif kind == "AWS::Serverless::StateMachine":
                name = self.resolve(props["Name"]) if "Name" in props else logical_id
                sm_arn = arn.format(svc="states", rest=f"stateMachine:{name}")
                self.physical[logical_id] = {"Ref": sm_arn, "Arn": sm_arn, "Name": name}
            else:
                self.physical[logical_id] = {"Ref": logical_id, "Arn": arn.format(svc="local", rest=logical_id)}

    # -------------------------------------------------------------------------- intrinsics
    def resolve(self, value: Any) -> Any:
        return self._resolve(apply_conditions(value, self.conditions))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                if arg in self.parameters:
                    return self.parameters[arg]
                return self.physical[arg]["Ref"]
            if key == "Fn::GetAtt":
                logical_id, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.physical[logical_id][attr]
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self._resolve(arg[1]))
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub_var(m.group(1), extra), text)
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _sub_var(self, name: str, extra: dict[str, Any]) -> str:
        if name in extra:
            return str(extra[name])
        if name in self.parameters:
            return str(self.parameters[name])
        if "." in name:
            logical_id, attr = name.split(".", 1)
            return self.physical[logical_id][attr]
        return self.physical[name]["Ref"]

    # -------------------------------------------------------------------------- resources
    def _create_table(self, logical_id: str, props: dict[str, Any]) -> None:
        ddb = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.physical[logical_id]["Ref"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=kwargs["TableName"], TimeToLiveSpecification=ttl)

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(self.resolve(props["RedrivePolicy"]))
        url = self.client("sqs").create_queue(QueueName=self.physical[logical_id]["QueueName"],
                                              Attributes=attributes)["QueueUrl"]
        self.physical[logical_id]["Ref"] = url

    def _build_environment(self) -> None:
        globals_env = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        env: dict[str, str] = {k: str(self.resolve(v)) for k, v in globals_env.items()}
        for logical_id, res in self.resources.items():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            own = res["Properties"].get("Environment", {}).get("Variables", {})
            for key, value in own.items():
                resolved = str(self.resolve(value))
                if key in env and env[key] != resolved:
                    raise ValueError(f"{logical_id} sets {key} differently from another function; "
                                     "local mode runs every function in one process")
                env[key] = resolved
        env.pop("WECOM_SECRET_NAME", None)  # local mode reads WECOM_SECRET etc. (sandbox defaults)
        env.pop("WECOM_API_BASE", None)  # local mode talks to the sandbox unless told otherwise
        env["LOCAL_MODE"] = "1"
        self.env = env

    def _register_function(self, logical_id: str, res: dict[str, Any]) -> None:
        props = res["Properties"]
        code_dir = props["CodeUri"].strip("/").replace("/", ".")
        module_name, attr = props["Handler"].rsplit(".", 1)
        module = importlib.import_module(f"{code_dir}.{module_name}")
        handler = getattr(module, attr)
        self.handlers[logical_id] = handler
        motoshim.register(logical_id, handler)
        for event_id, event in props.get("Events", {}).items():
            kind, eprops = event["Type"], event.get("Properties", {})
            if kind == "HttpApi":
                auth = eprops.get("Auth", {}).get("Authorizer", "AWS_IAM")
                self.routes.append(Route(eprops["Method"].upper(), eprops["Path"], logical_id, auth))
            elif kind == "SQS":
                queue = eprops["Queue"]["Fn::GetAtt"][0]
                self.queue_sources.append(QueueSource(
                    logical_id, queue, int(eprops.get("BatchSize", 10)),
                    "ReportBatchItemFailures" in eprops.get("FunctionResponseTypes", [])))
            elif kind == "ScheduleV2":
                name = self.resolve(eprops.get("Name", event_id))
                self.schedules[name] = Schedule(
                    event_id, name, eprops["ScheduleExpression"], eprops.get("ScheduleExpressionTimezone", "UTC"),
                    json.loads(eprops.get("Input", "{}")), logical_id)

    def _create_state_machine(self, logical_id: str, props: dict[str, Any]) -> None:
        definition = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
        substitutions = {k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in substitutions:
                raise KeyError(f"{props['DefinitionUri']} uses ${{{key}}} but DefinitionSubstitutions lacks it")
            return substitutions[key]

        body = re.sub(r"\$\{(\w+)\}", substitute, definition)
        self.client("stepfunctions").create_state_machine(
            name=self.physical[logical_id]["Name"], definition=body,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{logical_id}Role", type="STANDARD")

    # -------------------------------------------------------------------------- wiring moto lacks
    def invoke(self, function: str, event: Any) -> Any:
        result, is_error = motoshim.invoke_local(function, event, REGION)
        if is_error:
            raise RuntimeError(f"{function} failed: {result['errorType']}: {result['errorMessage']}")
        return result

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r in self.routes:
            if r.method == method.upper():
                m = r.pattern.match(path)
                if m:
                    return r, m.groupdict()
        return None

    def http(self, method: str, path: str, *, body: bytes | str | None = None, query: str = "",
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Call the function behind an HttpApi route with an API Gateway v2 event; returns the
        normalised response {statusCode, headers, body}. 404 when no route matches."""
        found = self.route(method, path)
        if found is None:
            return {"statusCode": 404, "headers": {"content-type": "application/json"},
                    "body": json.dumps({"error": {"code": "not_found", "message": f"no route {method} {path}"}})}
        route, params = found
        event = api_event(route, path, params, method, body, query, headers or {})
        result, is_error = motoshim.invoke_local(route.function, event, REGION)
        if is_error:
            return {"statusCode": 502, "headers": {"content-type": "application/json"},
                    "body": json.dumps({"error": {"code": "internal_error", "message": "function failed"}})}
        return normalise_response(result)

    def drain(self, max_rounds: int = 50) -> int:
        """Deliver every queued message to its worker until the queues are empty (tests). Returns
        how many records were delivered."""
        delivered = 0
        for _ in range(max_rounds):
            moved = sum(self._poll_once(src, wait_seconds=0) for src in self.queue_sources)
            delivered += moved
            if moved == 0:
                return delivered
        return delivered

    def _poll_once(self, src: QueueSource, wait_seconds: int = 1) -> int:
        sqs = self.client("sqs")
        url = self.physical[src.queue_logical_id]["Ref"]
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(src.batch_size, 10),
                                   WaitTimeSeconds=wait_seconds, AttributeNames=["All"],
                                   MessageAttributeNames=["All"])
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        records = [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": self.physical[src.queue_logical_id]["Arn"], "awsRegion": REGION,
        } for m in messages]
        result, is_error = motoshim.invoke_local(src.function, {"Records": records}, REGION)
        failed: set[str] = set()
        if is_error:
            failed = {r["messageId"] for r in records}
        elif src.report_failures and isinstance(result, dict):
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        if failed:  # make them visible again soon (the template's visibility timeout is for AWS)
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 1}
                for i, m in enumerate(messages) if m["MessageId"] in failed])
        return len(messages)

    def start_pollers(self) -> None:
        for src in self.queue_sources:
            t = threading.Thread(target=self._poll_loop, args=(src,), daemon=True, name=f"poll-{src.function}")
            t.start()
            self._threads.append(t)

    def _poll_loop(self, src: QueueSource) -> None:
        while not self._stop.is_set():
            try:
                if self._poll_once(src, wait_seconds=1) == 0:
                    time.sleep(0.05)
            except Exception:  # noqa: BLE001 - keep the local worker alive; the error is printed
                import traceback

                traceback.print_exc()
                time.sleep(1)

    def schedule(self, name: str) -> Schedule:
        if name in self.schedules:
            return self.schedules[name]
        for s in self.schedules.values():
            if s.logical_id == name or s.name.endswith(f"-{name}") or s.input.get("schedule") == name:
                return s
        raise KeyError(name)

    def fire(self, name: str, *, manual: bool = False) -> Any:
        """Run a schedule now, exactly as EventBridge Scheduler would invoke its target (`manual`:
        as an operator's test invoke, which runs now's period under its own key)."""
        s = self.schedule(name)
        return self.invoke(s.function, {**s.input, "manual": True} if manual else dict(s.input))

    ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda's async retries: about 1 and 2 minutes apart

    def async_retries(self, name: str) -> int:
        """How often Lambda retries a failed scheduled run of `name` (EventInvokeConfig, default 2)."""
        props = self.resources[self.schedule(name).function]["Properties"]
        return int((props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2))

    def park_failed_run(self, name: str, error: str) -> None:
        """After the last retry: the record goes to the function's on-failure queue, as on AWS."""
        s = self.schedule(name)
        on_failure = (((self.resources[s.function]["Properties"].get("EventInvokeConfig") or {})
                       .get("DestinationConfig") or {}).get("OnFailure") or {})
        target = (on_failure.get("Destination") or {}).get("Fn::GetAtt", [None])[0]
        if on_failure.get("Type") != "SQS" or target not in self.physical:
            return
        record = {"requestPayload": dict(s.input), "responsePayload": {"errorMessage": error},
                  "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 1 + self.async_retries(name)}}
        self.client("sqs").send_message(QueueUrl=self.physical[target]["Ref"], MessageBody=json.dumps(record))

    def stop(self) -> None:
        self._stop.set()

    def reset(self) -> dict[str, int]:
        """Local mode's reset: stop every running execution, empty every table and queue. The
        resources stay as deployed; nothing of the earlier state is left for a timer to find."""
        counts = {"executions_stopped": 0, "items_deleted": 0, "queues_purged": 0}
        sfn = self.client("stepfunctions")
        for logical_id, res in self.resources.items():
            if res["Type"] != "AWS::Serverless::StateMachine":
                continue
            for page in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=self.physical[logical_id]["Arn"], statusFilter="RUNNING"):
                for execution in page["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="sandbox reset")
                    counts["executions_stopped"] += 1
        ddb = self.client("dynamodb")
        for logical_id, res in self.resources.items():
            if res["Type"] != "AWS::DynamoDB::Table":
                continue
            name = self.physical[logical_id]["Ref"]
            keys = [k["AttributeName"] for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"]]
            for page in ddb.get_paginator("scan").paginate(TableName=name, ProjectionExpression=", ".join(
                    f"#k{i}" for i in range(len(keys))), ExpressionAttributeNames={f"#k{i}": k for i, k in enumerate(keys)}):
                items = page.get("Items", [])
                for i in range(0, len(items), 25):
                    ddb.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": it}} for it in items[i:i + 25]]})
                counts["items_deleted"] += len(items)
        sqs = self.client("sqs")
        for logical_id, res in self.resources.items():
            if res["Type"] == "AWS::SQS::Queue":
                sqs.purge_queue(QueueUrl=self.physical[logical_id]["Ref"])
                counts["queues_purged"] += 1
        return counts


def api_event(route: Route, path: str, params: dict[str, str], method: str, body: bytes | str | None,
              query: str, headers: dict[str, str]) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    raw = body if isinstance(body, bytes) else (body or "").encode()
    try:
        text, b64 = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        text, b64 = base64.b64encode(raw).decode(), True
    qs: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qs[k] = f"{qs[k]},{v}" if k in qs else v
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items() if k.lower() != "cookie"},
        # payload 2.0 carries the request's cookies apart from the headers
        "cookies": [c.strip() for h in headers for c in headers[h].split(";") if h.lower() == "cookie" and c.strip()]
        or None,
        "queryStringParameters": qs or None,
        "pathParameters": params or None,
        "requestContext": {
            "accountId": ACCOUNT, "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
            "requestId": uuid.uuid4().hex, "routeKey": f"{route.method} {route.path}", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
        },
        "body": text if raw else None,
        "isBase64Encoded": b64,
    }


def normalise_response(result: Any) -> dict[str, Any]:
    """API Gateway v2 payload format 2.0: a dict with statusCode, or anything else as JSON 200."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        return {"statusCode": int(result["statusCode"]), "headers": headers, "body": body,
                "cookies": list(result.get("cookies") or [])}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(result)}
