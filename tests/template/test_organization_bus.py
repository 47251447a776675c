"""Organization mode in the hub template: off by default (nothing of it exists and the functions get no member
role); on, an organization bus that only accounts of the organization may put events on, each function's rules
again on that bus, and function roles that may assume only the member role, only in the organization."""

from __future__ import annotations

import json
from typing import Any

from remediator.rules import RULES
from tests.template.conftest import Resolver, rules_targeting

ORG = "o-a1b2c3d4e5"


def _on(cfn: dict[str, Any]) -> Resolver:
    return Resolver(cfn, {"OrganizationId": ORG, "AccountModesParameter": "/remediator/account-modes"})


def _conditional(cfn: dict[str, Any]) -> set[str]:
    return {name for name, r in cfn["Resources"].items() if r.get("Condition") == "OrganizationMode"}


def test_organization_mode_is_off_unless_an_organization_is_given(cfn_template, functions) -> None:
    off = Resolver(cfn_template)
    assert not off.condition("OrganizationMode")
    assert {"OrganizationBus", "OrganizationBusPolicy"} <= _conditional(cfn_template)
    variables = off(cfn_template["Resources"][next(iter(functions.values())).logical_id]["Properties"])
    assert variables["Environment"]["Variables"]["MEMBER_ROLE_NAME"] == ""  # handlers act in their own account
    for function in functions.values():
        role = off(cfn_template["Resources"][function.role_id]["Properties"])
        actions = {
            a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] for a in _list(s.get("Action", []))
        }
        assert not actions & {
            "sts:AssumeRole",
            "organizations:DescribeAccount",
            "organizations:ListParents",
            "ssm:GetParameter",
        }


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _bus_allows(statement: dict[str, Any], principal_org: str | None) -> bool:
    """A resource policy statement's answer to PutEvents by a principal of `principal_org` (None: an account in
    no organization): Allow only when every condition holds (StringEquals on aws:PrincipalOrgID is the one
    condition key this policy may use)."""
    if statement["Effect"] != "Allow" or statement["Action"] != "events:PutEvents":
        return False
    for operator, tests in statement.get("Condition", {}).items():
        assert operator == "StringEquals" and set(tests) == {"aws:PrincipalOrgID"}, statement
        if principal_org not in _list(tests["aws:PrincipalOrgID"]):
            return False
    return True


def test_only_accounts_of_the_organization_may_put_events_on_the_bus(cfn_template) -> None:
    policy = _on(cfn_template)(cfn_template["Resources"]["OrganizationBusPolicy"]["Properties"])
    statement = policy["Statement"]
    assert statement["Principal"] == "*" and statement["Resource"] == "getatt:OrganizationBus.Arn"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    assert _bus_allows(statement, ORG)
    assert not _bus_allows(statement, "o-someotherorg1")  # an account of another organization
    assert not _bus_allows(statement, None)  # an account in no organization
    # one statement per policy resource: no other Allow on the bus
    assert [n for n, r in cfn_template["Resources"].items() if r["Type"] == "AWS::Events::EventBusPolicy"] == [
        "OrganizationBusPolicy"
    ]


def test_each_function_has_its_rules_again_on_the_organization_bus(cfn_template, functions) -> None:
    resolve = _on(cfn_template)
    for function in functions.values():
        if function.scheduled:
            continue
        default = rules_targeting(cfn_template, function.logical_id)
        organization = rules_targeting(cfn_template, function.logical_id, organization=True)
        member_patterns = [
            t.event_pattern()
            for rule_id in function.rule_ids
            for t in RULES[rule_id].META.triggers
            if not t.hub_region_only
        ]
        expected = [r["Properties"]["EventPattern"] for r in default.values()]
        expected = [p for p in expected if p in member_patterns]
        patterns = [r["Properties"]["EventPattern"] for r in organization.values()]
        assert sorted(map(json.dumps, patterns)) == sorted(map(json.dumps, expected)), function.name
        for logical, rule in organization.items():
            properties = resolve(rule["Properties"])
            assert properties["EventBusName"] == "getatt:OrganizationBus.Name"
            [target] = properties["Targets"]
            assert target["DeadLetterConfig"]["Arn"] == "getatt:OrganizationRuleDLQ.Arn" and target["RetryPolicy"]
            permission = cfn_template["Resources"][f"{logical}Permission"]
            assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [logical, "Arn"]}


def test_function_roles_may_assume_only_the_member_role_and_only_in_the_organization(cfn_template, functions) -> None:
    resolve = _on(cfn_template)
    for function in functions.values():
        if function.scheduled:
            continue
        role = resolve(cfn_template["Resources"][function.role_id]["Properties"])
        statements = {s.get("Sid"): s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
        assume = statements["ActInMemberAccounts"]
        assert assume["Action"] == "sts:AssumeRole"
        assert assume["Resource"] == "arn:aws:iam::*:role/compliance-remediator/compliance-remediator-member"
        assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}
        assert statements["NameMemberAccounts"]["Action"] == "organizations:DescribeAccount"
        assert statements["NameMemberAccounts"]["Resource"] == f"arn:aws:organizations::*:account/{ORG}/*"
        # Per-OU modes: an account's parents and theirs, in this organization only.
        assert statements["PlaceMemberAccounts"]["Action"] == "organizations:ListParents"
        assert statements["PlaceMemberAccounts"]["Resource"] == [
            f"arn:aws:organizations::*:account/{ORG}/*",
            f"arn:aws:organizations::*:ou/{ORG}/ou-*",
        ]
        assert statements["ReadAccountModes"]["Resource"].endswith(":parameter/remediator/account-modes")


def test_the_bus_arn_is_an_output(cfn_template) -> None:
    output = cfn_template["Outputs"]["OrganizationBusArn"]
    assert output["Condition"] == "OrganizationMode"
    assert output["Value"] == {"Fn::GetAtt": ["OrganizationBus", "Arn"]}


def test_the_sweep_may_list_the_organization_and_assume_only_the_member_role(cfn_template, functions) -> None:
    [sweep] = [f for f in functions.values() if f.scheduled]
    role = _on(cfn_template)(cfn_template["Resources"][sweep.role_id]["Properties"])
    statements = {s.get("Sid"): s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
    assert statements["ActInMemberAccounts"]["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}
    assert statements["ListMemberAccounts"]["Action"] == "organizations:ListAccounts"  # no resource type: "*"
    assert statements["PlaceMemberAccounts"]["Action"] == "organizations:ListParents"  # per-OU modes
    off = Resolver(cfn_template)(cfn_template["Resources"][sweep.role_id]["Properties"])
    sids = {s.get("Sid") for p in off["Policies"] for s in p["PolicyDocument"]["Statement"]}
    assert not sids & {"ActInMemberAccounts", "ListMemberAccounts", "NameMemberAccounts", "PlaceMemberAccounts"}
