"""Every rule's email and Chatbot message for every outcome: the lines a human acts on, said once and right.

Assertions are on key lines, not whole texts, so a wording tweak elsewhere does not break them.
"""

from __future__ import annotations

import json
import shlex

import boto3
import pytest
from moto import mock_aws

from remediator.config import Settings
from remediator.engine import act, decide
from remediator.events import CloudTrailRecord, parse_envelope
from remediator.findings import ActionResult, Finding, Mode, Outcome
from remediator.notify import build_publish_request, chatbot_payload, email_text, publish, subject
from remediator.rules import RULE_IDS, RULES
from remediator.rules.base import EvalContext
from remediator.state import AssumedState
from tests.conftest import load_event

ACCOUNT = "123456789012"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/compliance-remediator/DenyWithoutMfa"
# One event per rule, and the command that does by hand what remediate mode would do (None: report only).
CASES = {
    "access_keys": (
        "create-access-key-for-another-user.json",
        "aws iam update-access-key --user-name bob --access-key-id AKIAZ3EXAMPLEBOB0001 --status Inactive",
    ),
    "console_mfa": (
        "deactivate-mfa-device.json",
        f"aws iam attach-user-policy --user-name carol --policy-arn {POLICY}",
    ),
    "root_activity": ("root-console-login.json", None),
    "iam_user_sprawl": ("create-user.json", None),
    "role_trust": (
        "create-role-trusting-everyone.json",
        "aws iam update-assume-role-policy --role-name partner-reporting --policy-document '{",
    ),
    "admin_grants": (
        "attach-administrator-access-to-user.json",
        "aws iam detach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
    ),
    "guardrail_tampering": ("stop-logging.json", "aws cloudtrail start-logging --name"),
    "remediator_tampering": ("tag-user-remediator-exempt.json", None),
    "other_credentials": ("upload-ssh-public-key-for-another-user.json", None),
    "identity_center": ("create-account-assignment-admin-permission-set.json", None),
    "ec2_without_role": (
        "run-instances-without-role.json",
        "aws ec2 modify-instance-metadata-options --instance-id i-0a1b2c3d4e5f60751 --http-tokens required",
    ),
    "s3_public": (
        "put-bucket-policy-public-read.json",
        "aws s3api put-public-access-block --bucket acme-reports-eu --public-access-block-configuration",
    ),
    "open_security_group": (
        "authorize-security-group-ingress-ssh-from-anywhere.json",
        "aws ec2 revoke-security-group-ingress --group-id sg-0b7c3e5d9a1f24680 --security-group-rule-ids "
        "sgr-0a1b2c3d4e5f60001 sgr-0a1b2c3d4e5f60002 --region eu-west-1",
    ),
    "external_access": (
        "share-ami-with-another-account.json",
        "aws ec2 modify-image-attribute --image-id ami-0c1d2e3f4a5b60718 --launch-permission "
        '\'{"Remove":[{"UserId":"846424999548"}]}\' --region eu-west-1',
    ),
}


# Tampering with the remediator itself is reported whoever does it: a break-glass caller is no exemption.
NEVER_EXEMPT = {"remediator_tampering"}


def _finding(rule: str, mode: Mode = Mode.NOTIFY, exempt: bool = False) -> tuple[Finding, CloudTrailRecord]:
    record = parse_envelope(load_event(CASES[rule][0]))
    break_glass = frozenset({record.identity.arn}) if exempt else frozenset()
    settings = Settings(
        live=False, modes={rule: mode}, deny_without_mfa_policy_arn=POLICY, break_glass_arns=break_glass
    )
    [finding] = [f for f in decide(record, EvalContext(settings, AssumedState())).findings if f.rule == rule]
    return finding, record


def _outcomes(rule: str) -> dict[str, tuple[Finding, CloudTrailRecord, ActionResult]]:
    """Each outcome kind as the engine (or a remediation) reports it."""
    notify, record = _finding(rule)
    remediate, _ = _finding(rule, Mode.REMEDIATE)
    exempt, _ = _finding(rule, exempt=True)
    return {
        "notified": (notify, record, act(notify, None)),
        "exempt": (exempt, record, act(exempt, None)),
        "verified": (remediate, record, ActionResult(Outcome.VERIFIED, "changed (verified by re-reading).")),
        "failed": (remediate, record, ActionResult(Outcome.FAILED, "could not change it.", "AccessDenied: no")),
        "skipped": (
            remediate,
            record,
            act(remediate, None)
            if not remediate.action
            else ActionResult(Outcome.SKIPPED, "nothing changed: it no longer exists."),
        ),
    }


def _line(text: str, label: str) -> str | None:
    return next((line for line in text.splitlines() if line.startswith(label)), None)


@pytest.mark.parametrize("rule", RULE_IDS)
@pytest.mark.parametrize("kind", ["notified", "exempt", "verified", "failed", "skipped"])
def test_the_email_and_chatbot_message_of_each_rule_and_outcome(rule: str, kind: str) -> None:
    finding, record, result = _outcomes(rule)[kind]
    email, chat = email_text(finding, record, result), chatbot_payload(finding, record, result)
    title = subject(finding, result, record.account)
    notify_only = not RULES[rule].META.remediation_actions

    # Who and where: the account in the subject, the first line and Chatbot; a console link in both.
    assert ACCOUNT in title and ACCOUNT in email.splitlines()[0] and ACCOUNT in chat["content"]["description"]
    iam_resource = finding.resource.kind in {"user", "role", "group", "policy", "root", "identity_provider"}
    assert _line(email, "Console: https://console.aws.amazon.com/iam/home#/" if iam_resource else "Console: https://")
    region = record.awsRegion or "us-east-1"
    assert _line(email, f"History: https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#")
    assert "*Console:* https://" in chat["content"]["description"]

    # The outcome, said once.
    outcome = _line(email, "Outcome: ")
    assert outcome and "nothing changed: nothing changed" not in outcome.lower()
    assert "reported only: reported only" not in outcome.lower()
    assert outcome.count("(notify mode)") <= 1
    in_notify_mode = finding.mode == Mode.NOTIFY and result.outcome == Outcome.NOTIFIED
    assert ("(notify mode)" in title) == in_notify_mode
    assert outcome in chat["content"]["description"].replace("*Outcome:* ", "Outcome: ")
    if kind == "failed":
        assert title.startswith("[CRITICAL]") and _line(email, "Error:   AccessDenied")

    # What to do next: undo what we did, fix by hand what we did not, exempt what is expected.
    steps = chat["content"]["nextSteps"]
    undo, fix, advice = _line(email, "Undo:"), _line(email, "Fix by hand:"), _line(email, "Exempt:")
    assert bool(undo) == (kind == "verified" and finding.undo is not None)
    command = CASES[rule][1]
    if kind == "notified" and command:
        assert fix is not None and fix.removeprefix("Fix by hand: ").startswith(command)
        assert any(step.startswith("Fix by hand: `" + command) for step in steps)
    else:
        assert fix is None
    if kind == "exempt" and rule in NEVER_EXEMPT:
        assert not finding.exempt and advice  # nobody, break-glass included, switches the guard of the guard off
    elif kind == "exempt":
        assert advice is None and not any(step.startswith("Exempt") for step in steps)
        assert finding.exempt and "break-glass" in email
    else:
        assert advice and "<" not in advice and ">" not in advice  # pasted into a shell, nothing is redirected
        if finding.resource.arn:
            [exempt_step] = [step for step in steps if step.startswith("Exempt")]
            command = exempt_step.split("`")[1]  # what a reader pastes: the command alone
            words = shlex.split(command)
            assert words[:5] == ["remediator", "exempt", "add", "--pattern", finding.resource.arn]
            assert words[5:7] == ["--rule", rule] and "(" not in command
        if notify_only:
            assert "to notify" not in advice
    if notify_only and finding.resource.kind == "root":
        assert advice is None or "remediator exempt add" in advice or "RootActivityMode" in advice


def test_the_deny_unless_mfa_message_says_it_blocks_access_keys_too() -> None:
    finding, record = _finding("console_mfa", Mode.REMEDIATE)
    assert "the deny-unless-MFA policy the stack" not in finding.action
    assert "access keys" in finding.action
    without_arn = decide(record, EvalContext(Settings(live=False), AssumedState())).findings[0]
    assert "attach the stack's deny-unless-MFA policy to user carol" in without_arn.action
    from remediator.rules.console_mfa import enforce_mfa

    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="carol")
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        arn = iam.create_policy(PolicyName="deny", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        result = enforce_mfa(iam, "carol", "deny-policy", arn)
    assert result.outcome == Outcome.VERIFIED and "access keys" in result.detail


def test_a_queue_subscribed_to_the_topic_gets_the_finding_as_json() -> None:
    finding, record = _finding("access_keys")
    result = act(finding, None)
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="findings")["TopicArn"]
        queue = sqs.create_queue(QueueName="machine")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        publish(sns, topic, finding, record, result)
        [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    document = json.loads(message["Body"])
    assert {
        key: document[key]
        for key in ("rule", "severity", "mode", "exempt", "outcome", "account", "region", "eventID", "eventName")
    } == {
        "rule": "access_keys",
        "severity": "high",
        "mode": "notify",
        "exempt": False,
        "outcome": "notified",
        "account": ACCOUNT,
        "region": "us-east-1",
        "eventID": record.eventID,
        "eventName": "CreateAccessKey",
    }
    assert document["resource"] == {"kind": "user", "name": "bob", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}
    assert document["caller"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert document["action"] == finding.action and document["reason"] == finding.reason
    assert document["detail"] == result.detail
    assert document["fix_command"].startswith("aws iam update-access-key")
    message = json.loads(build_publish_request(topic, finding, record, result)["Message"])
    assert json.loads(message["lambda"]) == json.loads(message["sqs"]) == document
    assert message["default"] == message["email"] == document["text"]
