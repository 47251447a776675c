"""The per-region forwarder sends the hub what its rules react to outside IAM: root activity, console sign-ins,
federation tokens, Roles Anywhere and Identity Center."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from moto.events.models import EventPattern

from remediator.rules import RULES
from tests.template.conftest import ROOT, translate_template

FORWARDER = ROOT / "regional-forwarder.yaml"


def _rules() -> dict[str, dict]:
    template = translate_template.load_sam(FORWARDER)
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule"}


def test_forwarder_lints_clean() -> None:
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, str(FORWARDER)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_root_pattern_is_the_hubs_and_sees_read_only_calls() -> None:
    rules = _rules()
    root_any_call = RULES["root_activity"].META.triggers[0].event_pattern()
    assert rules["ForwardRootActivity"]["EventPattern"] == root_any_call
    assert rules["ForwardRootActivity"]["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def test_sign_in_pattern_covers_root_and_iam_user_sign_ins() -> None:
    pattern = EventPattern.load(json.dumps(_rules()["ForwardConsoleSignIns"]["EventPattern"]))
    for trigger in (RULES["root_activity"].META.triggers[1], RULES["console_mfa"].META.triggers[1]):
        kind = trigger.identity_types[0]
        sign_in = {
            "source": "aws.signin",
            "detail-type": "AWS Console Sign In via CloudTrail",
            "detail": {
                "eventSource": "signin.amazonaws.com",
                "eventName": "ConsoleLogin",
                "userIdentity": {"type": kind},
            },
        }
        assert pattern.matches_event(sign_in), kind
    assumed = {
        "source": "aws.signin",
        "detail-type": "AWS Console Sign In via CloudTrail",
        "detail": {"eventSource": "signin.amazonaws.com", "userIdentity": {"type": "AssumedRole"}},
    }
    assert not pattern.matches_event(assumed)


def test_every_rule_targets_only_the_hub_bus_with_a_dead_letter_queue() -> None:
    for name, rule in _rules().items():
        [target] = rule["Targets"]
        hub_bus = "arn:${AWS::Partition}:events:${HubRegion}:${AWS::AccountId}:event-bus/default"
        assert target["Arn"] == {"Fn::Sub": hub_bus}
        assert target["DeadLetterConfig"] and target["RetryPolicy"], name


def _samples(trigger) -> list[dict]:
    """Events a trigger describes, as recorded in another region: its first source, service, name and
    caller kind (any other service when it names none), succeeded and failed."""
    detail = {
        "eventSource": (trigger.event_sources or ("s3.amazonaws.com",))[0],
        "eventName": (trigger.event_names or ("ListBuckets",))[0],
        "userIdentity": {"type": (trigger.identity_types or ("IAMUser",))[0]},
        "awsRegion": "eu-west-1",
    }
    event = {
        "source": (trigger.sources or ("aws.s3",))[0],
        "detail-type": trigger.detail_types[0],
        "region": "eu-west-1",
        "detail": detail,
    }
    return [event, {**event, "detail": {**detail, "errorCode": "AccessDenied"}}]


def test_every_trigger_recorded_outside_the_hub_region_is_forwarded() -> None:
    """IAM's own events reach EventBridge only in us-east-1; whatever else a rule reacts to is recorded in the
    region it happened in, so the forwarder must send it to the hub (a new rule's non-IAM trigger included)."""
    forwarded = [EventPattern.load(json.dumps(rule["EventPattern"])) for rule in _rules().values()]
    for rule_id, rule in RULES.items():
        for trigger in rule.META.triggers:
            if trigger.event_sources == ("iam.amazonaws.com",) or trigger.hub_region_only:
                continue  # IAM's events, and changes to the stack's own resources, happen in the hub's region
            hub = EventPattern.load(json.dumps(trigger.event_pattern()))
            for event in _samples(trigger):
                if hub.matches_event(event):
                    assert any(p.matches_event(event) for p in forwarded), (
                        f"{rule_id}: regional-forwarder.yaml does not forward {trigger.event_pattern()}"
                    )


def test_the_forwarding_alarm_notifies_the_topic_given() -> None:
    from tests.template.conftest import Resolver

    template = translate_template.load_sam(FORWARDER)
    alarm = template["Resources"]["ForwardingDLQAlarm"]["Properties"]
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    assert Resolver(template, {"AlarmTopicArn": topic})(alarm)["AlarmActions"] == [topic]
    assert "AlarmActions" not in Resolver(template)(alarm)  # no topic given: the alarm only changes state


def test_checkov_scans_the_forwarder_too() -> None:
    assert "regional-forwarder.yaml" in (ROOT / "scripts" / "checkov.sh").read_text()


def test_identity_center_roles_anywhere_and_federation_tokens_reach_the_hub_from_their_region() -> None:
    """Identity Center records its calls in its home region, Roles Anywhere and STS where they were called: the
    events/ envelopes (eu-west-1, us-east-1) are forwarded, and a failed call is not."""
    from tests.conftest import load_event

    forwarded = [EventPattern.load(json.dumps(rule["EventPattern"])) for rule in _rules().values()]
    for name in (
        "create-account-assignment-admin-permission-set.json",
        "put-inline-policy-to-permission-set-escalation.json",
        "create-roles-anywhere-trust-anchor.json",
        "get-federation-token.json",
    ):
        event = load_event(name)
        assert any(p.matches_event(event) for p in forwarded), name
        failed = {**event, "detail": {**event["detail"], "errorCode": "AccessDenied"}}
        assert not any(p.matches_event(failed) for p in forwarded), name
