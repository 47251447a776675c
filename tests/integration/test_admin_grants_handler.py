"""The admin_grants Lambda handler end to end in a moto account: the grant reverted and the SNS message."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from remediator_dev.enactors import ENACTORS
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox, enacted

LAMBDA_CONTEXT = LocalLambdaContext(function_name="admin-grants")


@pytest.fixture
def stack(monkeypatch):
    """A moto account (AWS managed policies loaded) with the topic and a queue subscribed to it."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        iam = boto3.client("iam")
        inbox = Inbox(monkeypatch)
        monkeypatch.setenv("MODE_ADMIN_GRANTS", "remediate")
        yield {"iam": iam, "inbox": inbox, "handler": load_function("admin_grants").lambda_handler}


def _enacted(stack, name: str) -> dict:
    return enacted(stack["iam"], name)


def _enacted_event(stack, event: dict) -> dict:
    ENACTORS[event["detail"]["eventName"]](stack["iam"], event["detail"])
    return event


def _messages(stack) -> list[dict]:
    return stack["inbox"].messages()


def _text(message: dict) -> str:
    return message["Message"]  # SQS subscribers get the "default" text


def _attached(stack, user: str = "bob") -> list[str]:
    return [p["PolicyName"] for p in stack["iam"].list_attached_user_policies(UserName=user)["AttachedPolicies"]]


def test_administrator_access_is_detached_and_the_message_says_how_to_reattach(stack) -> None:
    result = stack["handler"](_enacted(stack, "attach-administrator-access-to-user.json"), LAMBDA_CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert _attached(stack) == []
    [message] = _messages(stack)
    attributes = {name: value["Value"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {
        "severity": "critical",
        "rule": "admin_grants",
        "account": "123456789012",
        "action": "verified",
    }
    assert (
        "Undo:    aws iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/AdministratorAccess"
    ) in _text(message)


def test_the_inline_admin_policy_is_deleted_and_its_document_is_in_the_message(stack) -> None:
    event = _enacted(stack, "put-role-policy-admin-inline.json")
    document = json.loads(event["detail"]["requestParameters"]["policyDocument"])
    stack["handler"](event, LAMBDA_CONTEXT)
    assert stack["iam"].list_role_policies(RoleName="build-runner")["PolicyNames"] == []
    [message] = _messages(stack)
    text = _text(message)
    assert "aws iam put-role-policy --role-name build-runner --policy-name temporary-fix" in text
    assert json.dumps(document, separators=(",", ":")) in text


def test_a_user_added_to_an_admin_group_is_taken_out(stack) -> None:
    stack["handler"](_enacted(stack, "add-user-to-admins-group.json"), LAMBDA_CONTEXT)
    assert stack["iam"].list_groups_for_user(UserName="carol")["Groups"] == []
    [message] = _messages(stack)
    assert "aws iam add-user-to-group --group-name admins --user-name carol" in _text(message)


def test_escalation_only_version_is_reported_not_reverted_until_its_parameter_says_so(stack, monkeypatch) -> None:
    event = _enacted(stack, "create-policy-version-escalation.json")
    arn = event["detail"]["requestParameters"]["policyArn"]
    stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)
    assert stack["iam"].get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "notified"
    assert "AdminGrantsEscalationMode" in _text(message)

    monkeypatch.setenv("MODE_ADMIN_GRANTS_ESCALATION", "remediate")
    stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)
    assert stack["iam"].get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "verified"
    assert f"aws iam set-default-policy-version --policy-arn {arn} --version-id v2" in _text(message)


def test_notify_mode_and_harmless_grants_change_nothing(stack, monkeypatch) -> None:
    monkeypatch.setenv("MODE_ADMIN_GRANTS", "notify")
    stack["handler"](_enacted(stack, "attach-administrator-access-to-user.json"), LAMBDA_CONTEXT)
    assert _attached(stack) == ["AdministratorAccess"]
    [message] = _messages(stack)
    assert "Remediate mode would: detach arn:aws:iam::aws:policy/AdministratorAccess from user bob" in _text(message)
    result = stack["handler"](_enacted(stack, "attach-read-only-access-to-role.json"), LAMBDA_CONTEXT)
    assert result["findings"] == [] and _messages(stack) == []


def test_a_removed_boundary_of_an_admin_user_is_reported_with_how_to_put_one_back(stack) -> None:
    result = stack["handler"](_enacted(stack, "delete-user-permissions-boundary.json"), LAMBDA_CONTEXT)
    [finding] = result["findings"]
    assert finding["severity"] == "critical" and finding["outcome"] == "skipped"
    [message] = _messages(stack)
    text = _text(message)
    assert "removed the permissions boundary of user dave" in text and "admin-equivalent" in text
    assert "aws iam put-user-permissions-boundary --user-name dave --permissions-boundary <policy ARN>" in text
    assert _attached(stack, "dave") == ["AdministratorAccess"]  # notify only: nothing is taken away


def test_a_boundary_replaced_by_one_that_limits_nothing_opens_the_roles_escalation_paths(stack) -> None:
    result = stack["handler"](_enacted(stack, "put-role-permissions-boundary.json"), LAMBDA_CONTEXT)
    [finding] = result["findings"]
    assert finding["severity"] == "high" and finding["outcome"] == "notified"
    assert "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction" in _text(_messages(stack)[0])


def test_of_several_older_versions_the_newest_that_is_not_risky_becomes_the_default(stack, monkeypatch) -> None:
    monkeypatch.setenv("MODE_ADMIN_GRANTS_ESCALATION", "remediate")
    iam = stack["iam"]
    harmless = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="deployer", PolicyDocument=json.dumps(harmless))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(admin), SetAsDefault=True)  # v2
    event = _enacted(stack, "create-policy-version-escalation.json")  # v3, escalating, made the default
    assert event["detail"]["responseElements"]["policyVersion"]["versionId"] == "v3"
    result = stack["handler"](event, LAMBDA_CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"  # v2 is admin: skipped over
    text = _text(_messages(stack)[0])
    assert "version v1 of" in text and f"aws iam set-default-policy-version --policy-arn {arn} --version-id v3" in text


def test_a_risky_version_that_is_not_the_default_is_staged_and_left_alone(stack) -> None:
    event = copy.deepcopy(load_event("create-policy-version-escalation.json"))
    event["detail"]["requestParameters"]["setAsDefault"] = False
    event["detail"]["responseElements"]["policyVersion"]["isDefaultVersion"] = False
    event = _enacted_event(stack, event)
    arn = event["detail"]["requestParameters"]["policyArn"]
    result = stack["handler"](event, LAMBDA_CONTEXT)
    [finding] = result["findings"]
    assert finding["severity"] == "medium" and finding["outcome"] == "skipped"
    assert stack["iam"].get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert "staged, not in force" in _text(_messages(stack)[0])
