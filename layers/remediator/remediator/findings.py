"""The typed contract between rules, the engine, remediation and notification."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Mode(StrEnum):
    OFF = "off"
    NOTIFY = "notify"
    REMEDIATE = "remediate"


class Outcome(StrEnum):
    """What happened to a finding; a message never claims success on a failure."""

    NOTIFIED = "notified"  # notify mode: reported, nothing changed
    EXEMPT = "exempt"  # exempt principal/resource: reported, nothing changed
    VERIFIED = "verified"  # changed, and a re-read shows the change holds
    FAILED = "failed"  # tried and failed, or the re-read does not show the change
    SKIPPED = "skipped"  # remediate mode, but nothing safe to do (reason says why)


@dataclass(frozen=True)
class Resource:
    """The IAM entity a finding is about."""

    kind: str  # "user", "role", "root", "access_key", "policy", "group"
    name: str
    account: str | None = None
    arn: str | None = None


@dataclass
class Finding:
    """One rule's verdict on one event."""

    rule: str
    severity: Severity
    reason: str
    resource: Resource
    action: str | None = None  # what remediate does (or would do); None when nothing can be done
    exempt: bool = False
    exempt_reason: str | None = None
    mode: Mode = Mode.NOTIFY
    undo: str | None = None  # how a human reverses our action
    details: dict[str, Any] = field(default_factory=dict)  # what remediate needs (key id, document, ...)

    def as_spec(self) -> dict[str, Any]:
        """The finding as `remediator evaluate --json` prints it (docs/decisions.md)."""
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "mode": str(self.mode),
            "action": self.action,
            "exempt": self.exempt,
            "reason": self.reason,
        }


@dataclass
class ActionResult:
    """The result of remediating one finding, after re-reading the state."""

    outcome: Outcome
    detail: str  # one sentence: what was changed and what the re-read showed, or why not
    error: str | None = None
    # The rule's action budget on the resource ran out with this finding: send the one "contested resource"
    # message (a person must look), besides the finding's own.
    contested: bool = False


@dataclass
class Decision:
    """Everything decided about one record, before any action."""

    event_id: str | None
    event_name: str | None
    account: str | None
    skipped: str | None = None
    findings: list[Finding] = field(default_factory=list)
    resolves: list[str] = field(default_factory=list)


def decision_line(source: str, decision: Decision) -> dict[str, Any]:
    """The `evaluate --json` line for one record (its format: docs/decisions.md)."""
    return {
        "source": source,
        "eventID": decision.event_id,
        "eventName": decision.event_name,
        "account": decision.account,
        "skipped": decision.skipped,
        "resolves": decision.resolves,
        "findings": [finding.as_spec() for finding in decision.findings],
    }
