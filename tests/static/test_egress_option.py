"""The trusted-egress-IP option (WeCom errcode 60020): with EgressMode=nat the functions that call the
WeCom API run in private subnets behind one NAT gateway with one Elastic IP; with `existing` they use
the company's subnets; with `direct` (default, local mode) nothing changes.

Which functions call WeCom is derived from the code, not copied from the template: a static walk of
each handler's imports (including imports inside functions) finds the modules that use the WeCom
client, the paced sender, the directory or a robot webhook."""

from __future__ import annotations

import ast
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from tests.static.test_template_and_asl import _transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
PACKAGE_ROOTS = (ROOT / "layers" / "common", ROOT)
# The composition root builds every adapter; importing it calls nothing, using these does.
WIRING = "wecom_oa.wiring"
WECOM_FACTORIES = {"wecom_client", "sender", "directory"}
WECOM_CLASSES = {"WeComClient", "RobotClient", "WeComDirectory"}


# ------------------------------------------------------------------------------ who calls WeCom
def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    for base in PACKAGE_ROOTS:
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


@cache
def _parsed(name: str) -> ast.Module:
    path = _module_file(name)
    assert path is not None, name
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(name: str) -> set[str]:
    """Project modules `name` imports anywhere in its body (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(_parsed(name)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    if name == "wecom_oa.routes":  # the api function imports its routers by name
        from wecom_oa.routes import ROUTERS

        found.update(ROUTERS.values())
    return {m for m in found if _module_file(m) is not None}


def _calls_wecom(name: str) -> bool:
    for node in ast.walk(_parsed(name)):
        if isinstance(node, ast.Attribute) and node.attr in WECOM_FACTORIES \
                and isinstance(node.value, ast.Name) and node.value.id == "wiring":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == WIRING \
                and any(a.name in WECOM_FACTORIES for a in node.names):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in WECOM_CLASSES:
            return True
    return False


def _reachable(handler_module: str) -> set[str]:
    seen: set[str] = set()
    todo = [handler_module]
    while todo:
        name = todo.pop()
        if name in seen or name == WIRING:
            continue
        seen.add(name)
        todo.extend(_imports(name))
    return seen


def _functions() -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in TEMPLATE["Resources"].items()
            if v["Type"] == "AWS::Serverless::Function"}


def _handler_module(props: dict[str, Any]) -> str:
    return f"{props['CodeUri'].strip('/').replace('/', '.')}.{props['Handler'].rsplit('.', 1)[0]}"


@cache
def wecom_callers() -> frozenset[str]:
    return frozenset(logical_id for logical_id, props in _functions().items()
                     if any(_calls_wecom(m) for m in _reachable(_handler_module(props))))


def test_given_the_handlers_when_their_imports_are_walked_then_the_analysis_sees_real_code() -> None:
    """Guards the derivation itself: the walk reaches the services, and finds the known callers."""
    assert _calls_wecom("wecom_oa.approvals.notifier")
    assert "wecom_oa.wecom.callbacks" in _reachable("functions.wecom_callback.app")
    assert "WeComCallbackFunction" not in wecom_callers()
    assert {"NotifierFunction", "DigestFunction"} <= wecom_callers()


# ------------------------------------------------------------------------------ transformed template
@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return _transform()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


EXPECTED_VPC_CONFIG = {"Fn::If": ["UseVpcEgress", {
    "SecurityGroupIds": {"Fn::If": ["UseNatEgress", [{"Ref": "EgressSecurityGroup"}],
                                    {"Ref": "EgressSecurityGroupIds"}]},
    "SubnetIds": {"Fn::If": ["UseNatEgress", [{"Ref": "EgressPrivateSubnetA"}, {"Ref": "EgressPrivateSubnetB"}],
                             {"Ref": "EgressSubnetIds"}]},
}, {"Ref": "AWS::NoValue"}]}


@pytest.mark.parametrize("logical_id", sorted(_functions()))
def test_given_a_function_when_transformed_then_it_joins_the_vpc_exactly_when_it_calls_wecom(
        transformed: dict[str, Any], logical_id: str) -> None:
    function = transformed["Resources"][logical_id]
    assert function["Type"] == "AWS::Lambda::Function"
    if logical_id in wecom_callers():
        assert function["Properties"].get("VpcConfig") == EXPECTED_VPC_CONFIG
    else:
        assert "VpcConfig" not in function["Properties"], f"{logical_id} never calls WeCom; keep it out of the VPC"


def test_given_the_template_then_the_callback_ingress_stays_outside_any_vpc(transformed: dict[str, Any]) -> None:
    assert "VpcConfig" not in transformed["Resources"]["WeComCallbackFunction"]["Properties"]


def test_given_egress_mode_then_it_defaults_to_direct_and_offers_nat_and_existing() -> None:
    params = TEMPLATE["Parameters"]
    assert params["EgressMode"]["Default"] == "direct"
    assert set(params["EgressMode"]["AllowedValues"]) == {"direct", "nat", "existing"}
    for name in ("EgressSubnetIds", "EgressSecurityGroupIds"):
        assert params[name] == params[name] | {"Type": "CommaDelimitedList", "Default": ""}


def test_given_the_vpc_pieces_then_each_exists_only_with_nat_egress_and_is_named_after_the_stack(
        transformed: dict[str, Any]) -> None:
    network = {k: v for k, v in transformed["Resources"].items() if v["Type"].startswith("AWS::EC2::")}
    assert len(_of_type(transformed, "AWS::EC2::NatGateway")) == 1
    assert len(_of_type(transformed, "AWS::EC2::EIP")) == 1
    for logical_id, res in network.items():
        assert res.get("Condition") == "UseNatEgress", logical_id
        for tag in res["Properties"].get("Tags", []):
            assert tag["Key"] != "Name" or "${AWS::StackName}" in tag["Value"]["Fn::Sub"], logical_id


def test_given_the_nat_gateway_then_it_uses_the_elastic_ip_in_a_subnet_routed_to_the_internet(
        transformed: dict[str, Any]) -> None:
    (nat,) = _of_type(transformed, "AWS::EC2::NatGateway").values()
    (eip_id,) = _of_type(transformed, "AWS::EC2::EIP")
    assert nat["Properties"]["AllocationId"] == {"Fn::GetAtt": [eip_id, "AllocationId"]}
    table = _route_table_of(transformed, nat["Properties"]["SubnetId"]["Ref"])
    (igw_id,) = _of_type(transformed, "AWS::EC2::InternetGateway")
    assert _default_route(transformed, table) == {"GatewayId": {"Ref": igw_id}}


def _route_table_of(template: dict[str, Any], subnet: str) -> str:
    (table,) = [a["Properties"]["RouteTableId"]["Ref"]
                for a in _of_type(template, "AWS::EC2::SubnetRouteTableAssociation").values()
                if a["Properties"]["SubnetId"] == {"Ref": subnet}]
    return table


def _default_route(template: dict[str, Any], table: str) -> dict[str, Any]:
    (route,) = [r["Properties"] for r in _of_type(template, "AWS::EC2::Route").values()
                if r["Properties"]["RouteTableId"] == {"Ref": table}
                and r["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"]
    return {k: v for k, v in route.items() if k not in ("RouteTableId", "DestinationCidrBlock")}


def test_given_the_function_subnets_then_they_span_two_azs_and_route_everything_through_the_nat(
        transformed: dict[str, Any]) -> None:
    (nat_id,) = _of_type(transformed, "AWS::EC2::NatGateway")
    subnets = EXPECTED_VPC_CONFIG["Fn::If"][1]["SubnetIds"]["Fn::If"][1]
    azs = [transformed["Resources"][s["Ref"]]["Properties"]["AvailabilityZone"] for s in subnets]
    assert azs == [{"Fn::Select": [0, {"Fn::GetAZs": ""}]}, {"Fn::Select": [1, {"Fn::GetAZs": ""}]}]
    tables = {_route_table_of(transformed, s["Ref"]) for s in subnets}
    assert len(tables) == 1
    assert _default_route(transformed, tables.pop()) == {"NatGatewayId": {"Ref": nat_id}}


def test_given_the_dynamodb_gateway_endpoint_then_it_serves_the_private_route_table_and_every_table(
        transformed: dict[str, Any]) -> None:
    (endpoint,) = _of_type(transformed, "AWS::EC2::VPCEndpoint").values()
    props = endpoint["Properties"]
    assert props["VpcEndpointType"] == "Gateway"
    assert props["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"}
    subnet = EXPECTED_VPC_CONFIG["Fn::If"][1]["SubnetIds"]["Fn::If"][1][0]["Ref"]
    assert props["RouteTableIds"] == [{"Ref": _route_table_of(transformed, subnet)}]
    allowed = json.dumps(props["PolicyDocument"])
    for table in _of_type(transformed, "AWS::DynamoDB::Table"):
        assert json.dumps({"Fn::GetAtt": [table, "Arn"]}) in allowed, f"{table} unreachable from the VPC"


def test_given_the_function_security_group_then_it_has_no_ingress_and_only_https_egress(
        transformed: dict[str, Any]) -> None:
    (group,) = _of_type(transformed, "AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    assert not _of_type(transformed, "AWS::EC2::SecurityGroupIngress")
    rules = group["Properties"]["SecurityGroupEgress"]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in rules] == [("tcp", 443, 443)]


def test_given_nat_egress_then_the_output_names_the_ip_to_register(transformed: dict[str, Any]) -> None:
    output = transformed["Outputs"]["EgressPublicIp"]
    (eip_id,) = _of_type(transformed, "AWS::EC2::EIP")
    assert output["Condition"] == "UseNatEgress"
    assert output["Value"] == {"Fn::GetAtt": [eip_id, "PublicIp"]}
    assert "企业可信IP" in output["Description"]


def test_given_existing_egress_then_a_deploy_time_rule_demands_subnets_and_security_groups(
        transformed: dict[str, Any]) -> None:
    rule = transformed["Rules"]["ExistingEgressNeedsNetwork"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EgressMode"}, "existing"]}
    checked = {a["Assert"]["Fn::Not"][0]["Fn::EachMemberEquals"][0]["Ref"] for a in rule["Assertions"]}
    assert checked == {"EgressSubnetIds", "EgressSecurityGroupIds"}
    assert all(a["AssertDescription"] for a in rule["Assertions"])


VPC_ACCESS = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}


def _role_of(template: dict[str, Any], function: str) -> dict[str, Any]:
    return template["Resources"][template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]]


@pytest.mark.parametrize("logical_id", sorted(_functions()))
def test_given_a_function_then_its_role_may_manage_network_interfaces_only_when_it_joins_a_vpc(
        transformed: dict[str, Any], logical_id: str) -> None:
    """SAM would attach the ENI policy to a generated role whenever VpcConfig is set, Fn::If or not."""
    arns = _role_of(transformed, logical_id)["Properties"]["ManagedPolicyArns"]
    eni = [a for a in arns if "AWSLambdaVPCAccessExecutionRole" in json.dumps(a)]
    if logical_id in wecom_callers():
        assert eni == [{"Fn::If": ["UseVpcEgress", VPC_ACCESS, {"Ref": "AWS::NoValue"}]}], logical_id
    else:
        assert eni == [], f"{logical_id} never joins a VPC"


def test_given_any_allowed_vpc_cidr_then_the_three_subnets_fit_inside_it() -> None:
    import ipaddress
    import re

    spec = TEMPLATE["Parameters"]["EgressVpcCidr"]
    subnets = [r["Properties"]["CidrBlock"]["Fn::Select"] for r in TEMPLATE["Resources"].values()
               if r["Type"] == "AWS::EC2::Subnet"]
    assert sorted(index for index, _ in subnets) == [0, 1, 2]
    splits = {tuple(cidr["Fn::Cidr"][1:]) for _, cidr in subnets}  # (count, host bits) of each Fn::Cidr
    assert len(splits) == 1
    ((count, host_bits),) = splits
    for cidr in (spec["Default"], "10.0.0.0/16", "10.0.0.0/22"):
        assert re.fullmatch(spec["AllowedPattern"], cidr), cidr
        blocks = list(ipaddress.ip_network(cidr).subnets(new_prefix=32 - host_bits))
        assert len(blocks) >= count, f"{cidr} cannot hold {count} /{32 - host_bits} subnets"
    assert not re.fullmatch(spec["AllowedPattern"], "10.0.0.0/23")
