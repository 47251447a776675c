"""The template's EventBridge patterns, run through moto's matcher (EventBridge's TestEventPattern is not
implemented in moto): they match the events/*.json their rules react to, and not failed calls, other
eventNames or other services. Every negative case sits beside its positive control."""

from __future__ import annotations

import copy
import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from remediator.rules import RULES
from remediator.rules.base import Trigger
from tests.template.conftest import ROOT, rules_targeting

EVENTS = sorted((ROOT / "events").glob("*.json"))
NEGATIVES = Path(__file__).parent / "negative_events"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _patterns(cfn: dict[str, Any], function_logical_id: str) -> list[EventPattern]:
    return [
        EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
        for rule in rules_targeting(cfn, function_logical_id).values()
    ]


def _matches(patterns: list[EventPattern], event: dict[str, Any]) -> bool:
    return any(pattern.matches_event(event) for pattern in patterns)


def _trigger_accepts(trigger: Trigger, event: dict[str, Any]) -> bool:
    """What the rule metadata says EventBridge should deliver, written independently of event_pattern()."""
    detail = event.get("detail") or {}
    identity = detail.get("userIdentity") or {}
    issuer = str(((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn") or "")
    return (
        (not trigger.sources or event.get("source") in trigger.sources)
        and event.get("detail-type") in trigger.detail_types
        and (not trigger.event_sources or detail.get("eventSource") in trigger.event_sources)
        and (not trigger.event_names or detail.get("eventName") in trigger.event_names)
        and (not trigger.identity_types or identity.get("type") in trigger.identity_types)
        and (not trigger.issuer_wildcards or any(fnmatchcase(issuer, w) for w in trigger.issuer_wildcards))
        and (event.get("detail-type") != "AWS API Call via CloudTrail" or "errorCode" not in detail)
    )


def _expected(function, event: dict[str, Any]) -> bool:
    return any(_trigger_accepts(t, event) for rule_id in function.rule_ids for t in RULES[rule_id].META.triggers)


@pytest.mark.parametrize("path", EVENTS + sorted(NEGATIVES.glob("*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_function_matches_exactly_the_events_its_rules_react_to(cfn_template, functions, path):
    event = _load(path)
    for function in functions.values():
        assert _matches(_patterns(cfn_template, function.logical_id), event) == _expected(function, event), (
            f"{function.logical_id} vs {path.name}"
        )


def test_the_demo_events_reach_a_function(cfn_template, functions):
    if not EVENTS:
        pytest.skip("events/ holds no envelope yet")
    for path in EVENTS:
        event = _load(path)
        if event.get("detail", {}).get("errorCode"):
            continue
        assert any(_matches(_patterns(cfn_template, f.logical_id), event) for f in functions.values()), path.name


@pytest.fixture
def access_keys(cfn_template, functions) -> list[EventPattern]:
    return _patterns(cfn_template, functions["access_keys"].logical_id)


def _negative(name: str) -> dict[str, Any]:
    return _load(NEGATIVES / name)


@pytest.mark.parametrize("name", ["failed-create-access-key.json", "failed-update-access-key.json"])
def test_failed_calls_never_invoke_any_function(cfn_template, functions, name):
    failed = _negative(name)
    control = copy.deepcopy(failed)
    del control["detail"]["errorCode"], control["detail"]["errorMessage"]
    matched_control = [f for f in functions.values() if _matches(_patterns(cfn_template, f.logical_id), control)]
    assert [f.name for f in matched_control] == ["access_keys"], "positive control"
    for function in functions.values():
        assert not _matches(_patterns(cfn_template, function.logical_id), failed), function.logical_id


@pytest.mark.parametrize("name", ["delete-access-key.json", "list-access-keys.json"])
def test_other_iam_event_names_do_not_invoke_access_keys(access_keys, name):
    other = _negative(name)
    control = copy.deepcopy(other)
    control["detail"]["eventName"] = "CreateAccessKey"
    assert _matches(access_keys, control), "positive control"
    assert not _matches(access_keys, other)


def test_other_services_do_not_invoke_access_keys(access_keys):
    other = _negative("s3-put-bucket-policy.json")
    control = copy.deepcopy(other)
    control["source"], control["detail"]["eventSource"] = "aws.iam", "iam.amazonaws.com"
    control["detail"]["eventName"] = "CreateAccessKey"
    assert _matches(access_keys, control), "positive control"
    assert not _matches(access_keys, other)
    same_name_elsewhere = copy.deepcopy(control)
    same_name_elsewhere["source"], same_name_elsewhere["detail"]["eventSource"] = "aws.s3", "s3.amazonaws.com"
    assert not _matches(access_keys, same_name_elsewhere)


def test_root_activity_sees_any_service_and_failed_calls_but_only_root(cfn_template, functions):
    root_activity = _patterns(cfn_template, functions["root_activity"].logical_id)
    s3_by_root = _negative("s3-put-bucket-policy.json")
    s3_by_root["detail"]["userIdentity"] = {
        "type": "Root",
        "arn": "arn:aws:iam::123456789012:root",
        "accountId": "123456789012",
        "principalId": "123456789012",
    }
    assert _matches(root_activity, s3_by_root), "positive control: root used S3"
    assert not _matches(root_activity, _negative("s3-put-bucket-policy.json")), "an IAM user used S3"
    failed = copy.deepcopy(s3_by_root)
    failed["detail"]["errorCode"] = "AccessDenied"
    assert _matches(root_activity, failed), "a failed root call is an attempt with root's credentials"
    failed_by_user = _negative("s3-put-bucket-policy.json")
    failed_by_user["detail"]["errorCode"] = "AccessDenied"
    assert not _matches(root_activity, failed_by_user)
