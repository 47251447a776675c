"""guardrail_tampering: whoever stops the record or the detectors blinds every other rule.

EventBridge sees an API call only while a trail records it. A trail stopped, deleted, narrowed or moved,
selectors that drop management write events, a trail bucket's logs expired early, GuardDuty, Config, Security
Hub or Access Analyzer switched off, an SCP removed, the account taken out of its organization, VPC flow
logs or DNS query logs deleted: each is reported, whatever the caller named or tagged. Flow logs and DNS query
logs are high; a change that leaves management write events whole (a trail's SNS topic, reads dropped from the
selectors, Insights off) is low. Selectors that still record every management event, Insights turned on and a
lifecycle that keeps logs at least TrailLogRetentionDays are no finding. What is reversible and safe is
undone in remediate mode (logging restarted, the detector re-enabled, the recorder restarted), in the region
it happened in, and re-read to verify; everything else is reported with the command a person runs to restore
it, because what was there before is not in the event.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.logging_changes import (
    event_selectors_change,
    insight_selectors_change,
    short_expirations,
    trail_update,
)
from remediator.rules.base import EvalContext, RuleMeta, RuleSetting, Trigger, keep_mode, resolves_nothing
from remediator.state import StateUnreadable

CLOUDTRAIL = ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors")
GUARDDUTY = (
    "DeleteDetector",
    "UpdateDetector",
    "DisassociateFromAdministratorAccount",
    "DisassociateFromMasterAccount",
)
CONFIG = ("StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel")
ORGANIZATIONS = ("DetachPolicy", "DeletePolicy", "DisablePolicyType", "LeaveOrganization")
LIFECYCLE = ("PutBucketLifecycle", "PutBucketLifecycleConfiguration")

META = RuleMeta(
    id="guardrail_tampering",
    title="Logging or a security service was stopped, deleted or weakened",
    practice="Keep CloudTrail, GuardDuty, Config, Security Hub, Access Analyzer, SCPs, flow logs and DNS query "
    "logs on: nobody may blind the account's monitoring unseen",
    severity=Severity.CRITICAL,
    triggers=(
        Trigger(sources=("aws.cloudtrail",), event_sources=("cloudtrail.amazonaws.com",), event_names=CLOUDTRAIL),
        Trigger(sources=("aws.guardduty",), event_sources=("guardduty.amazonaws.com",), event_names=GUARDDUTY),
        Trigger(sources=("aws.config",), event_sources=("config.amazonaws.com",), event_names=CONFIG),
        Trigger(
            sources=("aws.securityhub",),
            event_sources=("securityhub.amazonaws.com",),
            event_names=("DisableSecurityHub",),
        ),
        Trigger(
            sources=("aws.access-analyzer",),
            event_sources=("access-analyzer.amazonaws.com",),
            event_names=("DeleteAnalyzer",),
        ),
        Trigger(
            sources=("aws.organizations",), event_sources=("organizations.amazonaws.com",), event_names=ORGANIZATIONS
        ),
        Trigger(sources=("aws.s3",), event_sources=("s3.amazonaws.com",), event_names=LIFECYCLE),
        Trigger(sources=("aws.ec2",), event_sources=("ec2.amazonaws.com",), event_names=("DeleteFlowLogs",)),
        Trigger(
            sources=("aws.route53resolver",),
            event_sources=("route53resolver.amazonaws.com",),
            event_names=("DeleteResolverQueryLogConfig",),
        ),
    ),
    resource_path="requestParameters.name || requestParameters.trailName || requestParameters.detectorId || "
    "requestParameters.configurationRecorderName || requestParameters.bucketName",
    remediation="start a stopped trail's logging, re-enable a disabled GuardDuty detector, restart a stopped "
    "Config recorder; everything else: notify with the command that restores it",
    undo="aws cloudtrail stop-logging --name {trail} / aws guardduty update-detector --detector-id {detector} "
    "--no-enable / aws configservice stop-configuration-recorder --configuration-recorder-name {recorder}",
    remediation_actions=(
        "cloudtrail:StartLogging",
        "cloudtrail:GetTrailStatus",
        "guardduty:UpdateDetector",
        "guardduty:GetDetector",
        "config:StartConfigurationRecorder",
        "config:DescribeConfigurationRecorderStatus",
    ),
    state_actions=("cloudtrail:DescribeTrails",),
    settings=(
        RuleSetting(
            parameter="TrailLogRetentionDays",
            variable="TRAIL_LOG_RETENTION_DAYS",
            default=365,
            minimum=1,
            maximum=3650,
            description="Days a trail's bucket must keep its logs: guardrail_tampering reports a "
            "lifecycle rule that expires them sooner.",
        ),
    ),
    references=(
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudtrail-controls.html",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing

TRAIL = re.compile(r"[A-Za-z0-9._-]{3,128}|arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9._-]{3,128}")
DETECTOR = re.compile(r"[a-z0-9]{32}")
RECORDER = re.compile(r"[^\s'\"]{1,256}")


@dataclass
class Verdict:
    """What one event does, before exemptions: how bad, to what, and what (if anything) we can undo."""

    severity: Severity
    kind: str
    name: str
    what: str  # what the caller did, after "<caller> "
    restore: str  # what a person does to restore it (commands), one or two sentences
    action: str | None = None
    remediation: str | None = None  # "start_logging" | "enable_detector" | "start_recorder"
    undo: str | None = None
    details: dict[str, Any] | None = None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _region(record: CloudTrailRecord) -> str:
    return f" --region {record.awsRegion}" if record.awsRegion and re.fullmatch(r"[a-z0-9-]+", record.awsRegion) else ""


def _quote(value: str) -> str:
    return shlex.quote(value)


# ---------------------------------------------------------------- CloudTrail


def _trail(record: CloudTrailRecord) -> str | None:
    return _text(record.params.get("name")) or _text(record.params.get("trailName"))


def _cloudtrail(record: CloudTrailRecord, context: EvalContext) -> Verdict | None:
    trail = _trail(record)
    shown = trail or "(trail not named in the event)"
    safe = trail if trail and TRAIL.fullmatch(trail) else None
    name = _quote(trail or "<trail>")
    region = _region(record)
    event = record.eventName
    if event == "StopLogging":
        return Verdict(
            Severity.CRITICAL,
            "trail",
            shown,
            f"stopped logging of trail {shown}: from now on no API call is recorded, so no rule sees it",
            f"Restart it: aws cloudtrail start-logging --name {name}{region}.",
            action=f"start logging of trail {safe} again (then re-read its status)" if safe else None,
            remediation="start_logging",
            undo=f"aws cloudtrail stop-logging --name {name}{region}",
            details={"trail": safe},
        )
    if event == "DeleteTrail":
        return Verdict(
            Severity.CRITICAL,
            "trail",
            shown,
            f"deleted trail {shown}: what it recorded is no longer recorded",
            f"Recreate it (its bucket and settings are not in the event): aws cloudtrail create-trail --name {name} "
            f"--s3-bucket-name <bucket> --is-multi-region-trail{region}, then aws cloudtrail start-logging "
            f"--name {name}{region}.",
        )
    if event == "UpdateTrail":
        change = trail_update(record.params)
        return Verdict(
            Severity.LOW if change.whole else Severity.CRITICAL,
            "trail",
            shown,
            f"updated trail {shown}: {change.what}",
            f"The previous settings are not in the event: compare with your infrastructure code (aws cloudtrail "
            f"get-trail --name {name}{region}) and put them back with aws cloudtrail update-trail.",
        )
    if event == "PutEventSelectors":
        selectors = event_selectors_change(record.params)
        if selectors is None:
            return None
        sent = json.dumps(
            {k: record.params[k] for k in ("eventSelectors", "advancedEventSelectors") if k in record.params},
            separators=(",", ":"),
        )
        return Verdict(
            Severity.LOW if selectors.whole else Severity.CRITICAL,
            "trail",
            shown,
            f"changed the event selectors of trail {shown}: {selectors.what}. New selectors: {sent}",
            "The previous selectors are not in the event, so nothing is restored automatically. Selectors that "
            f"record every management event: aws cloudtrail put-event-selectors --trail-name {name} "
            '--event-selectors \'[{"ReadWriteType":"All","IncludeManagementEvents":true}]\''
            f"{region} (add back any data-event selectors you had).",
        )
    insights = insight_selectors_change(record.params)
    if insights is None:
        return None
    return Verdict(
        Severity.LOW,
        "trail",
        shown,
        f"changed the Insights selectors of trail {shown}: {insights.what}",
        f"Turn Insights back on: aws cloudtrail put-insight-selectors --trail-name {name} "
        f'--insight-selectors \'[{{"InsightType":"ApiCallRateInsight"}}]\'{region}.',
    )


# ---------------------------------------------------------------- GuardDuty, Config, Security Hub, Access Analyzer


def _disabled_features(params: dict[str, Any]) -> list[str]:
    features = params.get("features") or params.get("dataSources") or []
    if not isinstance(features, list):
        return []
    return [
        str(f.get("name") or f.get("Name"))
        for f in features
        if isinstance(f, dict) and str(f.get("status") or f.get("Status") or "").upper() == "DISABLED"
    ]


def _guardduty(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    detector = _text(record.params.get("detectorId"))
    shown = detector or "(detector not named in the event)"
    safe = detector if detector and DETECTOR.fullmatch(detector) else None
    region = _region(record)
    event = record.eventName
    if event == "DeleteDetector":
        return Verdict(
            Severity.CRITICAL,
            "detector",
            shown,
            f"deleted GuardDuty detector {shown}: threat detection in this region is off and its findings are gone",
            f"Turn it back on: aws guardduty create-detector --enable{region}.",
        )
    if event == "UpdateDetector":
        if record.params.get("enable") is False or str(record.params.get("enable")).lower() == "false":
            return Verdict(
                Severity.CRITICAL,
                "detector",
                shown,
                f"disabled GuardDuty detector {shown}: no threat is detected",
                f"Re-enable it: aws guardduty update-detector --detector-id {_quote(detector or '<detector>')} "
                f"--enable{region}.",
                action=f"re-enable GuardDuty detector {safe} (then re-read its status)" if safe else None,
                remediation="enable_detector",
                details={"detector": safe},
                undo=f"aws guardduty update-detector --detector-id {safe} --no-enable{region}",
            )
        disabled = _disabled_features(record.params)
        if disabled:
            return Verdict(
                Severity.HIGH,
                "detector",
                shown,
                f"turned off GuardDuty protections {', '.join(disabled)} of detector {shown}",
                "Turn them back on: aws guardduty update-detector --detector-id "
                f"{_quote(detector or '<detector>')} --features "
                + " ".join(f"Name={_quote(n)},Status=ENABLED" for n in disabled)
                + f"{region}.",
            )
        return Verdict(
            Severity.LOW,
            "detector",
            shown,
            f"updated GuardDuty detector {shown}; it stays enabled with its protections",
            "Nothing to restore unless the change was not yours.",
        )
    return Verdict(
        Severity.CRITICAL,
        "detector",
        shown,
        f"took GuardDuty detector {shown} out of its administrator account ({event}): the security team "
        "no longer sees this account's findings",
        "The administrator account invites it again (aws guardduty create-members, then accept the "
        f"invitation here with aws guardduty accept-administrator-invitation{region}).",
    )


def _config(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    region = _region(record)
    if record.eventName == "DeleteDeliveryChannel":
        channel = _text(record.params.get("deliveryChannelName")) or "(channel not named in the event)"
        return Verdict(
            Severity.CRITICAL,
            "delivery-channel",
            channel,
            f"deleted AWS Config delivery channel {channel}: configuration history is no longer delivered",
            "Recreate it: aws configservice put-delivery-channel --delivery-channel "
            f"name={_quote(channel)},s3BucketName=<bucket>{region}, then start the recorder.",
        )
    recorder = _text(record.params.get("configurationRecorderName"))
    shown = recorder or "(recorder not named in the event)"
    safe = recorder if recorder and RECORDER.fullmatch(recorder) else None
    if record.eventName == "DeleteConfigurationRecorder":
        return Verdict(
            Severity.CRITICAL,
            "recorder",
            shown,
            f"deleted AWS Config recorder {shown}: resource changes are no longer recorded",
            "Recreate it: aws configservice put-configuration-recorder --configuration-recorder "
            f"name={_quote(recorder or 'default')},roleARN=<role> --recording-group allSupported=true"
            f"{region}, then aws configservice start-configuration-recorder "
            f"--configuration-recorder-name {_quote(recorder or 'default')}{region}.",
        )
    return Verdict(
        Severity.CRITICAL,
        "recorder",
        shown,
        f"stopped AWS Config recorder {shown}: resource changes are no longer recorded",
        f"Restart it: aws configservice start-configuration-recorder "
        f"--configuration-recorder-name {_quote(recorder or '<recorder>')}{region}.",
        action=f"restart AWS Config recorder {safe} (then re-read its status)" if safe else None,
        remediation="start_recorder",
        details={"recorder": safe},
        undo=f"aws configservice stop-configuration-recorder --configuration-recorder-name {_quote(safe or '')}"
        f"{region}",
    )


def _security_hub(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    region = _region(record)
    return Verdict(
        Severity.CRITICAL,
        "hub",
        record.awsRegion or "securityhub",
        "disabled Security Hub: its findings and standards checks in this region are gone",
        f"Turn it back on: aws securityhub enable-security-hub --enable-default-standards{region}.",
    )


def _access_analyzer(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    analyzer = _text(record.params.get("analyzerName")) or "(analyzer not named in the event)"
    return Verdict(
        Severity.CRITICAL,
        "analyzer",
        analyzer,
        f"deleted IAM Access Analyzer {analyzer}: external access is no longer analysed",
        f"Recreate it: aws accessanalyzer create-analyzer --analyzer-name {_quote(analyzer)} "
        f"--type ACCOUNT{_region(record)} (ORGANIZATION from the delegated administrator).",
    )


# ---------------------------------------------------------------- Organizations

GUARDRAIL_POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


def _organizations(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    params = record.params
    event = record.eventName
    if event == "LeaveOrganization":
        return Verdict(
            Severity.CRITICAL,
            "account",
            record.account or "this account",
            "took the account out of its organization: no SCP applies to it any more and the "
            "organization's trail and security services no longer cover it",
            "Invite it back from the management account (aws organizations invite-account-to-organization"
            f" --target Id={record.account or '<account>'},Type=ACCOUNT) and accept the invitation.",
        )
    if event == "DisablePolicyType":
        policy_type = _text(params.get("policyType")) or "(type not in the event)"
        root = _text(params.get("rootId")) or "<root>"
        guardrail = policy_type in GUARDRAIL_POLICY_TYPES or not _text(params.get("policyType"))
        return Verdict(
            Severity.CRITICAL if guardrail else Severity.LOW,
            "policy-type",
            policy_type,
            f"disabled policy type {policy_type} in organization root {root}"
            + (": every such policy stops applying" if guardrail else ""),
            f"Enable it again: aws organizations enable-policy-type --root-id {_quote(root)} "
            f"--policy-type {_quote(policy_type)}, then attach the policies again.",
        )
    policy = _text(params.get("policyId")) or "(policy not named in the event)"
    if event == "DetachPolicy":
        target = _text(params.get("targetId")) or "(target not in the event)"
        if policy == "p-FullAWSAccess":  # AWS's allow-everything SCP: detaching it restricts, never opens
            return Verdict(
                Severity.LOW,
                "policy",
                policy,
                f"detached {policy} from {target}: this narrows what the target may do",
                f"Attach it again if that was not meant: aws organizations "
                f"attach-policy --policy-id {policy} --target-id {_quote(target)}.",
            )
        return Verdict(
            Severity.CRITICAL,
            "policy",
            policy,
            f"detached organization policy {policy} from {target} (the event does not say its type: a "
            "service control policy is assumed): the guardrails it set no longer apply there",
            f"Attach it again: aws organizations attach-policy --policy-id {_quote(policy)} "
            f"--target-id {_quote(target)}.",
        )
    return Verdict(
        Severity.CRITICAL,
        "policy",
        policy,
        f"deleted organization policy {policy} (the event does not say its type: a service control policy "
        "is assumed): its guardrails are gone",
        "Recreate it from your infrastructure code (aws organizations create-policy --type "
        "SERVICE_CONTROL_POLICY ...) and attach it where it was.",
    )


# ---------------------------------------------------------------- S3 lifecycle on a trail's bucket


def _lifecycle(record: CloudTrailRecord, context: EvalContext) -> Verdict | None:
    bucket = _text(record.params.get("bucketName"))
    retention = context.settings.trail_log_retention_days
    short = short_expirations(record.params, retention, record.event_time)
    if not short or not bucket:
        return None
    rules = "; ".join(
        f"rule {rule_id} expires objects after {days} days: {json.dumps(rule, separators=(',', ':'))}"
        for rule_id, days, rule in short
    )
    restore = (
        f"Remove or lengthen the rule (aws s3api get-bucket-lifecycle-configuration --bucket {_quote(bucket)} "
        f"shows them all; aws s3api delete-bucket-lifecycle --bucket {_quote(bucket)} removes them all)."
    )
    what = (
        f"set a lifecycle on bucket {bucket} that deletes logs sooner than the {retention} days they must be "
        f"kept ({rules})"
    )
    if context.assumed:
        return Verdict(
            Severity.CRITICAL,
            "bucket",
            bucket,
            what + "; dry run: the bucket is assumed to be a trail's bucket",
            restore,
        )
    try:
        buckets = context.state.trail_buckets(record.awsRegion)
    except StateUnreadable as error:
        return Verdict(
            Severity.LOW,
            "bucket",
            bucket,
            what + f"; could not read {error}, so whether it holds a trail's logs is unknown",
            restore,
        )
    if bucket not in buckets:
        return None
    return Verdict(Severity.CRITICAL, "bucket", bucket, what + "; the bucket receives a trail's logs", restore)


# ---------------------------------------------------------------- VPC flow logs, Resolver query logs


def _flow_log_ids(params: dict[str, Any]) -> list[str]:
    request = params.get("DeleteFlowLogsRequest")
    items: Any = request.get("FlowLogId") if isinstance(request, dict) else params.get("flowLogIds")
    items = items if isinstance(items, list) else [items]
    ids = [item.get("content") if isinstance(item, dict) else item for item in items]
    return [i for i in ids if isinstance(i, str) and i]


def _flow_logs(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    ids = _flow_log_ids(record.params)
    shown = ", ".join(ids) or "(flow logs not named in the event)"
    return Verdict(
        Severity.HIGH,
        "flow-log",
        shown,
        f"deleted VPC flow logs {shown}: network traffic is no longer recorded",
        "Recreate them (their settings are not in the event): aws ec2 create-flow-logs --resource-type "
        "VPC --resource-ids <vpc> --traffic-type ALL --log-destination-type s3 --log-destination <arn>"
        f"{_region(record)}.",
    )


def _query_logs(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    config_id = _text(record.params.get("resolverQueryLogConfigId")) or "(not named in the event)"
    deleted = record.response.get("resolverQueryLogConfig")
    deleted = deleted if isinstance(deleted, dict) else {}
    destination = _text(deleted.get("destinationArn")) or "<destination-arn>"
    name = _text(deleted.get("name")) or "<name>"
    return Verdict(
        Severity.HIGH,
        "query-log-config",
        config_id,
        f"deleted Route 53 Resolver query logging configuration {config_id} (destination "
        f"{destination}): DNS queries are no longer logged",
        "Recreate it and associate your VPCs again: aws route53resolver "
        f"create-resolver-query-log-config --name {_quote(name)} --destination-arn {_quote(destination)}"
        f"{_region(record)}, then associate-resolver-query-log-config per VPC.",
    )


JUDGES: dict[str, Callable[[CloudTrailRecord, EvalContext], Verdict | None]] = {
    "cloudtrail.amazonaws.com": _cloudtrail,
    "guardduty.amazonaws.com": _guardduty,
    "config.amazonaws.com": _config,
    "securityhub.amazonaws.com": _security_hub,
    "access-analyzer.amazonaws.com": _access_analyzer,
    "organizations.amazonaws.com": _organizations,
    "s3.amazonaws.com": _lifecycle,
    "ec2.amazonaws.com": _flow_logs,
    "route53resolver.amazonaws.com": _query_logs,
}


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    verdict = JUDGES[record.eventSource](record, context)
    if verdict is None:
        return None
    caller = record.identity
    where = ", ".join(
        part for part in (record.awsRegion, record.sourceIPAddress and f"from {record.sourceIPAddress}") if part
    )
    reason = f"{caller.display_name}{f' ({where})' if where else ''} {verdict.what}. {verdict.restore}"
    exemption = exemption_for(context, record, verdict.kind, verdict.name, None)
    action = verdict.action
    if action is None and verdict.remediation:
        reason += " The event does not name it in a form we can act on, so nothing is changed automatically."
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=verdict.severity,
        reason=reason,
        resource=Resource(verdict.kind, verdict.name, record.account),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=verdict.undo if action else None,
        details={
            **(verdict.details or {}),
            "remediation": verdict.remediation if action else None,
            "region": record.awsRegion,
        },
    )


# ---------------------------------------------------------------- remediate: restart what was stopped


def _start_logging(aws: AwsClients, region: str | None, trail: str) -> ActionResult:
    if trail.startswith("arn:"):
        region = trail.split(":")[3]  # a trail is started in its home region
    client = aws.cloudtrail(region)
    client.start_logging(Name=trail)
    if client.get_trail_status(Name=trail).get("IsLogging"):
        return ActionResult(Outcome.VERIFIED, f"trail {trail} is logging again (verified by re-reading its status).")
    return ActionResult(Outcome.FAILED, f"trail {trail} still reads as not logging after StartLogging.")


def _enable_detector(aws: AwsClients, region: str | None, detector: str) -> ActionResult:
    client = aws.guardduty(region)
    client.update_detector(DetectorId=detector, Enable=True)
    status = client.get_detector(DetectorId=detector).get("Status")
    if status == "ENABLED":
        return ActionResult(
            Outcome.VERIFIED, f"GuardDuty detector {detector} is enabled again (verified by re-reading it)."
        )
    return ActionResult(Outcome.FAILED, f"GuardDuty detector {detector} still reads {status} after re-enabling.")


def _start_recorder(aws: AwsClients, region: str | None, recorder: str) -> ActionResult:
    client = aws.config(region)
    client.start_configuration_recorder(ConfigurationRecorderName=recorder)
    statuses = client.describe_configuration_recorder_status(ConfigurationRecorderNames=[recorder])[
        "ConfigurationRecordersStatus"
    ]
    if any(status.get("recording") for status in statuses):
        return ActionResult(
            Outcome.VERIFIED, f"AWS Config recorder {recorder} is recording again (verified by re-reading its status)."
        )
    return ActionResult(Outcome.FAILED, f"AWS Config recorder {recorder} still reads as stopped after restarting.")


# Errors that mean the thing is gone (deleted since): nothing left to restart.
GONE = frozenset(
    {
        "TrailNotFoundException",
        "NoSuchConfigurationRecorderException",
        "BadRequestException",
        "InvalidTrailNameException",
    }
)
REMEDIATIONS: dict[str, tuple[str, Callable[[AwsClients, str | None, str], ActionResult]]] = {
    "start_logging": ("trail", _start_logging),
    "enable_detector": ("detector", _enable_detector),
    "start_recorder": ("recorder", _start_recorder),
}


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Restart what was stopped, in the region it was stopped in, then re-read it to verify."""
    key, restart = REMEDIATIONS[finding.details["remediation"]]
    target = finding.details[key]
    try:
        return restart(aws, finding.details.get("region"), target)
    except ClientError as error:
        code = error_code(error)
        if code in GONE:
            return ActionResult(
                Outcome.SKIPPED, f"{key} {target} no longer exists: nothing to restart.", f"{code}: {error}"
            )
        return ActionResult(Outcome.FAILED, f"could not restart {key} {target}.", f"{code}: {error}")
