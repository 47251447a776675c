"""The sweep end to end in a moto account: report, findings table, exemptions, actions, SNS messages.

Its findings are the rules' `Finding`s and take the events' path: the same exemption (and "could not read"),
the same remediation and verification, the same notify.py message (saying the sweep found it)."""

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
        policy = iam.create_policy(
            PolicyName="deny-without-mfa", PolicyDocument=json.dumps(deny_without_mfa_document())
        )["Policy"]["Arn"]
        # kim's exemption tag counts: this account's operator turned tag exemptions on.
        settings = Settings(
            modes={"console_mfa": Mode.REMEDIATE},
            sweep_mode=Mode.REMEDIATE,
            topic_arn=topic,
            deny_without_mfa_policy_arn=policy,
            honour_exempt_tags=True,
        )
        yield {
            "iam": iam,
            "sqs": sqs,
            "queue": queue,
            "settings": settings,
            "policy": policy,
            "store": FindingsStore(db, "findings"),
        }


def _messages(account) -> list[dict]:
    out = []
    while batch := account["sqs"].receive_message(QueueUrl=account["queue"], MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            envelope = json.loads(message["Body"])
            if envelope["Message"].startswith("{"):  # a finding: the `sqs` key of the publish, with its email text
                envelope["Message"] = json.loads(envelope["Message"])["text"]
            out.append(envelope)
            account["sqs"].delete_message(QueueUrl=account["queue"], ReceiptHandle=message["ReceiptHandle"])
    return out


def _sweep(account, now: datetime | None = None, **kwargs):
    return run_sweep(AwsClients(), account["settings"], store=account["store"], now=now, sleep=lambda _: None, **kwargs)


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
    account["iam"].enable_mfa_device(
        UserName="bea", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    later = _sweep(account, now=datetime.now(UTC) + timedelta(hours=25))
    assert [(f.resource.name, str(r.outcome)) for f, r in later.actions] == [("ana", "verified")]
    assert _attached(account, "ana") == [account["policy"]] and _attached(account, "kim") == []
    assert later.closed == ["console_mfa:bea"]  # enrolled since: closed, nothing done
    messages = _messages(account)
    assert [m["MessageAttributes"]["action"]["Value"] for m in messages] == ["verified", "summary"]
    assert messages[0]["Subject"] == "[MEDIUM] console_mfa: Remediated and verified (ana) in 123456789012"
    assert messages[0]["MessageAttributes"]["rule"]["Value"] == "console_mfa"
    assert "Found:   by the scheduled sweep" in messages[0]["Message"] and "Who:" not in messages[0]["Message"]
    assert list(account["store"].open_findings("console_mfa")) == []


def test_a_partial_run_says_what_is_left(account) -> None:
    _sweep(account)  # warnings first, then a run with no time left to act
    report = _sweep(account, now=datetime.now(UTC) + timedelta(hours=25), remaining_seconds=lambda: 5.0)
    assert report.partial and report.stopped_because == "the function's time limit"
    assert sorted(f.resource.name for f in report.left) == ["ana", "bea"] and report.actions == []
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
    assert data["findings"] == {
        "console_mfa": 1,
        "key_age": 3,
        "unused_credentials": 1,
        # the sample's exposure, read through the local server (S3 Control included): reported only
        "s3_public": 2,
        "open_security_group": 1,
        "ec2_without_role": 1,
        "ddos_posture": 1,
    }
    assert data["exempt"] == 1 and data["actions"] == {} and data["modes"]["sweep"] == "notify"


def _no_grace(account, mode: Mode = Mode.REMEDIATE) -> None:
    from dataclasses import replace

    account["settings"] = replace(account["settings"], mfa_grace_period_hours=0, modes={"console_mfa": mode})


def test_the_sweeps_findings_are_findings_with_the_notify_messages(account) -> None:
    from remediator.findings import Finding
    from remediator.notify import email_text

    _no_grace(account)
    report = _sweep(account)
    assert all(isinstance(f, Finding) for f in report.findings)
    assert {(f.rule, f.resource.name) for f in report.findings} == {
        ("console_mfa", "ana"),
        ("console_mfa", "bea"),
        ("console_mfa", "kim"),
    }
    messages = _messages(account)
    by_user = {m["Subject"].rsplit("(", 1)[1].split(")", 1)[0]: m for m in messages[:-1]}
    for finding, result in report.actions:
        assert by_user[finding.resource.name]["Message"] == email_text(finding, None, result)
    ana = by_user["ana"]["Message"]
    assert ana.startswith(
        "MEDIUM finding from rule console_mfa in account 123456789012\n\nana has a console password and no MFA device"
    )
    assert "Outcome: Remediated and verified: ana now has the deny-unless-MFA policy attached" in ana
    assert f"Undo:    aws iam detach-user-policy --user-name ana --policy-arn {account['policy']}" in ana
    assert messages[-1]["MessageAttributes"]["action"]["Value"] == "summary"


def test_an_exempt_user_is_reported_exempt_as_an_event_would_be(account) -> None:
    from remediator.events import CloudTrailRecord
    from remediator.rules import console_mfa
    from remediator.rules.base import EvalContext
    from remediator.state import LiveState

    _no_grace(account)
    report = _sweep(account)
    [kim] = [f for f in report.findings if f.resource.name == "kim"]
    record = CloudTrailRecord.model_validate(
        {
            "eventName": "CreateLoginProfile",
            "eventSource": "iam.amazonaws.com",
            "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "userName": "admin", "arn": "arn:aws:iam::123456789012:user/admin"},
            "requestParameters": {"userName": "kim"},
        }
    )
    event = console_mfa.evaluate(record, EvalContext(account["settings"], LiveState(account["iam"])))
    assert event is not None and event.exempt and kim.exempt
    assert kim.exempt_reason == event.exempt_reason == "user kim carries the tag remediator:exempt (kiosk)"
    assert kim.reason.endswith("Exempt: user kim carries the tag remediator:exempt (kiosk).") and kim.action is None
    assert _attached(account, "kim") == [] and "kim" not in {f.resource.name for f, _ in report.actions}
    assert "[exempt: user kim carries the tag remediator:exempt (kiosk)]" in _messages(account)[-1]["Message"]


def test_access_denied_on_the_exemption_tag_is_unreadable_not_a_crash(account, monkeypatch) -> None:
    """As for events (LiveState): a tag AWS will not show us may be an exemption; report, never act on a guess."""
    from botocore.exceptions import ClientError

    def deny(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "ListUserTags")

    real_iam = AwsClients.iam.func

    def iam_denying_tags(self):
        client = real_iam(self)
        client.list_user_tags = deny.__get__(client)
        return client

    monkeypatch.setattr(AwsClients, "iam", property(iam_denying_tags))
    _no_grace(account)
    report = _sweep(account)
    assert len(report.findings) == 3 and report.actions == []
    for finding in report.findings:
        assert not finding.exempt and finding.action is None
        assert finding.reason.endswith(
            f"Could not read the tags of user {finding.resource.name} (AccessDenied): not acting on a guess."
        )
    assert all(_attached(account, user) == [] for user in ("ana", "bea", "kim"))


def _coverage_account():
    """A logging multi-region trail, one of our rules targeting its function, one empty dead-letter queue."""
    from remediator.sweep.coverage import Watched

    boto3.client("s3").create_bucket(Bucket="trail-logs")
    cloudtrail, events, sqs = boto3.client("cloudtrail"), boto3.client("events"), boto3.client("sqs")
    cloudtrail.create_trail(Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="main")
    function = "arn:aws:lambda:us-east-1:123456789012:function:remediator-AccessKeysFunction-X"
    events.put_rule(Name="remediator-AccessKeysFunctionCloudTrail-X", EventPattern='{"source": ["aws.iam"]}')
    events.put_targets(Rule="remediator-AccessKeysFunctionCloudTrail-X", Targets=[{"Id": "fn", "Arn": function}])
    dlq = sqs.create_queue(QueueName="remediator-AccessKeysRuleDLQ-X")["QueueUrl"]
    watched = Watched.from_env(
        {"WATCHED_RULES": f"remediator-AccessKeysFunctionCloudTrail-X={function}", "WATCHED_QUEUES": dlq}
    )
    return {"cloudtrail": cloudtrail, "events": events, "sqs": sqs, "dlq": dlq, "watched": watched}


def test_the_coverage_check_reports_nothing_when_all_is_well(account) -> None:
    coverage = _coverage_account()
    report = _sweep(account, watched=coverage["watched"])
    assert report.blind_spots == [] and "coverage" not in report.counts()
    assert "COVERAGE" not in _messages(account)[-1]["Message"]


def test_the_coverage_check_reports_a_stopped_trail_a_disabled_rule_and_a_waiting_dlq(account) -> None:
    coverage = _coverage_account()
    coverage["cloudtrail"].stop_logging(Name="main")
    coverage["events"].disable_rule(Name="remediator-AccessKeysFunctionCloudTrail-X")
    coverage["sqs"].send_message(QueueUrl=coverage["dlq"], MessageBody="an event we failed")
    report = _sweep(account, watched=coverage["watched"])
    blind = {f.resource.kind: f for f in report.blind_spots}
    assert set(blind) == {"trail", "event_rule", "queue"} and report.counts()["coverage"] == 3
    assert all(f.severity == "critical" and f.rule == "coverage" and f.action is None for f in blind.values())
    assert "main is not logging" in blind["trail"].reason
    assert "remediator-AccessKeysFunctionCloudTrail-X is DISABLED" in blind["event_rule"].reason
    assert "remediator-AccessKeysRuleDLQ-X holds 1 message(s)" in blind["queue"].reason
    messages = _messages(account)
    own = [m for m in messages if m["MessageAttributes"]["rule"]["Value"] == "coverage"]
    assert len(own) == 3 and all(m["Subject"].startswith("[CRITICAL] coverage: ") for m in own)
    assert all("Found:   by the scheduled sweep" in m["Message"] for m in own)
    summary = messages[-1]
    assert summary["MessageAttributes"]["severity"]["Value"] == "critical"
    assert "COVERAGE: we may be blind" in summary["Message"] and "main is not logging" in summary["Message"]


def test_a_rule_that_no_longer_targets_our_function_and_a_missing_trail_are_blind_spots(account) -> None:
    coverage = _coverage_account()
    coverage["events"].remove_targets(Rule="remediator-AccessKeysFunctionCloudTrail-X", Ids=["fn"])
    coverage["cloudtrail"].delete_trail(Name="main")
    report = _sweep(account, watched=coverage["watched"])
    reasons = sorted(f.reason for f in report.blind_spots)
    assert len(reasons) == 2
    assert "there is no multi-region or us-east-1 trail" in reasons[0]
    assert (
        "no longer targets arn:aws:lambda:us-east-1:123456789012:function:remediator-AccessKeysFunction-X" in reasons[1]
    )
