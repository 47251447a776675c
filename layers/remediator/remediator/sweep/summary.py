"""Sweep notifications: one summary per run and one message per action, shaped like event findings
(`default`/`email` text, `https` AWS Chatbot JSON, filterable message attributes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from remediator.findings import ActionResult, Outcome, Severity
from remediator.sweep.checks import SweepFinding

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from remediator.sweep.run import SweepReport

TOP_OFFENDERS = 10
_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:100]


def summary_text(report: SweepReport) -> tuple[str, str, str]:
    """(subject, text, highest severity) of the run's summary."""
    data = report.as_dict()
    worst = min((f.severity for f in report.findings), key=_ORDER.__getitem__, default=Severity.LOW)
    partial = f", PARTIAL: {len(report.left)} left" if report.partial else ""
    subject = _ascii(f"[{worst.upper()}] sweep: {len(report.findings)} findings, {len(report.actions)} actions"
                     f"{partial} ({report.account})")
    lines = [f"Credential report sweep of account {report.account}: {report.users} users checked "
             f"(report generated {data['report_generated'] or 'at an unknown time'}).",
             f"Modes: {', '.join(f'{k}={v}' for k, v in report.modes.items())}.", "",
             "Findings per check:"]
    lines += [f"  {check}: {count}" for check, count in sorted(data["findings"].items())] or ["  none"]
    lines.append(f"Exempt (reported, never changed): {data['exempt']}")
    lines.append(f"Actions: {', '.join(f'{k} {v}' for k, v in data['actions'].items()) or 'none'}")
    if report.closed:
        lines.append(f"Resolved since the last run: {len(report.closed)}")
    if report.partial:
        lines += ["", f"PARTIAL RUN: stopped at {report.stopped_because}; {len(report.left)} actions left for the "
                  "next sweep:"] + [f"  {f.check}: {f.user}: {f.action_text}" for f in report.left[:TOP_OFFENDERS]]
    top = sorted(report.findings, key=lambda f: _ORDER[f.severity])[:TOP_OFFENDERS]
    if top:
        lines += ["", "Top offenders:"] + [
            f"  [{f.severity.upper()}] {f.check}: {f.reason}{f' [exempt: {f.exempt_reason}]' if f.exempt else ''}"
            for f in top]
    return subject, "\n".join(lines), str(worst)


def _request(topic_arn: str, subject: str, text: str, attributes: dict[str, str], title: str) -> dict[str, Any]:
    chatbot = {"version": "1.0", "source": "custom",
               "content": {"textType": "client-markdown", "title": title, "description": text[:3500],
                           "keywords": [attributes["rule"], attributes["severity"], attributes["account"]]}}
    return {
        "TopicArn": topic_arn, "Subject": subject, "MessageStructure": "json",
        "Message": json.dumps({"default": text, "email": text, "https": json.dumps(chatbot)}),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def summary_request(topic_arn: str, report: SweepReport) -> dict[str, Any]:
    subject, text, worst = summary_text(report)
    attributes = {"severity": worst, "rule": "sweep", "account": report.account,
                  "action": "partial" if report.partial else "summary"}
    return _request(topic_arn, subject, text, attributes, f":mag: {subject}")


def action_request(topic_arn: str, finding: SweepFinding, result: ActionResult) -> dict[str, Any]:
    word = "Remediated and verified" if result.outcome == Outcome.VERIFIED else "COULD NOT REMEDIATE"
    subject = _ascii(f"[{finding.severity.upper()}] sweep {finding.check}: {word} ({finding.user})")
    text = "\n".join([f"{finding.severity.upper()} finding from the scheduled sweep ({finding.check})", "",
                      finding.reason, "", f"Who:     {finding.arn}", f"Action:  {finding.action_text}",
                      f"Outcome: {word}: {result.detail}"] + ([f"Error:   {result.error}"] if result.error else []))
    attributes = {"severity": str(finding.severity), "rule": finding.mode_rule, "account": finding.account,
                  "action": str(result.outcome)}
    return _request(topic_arn, subject, text, attributes, f":rotating_light: {subject}")


def sns_publisher(sns: SNSClient, topic_arn: str | None) -> Callable[[SweepReport, SweepFinding | None,
                                                                       ActionResult | None], None] | None:
    """The `publish` callback of run_sweep: one message per action, one summary at the end."""
    if not topic_arn:
        return None

    def publish(report: SweepReport, finding: SweepFinding | None, result: ActionResult | None) -> None:
        if finding is None or result is None:
            sns.publish(**summary_request(topic_arn, report))
        else:
            sns.publish(**action_request(topic_arn, finding, result))

    return publish
