"""guardrail_tampering: each family of calls that blinds monitoring, decided in dry run and against a moto account."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope, parse_record
from remediator.findings import Decision, Mode, Outcome
from remediator.logging_changes import event_selectors_change, short_expirations, trail_update
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ACCOUNT = "123456789012"
MALLORY = {
    "type": "AssumedRole",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/mallory",
    "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/ops-admin"}},
}


def decided(file: str, context: EvalContext = DRY_RUN, **params: Any) -> Decision:
    """A demo event, its requestParameters updated with `params`."""
    event = copy.deepcopy(load_event(file))
    event["detail"]["requestParameters"].update(params)
    return decide(parse_envelope(event), context, rule_ids=("guardrail_tampering",))


def call(
    source: str,
    event_name: str,
    params: dict[str, Any],
    response: dict[str, Any] | None = None,
    context: EvalContext = DRY_RUN,
    **fields: Any,
) -> Decision:
    raw = {
        "eventName": event_name,
        "eventSource": source,
        "eventID": f"unit-{event_name}",
        "awsRegion": "eu-west-1",
        "recipientAccountId": ACCOUNT,
        "userIdentity": MALLORY,
        "requestParameters": params,
        "responseElements": response,
        **fields,
    }
    return decide(parse_record(raw), context, rule_ids=("guardrail_tampering",))


def only(decision: Decision) -> tuple[str, str | None]:
    [finding] = decision.findings
    assert finding.rule == "guardrail_tampering"
    return str(finding.severity), finding.action


@pytest.mark.parametrize(
    "event, severity, acts",
    [
        ("stop-logging.json", "critical", True),
        ("delete-trail.json", "critical", False),
        ("put-event-selectors-read-only.json", "critical", False),
        ("delete-guardduty-detector.json", "critical", False),
        ("stop-configuration-recorder.json", "critical", True),
        ("put-bucket-lifecycle-short-expiry.json", "critical", False),
        ("delete-flow-logs.json", "high", False),
    ],
)
def test_each_demo_event_is_a_finding_with_its_severity(event: str, severity: str, acts: bool) -> None:
    decision = decided(event)
    assert decision.skipped is None
    found, action = only(decision)
    assert found == severity
    assert bool(action) is acts


def test_notify_only_findings_carry_the_command_that_restores_what_was_lost() -> None:
    [finding] = decided("delete-trail.json").findings
    assert "aws cloudtrail create-trail --name eu-audit" in finding.reason
    assert "--region eu-west-1" in finding.reason
    [finding] = decided("delete-guardduty-detector.json").findings
    assert "aws guardduty create-detector --enable --region eu-west-1" in finding.reason


def test_a_failed_call_changes_nothing_and_is_no_finding() -> None:
    event = copy.deepcopy(load_event("stop-logging.json"))
    event["detail"]["errorCode"] = "TrailNotFoundException"
    decision = decide(parse_envelope(event), DRY_RUN, rule_ids=("guardrail_tampering",))
    assert decision.findings == [] and decision.skipped == "failed call"


def test_a_break_glass_caller_is_reported_exempt_and_nothing_is_planned() -> None:
    context = EvalContext(Settings(live=False, break_glass_arns=frozenset({MALLORY["arn"]})), AssumedState())
    [finding] = decided("stop-logging.json", context).findings
    assert finding.exempt and finding.action is None and "break-glass" in finding.reason


def test_a_trail_named_with_shell_characters_is_reported_but_never_acted_on() -> None:
    [finding] = decided("stop-logging.json", name="x; rm -rf /").findings
    assert finding.severity == "critical" and finding.action is None
    assert "'x; rm -rf /'" in finding.reason  # quoted in the command a person pastes


# ---------------------------------------------------------------- event selectors

MANAGEMENT_ALL = {"readWriteType": "All", "includeManagementEvents": True, "dataResources": []}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"eventSelectors": [MANAGEMENT_ALL]}, None),
        ({"eventSelectors": [{**MANAGEMENT_ALL, "readWriteType": "ReadOnly"}]}, "critical"),
        ({"eventSelectors": [{**MANAGEMENT_ALL, "includeManagementEvents": False}]}, "critical"),
        ({"eventSelectors": [{**MANAGEMENT_ALL, "excludeManagementEventSources": ["kms.amazonaws.com"]}]}, "critical"),
        ({"eventSelectors": [{**MANAGEMENT_ALL, "readWriteType": "WriteOnly"}]}, "low"),
        (
            {
                "eventSelectors": [
                    {**MANAGEMENT_ALL, "readWriteType": "WriteOnly"},
                    {**MANAGEMENT_ALL, "readWriteType": "ReadOnly"},
                ]
            },
            None,
        ),
        ({"eventSelectors": []}, "critical"),
        (
            {"advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}]},
            None,
        ),
        (
            {
                "advancedEventSelectors": [
                    {
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Management"]},
                            {"field": "readOnly", "equals": ["false"]},
                        ]
                    }
                ]
            },
            "low",
        ),
        (
            {
                "advancedEventSelectors": [
                    {
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Management"]},
                            {"field": "readOnly", "equals": ["true"]},
                        ]
                    }
                ]
            },
            "critical",
        ),
        (
            {
                "advancedEventSelectors": [
                    {
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Data"]},
                            {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                        ]
                    }
                ]
            },
            "critical",
        ),
        (
            {
                "advancedEventSelectors": [
                    {
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Management"]},
                            {"field": "eventSource", "notEquals": ["iam.amazonaws.com"]},
                        ]
                    }
                ]
            },
            "critical",
        ),
    ],
)
def test_selectors_that_drop_management_writes_are_critical_reads_only_low(params, expected) -> None:
    decision = call("cloudtrail.amazonaws.com", "PutEventSelectors", {"trailName": "main", **params})
    assert decision.skipped is None
    assert [str(f.severity) for f in decision.findings] == ([expected] if expected else [])


def test_advanced_selector_operators_are_read_in_either_case() -> None:
    upper = {
        "advancedEventSelectors": [
            {"FieldSelectors": [], "fieldSelectors": [{"field": "eventCategory", "Equals": ["Management"]}]}
        ]
    }
    assert event_selectors_change(upper) is None


# ---------------------------------------------------------------- UpdateTrail, Insights, GuardDuty, Organizations


@pytest.mark.parametrize(
    "params, whole",
    [
        ({"name": "main", "snsTopicName": "trail-news"}, True),
        ({"name": "main", "isMultiRegionTrail": False}, False),
        ({"name": "main", "s3BucketName": "someone-elses-bucket"}, False),
        ({"name": "main", "enableLogFileValidation": False}, False),
        ({"name": "main", "kmsKeyId": ""}, False),
        ({"name": "main", "isMultiRegionTrail": True}, True),
    ],
)
def test_update_trail_is_low_only_when_recording_and_delivery_stay_as_they_were(params, whole) -> None:
    assert trail_update(params).whole is whole
    severity, action = only(call("cloudtrail.amazonaws.com", "UpdateTrail", params))
    assert severity == ("low" if whole else "critical") and action is None


def test_insights_turned_off_is_low_and_turned_on_is_nothing() -> None:
    off = call("cloudtrail.amazonaws.com", "PutInsightSelectors", {"trailName": "main", "insightSelectors": []})
    assert only(off) == ("low", None)
    on = call(
        "cloudtrail.amazonaws.com",
        "PutInsightSelectors",
        {"trailName": "main", "insightSelectors": [{"insightType": "ApiCallRateInsight"}]},
    )
    assert on.findings == [] and on.skipped is None


DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"


@pytest.mark.parametrize(
    "params, severity, acts",
    [
        ({"detectorId": DETECTOR, "enable": False}, "critical", True),
        ({"detectorId": DETECTOR, "features": [{"name": "S3_DATA_EVENTS", "status": "DISABLED"}]}, "high", False),
        ({"detectorId": DETECTOR, "findingPublishingFrequency": "SIX_HOURS"}, "low", False),
    ],
)
def test_update_detector_by_what_it_turns_off(params, severity, acts) -> None:
    found, action = only(call("guardduty.amazonaws.com", "UpdateDetector", params))
    assert found == severity and bool(action) is acts


@pytest.mark.parametrize("event_name", ["DisassociateFromAdministratorAccount", "DisassociateFromMasterAccount"])
def test_leaving_the_guardduty_administrator_is_critical(event_name: str) -> None:
    assert only(call("guardduty.amazonaws.com", event_name, {"detectorId": DETECTOR})) == ("critical", None)


@pytest.mark.parametrize(
    "source, event_name, params, severity",
    [
        ("config.amazonaws.com", "DeleteConfigurationRecorder", {"configurationRecorderName": "default"}, "critical"),
        ("config.amazonaws.com", "DeleteDeliveryChannel", {"deliveryChannelName": "default"}, "critical"),
        ("securityhub.amazonaws.com", "DisableSecurityHub", {}, "critical"),
        ("access-analyzer.amazonaws.com", "DeleteAnalyzer", {"analyzerName": "account-analyzer"}, "critical"),
        (
            "organizations.amazonaws.com",
            "DetachPolicy",
            {"policyId": "p-examplescp1", "targetId": "ou-ab12-cd34ef56"},
            "critical",
        ),
        (
            "organizations.amazonaws.com",
            "DetachPolicy",
            {"policyId": "p-FullAWSAccess", "targetId": "ou-ab12-cd34ef56"},
            "low",
        ),
        ("organizations.amazonaws.com", "DeletePolicy", {"policyId": "p-examplescp1"}, "critical"),
        (
            "organizations.amazonaws.com",
            "DisablePolicyType",
            {"rootId": "r-ab12", "policyType": "SERVICE_CONTROL_POLICY"},
            "critical",
        ),
        ("organizations.amazonaws.com", "DisablePolicyType", {"rootId": "r-ab12", "policyType": "TAG_POLICY"}, "low"),
        ("organizations.amazonaws.com", "LeaveOrganization", {}, "critical"),
        (
            "route53resolver.amazonaws.com",
            "DeleteResolverQueryLogConfig",
            {"resolverQueryLogConfigId": "rqlc-1"},
            "high",
        ),
    ],
)
def test_notify_only_families_and_their_severity(source, event_name, params, severity) -> None:
    assert only(call(source, event_name, params)) == (severity, None)


def test_an_iam_delete_policy_is_not_an_organizations_policy() -> None:
    decision = call("iam.amazonaws.com", "DeletePolicy", {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/x"})
    assert decision.findings == []


# ---------------------------------------------------------------- lifecycle on a trail's bucket


def lifecycle(rule: dict[str, Any], bucket: str = "org-audit-trail-logs") -> dict[str, Any]:
    return {"bucketName": bucket, "LifecycleConfiguration": {"Rule": rule}}


@pytest.mark.parametrize(
    "rule, short",
    [
        ({"ID": "a", "Status": "Enabled", "Expiration": {"Days": 30}}, True),
        ({"ID": "a", "Status": "Enabled", "Expiration": {"Days": 400}}, False),
        ({"ID": "a", "Status": "Disabled", "Expiration": {"Days": 1}}, False),
        ({"ID": "a", "Status": "Enabled", "Transition": {"Days": 1, "StorageClass": "GLACIER"}}, False),
        ({"ID": "a", "Status": "Enabled", "Expiration": {"Date": "2026-12-01T00:00:00Z"}}, True),
    ],
)
def test_only_an_enabled_rule_expiring_logs_before_the_retention_counts(rule, short) -> None:
    from datetime import UTC, datetime

    found = short_expirations(lifecycle(rule), 365, datetime(2026, 11, 24, tzinfo=UTC))
    assert bool(found) is short


def test_the_retention_is_a_setting() -> None:
    rule = {"ID": "a", "Status": "Enabled", "Expiration": {"Days": 30}}
    assert Settings.from_env({"TRAIL_LOG_RETENTION_DAYS": "14"}).trail_log_retention_days == 14
    relaxed = EvalContext(Settings(live=False, trail_log_retention_days=14), AssumedState())
    assert call("s3.amazonaws.com", "PutBucketLifecycle", lifecycle(rule), context=relaxed).findings == []
    assert only(call("s3.amazonaws.com", "PutBucketLifecycle", lifecycle(rule)))[0] == "critical"


def test_dry_run_assumes_the_bucket_is_a_trail_bucket_and_says_so() -> None:
    [finding] = decided("put-bucket-lifecycle-short-expiry.json").findings
    assert "assumed to be a trail's bucket" in finding.reason
    assert '"Expiration":{"Days":3}' in finding.reason  # the rule text, for a person to judge and remove


@pytest.fixture
def account():
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="org-audit-trail-logs")
        boto3.client("s3").create_bucket(Bucket="website-assets")
        boto3.client("cloudtrail").create_trail(
            Name="org-audit", S3BucketName="org-audit-trail-logs", IsMultiRegionTrail=True
        )
        yield AwsClients()


def live(aws: AwsClients, mode: Mode = Mode.NOTIFY) -> EvalContext:
    return EvalContext(Settings(modes={"guardrail_tampering": mode}), LiveState(aws.iam, aws))


def test_live_a_short_lifecycle_on_a_trail_bucket_is_critical_elsewhere_nothing(account) -> None:
    rule = {"ID": "a", "Status": "Enabled", "Expiration": {"Days": 1}}
    on_trail = call("s3.amazonaws.com", "PutBucketLifecycle", lifecycle(rule), context=live(account))
    assert only(on_trail) == ("critical", None)
    assert "receives a trail's logs" in on_trail.findings[0].reason
    elsewhere = call("s3.amazonaws.com", "PutBucketLifecycle", lifecycle(rule, "website-assets"), context=live(account))
    assert elsewhere.findings == [] and elsewhere.skipped is None


def test_live_the_trails_are_read_from_the_events_region_too(account) -> None:
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="eu-only-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    boto3.client("cloudtrail", region_name="eu-west-1").create_trail(Name="eu-only", S3BucketName="eu-only-logs")
    rule = {"ID": "a", "Status": "Enabled", "Expiration": {"Days": 1}}
    decision = call("s3.amazonaws.com", "PutBucketLifecycle", lifecycle(rule, "eu-only-logs"), context=live(account))
    assert only(decision)[0] == "critical"


# ---------------------------------------------------------------- remediation, in the region it happened in


def test_remediate_restarts_logging_in_the_events_region(account) -> None:
    cloudtrail = boto3.client("cloudtrail", region_name="eu-west-1")
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="eu-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    cloudtrail.create_trail(Name="eu-audit", S3BucketName="eu-logs")
    cloudtrail.start_logging(Name="eu-audit")
    cloudtrail.stop_logging(Name="eu-audit")
    [finding] = call(
        "cloudtrail.amazonaws.com", "StopLogging", {"name": "eu-audit"}, context=live(account, Mode.REMEDIATE)
    ).findings
    result = act(finding, account)
    assert result.outcome == Outcome.VERIFIED, result
    assert cloudtrail.get_trail_status(Name="eu-audit")["IsLogging"] is True


def test_remediate_on_a_trail_deleted_since_changes_nothing_and_says_so(account) -> None:
    [finding] = call(
        "cloudtrail.amazonaws.com", "StopLogging", {"name": "gone-already"}, context=live(account, Mode.REMEDIATE)
    ).findings
    result = act(finding, account)
    assert result.outcome == Outcome.SKIPPED and "no longer exists" in result.detail


def test_notify_mode_plans_the_restart_but_leaves_the_trail_stopped(account) -> None:
    cloudtrail = boto3.client("cloudtrail")
    cloudtrail.start_logging(Name="org-audit")
    cloudtrail.stop_logging(Name="org-audit")
    [finding] = call(
        "cloudtrail.amazonaws.com", "StopLogging", {"name": "org-audit"}, awsRegion="us-east-1", context=live(account)
    ).findings
    result = act(finding, account)
    assert result.outcome == Outcome.NOTIFIED and "would start logging of trail org-audit" in result.detail
    assert cloudtrail.get_trail_status(Name="org-audit")["IsLogging"] is False
