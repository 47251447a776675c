"""remediator_tampering: what the stack's own resources are, who may change them, and the exemption tag."""

from __future__ import annotations

from typing import Any

import pytest

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import parse_record
from remediator.rules.base import EvalContext
from remediator.state import AssumedState

ACCOUNT = "123456789012"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/remediator/0a1b2c3d"
OUR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/remediator-access_keys"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/platform-deployer"
SETTINGS = Settings(
    own_role_arns=frozenset({OUR_ROLE}),
    own_functions={"remediator-access_keys": OUR_ROLE},
    own_stack_id=STACK_ID,
    own_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    own_queue_names=frozenset({"remediator-AccessKeysRuleDLQ-X1"}),
    topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:remediator-FindingsTopic-Y2",
    deployer_arns=frozenset({DEPLOYER}),
    live=False,
)
MALLORY = {
    "type": "IAMUser",
    "userName": "mallory",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory",
}


def tampering(
    event_name: str,
    source: str,
    params: dict[str, Any],
    identity: dict[str, Any] | None = None,
    settings: Settings = SETTINGS,
) -> list[Any]:
    record = {
        "eventName": event_name,
        "eventSource": source,
        "recipientAccountId": ACCOUNT,
        "awsRegion": "us-east-1",
        "requestParameters": params,
        "userIdentity": identity or MALLORY,
    }
    decision = decide(parse_record(record), EvalContext(settings, AssumedState()), ("remediator_tampering",))
    return decision.findings


@pytest.mark.parametrize(
    ("event_name", "params"),
    [
        ("TagUser", {"userName": "mallory", "tags": [{"key": "remediator:exempt", "value": "me"}]}),
        ("UntagRole", {"roleName": "app", "tagKeys": ["remediator:exempt"]}),
        ("CreateUser", {"userName": "x", "tags": [{"key": "Remediator:Exempt", "value": "y"}]}),
        ("CreateRole", {"roleName": "x", "tags": [{"key": "remediator:exempt", "value": "y"}]}),
    ],
)
def test_the_exemption_tag_set_or_removed_anywhere_is_critical(event_name: str, params: dict[str, Any]) -> None:
    [finding] = tampering(event_name, "iam.amazonaws.com", params)
    assert finding.severity == "critical" and "remediator:exempt" in finding.reason


def test_other_tags_are_nothing() -> None:
    assert tampering("TagUser", "iam.amazonaws.com", {"userName": "a", "tags": [{"key": "team", "value": "x"}]}) == []


def test_a_role_created_under_our_path_by_someone_else_is_critical() -> None:
    [finding] = tampering(
        "CreateRole", "iam.amazonaws.com", {"roleName": "backdoor", "path": "/compliance-remediator/"}
    )
    assert finding.severity == "critical" and "aws iam delete-role --role-name backdoor" in finding.reason


@pytest.mark.parametrize(
    ("event_name", "source", "params"),
    [
        ("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", {"functionName": "remediator-access_keys"}),
        (
            "PutFunctionConcurrency20171031",
            "lambda.amazonaws.com",
            {"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:remediator-access_keys"},
        ),
        ("DetachRolePolicy", "iam.amazonaws.com", {"roleName": "remediator-access_keys", "policyArn": "arn:x"}),
        ("DeleteRule", "events.amazonaws.com", {"name": "remediator-access_keys-1"}),
        (
            "Unsubscribe",
            "sns.amazonaws.com",
            {"subscriptionArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:remediator-FindingsTopic-Y2:5f1e"},
        ),
        (
            "PurgeQueue",
            "sqs.amazonaws.com",
            {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/remediator-AccessKeysRuleDLQ-X1"},
        ),
        ("ScheduleKeyDeletion", "kms.amazonaws.com", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        ("DeleteStack", "cloudformation.amazonaws.com", {"stackName": "remediator"}),
    ],
)
def test_changes_to_our_own_resources_are_critical(event_name: str, source: str, params: dict[str, Any]) -> None:
    [finding] = tampering(event_name, source, params)
    assert finding.severity == "critical" and "To undo:" in finding.reason


def test_the_same_changes_to_someone_elses_resources_are_nothing() -> None:
    assert tampering("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", {"functionName": "app"}) == []
    assert tampering("DisableRule", "events.amazonaws.com", {"name": "remediator-access_keys-1x"}) == []
    assert tampering("DetachRolePolicy", "iam.amazonaws.com", {"roleName": "app", "policyArn": "arn:x"}) == []


def test_a_deploy_by_the_deployers_is_no_finding_and_by_anyone_else_is_reported() -> None:
    deployer = {
        "type": "AssumedRole",
        "accountId": ACCOUNT,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-deployer/ci",
        "sessionContext": {"sessionIssuer": {"arn": DEPLOYER}},
    }
    assert tampering("UpdateStack", "cloudformation.amazonaws.com", {"stackName": "remediator"}, deployer) == []
    via_cfn = {**deployer, "invokedBy": "cloudformation.amazonaws.com"}
    assert (
        tampering(
            "UpdateFunctionCode20150331v2", "lambda.amazonaws.com", {"functionName": "remediator-access_keys"}, via_cfn
        )
        == []
    )
    [update] = tampering("UpdateStack", "cloudformation.amazonaws.com", {"stackName": STACK_ID})
    assert update.severity == "low"
    # CloudFormation acting for someone who is not a deployer (their own stack touching our function)
    [theirs] = tampering(
        "UpdateFunctionCode20150331v2",
        "lambda.amazonaws.com",
        {"functionName": "remediator-access_keys"},
        {**MALLORY, "invokedBy": "cloudformation.amazonaws.com"},
    )
    assert theirs.severity == "critical"


def test_our_function_in_its_own_session_is_not_tampering() -> None:
    ours = {
        "type": "AssumedRole",
        "accountId": ACCOUNT,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/remediator-access_keys/remediator-access_keys",
        "sessionContext": {"sessionIssuer": {"arn": OUR_ROLE}},
    }
    assert tampering("ListAccessKeys", "iam.amazonaws.com", {"userName": "bob"}, ours) == []
    theirs = {**ours, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/remediator-access_keys/mallory-fn"}
    [finding] = tampering("ListAccessKeys", "iam.amazonaws.com", {"userName": "bob"}, theirs)
    assert finding.severity == "critical" and "not its function's" in finding.reason
