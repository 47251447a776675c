"""The scheduled rules: what the credential report shows that single events cannot. Pure decisions, no AWS call.

Each check produces the `Finding` of the rule whose concern it is, with that rule's remediation details, so
the finding takes the events' path (exemption, act, verify, record, notify):

| check | rule | finding when |
|---|---|---|
| `key_age` | access_keys | an active key older than KEY_MAX_AGE_DAYS (warned first unless the user has a newer key) |
| `unused_credentials` | access_keys, console_mfa | a key or console password unused for UNUSED_CREDENTIAL_DAYS |
| `console_mfa` | console_mfa | a console password and no MFA device (warned first: the grace period) |
| `root_credentials` | root_activity | root has an active access key, or no MFA (reported only) |

`console_mfa` follows that rule's mode; the other checks follow the sweep's (MODE_SWEEP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from remediator.config import Settings
from remediator.findings import Finding, Mode, Resource, Severity
from remediator.sweep.report import AccessKeyColumns, CredentialRow

KEY_AGE = "key_age"
UNUSED = "unused_credentials"
CONSOLE_MFA = "console_mfa"
ROOT = "root_credentials"


@dataclass(frozen=True)
class ScheduledCheck:
    """One scheduled rule: the rule whose findings it produces, and which mode setting governs it."""

    name: str
    rules: tuple[str, ...]
    mode_setting: str  # "sweep" (MODE_SWEEP) or a rule id (that rule's mode)


CHECKS: dict[str, ScheduledCheck] = {
    KEY_AGE: ScheduledCheck(KEY_AGE, ("access_keys",), "sweep"),
    UNUSED: ScheduledCheck(UNUSED, ("access_keys", "console_mfa"), "sweep"),
    CONSOLE_MFA: ScheduledCheck(CONSOLE_MFA, ("console_mfa",), "console_mfa"),
    ROOT: ScheduledCheck(ROOT, ("root_activity",), "sweep"),
}
# Rules whose warnings (open findings with a grace period) the sweep follows up.
WARNING_RULES: tuple[str, ...] = ("access_keys", "console_mfa")


def mode_of(check: str, settings: Settings) -> Mode:
    setting = CHECKS[check].mode_setting
    return settings.sweep_mode if setting == "sweep" else settings.mode_of(setting)


def check_of(finding: Finding) -> str:
    """The scheduled check that produced a finding (the summary counts per check)."""
    return str(finding.details.get("check", finding.rule))


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "at an unknown date"


def _finding(
    check: str,
    rule: str,
    row: CredentialRow,
    severity: Severity,
    reason: str,
    action: str | None,
    undo: str | None = None,
    **details: Any,
) -> Finding:
    resource = (
        Resource("root", "root", row.account, row.arn)
        if row.is_root
        else Resource("user", row.user, row.account, row.arn)
    )
    return Finding(
        rule=rule,
        severity=severity,
        reason=reason,
        resource=resource,
        action=action,
        undo=undo,
        details={"check": check, "user": None if row.is_root else row.user, **details},
    )


def _root_findings(row: CredentialRow) -> list[Finding]:
    found = []
    if row.active_keys:
        found.append(
            _finding(
                ROOT,
                "root_activity",
                row,
                Severity.CRITICAL,
                f"the root user has {len(row.active_keys)} active access key(s); only root can delete "
                "them (Security credentials page).",
                None,
            )
        )
    if not row.mfa_active:
        found.append(_finding(ROOT, "root_activity", row, Severity.CRITICAL, "the root user has no MFA device.", None))
    return found


def _warned_or_now(
    rule: str, user: str, warned: Mapping[tuple[str, str], datetime], now: datetime, grace: timedelta
) -> tuple[bool, str]:
    """(act now?, what the message says about the warning period)."""
    due = warned.get((rule, user))
    if due is not None:
        return due <= now, ("the warning period is over" if due <= now else f"warned; acted on after {_day(due)}")
    if grace <= timedelta(0):
        return True, "no warning period is configured"
    return False, f"warned now; acted on after {grace.days or grace.total_seconds() / 3600:g} " + (
        "day(s)" if grace.days else "hour(s)"
    )


def _key_finding(
    check: str,
    row: CredentialRow,
    key: AccessKeyColumns,
    reason: str,
    act_now: bool = True,
    grace: timedelta | None = None,
) -> Finding:
    created = _day(key.last_rotated)
    action = f"set the access key of {row.user} created {created} Inactive"
    extra: dict[str, Any] = {"key_id": None, "key_created": key.last_rotated, "slot": key.slot}
    if not act_now and grace is not None:
        action = f"after the warning period, {action}"
        extra["grace_hours"] = grace.total_seconds() / 3600
    undo = (
        f"aws iam update-access-key --user-name {row.user} --access-key-id <the key created {created}> --status Active"
    )
    return _finding(check, "access_keys", row, Severity.MEDIUM, reason, action, undo, **extra)


def _console_mfa_finding(row: CredentialRow, settings: Settings, act_now: bool, note: str) -> Finding:
    if settings.console_mfa_remediation == "delete-login-profile":
        action = f"delete the console password (login profile) of user {row.user}"
        undo = (
            f"aws iam create-login-profile --user-name {row.user} --password-reset-required "
            "--password <temporary password>"
        )
    else:
        policy = settings.deny_without_mfa_policy_arn or "the stack's deny-unless-MFA policy"
        action = f"attach the deny-unless-MFA policy {policy} to user {row.user}"
        undo = (
            f"aws iam detach-user-policy --user-name {row.user} --policy-arn "
            f"{settings.deny_without_mfa_policy_arn or '<policy-arn>'}  (enrolling an MFA device does it too)"
        )
    extra: dict[str, Any] = {
        "method": settings.console_mfa_remediation,
        "policy_arn": settings.deny_without_mfa_policy_arn,
    }
    if not act_now:
        action = (
            f"after the {settings.mfa_grace_period_hours} h grace period, if {row.user} still has no MFA "
            f"device, {action}"
        )
        extra["grace_hours"] = settings.mfa_grace_period_hours
    return _finding(
        CONSOLE_MFA,
        "console_mfa",
        row,
        Severity.MEDIUM,
        f"{row.user} has a console password and no MFA device; {note}.",
        action,
        undo,
        **extra,
    )


def check_user(
    row: CredentialRow, settings: Settings, now: datetime, warned: Mapping[tuple[str, str], datetime]
) -> list[Finding]:
    """Every finding for one report row; `warned` maps (rule, user) to the end of its warning period."""
    if row.is_root:
        return _root_findings(row)
    found: list[Finding] = []
    unused_cutoff = now - timedelta(days=settings.unused_credential_days)
    age_cutoff = now - timedelta(days=settings.key_max_age_days)

    handled: set[int] = set()
    for key in row.active_keys:
        last = key.last_used or key.last_rotated
        if last and last < unused_cutoff:
            used = f"last used {_day(key.last_used)}" if key.last_used else f"never used since {_day(last)}"
            found.append(
                _key_finding(
                    UNUSED,
                    row,
                    key,
                    f"access key {key.slot} of {row.user} was {used} (over {settings.unused_credential_days} days).",
                )
            )
            handled.add(key.slot)

    console_handled = False
    if row.password_enabled:
        last = row.password_last_used or row.password_last_changed or row.created
        if last and last < unused_cutoff:
            used = f"last used {_day(row.password_last_used)}" if row.password_last_used else "never used"
            found.append(
                _finding(
                    UNUSED,
                    "console_mfa",
                    row,
                    Severity.MEDIUM,
                    f"the console password of {row.user} was {used} (over {settings.unused_credential_days} days).",
                    f"delete the console password (login profile) of user {row.user}",
                    f"aws iam create-login-profile --user-name {row.user} --password-reset-required --password "
                    "<temporary password>",
                    step="delete_login_profile",
                )
            )
            console_handled = True

    remaining = [key for key in row.active_keys if key.slot not in handled]
    old = sorted(
        (key for key in remaining if key.last_rotated and key.last_rotated < age_cutoff),
        key=lambda key: key.last_rotated,  # type: ignore[arg-type, return-value]
    )
    for key in old:
        age = (now - key.last_rotated).days  # type: ignore[operator]
        if len(remaining) == 2 and key is old[0]:
            found.append(
                _key_finding(
                    KEY_AGE,
                    row,
                    key,
                    f"access key {key.slot} of {row.user} is {age} days old and "
                    f"{row.user} has a newer key: the older one goes now.",
                )
            )
            continue
        grace = timedelta(days=settings.key_warning_days)
        act_now, note = _warned_or_now("access_keys", row.user, warned, now, grace)
        found.append(
            _key_finding(
                KEY_AGE,
                row,
                key,
                f"access key {key.slot} of {row.user} is {age} days old (over {settings.key_max_age_days}); {note}.",
                act_now,
                grace,
            )
        )

    if row.password_enabled and not row.mfa_active and not console_handled:
        act_now, note = _warned_or_now(
            CONSOLE_MFA, row.user, warned, now, timedelta(hours=settings.mfa_grace_period_hours)
        )
        found.append(_console_mfa_finding(row, settings, act_now, note))
    return found


def find_offenders(
    rows: list[CredentialRow], settings: Settings, now: datetime, warned: Mapping[tuple[str, str], datetime]
) -> list[Finding]:
    """All findings of a report, report order, each with the mode its check follows; mode off drops it."""
    found = []
    for row in rows:
        for finding in check_user(row, settings, now, warned):
            finding.mode = mode_of(check_of(finding), settings)
            if finding.mode != Mode.OFF:
                found.append(finding)
    return found
