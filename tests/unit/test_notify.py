"""The SNS message: valid for AWS (a `default` key), readable by humans, filterable by attributes."""

from __future__ import annotations

import json
import shlex

from remediator.events import parse_envelope
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.notify import build_publish_request, chatbot_payload
from tests.conftest import load_event

RECORD = parse_envelope(load_event("create-access-key-for-another-user.json"))
FINDING = Finding(
    rule="access_keys",
    severity=Severity.HIGH,
    reason="alice created a key for bob.",
    resource=Resource("user", "bob", "123456789012", "arn:aws:iam::123456789012:user/bob"),
    action="set key Inactive",
    undo="aws iam update-access-key --status Active",
)
VERIFIED = ActionResult(Outcome.VERIFIED, "key is now Inactive (verified by re-reading).")


def test_json_message_has_default_email_and_chatbot_keys() -> None:
    request = build_publish_request("arn:aws:sns:us-east-1:123456789012:t", FINDING, RECORD, VERIFIED)
    assert request["MessageStructure"] == "json"
    message = json.loads(request["Message"])
    # AWS rejects a JSON message without "default"; queues and functions get the finding as JSON
    assert set(message) == {"default", "email", "https", "sqs", "lambda"}
    assert message["default"] == message["email"]
    for expected in (
        "alice",
        "CreateAccessKey",
        "123456789012",
        "us-east-1",
        "198.51.100.23",
        "2026-11-24T09:15:42Z",
        "verified",
        "Undo:",
        "remediator exempt add --pattern",
    ):
        assert expected in message["default"]


def test_chatbot_payload_is_a_custom_notification() -> None:
    payload = json.loads(json.loads(build_publish_request("t", FINDING, RECORD, VERIFIED)["Message"])["https"])
    assert payload["version"] == "1.0" and payload["source"] == "custom"
    assert payload["content"]["title"] and payload["content"]["description"]
    assert payload == chatbot_payload(FINDING, RECORD, VERIFIED)


def test_attributes_support_filter_policies_and_subject_fits_sns_limits() -> None:
    odd = Finding(
        rule="access_keys", severity=Severity.CRITICAL, reason="r", resource=Resource("user", "ünïcode-" + "x" * 200)
    )
    request = build_publish_request("t", odd, RECORD, ActionResult(Outcome.FAILED, "denied", "AccessDenied"))
    assert {k: v["StringValue"] for k, v in request["MessageAttributes"].items()} == {
        "severity": "critical",
        "rule": "access_keys",
        "account": "123456789012",
        "action": "failed",
    }
    assert len(request["Subject"]) <= 100 and request["Subject"].isascii()
    assert "AccessDenied" in json.loads(request["Message"])["default"]


def test_exempt_finding_says_why_and_offers_no_exemption_hint() -> None:
    exempt = Finding(
        rule="access_keys",
        severity=Severity.HIGH,
        reason="r. Exempt: tagged.",
        resource=Resource("user", "ci"),
        exempt=True,
        exempt_reason="tagged",
    )
    result = ActionResult(Outcome.EXEMPT, "nothing changed: tagged.")
    text = json.loads(build_publish_request("t", exempt, RECORD, result)["Message"])["default"]
    assert "Exempt: nothing changed" in text and "remediator exempt add" not in text


def test_a_scheduled_finding_says_the_sweep_found_it_instead_of_who_did_what() -> None:
    """The sweep has no CloudTrail record: the message says where the finding came from, never an empty "Who"."""
    request = build_publish_request("arn:aws:sns:us-east-1:123456789012:t", FINDING, None, VERIFIED)
    text = json.loads(request["Message"])["default"]
    assert "Found:   by the scheduled sweep (account state, no CloudTrail event)" in text
    assert "What:    user arn:aws:iam::123456789012:user/bob" in text and "account 123456789012" in text
    assert not any(line.startswith(("Who:", "When:", "From:", "Event:")) for line in text.splitlines())
    assert "Outcome: Remediated and verified" in text and "Undo:    aws iam update-access-key" in text
    assert request["MessageAttributes"]["account"]["StringValue"] == "123456789012"
    chatbot = chatbot_payload(FINDING, None, VERIFIED)
    assert chatbot["metadata"]["eventType"] == "the scheduled sweep"
    assert chatbot["metadata"]["relatedResources"] == ["arn:aws:iam::123456789012:user/bob"]


def test_exemption_advice_names_the_resource_and_rule_and_pastes_as_one_command() -> None:
    """Every value is quoted: a resource name chosen by the actor cannot become a redirect or a second command."""
    sneaky = Finding(
        rule="role_trust",
        severity=Severity.CRITICAL,
        reason="r",
        resource=Resource("role", "x", "123456789012", "arn:aws:iam::123456789012:role/a;b>c"),
    )
    text = json.loads(build_publish_request("t", sneaky, RECORD, VERIFIED)["Message"])["default"]
    advice = text.split("Exempt:  ", 1)[1].splitlines()[0]
    command, note = advice.split("  (", 1)
    assert note == "an exemption admin runs it)"
    words = shlex.split(command)
    assert words[:7] == [
        "remediator",
        "exempt",
        "add",
        "--pattern",
        "arn:aws:iam::123456789012:role/a;b>c",
        "--rule",
        "role_trust",
    ]
    assert words[7:] == ["--reason", "why this is exempt", "--expires", "YYYY-MM-DD", "--approver", "who approved it"]
