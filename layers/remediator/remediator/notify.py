"""One SNS publish per finding: readable text for email, AWS Chatbot JSON for Slack, attributes for filters.

An event's finding says who did what, where and when (its CloudTrail record); a finding of the scheduled
sweep has no record (`record=None`) and says it was found by the sweep instead.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from remediator.config import EXEMPT_TAG
from remediator.events import CloudTrailRecord
from remediator.findings import ActionResult, Finding, Outcome, Severity

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

_OUTCOME_WORDS = {
    Outcome.NOTIFIED: "Reported only (notify mode)",
    Outcome.EXEMPT: "Exempt: nothing changed",
    Outcome.VERIFIED: "Remediated and verified",
    Outcome.FAILED: "COULD NOT REMEDIATE",
    Outcome.SKIPPED: "Remediation skipped",
}


def severity_of(finding: Finding, result: ActionResult) -> Severity:
    """A remediation that failed is critical whatever the finding: the risky change is still in place."""
    return Severity.CRITICAL if result.outcome == Outcome.FAILED else finding.severity


def subject(finding: Finding, result: ActionResult) -> str:
    """SNS subjects are printable ASCII, one line, at most 100 characters."""
    outcome = _OUTCOME_WORDS[result.outcome]
    text = f"[{severity_of(finding, result).upper()}] {finding.rule}: {outcome} ({finding.resource.name})"
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:100]


def _how_to_exempt(finding: Finding) -> str:
    kind = finding.resource.kind
    if kind in {"user", "role"}:
        verb = "tag-user --user-name" if kind == "user" else "tag-role --role-name"
        return (f"aws iam {verb} {finding.resource.name} --tags Key={EXEMPT_TAG},Value=<reason>  "
                "(or add the principal ARN to the BreakGlassArns parameter)")
    return f"set the {finding.rule} mode to notify or off in the stack parameters"


SCHEDULED = "the scheduled sweep"


def _account(finding: Finding, record: CloudTrailRecord | None) -> str:
    return (record.account if record is not None else finding.resource.account) or "unknown"


def _origin(finding: Finding, record: CloudTrailRecord | None) -> list[str]:
    """Who did what, where and when; for the sweep, what it read (no CloudTrail event to quote)."""
    if record is None:
        return [f"Found:   by {SCHEDULED} (account state, no CloudTrail event)",
                f"What:    {finding.resource.kind} {finding.resource.arn or finding.resource.name}",
                f"Where:   account {_account(finding, record)}"]
    caller = record.identity
    return [
        f"Who:     {caller.arn or caller.display_name} ({caller.type or 'unknown type'})",
        f"What:    {record.eventName} on {record.eventSource}",
        f"Where:   account {record.account or 'unknown'}, region {record.awsRegion or 'unknown'}",
        f"When:    {record.eventTime or 'unknown'}",
        f"From:    {record.sourceIPAddress or 'unknown'} ({record.userAgent or 'no user agent'})",
        f"Event:   {record.eventID or 'no eventID'}",
    ]


def email_text(finding: Finding, record: CloudTrailRecord | None, result: ActionResult) -> str:
    """Who, what, where, when, what we did (and whether it held), how to undo and how to exempt."""
    lines = [
        f"{severity_of(finding, result).upper()} finding from rule {finding.rule}",
        "",
        finding.reason,
        "",
        *_origin(finding, record),
        "",
        f"Outcome: {_OUTCOME_WORDS[result.outcome]}: {result.detail}",
    ]
    if result.error:
        lines.append(f"Error:   {result.error}")
    if result.outcome == Outcome.VERIFIED and finding.undo:
        lines.append(f"Undo:    {finding.undo}")
    elif finding.action and result.outcome == Outcome.NOTIFIED:
        lines.append(f"Remediate mode would: {finding.action}")
    if not finding.exempt:
        lines.append(f"Exempt:  {_how_to_exempt(finding)}")
    return "\n".join(lines)


def chatbot_payload(finding: Finding, record: CloudTrailRecord | None, result: ActionResult) -> dict[str, Any]:
    """AWS Chatbot custom notification (Slack, Teams): title, description, next steps, keywords."""
    next_steps = []
    if result.outcome == Outcome.VERIFIED and finding.undo:
        next_steps.append(f"Undo: `{finding.undo}`")
    if not finding.exempt:
        next_steps.append(f"Exempt: `{_how_to_exempt(finding)}`")
    return {
        "version": "1.0",
        "source": "custom",
        "id": (record.eventID if record is not None else None) or "",
        "content": {
            "textType": "client-markdown",
            "title": f":rotating_light: {subject(finding, result)}",
            "description": f"{finding.reason}\n*Outcome:* {result.detail}",
            "nextSteps": next_steps,
            "keywords": [finding.rule, str(severity_of(finding, result)),
                         (record.account if record is not None else finding.resource.account) or "unknown-account"],
        },
        "metadata": {
            "threadId": f"{finding.rule}-{finding.resource.name}",
            "summary": subject(finding, result),
            "eventType": record.eventName if record is not None else SCHEDULED,
            "relatedResources": [arn for arn in (finding.resource.arn, record and record.identity.arn) if arn],
            "additionalContext": {"eventID": (record.eventID if record is not None else None) or "",
                                  "outcome": str(result.outcome)},
        },
    }


def message_attributes(finding: Finding, record: CloudTrailRecord | None, result: ActionResult) -> dict[str, Any]:
    """For subscription filter policies: e.g. only critical findings to the pager."""
    values = {
        "severity": str(severity_of(finding, result)),
        "rule": finding.rule,
        "account": _account(finding, record),
        "action": str(result.outcome),
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def build_publish_request(topic_arn: str, finding: Finding, record: CloudTrailRecord | None,
                          result: ActionResult) -> dict[str, Any]:
    """The exact `sns.publish` arguments; AWS rejects a JSON message without `default`."""
    text = email_text(finding, record, result)
    message = {"default": text, "email": text, "https": json.dumps(chatbot_payload(finding, record, result))}
    return {
        "TopicArn": topic_arn,
        "Subject": subject(finding, result),
        "MessageStructure": "json",
        "Message": json.dumps(message),
        "MessageAttributes": message_attributes(finding, record, result),
    }


def publish(sns: SNSClient, topic_arn: str, finding: Finding, record: CloudTrailRecord | None,
            result: ActionResult) -> str:
    """Publish one notification (`record` None: a finding of the scheduled sweep); returns the SNS MessageId."""
    return sns.publish(**build_publish_request(topic_arn, finding, record, result))["MessageId"]
