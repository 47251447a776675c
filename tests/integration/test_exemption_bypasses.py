"""Exemptions end to end in a moto account, through the real handlers: what an actor can do to exempt their own
change (a tag in the same call, a tag a second before) changes nothing; only an entry of the central list,
unexpired and for this rule, leaves a change alone, and the message names it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from remediator.config import EXEMPT_TAG
from remediator.exemption_list import ExemptionEntry, table_definition
from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox, enacted

ACCOUNT = "123456789012"
APP_SERVER = f"arn:aws:iam::{ACCOUNT}:role/app-server"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def stack(monkeypatch):
    """A moto account with the topic, an inbox, the exemption table, and every rule in remediate mode."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_definition("exemptions"))
        monkeypatch.setenv("EXEMPTIONS_TABLE", "exemptions")
        monkeypatch.setenv("MODE_ROLE_TRUST", "remediate")
        monkeypatch.setenv("MODE_ACCESS_KEYS", "remediate")
        yield {"iam": boto3.client("iam"), "dynamodb": dynamodb, "inbox": Inbox(monkeypatch)}


def _handle(function: str, event: dict) -> dict:
    return load_function(function).lambda_handler(event, LocalLambdaContext(function_name=function.replace("_", "-")))


def _statements(stack, role: str) -> list[dict]:
    document = stack["iam"].get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    return document["Statement"]


def _only_message(stack) -> tuple[str, str]:
    [message] = stack["inbox"].messages()
    return message["MessageAttributes"]["action"]["Value"], message["Message"]


def _approve(stack, pattern: str, rule: str, expires: str) -> None:
    entry = ExemptionEntry(
        pattern,
        rule,
        "vendor integration, SEC-12",
        expires,
        "Dana Ito (CISO)",
        added_by=f"arn:aws:iam::{ACCOUNT}:role/SecurityExemptionAdmin",
        added_at="2026-11-01T09:00:00Z",
    )
    stack["dynamodb"].put_item(TableName="exemptions", Item=entry.as_item())


@pytest.mark.parametrize("honour_tags", ["false", "true"])
def test_a_world_assumable_role_created_with_the_exempt_tag_in_the_same_call_is_stripped(
    stack, monkeypatch, honour_tags
) -> None:
    monkeypatch.setenv("HONOUR_EXEMPT_TAGS", honour_tags)
    event = copy.deepcopy(load_event("create-role-trusting-everyone.json"))
    params = event["detail"]["requestParameters"]
    params["tags"] = [{"key": EXEMPT_TAG, "value": "approved, trust me"}]
    stack["iam"].create_role(
        RoleName=params["roleName"],
        AssumeRolePolicyDocument=params["assumeRolePolicyDocument"],
        Tags=[{"Key": EXEMPT_TAG, "Value": "approved, trust me"}],
    )

    result = _handle("role_trust", event)

    assert result["findings"][0]["outcome"] == "verified"
    assert [s["Effect"] for s in _statements(stack, "partner-reporting")] == ["Deny"]
    action, text = _only_message(stack)
    assert action == "verified"
    if honour_tags == "true":
        assert f"The {EXEMPT_TAG} tag came with this event (CreateRole): not honoured." in text


def test_a_key_for_a_user_tagged_in_the_call_that_created_them_is_deactivated(stack) -> None:
    stack["iam"].create_user(UserName="bob", Tags=[{"Key": EXEMPT_TAG, "Value": "ci, do not touch"}])
    key_id = stack["iam"].create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    event = copy.deepcopy(load_event("create-access-key-for-another-user.json"))
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = key_id

    result = _handle("access_keys", event)

    assert result["findings"][0]["outcome"] == "verified"
    assert stack["iam"].list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Inactive"


def test_tag_role_then_update_assume_role_policy_is_still_fixed(stack) -> None:
    event = enacted(stack["iam"], "update-assume-role-policy-foreign-account.json")
    stack["iam"].tag_role(RoleName="app-server", Tags=[{"Key": EXEMPT_TAG, "Value": "vendor, SEC-12"}])

    result = _handle("role_trust", event)

    assert result["findings"][0]["outcome"] == "verified"
    assert [s["Sid"] for s in _statements(stack, "app-server")] == ["Ec2"]
    assert _only_message(stack)[0] == "verified"


def test_an_entry_of_the_list_exempts_and_the_message_names_it(stack) -> None:
    until = (TODAY + timedelta(days=30)).isoformat()
    _approve(stack, APP_SERVER, "role_trust", until)
    event = enacted(stack["iam"], "update-assume-role-policy-foreign-account.json")
    before = _statements(stack, "app-server")

    result = _handle("role_trust", event)

    assert result["findings"][0]["outcome"] == "exempt" and result["findings"][0]["exempt"] is True
    assert _statements(stack, "app-server") == before
    action, text = _only_message(stack)
    assert action == "exempt"
    assert (
        f"exemption {APP_SERVER} for role_trust (vendor integration, SEC-12; approved by Dana Ito (CISO); "
        f"until {until})"
    ) in text


def test_an_entry_naming_the_callers_role_exempts_their_change(stack) -> None:
    """A principal pattern names the role behind a session, whatever session name the caller chose."""
    _approve(stack, f"arn:aws:iam::{ACCOUNT}:role/platform-deployer", "*", (TODAY + timedelta(days=7)).isoformat())
    event = enacted(stack["iam"], "update-assume-role-policy-foreign-account.json")
    event["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-deployer/any-name-I-like",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "userName": "platform-deployer",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/deploy/platform-deployer",
            }
        },
    }

    assert _handle("role_trust", event)["findings"][0]["outcome"] == "exempt"


def test_an_entry_for_another_rule_does_not_exempt(stack) -> None:
    _approve(stack, APP_SERVER, "admin_grants", (TODAY + timedelta(days=30)).isoformat())
    event = enacted(stack["iam"], "update-assume-role-policy-foreign-account.json")

    assert _handle("role_trust", event)["findings"][0]["outcome"] == "verified"
    assert [s["Sid"] for s in _statements(stack, "app-server")] == ["Ec2"]


def test_an_expired_entry_does_not_exempt_and_the_message_says_it_expired(stack) -> None:
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    _approve(stack, APP_SERVER, "role_trust", yesterday)
    event = enacted(stack["iam"], "update-assume-role-policy-foreign-account.json")

    result = _handle("role_trust", event)

    assert result["findings"][0]["outcome"] == "verified"
    assert [s["Sid"] for s in _statements(stack, "app-server")] == ["Ec2"]
    action, text = _only_message(stack)
    assert action == "verified"
    assert f"The exemption {APP_SERVER} for role_trust expired on {yesterday}: not honoured." in text


def test_a_list_that_cannot_be_read_exempts_nothing_and_says_so(stack, monkeypatch) -> None:
    """A Deny added to our read (or a deleted table) must not switch remediation off."""
    monkeypatch.setenv("EXEMPTIONS_TABLE", "no-such-table")
    event = enacted(stack["iam"], "update-assume-role-policy-foreign-account.json")

    assert _handle("role_trust", event)["findings"][0]["outcome"] == "verified"
    action, text = _only_message(stack)
    assert action == "verified" and "the exemption list, table no-such-table (ResourceNotFoundException)" in text
