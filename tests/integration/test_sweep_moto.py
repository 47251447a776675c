"""The sweep end to end in a moto account: report, findings table, exemptions, actions, SNS messages."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import EXEMPT_TAG, Settings
from remediator.findings import Mode
from remediator.rules.console_mfa import deny_without_mfa_document
from remediator.store import FindingsStore, table_definition
from remediator.sweep.messages import sns_publisher
from remediator.sweep.run import run_sweep

PASSWORD = "Test-Passw0rd-123!"


@pytest.fixture
def account():
    with mock_aws():
        iam, sns, sqs = boto3.client("iam"), boto3.client("sns"), boto3.client("sqs")
        db = boto3.client("dynamodb")
        db.create_table(**table_definition("findings"))
        topic = sns.create_topic(Name="findings")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        for user in ("ana", "bea", "kim"):
            iam.create_user(UserName=user)
            iam.create_login_profile(UserName=user, Password=PASSWORD)
        iam.tag_user(UserName="kim", Tags=[{"Key": EXEMPT_TAG, "Value": "kiosk"}])
        iam.create_user(UserName="api-only")
        iam.create_access_key(UserName="api-only")
        policy = iam.create_policy(PolicyName="deny-without-mfa",
                                   PolicyDocument=json.dumps(deny_without_mfa_document()))["Policy"]["Arn"]
        settings = Settings(modes={"console_mfa": Mode.REMEDIATE}, sweep_mode=Mode.REMEDIATE, topic_arn=topic,
                            deny_without_mfa_policy_arn=policy)
        yield {"iam": iam, "sqs": sqs, "queue": queue, "settings": settings, "policy": policy,
               "store": FindingsStore(db, "findings")}


def _messages(account) -> list[dict]:
    out = []
    while batch := account["sqs"].receive_message(QueueUrl=account["queue"], MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            out.append(json.loads(message["Body"]))
            account["sqs"].delete_message(QueueUrl=account["queue"], ReceiptHandle=message["ReceiptHandle"])
    return out


def _sweep(account, now: datetime | None = None, **kwargs):
    aws = AwsClients()
    return run_sweep(aws, account["settings"], store=account["store"], now=now, sleep=lambda _: None,
                     publish=sns_publisher(aws.sns, account["settings"].topic_arn), **kwargs)


def _attached(account, user: str) -> list[str]:
    return [p["PolicyArn"] for p in account["iam"].list_attached_user_policies(UserName=user)["AttachedPolicies"]]


def test_first_sweep_warns_then_acts_after_the_grace_period(account) -> None:
    first = _sweep(account)
    assert first.counts() == {"console_mfa": 3} and first.actions == []
    assert sorted(f.user for f in account["store"].open_findings("console_mfa")) == ["ana", "bea"]  # not exempt kim
    [summary] = _messages(account)
    assert summary["MessageAttributes"]["rule"]["Value"] == "sweep"
    assert summary["Message"].startswith("Credential report sweep of account 123456789012")

    serial = account["iam"].create_virtual_mfa_device(VirtualMFADeviceName="bea")["VirtualMFADevice"]["SerialNumber"]
    account["iam"].enable_mfa_device(UserName="bea", SerialNumber=serial, AuthenticationCode1="123456",
                                     AuthenticationCode2="654321")
    later = _sweep(account, now=datetime.now(UTC) + timedelta(hours=25))
    assert [(f.user, str(r.outcome)) for f, r in later.actions] == [("ana", "verified")]
    assert _attached(account, "ana") == [account["policy"]] and _attached(account, "kim") == []
    assert later.closed == ["console_mfa:bea"]  # enrolled since: closed, nothing done
    messages = _messages(account)
    assert [m["MessageAttributes"]["action"]["Value"] for m in messages] == ["verified", "summary"]
    assert list(account["store"].open_findings("console_mfa")) == []


def test_a_partial_run_says_what_is_left(account) -> None:
    _sweep(account)  # warnings first, then a run with no time left to act
    report = _sweep(account, now=datetime.now(UTC) + timedelta(hours=25), remaining_seconds=lambda: 5.0)
    assert report.partial and report.stopped_because == "the function's time limit"
    assert sorted(f.user for f in report.left) == ["ana", "bea"] and report.actions == []
    summary = _messages(account)[-1]
    assert summary["MessageAttributes"]["action"]["Value"] == "partial" and "PARTIAL RUN" in summary["Message"]


def test_notify_mode_changes_nothing(account) -> None:
    from dataclasses import replace

    account["settings"] = replace(account["settings"], modes={"console_mfa": Mode.NOTIFY}, mfa_grace_period_hours=0)
    report = _sweep(account)
    assert report.actions == [] and all(_attached(account, u) == [] for u in ("ana", "bea"))


def test_cli_sweep_on_its_own_moto_server() -> None:
    from remediator_dev.sweep import run_cli

    out = io.StringIO()
    assert run_cli(endpoint_url=None, live=False, remediate=False, as_json=True, out=out) == 0
    data = json.loads(out.getvalue())
    assert data["findings"] == {"console_mfa": 1, "key_age": 3, "unused_credentials": 1}
    assert data["exempt"] == 1 and data["actions"] == {} and data["modes"]["sweep"] == "notify"
