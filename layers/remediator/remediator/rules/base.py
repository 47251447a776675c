"""The rule contract: metadata as data, plus `evaluate` and `remediate` in each rule module.

A rule module exposes `META: RuleMeta`, `evaluate(record, context) -> Finding | None` and
`remediate(finding, aws) -> ActionResult`. scripts/generate.py writes the template's event patterns, each
function's role and docs/rules.md from META, and tests fail when they are stale, so they never drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from remediator.findings import ActionResult, Finding, Mode, Severity

if TYPE_CHECKING:
    from remediator.aws import AwsClients
    from remediator.config import Settings
    from remediator.events import CloudTrailRecord
    from remediator.exemption_list import ExemptionList
    from remediator.state import AccountState
    from remediator.store import FindingsStore

API_CALL = "AWS API Call via CloudTrail"
# IAM names: letters, digits and +=,.@_- (anything else never names a real user or role: never act on it).
IAM_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")
ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")


def partition_of(record: CloudTrailRecord) -> str:
    """The ARN partition the change happened in (aws, aws-us-gov, aws-cn), read from the caller's ARN."""
    parts = (record.identity.arn or "").split(":")
    return parts[1] if len(parts) > 5 and parts[0] == "arn" and parts[1].startswith("aws") else "aws"


def iam_arn(record: CloudTrailRecord, kind: str, name: str | None) -> str | None:
    """The ARN of a user, role or group of the record's account, in the record's partition."""
    account = record.account
    return f"arn:{partition_of(record)}:iam::{account}:{kind}/{name}" if account and name else None


def iam_name(value: Any) -> str | None:
    """The value when it can name an IAM user, role, group or policy; else None."""
    return value if isinstance(value, str) and IAM_NAME.fullmatch(value) else None


CONSOLE_SIGN_IN = "AWS Console Sign In via CloudTrail"


def _wildcard(pattern: str) -> re.Pattern[str]:
    """An EventBridge wildcard (`*` matches any text, nothing else is special) as a regular expression."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


@dataclass(frozen=True)
class Trigger:
    """One EventBridge pattern a rule reacts to. Empty tuples mean "any"."""

    sources: tuple[str, ...] = ("aws.iam",)
    event_sources: tuple[str, ...] = ("iam.amazonaws.com",)
    event_names: tuple[str, ...] = ()
    detail_types: tuple[str, ...] = (API_CALL,)
    identity_types: tuple[str, ...] = ()
    # Failed calls are never findings, except where a failure is itself the signal (root credentials tried).
    include_failed_calls: bool = False
    # Sessions of roles whose ARN matches one of these EventBridge wildcards (`*` any text), e.g. our IAM path.
    issuer_wildcards: tuple[str, ...] = ()
    # Changes to resources that live only in the hub's region (the stack's own): other regions forward nothing.
    hub_region_only: bool = False

    def matches(self, record: CloudTrailRecord) -> bool:
        """The same decision EventBridge makes with `event_pattern()`, for the CLI and tests."""
        if self.event_sources and record.eventSource not in self.event_sources:
            return False
        if self.event_names and record.eventName not in self.event_names:
            return False
        if self.issuer_wildcards and not any(
            _wildcard(w).fullmatch(record.identity.issuer_arn or "") for w in self.issuer_wildcards
        ):
            return False
        return not self.identity_types or record.identity.type in self.identity_types

    def event_pattern(self) -> dict[str, Any]:
        """The EventBridge pattern for the template. Failed API calls never invoke us (no errorCode)."""
        detail: dict[str, Any] = {}
        if self.event_sources:
            detail["eventSource"] = list(self.event_sources)
        if self.event_names:
            detail["eventName"] = list(self.event_names)
        if self.identity_types:
            detail["userIdentity"] = {"type": list(self.identity_types)}
        if self.issuer_wildcards:
            detail.setdefault("userIdentity", {})["sessionContext"] = {
                "sessionIssuer": {"arn": [{"wildcard": w} for w in self.issuer_wildcards]}
            }
        if API_CALL in self.detail_types and not self.include_failed_calls:
            detail["errorCode"] = [{"exists": False}]
        pattern: dict[str, Any] = {"detail-type": list(self.detail_types), "detail": detail}
        if self.sources:
            pattern["source"] = list(self.sources)
        return pattern


@dataclass(frozen=True)
class RuleSetting:
    """A value a rule reads besides its mode: a template parameter, passed to its function as a variable.

    A number (default an int: the parameter's MinValue/MaxValue bound it) or a text (default a str: the
    parameter's AllowedPattern, `pattern`, bounds it).
    """

    parameter: str  # the template parameter, e.g. TrailLogRetentionDays
    variable: str  # the environment variable Settings.from_env reads, e.g. TRAIL_LOG_RETENTION_DAYS
    default: int | str
    minimum: int
    maximum: int
    description: str
    pattern: str | None = None  # a text setting's AllowedPattern


@dataclass(frozen=True)
class RuleMeta:
    """Everything about a rule that is data: what it reacts to, what it may do, how to undo it."""

    id: str
    title: str
    practice: str  # the security practice it enforces
    severity: Severity  # the usual severity; evaluate may raise or lower it per event
    triggers: tuple[Trigger, ...]
    resource_path: str  # JMESPath into the record to the resource it acts on
    remediation: str  # what remediate does, in one line
    undo: str  # how a human reverses it
    remediation_actions: tuple[str, ...] = ()  # IAM actions remediate (and its verification) needs
    state_actions: tuple[str, ...] = ()  # IAM actions evaluate needs to read account state
    default_mode: Mode = Mode.NOTIFY
    resolved_by: tuple[str, ...] = ()  # eventNames that close this rule's open finding
    references: tuple[str, ...] = field(default_factory=tuple)
    # Of its actions, those granted only for the stack's deny-unless-MFA policy (an iam:PolicyARN condition).
    stack_policy_only: tuple[str, ...] = ()
    settings: tuple[RuleSetting, ...] = ()  # its own parameters (the template passes them to its function only)

    def reacts_to(self, record: CloudTrailRecord) -> bool:
        return any(trigger.matches(record) for trigger in self.triggers)

    def reports_failure(self, record: CloudTrailRecord) -> bool:
        """True when a failed call or sign-in is itself this rule's finding (a trigger that includes failures)."""
        return any(trigger.include_failed_calls and trigger.matches(record) for trigger in self.triggers)

    @property
    def iam_actions(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.remediation_actions) | set(self.state_actions)))


@dataclass(frozen=True)
class EvalContext:
    """What `evaluate` may consult besides the record: configuration and account state."""

    settings: Settings
    state: AccountState
    exemptions: ExemptionList | None = None  # the central list; None in the dry run: no entry applies

    @property
    def assumed(self) -> bool:
        """Dry run without an account: state is assumed (docs/decisions.md), and reasons say so."""
        return not self.state.live


class RuleModule(Protocol):
    """What every rule module defines; mypy checks each one against it (rules/__init__.py)."""

    META: RuleMeta

    def evaluate(self, record: CloudTrailRecord, context: EvalContext) -> Finding | None: ...

    def remediate(self, finding: Finding, aws: AwsClients) -> ActionResult: ...

    def mode_for(self, finding: Finding, settings: Settings, mode: Mode) -> Mode:
        """The mode one finding takes, given the rule's mode (most rules: `mode_for = keep_mode`)."""
        ...

    def resolve(
        self, record: CloudTrailRecord, aws: AwsClients, settings: Settings, store: FindingsStore | None
    ) -> str:
        """Undo what an event of META.resolved_by makes moot; say what was done (others: `resolves_nothing`)."""
        ...


def keep_mode(finding: Finding, settings: Settings, mode: Mode) -> Mode:
    """The usual `mode_for`: every finding of the rule takes the rule's mode."""
    return mode


def escalation_stays_notify(
    escalation_mode: Callable[[Settings], Mode],
) -> Callable[[Finding, Settings, Mode], Mode]:
    """The `mode_for` of a rule whose escalation-only findings stay notify unless their own setting (read by
    `escalation_mode`) says remediate: admin-equivalent grants take the rule's mode (docs/decisions.md, Modes)."""

    def mode_for(finding: Finding, settings: Settings, mode: Mode) -> Mode:
        if (
            mode == Mode.REMEDIATE
            and finding.details.get("escalation_only")
            and (escalation_mode(settings) != Mode.REMEDIATE)
        ):
            return Mode.NOTIFY
        return mode

    return mode_for


def resolves_nothing(record: CloudTrailRecord, aws: AwsClients, settings: Settings, store: FindingsStore | None) -> str:
    """The `resolve` of a rule that no event resolves (its META.resolved_by is empty): never called."""
    return "nothing to resolve"
