"""What one sweep saw and did, and its one summary message: counts per check, actions, what is left, the top
findings.

Each finding's own message is notify.py's, as for events; this adds the run's overview, in the same shape
(`default`/`email` text, `https` AWS Chatbot JSON, filterable message attributes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remediator.findings import ActionResult, Finding, Severity
from remediator.sweep.checks import check_of
from remediator.sweep.exposure import DDOS_POSTURE, EC2_WITHOUT_ROLE, OPEN_SECURITY_GROUP, S3_PUBLIC

TOP_OFFENDERS = 10
EXPOSURE_LINES = 25
EXPOSURE_RULES = (S3_PUBLIC, OPEN_SECURITY_GROUP, EC2_WITHOUT_ROLE, DDOS_POSTURE)
_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


@dataclass
class SweepReport:
    """What one sweep saw and did; `left` is non-empty when the run stopped before acting on everything."""

    account: str = "unknown"
    report_generated: datetime | None = None
    users: int = 0
    findings: list[Finding] = field(default_factory=list)
    actions: list[tuple[Finding, ActionResult]] = field(default_factory=list)
    left: list[Finding] = field(default_factory=list)
    stopped_because: str | None = None
    closed: list[str] = field(default_factory=list)  # open findings resolved since the last run
    modes: dict[str, str] = field(default_factory=dict)
    messages: int = 0  # findings published on their own (the summary not counted)

    @property
    def partial(self) -> bool:
        return bool(self.left)

    @property
    def blind_spots(self) -> list[Finding]:
        """The coverage self-check's findings: ways events may not be reaching us."""
        return [f for f in self.findings if check_of(f) == "coverage"]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[check_of(finding)] = counts.get(check_of(finding), 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for _, result in self.actions:
            outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
        return {
            "account": self.account,
            "users": self.users,
            "modes": self.modes,
            "report_generated": self.report_generated.isoformat() if self.report_generated else None,
            "findings": self.counts(),
            "exempt": sum(f.exempt for f in self.findings),
            "actions": outcomes,
            "left": len(self.left),
            "stopped_because": self.stopped_because,
            "closed": len(self.closed),
            "partial": self.partial,
        }


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:100]


def summary_text(report: SweepReport) -> tuple[str, str, str]:
    """(subject, text, highest severity) of the run's summary."""
    data = report.as_dict()
    worst = min((f.severity for f in report.findings), key=_ORDER.__getitem__, default=Severity.LOW)
    partial = f", PARTIAL: {len(report.left)} left" if report.partial else ""
    subject = _ascii(
        f"[{worst.upper()}] sweep: {len(report.findings)} findings, {len(report.actions)} actions"
        f"{partial} ({report.account})"
    )
    lines = [
        f"Credential report sweep of account {report.account}: {report.users} users checked "
        f"(report generated {data['report_generated'] or 'at an unknown time'}).",
        f"Modes: {', '.join(f'{k}={v}' for k, v in report.modes.items())}.",
        "",
    ]
    if report.blind_spots:
        lines += ["COVERAGE: we may be blind to changes until these are fixed:"]
        lines += [f"  [CRITICAL] {f.reason}" for f in report.blind_spots] + [""]
    exposed = [f for f in report.findings if f.rule in EXPOSURE_RULES]
    if exposed:
        lines += ["EXPOSURE (already in place; reported only, nothing is changed):"]
        lines += [f"  [{f.severity.upper()}] {f.rule}: {f.reason}" for f in exposed[:EXPOSURE_LINES]]
        if len(exposed) > EXPOSURE_LINES:
            lines.append(f"  ... and {len(exposed) - EXPOSURE_LINES} more (counted below)")
        lines.append("")
    lines.append("Findings per check:")
    lines += [f"  {check}: {count}" for check, count in sorted(data["findings"].items())] or ["  none"]
    lines.append(f"Exempt (reported, never changed): {data['exempt']}")
    lines.append(f"Actions: {', '.join(f'{k} {v}' for k, v in data['actions'].items()) or 'none'}")
    if report.closed:
        lines.append(f"Resolved since the last run: {len(report.closed)}")
    if report.partial:
        lines += [
            "",
            f"PARTIAL RUN: stopped at {report.stopped_because}; {len(report.left)} actions left for the next sweep:",
        ] + [f"  {check_of(f)}: {f.resource.name}: {f.action}" for f in report.left[:TOP_OFFENDERS]]
    top = sorted(report.findings, key=lambda f: _ORDER[f.severity])[:TOP_OFFENDERS]
    if top:
        lines += ["", "Top offenders:"] + [
            f"  [{f.severity.upper()}] {check_of(f)}: {f.reason}{f' [exempt: {f.exempt_reason}]' if f.exempt else ''}"
            for f in top
        ]
    return subject, "\n".join(lines), str(worst)


def summary_request(topic_arn: str, report: SweepReport) -> dict[str, Any]:
    """The `sns.publish` arguments of the summary; AWS rejects a JSON message without `default`."""
    subject, text, worst = summary_text(report)
    attributes = {
        "severity": worst,
        "rule": "sweep",
        "account": report.account,
        "action": "partial" if report.partial else "summary",
    }
    chatbot = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": f":mag: {subject}",
            "description": text[:3500],
            "keywords": [attributes["rule"], attributes["severity"], attributes["account"]],
        },
    }
    return {
        "TopicArn": topic_arn,
        "Subject": subject,
        "MessageStructure": "json",
        "Message": json.dumps({"default": text, "email": text, "https": json.dumps(chatbot)}),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }
