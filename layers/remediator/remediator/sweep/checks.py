"""What the sweep finds in the credential report: pure decisions, no AWS call.

Catches what single events cannot: keys that grew old, credentials nobody uses, console users
who never enrolled MFA (including those created before we were deployed), and root credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from remediator.config import Settings
from remediator.findings import Severity
from remediator.sweep.report import AccessKeyColumns, CredentialRow

KEY_AGE = "key_age"
UNUSED = "unused_credentials"
CONSOLE_MFA = "console_mfa"
ROOT = "root_credentials"

DEACTIVATE_KEY = "deactivate_key"
DELETE_LOGIN_PROFILE = "delete_login_profile"
ENFORCE_MFA = "enforce_mfa"


@dataclass
class SweepFinding:
    """One offender: what is wrong, what remediate does, and whether it is due now."""

    check: str
    user: str
    arn: str
    account: str
    severity: Severity
    reason: str
    action: str | None = None  # DEACTIVATE_KEY | DELETE_LOGIN_PROFILE | ENFORCE_MFA | None (notify only)
    act_now: bool = False  # False: warned, acted on when the warning (grace) period is over
    grace: timedelta | None = None  # the warning period to open when not warned before
    key_created: datetime | None = None  # identifies the key to deactivate (report has no key ids)
    exempt: bool = False
    exempt_reason: str | None = None

    @property
    def mode_rule(self) -> str:
        """Whose mode governs it: console_mfa's follow-up follows that rule; the rest follow the sweep's."""
        return "console_mfa" if self.check == CONSOLE_MFA else "sweep"

    @property
    def action_text(self) -> str | None:
        if self.action == DEACTIVATE_KEY:
            return f"set the access key of {self.user} created {_day(self.key_created)} Inactive"
        if self.action == DELETE_LOGIN_PROFILE:
            return f"delete the console password (login profile) of {self.user}"
        if self.action == ENFORCE_MFA:
            return f"enforce MFA for {self.user} (deny-unless-MFA policy, or delete the login profile by parameter)"
        return None


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "at an unknown date"


def _root_findings(row: CredentialRow) -> list[SweepFinding]:
    found = []
    if row.active_keys:
        found.append(SweepFinding(ROOT, "root", row.arn, row.account, Severity.CRITICAL,
                                  f"the root user has {len(row.active_keys)} active access key(s); only root can "
                                  "delete them (Security credentials page)."))
    if not row.mfa_active:
        found.append(SweepFinding(ROOT, "root", row.arn, row.account, Severity.CRITICAL,
                                  "the root user has no MFA device."))
    return found


def _warned_or_now(check: str, user: str, warned: Mapping[tuple[str, str], datetime], now: datetime,
                   grace: timedelta) -> tuple[bool, str]:
    """(act now?, what the message says about the warning period)."""
    due = warned.get((check, user))
    if due is not None:
        return due <= now, ("the warning period is over" if due <= now else f"warned; acted on after {_day(due)}")
    if grace <= timedelta(0):
        return True, "no warning period is configured"
    return False, f"warned now; acted on after {grace.days or grace.total_seconds() / 3600:g} " + (
        "day(s)" if grace.days else "hour(s)")


def check_user(row: CredentialRow, settings: Settings, now: datetime,
               warned: Mapping[tuple[str, str], datetime]) -> list[SweepFinding]:
    """Every finding for one report row; `warned` maps (check, user) to the end of its warning period."""
    if row.is_root:
        return _root_findings(row)
    found: list[SweepFinding] = []
    unused_cutoff = now - timedelta(days=settings.unused_credential_days)
    age_cutoff = now - timedelta(days=settings.key_max_age_days)

    def add(check: str, reason: str, action: str, act_now: bool = True, grace: timedelta | None = None,
            key: AccessKeyColumns | None = None) -> None:
        found.append(SweepFinding(check, row.user, row.arn, row.account, Severity.MEDIUM, reason, action, act_now,
                                  grace, key.last_rotated if key else None))

    handled: set[int] = set()
    for key in row.active_keys:
        last = key.last_used or key.last_rotated
        if last and last < unused_cutoff:
            used = f"last used {_day(key.last_used)}" if key.last_used else f"never used since {_day(last)}"
            add(UNUSED, f"access key {key.slot} of {row.user} was {used} (over {settings.unused_credential_days} "
                "days).", DEACTIVATE_KEY, key=key)
            handled.add(key.slot)

    console_handled = False
    if row.password_enabled:
        last = row.password_last_used or row.password_last_changed or row.created
        if last and last < unused_cutoff:
            used = f"last used {_day(row.password_last_used)}" if row.password_last_used else "never used"
            add(UNUSED, f"the console password of {row.user} was {used} (over {settings.unused_credential_days} "
                "days).", DELETE_LOGIN_PROFILE)
            console_handled = True

    remaining = [key for key in row.active_keys if key.slot not in handled]
    old = sorted((key for key in remaining if key.last_rotated and key.last_rotated < age_cutoff),
                 key=lambda key: key.last_rotated)  # type: ignore[arg-type, return-value]
    for key in old:
        age = (now - key.last_rotated).days  # type: ignore[operator]
        if len(remaining) == 2 and key is old[0]:
            add(KEY_AGE, f"access key {key.slot} of {row.user} is {age} days old and {row.user} has a newer key: "
                "the older one goes now.", DEACTIVATE_KEY, key=key)
            continue
        grace = timedelta(days=settings.key_warning_days)
        act_now, note = _warned_or_now(KEY_AGE, row.user, warned, now, grace)
        add(KEY_AGE, f"access key {key.slot} of {row.user} is {age} days old (over {settings.key_max_age_days}); "
            f"{note}.", DEACTIVATE_KEY, act_now, grace, key)

    if row.password_enabled and not row.mfa_active and not console_handled:
        grace = timedelta(hours=settings.mfa_grace_period_hours)
        act_now, note = _warned_or_now(CONSOLE_MFA, row.user, warned, now, grace)
        add(CONSOLE_MFA, f"{row.user} has a console password and no MFA device; {note}.", ENFORCE_MFA, act_now, grace)
    return found


def find_offenders(rows: list[CredentialRow], settings: Settings, now: datetime,
                   warned: Mapping[tuple[str, str], datetime]) -> list[SweepFinding]:
    """All findings of a report, report order; the caller drops those whose mode is off."""
    return [finding for row in rows for finding in check_user(row, settings, now, warned)]
