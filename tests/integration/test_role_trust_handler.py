"""The role_trust Lambda handler end to end in a moto account: the trust policy and the SNS message."""

from __future__ import annotations

import json
import shlex

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_function
from tests.integration.conftest import Inbox, enacted

LAMBDA_CONTEXT = LocalLambdaContext(function_name="role-trust")


@pytest.fixture
def stack(monkeypatch):
    """A moto account with the topic and a queue subscribed to it."""
    with mock_aws():
        iam = boto3.client("iam")
        inbox = Inbox(monkeypatch)
        monkeypatch.setenv("MODE_ROLE_TRUST", "remediate")
        yield {"iam": iam, "inbox": inbox, "handler": load_function("role_trust").lambda_handler}


def _enacted(stack, name: str) -> dict:
    return enacted(stack["iam"], name)


def _messages(stack) -> list[dict]:
    return stack["inbox"].messages()


def _trust(stack, role: str) -> dict:
    return stack["iam"].get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]


def test_foreign_account_statement_is_removed_and_the_message_can_restore_it(stack) -> None:
    event = _enacted(stack, "update-assume-role-policy-foreign-account.json")
    original = json.loads(event["detail"]["requestParameters"]["policyDocument"])
    result = stack["handler"](event, LAMBDA_CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert [s["Sid"] for s in _trust(stack, "app-server")["Statement"]] == ["Ec2"]

    [message] = _messages(stack)
    attributes = {name: value["Value"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {"severity": "high", "rule": "role_trust", "account": "123456789012", "action": "verified"}
    text = message["Message"]
    assert "444455556666" in text and "No sts:ExternalId is required" in text
    [undo] = [line.removeprefix("Undo:").strip() for line in text.splitlines() if line.startswith("Undo:")]
    words = shlex.split(undo)
    assert words[:3] == ["aws", "iam", "update-assume-role-policy"] and json.loads(words[6]) == original
    stack["iam"].update_assume_role_policy(RoleName=words[4], PolicyDocument=words[6])  # a human pastes it
    assert _trust(stack, "app-server") == original


def test_a_role_trusting_everyone_gets_a_deny_all_trust_policy_and_its_older_sessions_denied(stack) -> None:
    stack["handler"](_enacted(stack, "create-role-trusting-everyone.json"), LAMBDA_CONTEXT)
    assert [s["Effect"] for s in _trust(stack, "partner-reporting")["Statement"]] == ["Deny"]
    revoke = stack["iam"].get_role_policy(RoleName="partner-reporting", PolicyName="AWSRevokeOlderSessions")
    [deny] = revoke["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and "aws:TokenIssueTime" in deny["Condition"]["DateLessThan"]
    [message] = _messages(stack)
    assert message["MessageAttributes"]["severity"]["Value"] == "critical"
    text = message["Message"]
    lift = "aws iam delete-role-policy --role-name partner-reporting --policy-name AWSRevokeOlderSessions"
    assert "Sessions of role partner-reporting issued before" in text and f"lift it with: {lift}" in text
    [undo] = [line.removeprefix("Undo:").strip() for line in text.splitlines() if line.startswith("Undo:")]
    assert undo.endswith(f" && {lift}")


def test_a_kept_ec2_trust_keeps_its_sessions_and_the_message_leaves_it_to_a_human(stack) -> None:
    stack["handler"](_enacted(stack, "update-assume-role-policy-foreign-account.json"), LAMBDA_CONTEXT)
    assert stack["iam"].list_role_policies(RoleName="app-server")["PolicyNames"] == []
    [message] = _messages(stack)
    assert "NOT revoked: the kept trust of ec2.amazonaws.com would lose its own sessions too" in message["Message"]


def test_notify_mode_reports_and_changes_nothing(stack, monkeypatch) -> None:
    monkeypatch.setenv("MODE_ROLE_TRUST", "notify")
    event = _enacted(stack, "create-role-github-oidc-any-repo.json")
    before = _trust(stack, "github-deploy")
    stack["handler"](event, LAMBDA_CONTEXT)
    assert _trust(stack, "github-deploy") == before
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "notified"
    assert "Remediate mode would: replace the trust policy of role github-deploy" in message["Message"]


def test_an_exempt_role_is_reported_as_exempt_and_left_alone(stack, monkeypatch) -> None:
    """Where the operator honours the tag, and it was on the role before the event."""
    monkeypatch.setenv("HONOUR_EXEMPT_TAGS", "true")
    event = _enacted(stack, "update-assume-role-policy-foreign-account.json")
    stack["iam"].tag_role(RoleName="app-server", Tags=[{"Key": "remediator:exempt", "Value": "vendor, SEC-12"}])
    before = _trust(stack, "app-server")
    stack["handler"](event, LAMBDA_CONTEXT)
    assert _trust(stack, "app-server") == before
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "exempt" and "SEC-12" in message["Message"]


def test_a_service_role_is_handled_quietly(stack) -> None:
    result = stack["handler"](_enacted(stack, "create-role-for-ec2-service.json"), LAMBDA_CONTEXT)
    assert result["findings"] == [] and result["skipped"] is None
    assert _messages(stack) == []


def test_a_ci_user_trusting_itself_on_an_admin_role_is_stripped_and_reported(stack) -> None:
    iam = stack["iam"]
    iam.create_user(UserName="ci-deployer", Path="/ci/")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    admin = iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(everything))["Policy"]["Arn"]
    event = _enacted(stack, "update-assume-role-policy-self-trust.json")
    iam.attach_role_policy(RoleName="platform-admin", PolicyArn=admin)
    result = stack["handler"](event, LAMBDA_CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert [s["Sid"] for s in _trust(stack, "platform-admin")["Statement"]] == ["Ec2"]
    [message] = _messages(stack)
    assert message["MessageAttributes"]["severity"]["Value"] == "high"
    assert "names the caller's own user ci-deployer: role platform-admin is admin-equivalent" in message["Message"]
