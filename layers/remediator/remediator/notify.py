"""One SNS publish per finding: readable text for email, AWS Chatbot JSON for Slack, the finding as JSON for
queues and functions (`sqs`, `lambda`), attributes for filters."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from remediator.config import EXEMPT_TAG
from remediator.events import CloudTrailRecord
from remediator.findings import ActionResult, Finding, Mode, Outcome, Severity
from remediator.manual import fix_command
from remediator.rules.base import partition_of

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
_CONSOLE_HOSTS = {"aws": "console.aws.amazon.com", "aws-us-gov": "console.amazonaws-us-gov.com",
                  "aws-cn": "console.amazonaws.cn"}


def severity_of(finding: Finding, result: ActionResult) -> Severity:
    """A remediation that failed is critical whatever the finding: the risky change is still in place."""
    return Severity.CRITICAL if result.outcome == Outcome.FAILED else finding.severity


def outcome_words(finding: Finding, result: ActionResult) -> str:
    """"(notify mode)" only when the rule really is in notify mode, not for a remediate-mode rule that reports."""
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
    text = (f"[{severity_of(finding, result).upper()}] {finding.rule}: {outcome_words(finding, result)} "
            f"({finding.resource.name}){where}")
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:100]


def mode_parameter(rule: str) -> str:
    """The template parameter that sets a rule's mode: access_keys -> AccessKeysMode."""
    return "".join(part.title() for part in rule.split("_")) + "Mode"


def _how_to_exempt(finding: Finding) -> tuple[str, str]:
    """(shell command or "", what else to do): a command is pasted whole, so nothing else goes in it."""
    from remediator.rules import RULES

    kind = finding.resource.kind
    if kind in {"user", "role"}:
        verb = "tag-user --user-name" if kind == "user" else "tag-role --role-name"
        return (f"aws iam {verb} {shlex.quote(finding.resource.name)} --tags "
                f'Key={EXEMPT_TAG},Value="why this is exempt"',
                "or add the principal ARN to the BreakGlassArns parameter")
    if finding.rule in RULES and not RULES[finding.rule].META.remediation_actions:
        return "", (f"{finding.rule} only reports, it never changes anything; to stop these reports, set the "
                    f"{mode_parameter(finding.rule)} stack parameter to off")
    return "", f"set the {mode_parameter(finding.rule)} stack parameter to notify (report only) or off"


def _console_host(record: CloudTrailRecord) -> str:
    return _CONSOLE_HOSTS.get(partition_of(record), _CONSOLE_HOSTS["aws"])


def console_link(finding: Finding, record: CloudTrailRecord) -> str:
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
    return event_link(record)


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


def email_text(finding: Finding, record: CloudTrailRecord, result: ActionResult) -> str:
    """Who, what, where, when, what we did (and whether it held), how to undo or fix it and how to exempt."""
    caller = record.identity
    account = record.account or finding.resource.account or "unknown"
    lines = [
        f"{severity_of(finding, result).upper()} finding from rule {finding.rule} in account {account}",
        "",
        finding.reason,
        "",
        f"Who:     {caller.arn or caller.display_name} ({caller.type or 'unknown type'})",
        f"What:    {record.eventName} on {record.eventSource}",
        f"Where:   account {account}, region {record.awsRegion or 'unknown'}",
        f"When:    {record.eventTime or 'unknown'}",
        f"From:    {record.sourceIPAddress or 'unknown'} ({record.userAgent or 'no user agent'})",
        f"Event:   {record.eventID or 'no eventID'}",
        f"Console: {console_link(finding, record)}",
        f"History: {event_link(record)}",
        "",
        f"Outcome: {outcome_line(finding, result)}",
    ]
    if result.error:
        lines.append(f"Error:   {result.error}")
    if result.outcome == Outcome.NOTIFIED and finding.action:
        lines.append(f"Remediate mode would: {finding.action}")
    lines += [f"{label + ':':<8} {_step_text(command, note, markdown=False)}"
              for label, command, note in _next_steps(finding, result)]
    return "\n".join(lines)


def chatbot_payload(finding: Finding, record: CloudTrailRecord, result: ActionResult) -> dict[str, Any]:
    """AWS Chatbot custom notification (Slack, Teams): title, description, next steps, keywords."""
    account = record.account or finding.resource.account or "unknown-account"
    title = subject(finding, result, account)
    return {
        "version": "1.0",
        "source": "custom",
        "id": record.eventID or "",
        "content": {
            "textType": "client-markdown",
            "title": f":rotating_light: {title}",
            "description": (f"{finding.reason}\n*Account:* {account} ({record.awsRegion or 'unknown region'})\n"
                            f"*Outcome:* {outcome_line(finding, result)}\n"
                            f"*Console:* {console_link(finding, record)}"),
            "nextSteps": [f"{label}: {_step_text(command, note, markdown=True)}"
                          for label, command, note in _next_steps(finding, result)],
            "keywords": [finding.rule, str(severity_of(finding, result)), account],
        },
        "metadata": {
            "threadId": f"{finding.rule}-{finding.resource.name}",
            "summary": title,
            "eventType": record.eventName,
            "relatedResources": [arn for arn in (finding.resource.arn, record.identity.arn) if arn],
            "additionalContext": {"eventID": record.eventID or "", "outcome": str(result.outcome),
                                  "account": account},
        },
    }


def finding_document(finding: Finding, record: CloudTrailRecord, result: ActionResult) -> dict[str, Any]:
    """The finding for machines (the `sqs` and `lambda` keys): a queue or function subscribed to the topic
    reads fields, not email text."""
    caller = record.identity
    resource = finding.resource
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
        "account": record.account or resource.account,
        "region": record.awsRegion,
        "resource": {"kind": resource.kind, "name": resource.name, "arn": resource.arn},
        "eventID": record.eventID,
        "eventName": record.eventName,
        "eventTime": record.eventTime,
        "caller": {"arn": caller.arn, "type": caller.type, "name": caller.display_name},
        "undo": finding.undo if result.outcome == Outcome.VERIFIED else None,
        "fix_command": fix_command(finding) if result.outcome == Outcome.NOTIFIED else None,
        "text": email_text(finding, record, result),  # what the email says, for a consumer that forwards it
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
    document = json.dumps(finding_document(finding, record, result))
    message = {"default": text, "email": text, "https": json.dumps(chatbot_payload(finding, record, result)),
               "sqs": document, "lambda": document}
    return {
        "TopicArn": topic_arn,
        "Subject": subject(finding, result, record.account or finding.resource.account),
        "MessageStructure": "json",
        "Message": json.dumps(message),
        "MessageAttributes": message_attributes(finding, record, result),
    }


def publish(sns: SNSClient, topic_arn: str, finding: Finding, record: CloudTrailRecord,
            result: ActionResult) -> str:
    """Publish one notification; returns the SNS MessageId."""
    return sns.publish(**build_publish_request(topic_arn, finding, record, result))["MessageId"]
