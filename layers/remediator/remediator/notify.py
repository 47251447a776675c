"""One SNS publish per finding: readable text for email, AWS Chatbot JSON for Slack, the finding as JSON for
queues and functions (`sqs`, `lambda`), attributes for filters.

An event's finding says who did what, where and when (its CloudTrail record); a finding of the scheduled
sweep has no record (`record=None`) and says it was found by the sweep instead.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from remediator.events import CloudTrailRecord
from remediator.findings import ActionResult, Finding, Mode, Outcome, Severity
from remediator.manual import fix_command
from remediator.rules.base import partition_of
from remediator.store import ACTION_BUDGET_PER_HOUR

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# The headline of each outcome; `result.detail` says the rest ("nothing changed: ...").
_OUTCOME_WORDS = {
    Outcome.NOTIFIED: "Reported only",
    Outcome.EXEMPT: "Exempt",
    Outcome.VERIFIED: "Remediated and verified",
    Outcome.FAILED: "COULD NOT REMEDIATE",
    Outcome.SKIPPED: "Remediation skipped",
}
_CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


def severity_of(finding: Finding, result: ActionResult) -> Severity:
    """A remediation that failed is critical whatever the finding: the risky change is still in place."""
    return Severity.CRITICAL if result.outcome == Outcome.FAILED else finding.severity


def outcome_words(finding: Finding, result: ActionResult) -> str:
    """ "(notify mode)" only when the rule really is in notify mode, not for a remediate-mode rule that reports."""
    words = _OUTCOME_WORDS[result.outcome]
    if result.outcome == Outcome.NOTIFIED and finding.mode == Mode.NOTIFY:
        words += " (notify mode)"
    return words


def outcome_line(finding: Finding, result: ActionResult) -> str:
    """Headline and detail, without saying a thing twice ("Reported only: reported only: ...")."""
    words, detail = _OUTCOME_WORDS[result.outcome], result.detail
    if detail.lower().startswith(words.lower()):
        return detail[0].upper() + detail[1:]
    return f"{words}: {detail}"


def subject(finding: Finding, result: ActionResult, account: str | None = None) -> str:
    """SNS subjects are printable ASCII, one line, at most 100 characters."""
    where = f" in {account}" if account else ""
    name = finding.resource.name
    if name.startswith("arn:"):  # the resource part of an ARN is what a reader recognises; keep room for the rest
        name = name.split(":", 5)[-1]
    text = f"[{severity_of(finding, result).upper()}] {finding.rule}: {outcome_words(finding, result)} ({name}){where}"
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:100]


def mode_parameter(rule: str) -> str:
    """The template parameter that sets a rule's mode: access_keys -> AccessKeysMode."""
    return "".join(part.title() for part in rule.split("_")) + "Mode"


def _how_to_exempt(finding: Finding) -> tuple[str, str]:
    """(shell command or "", who runs it or what else to do). Every value is quoted, so a name chosen by the
    actor of the event can never turn the pasted line into a redirect or a second command."""
    pattern = finding.resource.arn
    if not pattern:
        return "", (
            f"the event names no ARN to suggest: an exemption admin adds one with remediator exempt add "
            f"--rule {finding.rule}, or sets {mode_parameter(finding.rule)} in the stack parameters"
        )
    return (
        f"remediator exempt add --pattern {shlex.quote(pattern)} --rule {shlex.quote(finding.rule)} "
        "--reason 'why this is exempt' --expires YYYY-MM-DD --approver 'who approved it'",
        "an exemption admin runs it",
    )


# Where the other services' resources a finding names are looked at (the resource kind -> console page).
_SERVICE_PAGES = {
    "trail": "cloudtrailv2/home?region={region}#/trails",
    "detector": "guardduty/home?region={region}#/settings",
    "recorder": "config/home?region={region}#/settings",
    "delivery-channel": "config/home?region={region}#/settings",
    "hub": "securityhub/home?region={region}#/settings",
    "analyzer": "access-analyzer/home?region={region}#/analyzers",
    "bucket": "s3/home?region={region}",
    "instance": "ec2/home?region={region}#Instances:",
}


def _console_host(record: CloudTrailRecord | None) -> str:
    partition = partition_of(record) if record is not None else "aws"
    return _CONSOLE_HOSTS.get(partition, _CONSOLE_HOSTS["aws"])


def console_link(finding: Finding, record: CloudTrailRecord | None) -> str:
    """Where a human looks at the resource (IAM console), or at the event when the resource has no page."""
    resource, base = finding.resource, f"https://{_console_host(record)}/iam/home"
    pages = {"user": "users", "role": "roles", "group": "groups"}
    if resource.kind in pages and resource.name != "unknown":
        return f"{base}#/{pages[resource.kind]}/details/{quote(resource.name, safe='')}"
    if resource.kind == "policy" and resource.arn:
        return f"{base}#/policies/details/{quote(resource.arn, safe='')}"
    if resource.kind == "root":
        return f"{base}#/security_credentials"
    if resource.kind == "identity_provider":
        return f"{base}#/identity_providers"
    region = (record.awsRegion if record is not None else None) or "us-east-1"
    if page := _SERVICE_PAGES.get(resource.kind):
        return f"https://{region}.{_console_host(record)}/{page.format(region=region)}"
    return event_link(record) if record is not None else f"{base}#/home"


def event_link(record: CloudTrailRecord) -> str:
    """The event in CloudTrail's event history (management events, 90 days)."""
    region = record.awsRegion or "us-east-1"
    host = f"{region}.{_console_host(record)}"
    if record.eventID:
        return f"https://{host}/cloudtrailv2/home?region={region}#/events/{quote(record.eventID, safe='')}"
    return f"https://{host}/cloudtrailv2/home?region={region}#/events"


def _next_steps(finding: Finding, result: ActionResult) -> list[tuple[str, str, str]]:
    """(label, command, note): undo what we did, fix by hand what we did not, exempt what is expected."""
    steps = []
    if result.outcome == Outcome.VERIFIED and finding.undo:
        steps.append(("Undo", finding.undo, ""))
    elif result.outcome == Outcome.NOTIFIED and (command := fix_command(finding)):
        steps.append(("Fix by hand", command, ""))
    if not finding.exempt:
        steps.append(("Exempt", *_how_to_exempt(finding)))
    return steps


def _step_text(command: str, note: str, *, markdown: bool) -> str:
    shown = f"`{command}`" if markdown and command else command
    return f"{shown}  ({note})" if command and note else shown or note


SCHEDULED = "the scheduled sweep"


def _account(finding: Finding, record: CloudTrailRecord | None) -> str:
    return (record.account if record is not None else None) or finding.resource.account or "unknown"


def _origin(finding: Finding, record: CloudTrailRecord | None) -> list[str]:
    """Who did what, where and when, with links; for the sweep, what it read (no CloudTrail event to quote)."""
    account = _account(finding, record)
    if name := finding.details.get("account_name"):  # organization mode: the member account's name
        account = f"{account} ({name})"
    if record is None:
        return [
            f"Found:   by {SCHEDULED} (account state, no CloudTrail event)",
            f"What:    {finding.resource.kind} {finding.resource.arn or finding.resource.name}",
            f"Where:   account {account}",
            f"Console: {console_link(finding, record)}",
        ]
    caller = record.identity
    return [
        f"Who:     {caller.arn or caller.display_name} ({caller.type or 'unknown type'})",
        f"What:    {record.eventName} on {record.eventSource}",
        f"Where:   account {account}, region {record.awsRegion or 'unknown'}",
        f"When:    {record.eventTime or 'unknown'}",
        f"From:    {record.sourceIPAddress or 'unknown'} ({record.userAgent or 'no user agent'})",
        f"Event:   {record.eventID or 'no eventID'}",
        f"Console: {console_link(finding, record)}",
        f"History: {event_link(record)}",
    ]


def email_text(finding: Finding, record: CloudTrailRecord | None, result: ActionResult) -> str:
    """Who, what, where, when, what we did (and whether it held), how to undo or fix it and how to exempt."""
    lines = [
        f"{severity_of(finding, result).upper()} finding from rule {finding.rule} in account "
        f"{_account(finding, record)}",
        "",
        finding.reason,
        "",
        *_origin(finding, record),
        "",
        f"Outcome: {outcome_line(finding, result)}",
    ]
    if result.error:
        lines.append(f"Error:   {result.error}")
    if result.outcome == Outcome.NOTIFIED and finding.action:
        lines.append(f"Remediate mode would: {finding.action}")
    lines += [
        f"{label + ':':<8} {_step_text(command, note, markdown=False)}"
        for label, command, note in _next_steps(finding, result)
    ]
    return "\n".join(lines)


def chatbot_payload(finding: Finding, record: CloudTrailRecord | None, result: ActionResult) -> dict[str, Any]:
    """AWS Chatbot custom notification (Slack, Teams): title, description, next steps, keywords."""
    account = _account(finding, record)
    title = subject(finding, result, account)
    region = (record.awsRegion if record is not None else None) or "unknown region"
    return {
        "version": "1.0",
        "source": "custom",
        "id": (record.eventID if record is not None else None) or "",
        "content": {
            "textType": "client-markdown",
            "title": f":rotating_light: {title}",
            "description": (
                f"{finding.reason}\n*Account:* {account} ({region})\n"
                f"*Outcome:* {outcome_line(finding, result)}\n"
                f"*Console:* {console_link(finding, record)}"
            ),
            "nextSteps": [
                f"{label}: {_step_text(command, note, markdown=True)}"
                for label, command, note in _next_steps(finding, result)
            ],
            "keywords": [finding.rule, str(severity_of(finding, result)), account],
        },
        "metadata": {
            "threadId": finding.details.get("thread") or f"{finding.rule}-{finding.resource.name}",
            "summary": title,
            "eventType": record.eventName if record is not None else SCHEDULED,
            "relatedResources": [arn for arn in (finding.resource.arn, record and record.identity.arn) if arn],
            "additionalContext": {
                "eventID": (record.eventID if record is not None else None) or "",
                "outcome": str(result.outcome),
                "account": account,
            },
        },
    }


def finding_document(finding: Finding, record: CloudTrailRecord | None, result: ActionResult) -> dict[str, Any]:
    """The finding for machines (the `sqs` and `lambda` keys): a queue or function subscribed to the topic
    reads fields, not email text."""
    resource = finding.resource
    caller = record.identity if record is not None else None
    return {
        "rule": finding.rule,
        "severity": str(severity_of(finding, result)),
        "mode": str(finding.mode),
        "action": finding.action,
        "exempt": finding.exempt,
        "reason": finding.reason,
        "outcome": str(result.outcome),
        "detail": result.detail,
        "error": result.error,
        "account": _account(finding, record),
        "region": record.awsRegion if record is not None else None,
        "resource": {"kind": resource.kind, "name": resource.name, "arn": resource.arn},
        "eventID": record.eventID if record is not None else None,
        "eventName": record.eventName if record is not None else None,
        "eventTime": record.eventTime if record is not None else None,
        "foundBy": "event" if record is not None else "sweep",
        "caller": {"arn": caller.arn, "type": caller.type, "name": caller.display_name} if caller else None,
        "undo": finding.undo if result.outcome == Outcome.VERIFIED else None,
        "fix_command": fix_command(finding) if result.outcome == Outcome.NOTIFIED else None,
        "text": email_text(finding, record, result),  # what the email says, for a consumer that forwards it
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


def build_publish_request(
    topic_arn: str, finding: Finding, record: CloudTrailRecord | None, result: ActionResult
) -> dict[str, Any]:
    """The exact `sns.publish` arguments; AWS rejects a JSON message without `default`."""
    text = email_text(finding, record, result)
    document = json.dumps(finding_document(finding, record, result))
    message = {
        "default": text,
        "email": text,
        "https": json.dumps(chatbot_payload(finding, record, result)),
        "sqs": document,
        "lambda": document,
    }
    return {
        "TopicArn": topic_arn,
        "Subject": subject(finding, result, _account(finding, record)),
        "MessageStructure": "json",
        "Message": json.dumps(message),
        "MessageAttributes": message_attributes(finding, record, result),
    }


def publish(
    sns: SNSClient, topic_arn: str, finding: Finding, record: CloudTrailRecord | None, result: ActionResult
) -> str:
    """Publish one notification (`record` None: a finding of the scheduled sweep); returns the SNS MessageId."""
    return sns.publish(**build_publish_request(topic_arn, finding, record, result))["MessageId"]


def contested_request(topic_arn: str, finding: Finding, record: CloudTrailRecord) -> dict[str, Any]:
    """The one critical message when a rule's action budget on a resource is spent: a loop with infrastructure
    as code, or someone undoing our fixes as fast as we make them. A person must look; we only notify now."""
    resource = finding.resource.arn or finding.resource.name
    text = "\n".join(
        [
            f"CRITICAL: contested resource {resource}",
            "",
            f"Rule {finding.rule} has changed {finding.resource.name} {ACTION_BUDGET_PER_HOUR} times in the past hour "
            "and something keeps undoing it: a loop with infrastructure as code, or someone fighting the remediator.",
            f"{finding.rule} now only reports changes to {finding.resource.name} (other rules still act) until the "
            "hour has passed. A person must look: fix the source of the change, or exempt the resource.",
            "",
            f"Latest:  {record.eventName} by {record.identity.arn or record.identity.display_name}",
            f"Where:   account {record.account or 'unknown'}, region {record.awsRegion or 'unknown'}",
            f"Event:   {record.eventID or 'no eventID'}",
        ]
    )
    title = f"[CRITICAL] {finding.rule}: contested resource ({finding.resource.name})"
    attributes = {
        "severity": "critical",
        "rule": finding.rule,
        "account": record.account or "unknown",
        "action": "contested",
    }
    document = json.dumps(
        {
            "rule": finding.rule,
            "severity": "critical",
            "outcome": "contested",
            "account": record.account,
            "resource": {"kind": finding.resource.kind, "name": finding.resource.name, "arn": finding.resource.arn},
            "eventID": record.eventID,
            "eventName": record.eventName,
            "text": text,
        }
    )
    return {
        "TopicArn": topic_arn,
        "Subject": "".join(ch if " " <= ch <= "~" else "?" for ch in title)[:100],
        "MessageStructure": "json",
        "Message": json.dumps({"default": text, "email": text, "sqs": document, "lambda": document}),
        "MessageAttributes": {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
    }


def publish_contested(sns: SNSClient, topic_arn: str, finding: Finding, record: CloudTrailRecord) -> str:
    """Publish the contested-resource message; returns the SNS MessageId."""
    return sns.publish(**contested_request(topic_arn, finding, record))["MessageId"]
