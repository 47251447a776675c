"""The per-region forwarder sends exactly what the hub's root_activity and console_mfa rules react to."""

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
        sign_in = {"source": "aws.signin", "detail-type": "AWS Console Sign In via CloudTrail",
                   "detail": {"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                              "userIdentity": {"type": kind}}}
        assert pattern.matches_event(sign_in), kind
    assumed = {"source": "aws.signin", "detail-type": "AWS Console Sign In via CloudTrail",
               "detail": {"eventSource": "signin.amazonaws.com", "userIdentity": {"type": "AssumedRole"}}}
    assert not pattern.matches_event(assumed)


def test_every_rule_targets_only_the_hub_bus_with_a_dead_letter_queue() -> None:
    for name, rule in _rules().items():
        [target] = rule["Targets"]
        hub_bus = "arn:${AWS::Partition}:events:${HubRegion}:${AWS::AccountId}:event-bus/default"
        assert target["Arn"] == {"Fn::Sub": hub_bus}
        assert target["DeadLetterConfig"] and target["RetryPolicy"], name


def test_the_forwarding_alarm_notifies_the_topic_given() -> None:
    from tests.template.conftest import Resolver

    template = translate_template.load_sam(FORWARDER)
    alarm = template["Resources"]["ForwardingDLQAlarm"]["Properties"]
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    assert Resolver(template, {"AlarmTopicArn": topic})(alarm)["AlarmActions"] == [topic]
    assert "AlarmActions" not in Resolver(template)(alarm)  # no topic given: the alarm only changes state


def test_checkov_scans_the_forwarder_too() -> None:
    assert "regional-forwarder.yaml" in (ROOT / "scripts" / "checkov.sh").read_text()
