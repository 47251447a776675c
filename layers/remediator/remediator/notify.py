"""One SNS publish per finding: readable text for email, AWS Chatbot JSON for Slack, attributes for filters."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

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
    """An exemption admin's command for this resource and rule; every value is quoted, so a name in the
    message can never turn the pasted line into a redirect or a second command."""
    pattern = finding.resource.arn
    if not pattern:
        return (f"an exemption admin runs remediator exempt add --pattern 'ARN' --rule {shlex.quote(finding.rule)} "
                "... (the event names no ARN to suggest), or sets the rule's mode in the stack parameters")
    return (f"an exemption admin runs remediator exempt add --pattern {shlex.quote(pattern)} "
            f"--rule {shlex.quote(finding.rule)} --reason '<why>' --expires 'YYYY-MM-DD' --approver '<who>'")


def email_text(finding: Finding, record: CloudTrailRecord, result: ActionResult) -> str:
    """Who, what, where, when, what we did (and whether it held), how to undo and how to exempt."""
    caller = record.identity
    lines = [
        f"{severity_of(finding, result).upper()} finding from rule {finding.rule}",
        "",
        finding.reason,
        "",
        f"Who:     {caller.arn or caller.display_name} ({caller.type or 'unknown type'})",
        f"What:    {record.eventName} on {record.eventSource}",
        f"Where:   account {record.account or 'unknown'}, region {record.awsRegion or 'unknown'}",
        f"When:    {record.eventTime or 'unknown'}",
        f"From:    {record.sourceIPAddress or 'unknown'} ({record.userAgent or 'no user agent'})",
        f"Event:   {record.eventID or 'no eventID'}",
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


def chatbot_payload(finding: Finding, record: CloudTrailRecord, result: ActionResult) -> dict[str, Any]:
    """AWS Chatbot custom notification (Slack, Teams): title, description, next steps, keywords."""
    next_steps = []
    if result.outcome == Outcome.VERIFIED and finding.undo:
        next_steps.append(f"Undo: `{finding.undo}`")
    if not finding.exempt:
        next_steps.append(f"Exempt: `{_how_to_exempt(finding)}`")
    return {
        "version": "1.0",
        "source": "custom",
        "id": record.eventID or "",
        "content": {
            "textType": "client-markdown",
            "title": f":rotating_light: {subject(finding, result)}",
            "description": f"{finding.reason}\n*Outcome:* {result.detail}",
            "nextSteps": next_steps,
            "keywords": [finding.rule, str(severity_of(finding, result)), record.account or "unknown-account"],
        },
        "metadata": {
            "threadId": f"{finding.rule}-{finding.resource.name}",
            "summary": subject(finding, result),
            "eventType": record.eventName,
            "relatedResources": [arn for arn in (finding.resource.arn, record.identity.arn) if arn],
            "additionalContext": {"eventID": record.eventID or "", "outcome": str(result.outcome)},
        },
    }


def message_attributes(finding: Finding, record: CloudTrailRecord, result: ActionResult) -> dict[str, Any]:
    """For subscription filter policies: e.g. only critical findings to the pager."""
    values = {
        "severity": str(severity_of(finding, result)),
        "rule": finding.rule,
        "account": record.account or "unknown",
        "action": str(result.outcome),
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def build_publish_request(topic_arn: str, finding: Finding, record: CloudTrailRecord,
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


def publish(sns: SNSClient, topic_arn: str, finding: Finding, record: CloudTrailRecord,
            result: ActionResult) -> str:
    """Publish one notification; returns the SNS MessageId."""
    return sns.publish(**build_publish_request(topic_arn, finding, record, result))["MessageId"]
