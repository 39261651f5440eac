"""The ICP-filed callback domain: with CallbackDomainName and CallbackCertificateArn the stack maps a
regional custom domain (TLS 1.2) onto the HTTP API's $default stage and outputs the CNAME target;
without them nothing is created; one without the other is refused by a template rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from tests.static.test_template_and_asl import _transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return _transform()


def test_given_the_parameters_then_the_domain_is_mapped_onto_the_api_only_when_both_are_given(transformed) -> None:
    resources = transformed["Resources"]
    domain, mapping = resources["CallbackDomain"], resources["CallbackDomainMapping"]

    assert domain["Condition"] == mapping["Condition"] == "HasCustomDomain"
    assert domain["Properties"]["DomainNameConfigurations"] == [{
        "CertificateArn": {"Ref": "CallbackCertificateArn"}, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]
    assert mapping["Properties"] == {"DomainName": {"Ref": "CallbackDomain"}, "ApiId": {"Ref": "HttpApi"},
                                     "Stage": "$default"}
    assert mapping["DependsOn"] in resources  # the stage SAM generates for the HTTP API
    condition = TEMPLATE["Conditions"]["HasCustomDomain"]["Fn::And"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "CallbackDomainName"}, ""]}]} in condition
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "CallbackCertificateArn"}, ""]}]} in condition
    assert TEMPLATE["Outputs"]["CallbackDomainTarget"]["Condition"] == "HasCustomDomain"
    assert {"CustomDomainNeedsCertificate", "CertificateNeedsCustomDomain"} <= set(TEMPLATE["Rules"])


@pytest.mark.parametrize(("name", "value", "accepted"), [
    ("CallbackDomainName", "", True),
    ("CallbackDomainName", "oa.example.cn", True),
    ("CallbackDomainName", "https://oa.example.cn", False),
    ("CallbackDomainName", "OA.example.cn", False),
    ("CallbackCertificateArn", "", True),
    ("CallbackCertificateArn", "arn:aws-cn:acm:cn-north-1:123456789012:certificate/1a2b-3c4d", True),
    ("CallbackCertificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/abc", True),
    ("CallbackCertificateArn", "arn:aws:iam::123456789012:server-certificate/x", False),
])
def test_given_a_parameter_value_then_its_pattern_accepts_exactly_the_valid_ones(name, value, accepted) -> None:
    pattern = TEMPLATE["Parameters"][name]["AllowedPattern"]

    assert bool(re.fullmatch(pattern, value)) is accepted
