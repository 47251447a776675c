"""console_mfa through its Lambda handler in a moto account: the grace period lands in the findings table,
MFA removal is acted on at once, and EnableMFADevice removes our policy and closes the finding."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from remediator.rules.console_mfa import deny_without_mfa_document
from remediator.store import FindingsStore, table_definition
from tests.conftest import load_event, load_function

CONTEXT = type(
    "Context",
    (),
    {
        "function_name": "console-mfa",
        "memory_limit_in_mb": 256,
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:cm",
        "aws_request_id": "req-1",
    },
)()


@pytest.fixture
def stack(monkeypatch):
    with mock_aws():
        iam, db = boto3.client("iam"), boto3.client("dynamodb")
        db.create_table(**table_definition("findings"))
        iam.create_user(UserName="carol")
        iam.create_login_profile(UserName="carol", Password="Carol-Passw0rd-123!")
        policy = iam.create_policy(
            PolicyName="deny-without-mfa", PolicyDocument=json.dumps(deny_without_mfa_document())
        )["Policy"]["Arn"]
        monkeypatch.setenv("MODE_CONSOLE_MFA", "remediate")
        monkeypatch.setenv("FINDINGS_TABLE", "findings")
        monkeypatch.setenv("DENY_WITHOUT_MFA_POLICY_ARN", policy)
        monkeypatch.delenv("TOPIC_ARN", raising=False)
        monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
        yield {
            "iam": iam,
            "policy": policy,
            "store": FindingsStore(db, "findings"),
            "handler": load_function("console_mfa").lambda_handler,
        }


def _attached(stack) -> list[str]:
    return [p["PolicyArn"] for p in stack["iam"].list_attached_user_policies(UserName="carol")["AttachedPolicies"]]


def test_own_new_password_opens_a_grace_period_and_changes_nothing(stack) -> None:
    result = stack["handler"](load_event("update-own-login-profile.json"), CONTEXT)
    assert result["findings"][0]["outcome"] == "skipped" and _attached(stack) == []
    [open_finding] = stack["store"].open_findings("console_mfa")
    assert open_finding.user == "carol" and open_finding.event_id == "3c1d9e0a-6f2b-4d7e-8a55-0c2d4e6f8a06"


ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def test_a_password_set_by_someone_else_for_an_admin_is_deleted_at_once_and_opens_no_grace_period(stack) -> None:
    stack["iam"].put_user_policy(UserName="carol", PolicyName="everything", PolicyDocument=ADMIN)
    result = stack["handler"](load_event("create-login-profile.json"), CONTEXT)
    [finding] = result["findings"]
    assert finding["severity"] == "high" and finding["outcome"] == "verified"
    assert "account takeover" in finding["reason"] and "console password of carol is deleted" in finding["detail"]
    with pytest.raises(stack["iam"].exceptions.NoSuchEntityException):
        stack["iam"].get_login_profile(UserName="carol")
    assert list(stack["store"].open_findings("console_mfa")) == []


def test_a_password_set_by_someone_else_for_a_user_without_power_waits_for_the_grace_period(stack) -> None:
    result = stack["handler"](load_event("create-login-profile.json"), CONTEXT)
    [finding] = result["findings"]
    assert finding["severity"] == "high" and finding["outcome"] == "skipped"
    assert "account takeover" in finding["reason"] and "grace period" in finding["action"]
    assert "warned" in finding["detail"]
    assert stack["iam"].get_login_profile(UserName="carol")["LoginProfile"]["UserName"] == "carol"


def test_an_mfa_device_enrolled_by_someone_else_is_deactivated_and_resolves_nothing(stack) -> None:
    iam = stack["iam"]
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="erin-backup")["VirtualMFADevice"]["SerialNumber"]
    iam.create_user(UserName="erin")
    iam.put_user_policy(UserName="erin", PolicyName="everything", PolicyDocument=ADMIN)
    iam.enable_mfa_device(
        UserName="erin", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    event = load_event("enable-mfa-device-for-another-user.json")
    event["detail"]["requestParameters"]["serialNumber"] = serial
    result = stack["handler"](event, CONTEXT)
    assert result["resolves"] == [] and result["findings"][0]["outcome"] == "verified"
    assert iam.list_mfa_devices(UserName="erin")["MFADevices"] == []


def test_mfa_removed_then_enabled_attaches_then_removes_the_policy(stack) -> None:
    result = stack["handler"](load_event("deactivate-mfa-device.json"), CONTEXT)
    assert result["findings"][0]["severity"] == "high" and result["findings"][0]["outcome"] == "verified"
    assert _attached(stack) == [stack["policy"]]
    stack["store"].open_finding("123456789012:user/carol", "console_mfa", grace=timedelta(0))
    resolved = stack["handler"](load_event("enable-mfa-device.json"), CONTEXT)
    assert resolved["resolves"] == ["console_mfa"] and "detached" in resolved["resolved"]["console_mfa"]
    assert _attached(stack) == [] and list(stack["store"].open_findings("console_mfa")) == []
