"""member.yaml, what a StackSet deploys to every member account and region: it lints, deploys in moto (the role
only in the primary region), forwards every trigger the hub's rules need to the hub's organization bus, and its
role is trusted only by the hub's function roles in the organization and grants exactly the rules' actions."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.events.models import EventPattern

from remediator.rules import FUNCTIONS, RULES
from remediator.sweep import permissions as sweep
from remediator_dev.sts_trust import trusts
from tests.conftest import EVENTS
from tests.template.conftest import ROOT, Resolver, translate_template
from tests.template.test_regional_forwarder import _samples

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

MEMBER = ROOT / "member.yaml"
HUB, ORG, STACK = "210987654321", "o-a1b2c3d4e5", "compliance-remediator"
BUS = f"arn:aws:events:us-east-1:{HUB}:event-bus/compliance-remediator-org"
PARAMETERS = {"HubBusArn": BUS, "HubAccountId": HUB, "OrganizationId": ORG, "HubStackName": STACK}


def _template() -> dict[str, Any]:
    template: dict[str, Any] = translate_template.load_sam(MEMBER)
    return template


def _resolved(region: str = "us-east-1") -> dict[str, Any]:
    template = _template()
    resolve = Resolver(template, PARAMETERS)
    return {
        name: resolve(resource["Properties"])
        for name, resource in template["Resources"].items()
        if resource.get("Condition") != "IsPrimaryRegion" or region == "us-east-1"
    }


def test_member_lints_clean_and_is_plain_cloudformation() -> None:
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, str(MEMBER)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    template = _template()
    assert "Transform" not in template  # StackSets deploy no SAM transform, and nothing nested
    assert not {r["Type"] for r in template["Resources"].values()} & {"AWS::CloudFormation::Stack"}


def test_checkov_scans_the_member_template_too() -> None:
    assert "member.yaml" in (ROOT / "scripts" / "checkov.sh").read_text()


def _role(region: str = "us-east-1") -> dict[str, Any]:
    role: dict[str, Any] = _resolved(region)["MemberRole"]
    return role


def test_only_the_hub_function_roles_of_the_organization_may_assume_the_member_role() -> None:
    trust = _role()["AssumeRolePolicyDocument"]
    prefix = f"arn:aws:iam::{HUB}:role/compliance-remediator/{STACK}-"
    for function in [*FUNCTIONS, "sweep"]:
        assert trusts(trust, f"{prefix}{function}", HUB, ORG), function
    assert not trusts(trust, f"{prefix}access_keys", HUB, "o-someotherorg1")  # outside the organization
    assert not trusts(trust, f"arn:aws:iam::{HUB}:role/admin", HUB, ORG)  # any other role of the hub
    assert not trusts(trust, f"arn:aws:iam::999988887777:role/compliance-remediator/{STACK}-sweep", "999988887777", ORG)
    [statement] = trust["Statement"]
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORG}


def test_member_role_grants_exactly_what_the_rules_and_the_sweep_declare() -> None:
    statements = _role()["Policies"][0]["PolicyDocument"]["Statement"]
    allowed = {action for s in statements if s["Effect"] == "Allow" for action in s["Action"]}
    declared = {action for rule in RULES.values() for action in rule.META.iam_actions} | set(sweep.IAM_ACTIONS)
    assert allowed == declared
    for statement in statements:
        if statement["Effect"] == "Allow" and statement["Resource"] == "*":
            assert all(not action.endswith("*") for action in statement["Action"])
        if "iam:AttachUserPolicy" in statement["Action"]:
            assert statement["Condition"] == {"ArnEquals": {"iam:PolicyARN": "ref:DenyWithoutMfaPolicy"}}


def _forwarding_rules(region: str) -> list[dict[str, Any]]:
    return [r for r in _resolved(region).values() if "EventPattern" in r]


def test_every_rule_targets_only_the_hub_bus_with_retries_and_a_dead_letter_queue() -> None:
    for rule in _forwarding_rules("us-east-1"):
        [target] = rule["Targets"]
        assert target["Arn"] == BUS
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0 and target["DeadLetterConfig"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_every_trigger_the_hub_needs_from_a_member_is_forwarded(region: str) -> None:
    """IAM's events only from us-east-1; everything else a rule reacts to from every region. The hub's own
    resources (remediator_tampering's hub-only triggers) are not in member accounts."""
    forwarded = [EventPattern.load(json.dumps(rule["EventPattern"])) for rule in _forwarding_rules(region)]
    for rule_id, rule in RULES.items():
        for trigger in rule.META.triggers:
            iam = trigger.event_sources == ("iam.amazonaws.com",)
            if trigger.hub_region_only or (iam and region != "us-east-1"):
                continue
            hub = EventPattern.load(json.dumps(trigger.event_pattern()))
            for event in _samples(trigger):
                if hub.matches_event(event):
                    assert any(p.matches_event(event) for p in forwarded), f"{rule_id}: {trigger.event_pattern()}"
    if region == "us-east-1":  # and every demo IAM event a hub rule reacts to
        demo = [json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))]
        iam_events = [event for event in demo if event["source"] == "aws.iam"]
        assert iam_events and all(any(p.matches_event(e) for p in forwarded) for e in iam_events)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_member_deploys_in_moto_with_the_role_only_in_the_primary_region(region: str) -> None:
    logging.getLogger("moto").setLevel(logging.ERROR)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=region)
        cloudformation.create_stack(
            StackName="StackSet-remediator-member",
            TemplateBody=MEMBER.read_text(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
        )
        stack = cloudformation.describe_stacks(StackName="StackSet-remediator-member")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        roles = {
            r["RoleName"]: r for r in boto3.client("iam").list_roles(PathPrefix="/compliance-remediator/")["Roles"]
        }
        assert ("compliance-remediator-member" in roles) == (region == "us-east-1")
        rules = boto3.client("events", region_name=region).list_rules()["Rules"]
        assert len(rules) == len(_forwarding_rules(region))
