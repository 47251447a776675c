"""The exemption list is writable only by the principals ExemptionAdminArns names: the table's resource policy
denies every item write to anyone else, whatever their identity policies allow; reads stay open to the roles
that hold them (each function holds dynamodb:Scan on it, and nothing else)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from tests.template.conftest import ACCOUNT, Resolver

ADMIN = f"arn:aws:iam::{ACCOUNT}:role/SecurityExemptionAdmin"
ADMINS = f"{ADMIN},arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_SecAdmin_*"
# Every DynamoDB action that adds, changes or removes an item (Service Authorization Reference, "Write").
ITEM_WRITES = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)
READS = ("dynamodb:Scan", "dynamodb:GetItem", "dynamodb:Query")


def _policy(cfn: dict[str, Any], admins: str) -> dict[str, Any]:
    table = Resolver(cfn, {"ExemptionAdminArns": admins})(cfn["Resources"]["ExemptionsTable"]["Properties"])
    policy: dict[str, Any] = table["ResourcePolicy"]["PolicyDocument"]
    return policy


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def denied(policy: dict[str, Any], action: str, principal_arn: str) -> bool:
    """Whether an explicit Deny of the policy applies to this principal (the conditions the template uses)."""
    for statement in policy["Statement"]:
        if statement["Effect"] != "Deny" or statement.get("Principal") != "*":
            continue
        if not any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _list(statement["Action"])):
            continue
        condition = statement.get("Condition", {})
        assert set(condition) <= {"ArnNotLike"}, f"unexpected condition {condition}: extend this evaluator"
        patterns = _list(condition.get("ArnNotLike", {}).get("aws:PrincipalArn", []))
        if not condition or not any(fnmatchcase(principal_arn, pattern) for pattern in patterns):
            return True
    return False


@pytest.mark.parametrize("action", ITEM_WRITES)
def test_a_non_admin_cannot_write_an_exemption(cfn_template, action) -> None:
    policy = _policy(cfn_template, ADMINS)
    for outsider in (
        f"arn:aws:iam::{ACCOUNT}:role/Developer",
        f"arn:aws:iam::{ACCOUNT}:user/attacker",
        f"arn:aws:iam::{ACCOUNT}:role/SecurityExemptionAdminX",  # a look-alike name
        "arn:aws:iam::111122223333:role/SecurityExemptionAdmin",  # the same name in another account
        f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/AccessKeysFunctionRole-ABC",
    ):  # our own
        assert denied(policy, action, outsider), (action, outsider)
    assert not denied(policy, action, ADMIN)
    sso = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_SecAdmin_0123abcd"
    assert not denied(policy, action, sso)


def test_without_admins_nobody_writes_and_everyone_may_still_be_granted_reads(cfn_template) -> None:
    policy = _policy(cfn_template, "")
    assert all(denied(policy, action, ADMIN) for action in ITEM_WRITES)
    assert not any(denied(policy, action, f"arn:aws:iam::{ACCOUNT}:role/Developer") for action in READS)


def test_the_functions_read_the_list_through_the_stack_and_find_it_by_name(cfn_template) -> None:
    variables = (
        cfn_template["Globals"]["Function"]["Environment"]["Variables"]
        if "Globals" in cfn_template
        else next(r for r in cfn_template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")["Properties"][
            "Environment"
        ]["Variables"]
    )
    assert variables["EXEMPTIONS_TABLE"] == {"Ref": "ExemptionsTable"}
    assert variables["HONOUR_EXEMPT_TAGS"] == {"Ref": "HonourExemptTags"}
    assert cfn_template["Parameters"]["HonourExemptTags"]["Default"] == "false"
    assert cfn_template["Outputs"]["ExemptionsTableName"]["Value"] == {"Ref": "ExemptionsTable"}
