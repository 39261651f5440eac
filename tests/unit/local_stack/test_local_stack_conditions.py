"""The local stack evaluates template Conditions like CloudFormation: named conditions from parameter
values, resources and outputs skipped when their condition is false, `Fn::If` collapsed and
`AWS::NoValue` removing its key or list item."""

from __future__ import annotations

import json

import pytest

from local.stack import LocalStack, apply_conditions, conditional_template, evaluate_conditions

CONDITIONS = {
    "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
    "IsNotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
    "HasZones": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Zones"}]}, ""]}]},
    "ProdWithZones": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "HasZones"}]},
    "ProdOrZones": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "HasZones"}]},
}


@pytest.mark.parametrize(("env", "zones", "expected"), [
    ("prod", ["a", "b"], {"IsProd": True, "IsNotProd": False, "HasZones": True,
                          "ProdWithZones": True, "ProdOrZones": True}),
    ("prod", [""], {"IsProd": True, "IsNotProd": False, "HasZones": False,
                    "ProdWithZones": False, "ProdOrZones": True}),
    ("dev", ["a"], {"IsProd": False, "IsNotProd": True, "HasZones": True,
                    "ProdWithZones": False, "ProdOrZones": True}),
    ("dev", [""], {"IsProd": False, "IsNotProd": True, "HasZones": False,
                   "ProdWithZones": False, "ProdOrZones": False}),
])
def test_given_parameters_when_conditions_are_evaluated_then_each_named_condition_gets_its_truth(
        env: str, zones: list[str], expected: dict[str, bool]) -> None:
    assert evaluate_conditions(CONDITIONS, {"Env": env, "Zones": zones}) == expected


def test_given_an_unsupported_function_in_a_condition_then_the_error_names_it() -> None:
    with pytest.raises(ValueError, match="Fn::ImportValue"):
        evaluate_conditions({"X": {"Fn::Equals": [{"Fn::ImportValue": "shared"}, "a"]}}, {})


@pytest.mark.parametrize(("flag", "expected"), [(True, {"Size": 10, "Keep": "k"}), (False, {"Size": 2, "Keep": "k"})])
def test_given_fn_if_when_applied_then_the_chosen_branch_replaces_it(flag: bool, expected: dict[str, object]) -> None:
    node = {"Size": {"Fn::If": ["Big", 10, 2]}, "Keep": "k"}
    assert apply_conditions(node, {"Big": flag}) == expected


def test_given_no_value_in_the_false_branch_when_applied_then_the_key_disappears() -> None:
    node = {"VpcConfig": {"Fn::If": ["InVpc", {"SubnetIds": ["s1"]}, {"Ref": "AWS::NoValue"}]}, "Handler": "h"}
    assert apply_conditions(node, {"InVpc": False}) == {"Handler": "h"}
    assert apply_conditions(node, {"InVpc": True}) == {"VpcConfig": {"SubnetIds": ["s1"]}, "Handler": "h"}


def test_given_no_value_in_a_list_when_applied_then_only_that_item_disappears() -> None:
    node = ["a", {"Fn::If": ["Extra", "b", {"Ref": "AWS::NoValue"}]}, {"Fn::If": ["Extra", {"Fn::If": ["Deep", "c", "d"]}, "e"]}]
    assert apply_conditions(node, {"Extra": False, "Deep": True}) == ["a", "e"]
    assert apply_conditions(node, {"Extra": True, "Deep": False}) == ["a", "b", "d"]


def test_given_resources_and_outputs_with_a_false_condition_then_the_conditional_template_drops_them() -> None:
    template = {
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Always": {"Type": "T", "Properties": {"Name": {"Fn::If": ["IsProd", "p", "d"]}}},
            "ProdOnly": {"Type": "T", "Condition": "IsProd", "Properties": {}},
        },
        "Outputs": {"ProdIp": {"Condition": "IsProd", "Value": {"Fn::GetAtt": ["ProdOnly", "Ip"]}},
                    "Name": {"Value": "n"}},
    }
    dev = conditional_template(template, {"IsProd": False})
    assert dev["Resources"] == {"Always": {"Type": "T", "Properties": {"Name": "d"}}}
    assert list(dev["Outputs"]) == ["Name"]
    assert dev["Conditions"] == template["Conditions"]
    prod = conditional_template(template, {"IsProd": True})
    assert set(prod["Resources"]) == {"Always", "ProdOnly"} and set(prod["Outputs"]) == {"ProdIp", "Name"}


# ------------------------------------------------------------------------------ the real template
def _network(stack: LocalStack) -> set[str]:
    return {k for k, v in stack.resources.items() if v["Type"].startswith("AWS::EC2::")}


def _vpc_functions(stack: LocalStack) -> dict[str, object]:
    return {k: v["Properties"]["VpcConfig"] for k, v in stack.resources.items()
            if v["Type"] == "AWS::Serverless::Function" and "VpcConfig" in v["Properties"]}


def test_given_default_parameters_when_the_local_stack_loads_then_egress_is_direct_and_nothing_is_conditional() -> None:
    stack = LocalStack()
    assert stack.conditions["UseVpcEgress"] is False
    assert _network(stack) == set() and _vpc_functions(stack) == {}
    assert "EgressPublicIp" not in stack.template["Outputs"]
    rendered = json.dumps({k: stack.template[k] for k in ("Globals", "Resources", "Outputs")})
    assert "Fn::If" not in rendered and "AWS::NoValue" not in rendered


def test_given_nat_egress_when_the_local_stack_loads_then_the_vpc_exists_and_callers_use_its_subnets() -> None:
    stack = LocalStack(parameters={"EgressMode": "nat"})
    assert {"EgressNatGateway", "EgressElasticIp", "EgressDynamoDbEndpoint"} <= _network(stack)
    configs = _vpc_functions(stack)
    assert configs and "WeComCallbackFunction" not in configs
    assert all(c["SubnetIds"] == [{"Ref": "EgressPrivateSubnetA"}, {"Ref": "EgressPrivateSubnetB"}]
               for c in configs.values())
    assert "EgressPublicIp" in stack.template["Outputs"]


@pytest.mark.parametrize(("subnets", "groups", "in_vpc"), [
    ("subnet-1,subnet-2", "sg-1", True),
    ("subnet-1", "", False),
    ("", "sg-1", False),
])
def test_given_existing_egress_when_loaded_then_functions_join_only_with_both_lists(
        subnets: str, groups: str, in_vpc: bool) -> None:
    stack = LocalStack(parameters={"EgressMode": "existing", "EgressSubnetIds": subnets,
                                   "EgressSecurityGroupIds": groups})
    assert _network(stack) == set()
    configs = _vpc_functions(stack)
    assert bool(configs) is in_vpc
    if in_vpc:
        assert stack.resolve(configs["NotifierFunction"]) == {"SecurityGroupIds": ["sg-1"],
                                                              "SubnetIds": ["subnet-1", "subnet-2"]}
