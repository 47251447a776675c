"""One sweep: read the credential report, decide, read tags of offenders only, act within budgets, report.

IAM calls: 2+ for the report (whatever the user count), then per offender one ListUserTags, and per
action its call plus one re-read. Actions run one after another through the adaptive-retry client
(it slows down on throttling); the run stops acting before the Lambda deadline, after `max_actions`,
or when IAM keeps throttling, and the summary names what is left for the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.config import EXEMPT_TAG, Settings
from remediator.findings import ActionResult, Mode, Outcome, Resource
from remediator.rules.console_mfa import delete_login_profile, enforce_mfa
from remediator.store import over_budget, resource_key
from remediator.sweep.checks import (
    CONSOLE_MFA,
    DEACTIVATE_KEY,
    DELETE_LOGIN_PROFILE,
    ENFORCE_MFA,
    KEY_AGE,
    SweepFinding,
    find_offenders,
)
from remediator.sweep.report import fetch_report, parse_report

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from remediator.store import FindingsStore

WARNED_CHECKS = (CONSOLE_MFA, KEY_AGE)  # checks that warn first; their open findings live in the store
THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})


@dataclass
class SweepReport:
    """What one sweep saw and did; `left` is non-empty when the run stopped before acting on everything."""

    account: str = "unknown"
    report_generated: datetime | None = None
    users: int = 0
    findings: list[SweepFinding] = field(default_factory=list)
    actions: list[tuple[SweepFinding, ActionResult]] = field(default_factory=list)
    left: list[SweepFinding] = field(default_factory=list)
    stopped_because: str | None = None
    closed: list[str] = field(default_factory=list)  # open findings resolved since the last run
    modes: dict[str, str] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.left)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.check] = counts.get(finding.check, 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for _, result in self.actions:
            outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
        return {
            "account": self.account, "users": self.users, "modes": self.modes,
            "report_generated": self.report_generated.isoformat() if self.report_generated else None,
            "findings": self.counts(), "exempt": sum(f.exempt for f in self.findings),
            "actions": outcomes, "left": len(self.left), "stopped_because": self.stopped_because,
            "closed": len(self.closed), "partial": self.partial,
        }


def _open_warnings(store: FindingsStore | None) -> dict[tuple[str, str], datetime]:
    if store is None:
        return {}
    return {(rule, item.user): item.due_at for rule in WARNED_CHECKS for item in store.open_findings(rule)}


def _close_resolved(store: FindingsStore | None, warned: dict[tuple[str, str], datetime],
                    findings: list[SweepFinding], account: str) -> list[str]:
    """Open warnings whose user no longer offends (MFA enrolled, key rotated, user gone) are closed."""
    if store is None:
        return []
    still = {(f.check, f.user) for f in findings}
    closed = []
    for check, user in warned:
        if (check, user) not in still:
            store.close(resource_key(Resource("user", user, account)), check, "sweep: no longer offending")
            closed.append(f"{check}:{user}")
    return closed


def _mark_exemptions(iam: IAMClient, settings: Settings, findings: list[SweepFinding]) -> None:
    """Break-glass ARNs, then the exemption tag, read once per offending user (never for the others)."""
    tags: dict[str, str | None] = {}
    for finding in findings:
        if finding.check == "root_credentials":
            exempt = settings.is_break_glass(finding.arn)
            finding.exempt, finding.exempt_reason = exempt, (f"{finding.arn} is a break-glass principal"
                                                             if exempt else None)
            continue
        if settings.is_break_glass(finding.arn):
            finding.exempt, finding.exempt_reason = True, f"{finding.arn} is a break-glass principal"
            continue
        if finding.user not in tags:
            try:
                listed = iam.list_user_tags(UserName=finding.user)["Tags"]
                tags[finding.user] = next((t["Value"] for t in listed if t["Key"] == EXEMPT_TAG), None)
            except ClientError as error:
                if error_code(error) != "NoSuchEntity":
                    raise
                tags[finding.user] = None
        if tags[finding.user] is not None:
            finding.exempt = True
            reason = tags[finding.user] or "no reason given"
            finding.exempt_reason = f"user {finding.user} carries the tag {EXEMPT_TAG} ({reason})"


def _deactivate_key(iam: IAMClient, finding: SweepFinding) -> ActionResult:
    """The report has no key ids: find the key by its creation time, deactivate it, re-read."""
    keys = iam.list_access_keys(UserName=finding.user)["AccessKeyMetadata"]
    created = finding.key_created
    match = [k for k in keys if created and abs((k["CreateDate"] - created).total_seconds()) < 2]
    if len(match) != 1:
        return ActionResult(Outcome.SKIPPED, f"the access key of {finding.user} created {created} is no longer there.")
    key_id = match[0]["AccessKeyId"]
    iam.update_access_key(UserName=finding.user, AccessKeyId=key_id, Status="Inactive")
    status = next((k["Status"] for k in iam.list_access_keys(UserName=finding.user)["AccessKeyMetadata"]
                   if k["AccessKeyId"] == key_id), None)
    if status == "Inactive":
        return ActionResult(Outcome.VERIFIED, f"access key {key_id} of {finding.user} is now Inactive (verified). "
                            f"Undo: aws iam update-access-key --user-name {finding.user} --access-key-id {key_id} "
                            "--status Active")
    return ActionResult(Outcome.FAILED, f"access key {key_id} of {finding.user} reads {status} after deactivation.")


def act_on(iam: IAMClient, settings: Settings, finding: SweepFinding) -> ActionResult:
    """The smallest change for one finding, verified by re-reading. ClientErrors other than throttling are results."""
    try:
        if finding.action == DEACTIVATE_KEY:
            return _deactivate_key(iam, finding)
        if finding.action == DELETE_LOGIN_PROFILE:
            return delete_login_profile(iam, finding.user)
        if finding.action == ENFORCE_MFA:
            return enforce_mfa(iam, finding.user, settings.console_mfa_remediation,
                               settings.deny_without_mfa_policy_arn)
    except ClientError as error:
        code = error_code(error)
        if code in THROTTLED:
            raise
        if code == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"{finding.user} no longer exists: nothing changed.")
        return ActionResult(Outcome.FAILED, f"could not {finding.action_text}.", f"{code}: {error}")
    return ActionResult(Outcome.SKIPPED, "no automatic remediation for this finding.")


def run_sweep(aws: AwsClients, settings: Settings, *, store: FindingsStore | None = None,
              remaining_seconds: Callable[[], float] = lambda: float("inf"), max_actions: int = 500,
              publish: Callable[[SweepReport, SweepFinding | None, ActionResult | None], None] | None = None,
              now: datetime | None = None, sleep: Callable[[float], None] = time.sleep) -> SweepReport:
    """The whole sweep; `publish(report, finding, result)` runs per action, then once with (None, None)."""
    now = now or datetime.now(UTC)
    generated, text = fetch_report(aws.iam, sleep=sleep)
    rows = parse_report(text)
    modes = {"sweep": settings.sweep_mode, "console_mfa": settings.mode_of("console_mfa")}
    report = SweepReport(report_generated=generated, users=sum(not row.is_root for row in rows),
                         modes={name: str(mode) for name, mode in modes.items()})
    report.account = next((row.account for row in rows), "unknown")
    warned = _open_warnings(store)
    report.findings = [f for f in find_offenders(rows, settings, now, warned) if modes[f.mode_rule] != Mode.OFF]
    report.closed = _close_resolved(store, warned, report.findings, report.account)
    _mark_exemptions(aws.iam, settings, report.findings)

    for finding in report.findings:  # open the warning period of first-time offenders (notify mode too)
        if store is not None and not finding.exempt and not finding.act_now and finding.grace is not None \
                and (finding.check, finding.user) not in warned:
            store.open_finding(resource_key(Resource("user", finding.user, finding.account)), finding.check,
                               grace=finding.grace, severity=str(finding.severity), reason=finding.reason)

    due = [f for f in report.findings
           if f.action and f.act_now and not f.exempt and modes[f.mode_rule] == Mode.REMEDIATE]
    for index, finding in enumerate(due):
        if len(report.actions) >= max_actions or remaining_seconds() < 20:
            report.stopped_because = ("the action limit per sweep" if len(report.actions) >= max_actions
                                      else "the function's time limit")
            report.left = due[index:]
            break
        resource = Resource("user", finding.user, finding.account)
        key = resource_key(resource)
        if over_budget(store, resource, finding.check):
            result = ActionResult(Outcome.SKIPPED, f"action budget reached for {finding.user}: notify only.")
        else:
            try:
                result = act_on(aws.iam, settings, finding)
            except ClientError as error:  # throttled even after adaptive retries: leave the rest for next time
                report.stopped_because = f"IAM throttling ({error_code(error)})"
                report.left = due[index:]
                break
        report.actions.append((finding, result))
        if store is not None and result.outcome == Outcome.VERIFIED:
            store.record_action(key, finding.check, finding.action_text or "")
            store.mark_acted(key, finding.check, finding.action_text or "")
        if publish is not None and result.outcome in {Outcome.VERIFIED, Outcome.FAILED}:
            publish(report, finding, result)
    if publish is not None:
        publish(report, None, None)
    return report
