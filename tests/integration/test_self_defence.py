"""The remediator defends itself, end to end on moto: per-rule action budgets, a disabled rule re-enabled,
and our role in someone else's hands judged instead of skipped."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from remediator.store import table_definition
from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox

ACCOUNT = "123456789012"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
OUR_RULE = "remediator-access_keys-1"


@pytest.fixture
def account(monkeypatch):
    """A moto account with the findings table, the topic and an inbox, user bob, every rule in remediate mode."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition("findings"))
        monkeypatch.setenv("FINDINGS_TABLE", "findings")
        for rule in ("ACCESS_KEYS", "ADMIN_GRANTS", "REMEDIATOR_TAMPERING"):
            monkeypatch.setenv(f"MODE_{rule}", "remediate")
        iam = boto3.client("iam")
        iam.create_user(UserName="bob")
        yield {"iam": iam, "inbox": Inbox(monkeypatch)}


def _new_key_event(iam, attempt: int) -> dict:
    """bob gets a new key from alice (a harmless change once it is deactivated)."""
    event = copy.deepcopy(load_event("create-access-key-for-another-user.json"))
    for old in iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]:  # two keys at most per user
        iam.delete_access_key(UserName="bob", AccessKeyId=old["AccessKeyId"])
    key = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    event["detail"]["responseElements"]["accessKey"].update(accessKeyId=key, userName="bob")
    event["detail"]["requestParameters"]["userName"] = "bob"
    event["detail"]["eventID"] = f"key-{attempt}"
    return event


def test_one_rules_spent_budget_never_stops_another_rule(account) -> None:
    """Three key changes to bob spend access_keys' budget on bob; admin on bob is still reverted."""
    access_keys = load_function("access_keys").lambda_handler
    admin_grants = load_function("admin_grants").lambda_handler
    context = LocalLambdaContext(function_name="access-keys")
    for attempt in range(3):
        outcome = access_keys(_new_key_event(account["iam"], attempt), context)["findings"][0]["outcome"]
        assert outcome == "verified"

    account["iam"].attach_user_policy(UserName="bob", PolicyArn=ADMIN_POLICY)
    event = copy.deepcopy(load_event("attach-administrator-access-to-user.json"))
    event["detail"]["requestParameters"].update(userName="bob", policyArn=ADMIN_POLICY)
    [finding] = admin_grants(event, LocalLambdaContext(function_name="admin-grants"))["findings"]
    assert finding["outcome"] == "verified"
    assert account["iam"].list_attached_user_policies(UserName="bob")["AttachedPolicies"] == []


def test_a_spent_budget_sends_one_contested_message_and_keeps_reporting(account) -> None:
    access_keys = load_function("access_keys").lambda_handler
    context = LocalLambdaContext(function_name="access-keys")
    outcomes = [
        access_keys(_new_key_event(account["iam"], attempt), context)["findings"][0]["outcome"] for attempt in range(6)
    ]
    assert outcomes == ["verified"] * 3 + ["skipped"] * 3
    messages = []
    while batch := account["inbox"].messages():
        messages += batch
    actions = [m["MessageAttributes"]["action"]["Value"] for m in messages]
    assert actions.count("contested") == 1  # one message for a person, not one per event
    assert actions.count("verified") == 3 and actions.count("skipped") == 3  # every finding still reported
    [contested] = [m for m in messages if m["MessageAttributes"]["action"]["Value"] == "contested"]
    assert contested["MessageAttributes"]["severity"]["Value"] == "critical"
    assert "contested resource" in contested["Subject"] and "A person must look" in contested["Message"]


def _disable_rule_event() -> dict:
    detail = {
        "eventVersion": "1.08",
        "eventSource": "events.amazonaws.com",
        "eventName": "DisableRule",
        "eventID": "c1a2b3d4-0000-4000-8000-000000000001",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-29T21:00:00Z",
        "recipientAccountId": ACCOUNT,
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.22.0",
        "requestParameters": {"name": OUR_RULE},
        "responseElements": None,
        "userIdentity": {
            "type": "AssumedRole",
            "accountId": ACCOUNT,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/mallory",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "accountId": ACCOUNT,
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/ci-deployer",
                }
            },
        },
    }
    return {
        "version": "0",
        "id": "7e1f0000-0000-4000-8000-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-29T21:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_a_disabled_rule_of_ours_is_enabled_again_and_reported(account, monkeypatch) -> None:
    events = boto3.client("events")
    events.put_rule(Name=OUR_RULE, EventPattern=json.dumps({"source": ["aws.iam"]}))
    events.disable_rule(Name=OUR_RULE)
    monkeypatch.setenv("OWN_FUNCTION_NAMES", "remediator-access_keys,remediator-remediator_tampering")
    monkeypatch.setenv("OWN_ROLE_PREFIX", f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/")
    handler = load_function("remediator_tampering").lambda_handler
    [finding] = handler(_disable_rule_event(), LocalLambdaContext(function_name="remediator-tampering"))["findings"]
    assert finding["outcome"] == "verified" and finding["severity"] == "critical"
    assert events.describe_rule(Name=OUR_RULE)["State"] == "ENABLED"
    [message] = account["inbox"].messages()
    assert "aws events disable-rule --name remediator-access_keys-1" in message["Message"]  # how to undo


def test_a_disabled_rule_on_the_organization_bus_is_enabled_again_on_that_bus(account, monkeypatch) -> None:
    events = boto3.client("events")
    bus = "remediator-organization"  # organization mode: the bus member accounts forward to
    events.create_event_bus(Name=bus)
    org_rule = "remediator-access_keys-2"
    events.put_rule(Name=org_rule, EventBusName=bus, EventPattern=json.dumps({"source": ["aws.iam"]}))
    events.disable_rule(Name=org_rule, EventBusName=bus)
    events.put_rule(Name=org_rule, EventPattern=json.dumps({"source": ["aws.iam"]}), State="DISABLED")  # decoy
    monkeypatch.setenv("OWN_FUNCTION_NAMES", "remediator-access_keys,remediator-remediator_tampering")
    monkeypatch.setenv("OWN_ROLE_PREFIX", f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/")
    event = _disable_rule_event()
    event["detail"]["requestParameters"] = {"name": org_rule, "eventBusName": bus}
    handler = load_function("remediator_tampering").lambda_handler
    [finding] = handler(event, LocalLambdaContext(function_name="remediator-tampering"))["findings"]
    assert finding["outcome"] == "verified"
    assert events.describe_rule(Name=org_rule, EventBusName=bus)["State"] == "ENABLED"
    assert events.describe_rule(Name=org_rule)["State"] == "DISABLED"  # the default bus's namesake untouched
    [message] = account["inbox"].messages()
    assert f"aws events disable-rule --name {org_rule} --event-bus-name {bus}" in message["Message"]


def test_someone_elses_disabled_rule_is_not_ours_to_touch(account, monkeypatch) -> None:
    events = boto3.client("events")
    events.put_rule(Name=OUR_RULE, EventPattern=json.dumps({"source": ["aws.iam"]}))
    events.disable_rule(Name=OUR_RULE)
    monkeypatch.setenv("OWN_FUNCTION_NAMES", "remediator-admin_grants")  # the rule is not named after ours
    monkeypatch.setenv("OWN_ROLE_PREFIX", f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/")
    handler = load_function("remediator_tampering").lambda_handler
    result = handler(_disable_rule_event(), LocalLambdaContext(function_name="remediator-tampering"))
    assert result["findings"] == [] and events.describe_rule(Name=OUR_RULE)["State"] == "DISABLED"
