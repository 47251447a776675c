"""Settings from the environment: one source of truth for Lambda, the CLI and tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from remediator.findings import Mode
from remediator.rule_ids import RULE_IDS

EXEMPT_TAG = "remediator:exempt"
ESCALATION_MODE_VARIABLE = "MODE_ADMIN_GRANTS_ESCALATION"
IDENTITY_CENTER_ESCALATION_VARIABLE = "MODE_IDENTITY_CENTER_ESCALATION"


def _split(value: str | None) -> frozenset[str]:
    return frozenset(item.strip() for item in (value or "").split(",") if item.strip())


def _int(value: str | None, default: int) -> int:
    """A whole number from the environment; a blank or bad value keeps the default."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def mode_variable(rule_id: str) -> str:
    """The environment variable (and template parameter value) that sets a rule's mode."""
    return f"MODE_{rule_id.upper()}"


@dataclass(frozen=True)
class Settings:
    """What a deployment decides: modes, exemptions, trust, and who we are."""

    modes: Mapping[str, Mode] = field(default_factory=dict)
    own_role_arns: frozenset[str] = frozenset()
    break_glass_arns: frozenset[str] = frozenset()
    trusted_accounts: frozenset[str] = frozenset()
    trusted_org_ids: frozenset[str] = frozenset()
    trusted_oidc_subjects: frozenset[str] = frozenset()
    topic_arn: str | None = None
    live: bool = True
    # console_mfa and the sweep
    mfa_grace_period_hours: int = 24
    console_mfa_remediation: str = "deny-policy"  # or "delete-login-profile"
    deny_without_mfa_policy_arn: str | None = None  # the stack's customer-managed policy
    roles_only_account: bool = False  # iam_user_sprawl is high severity here
    findings_table: str | None = None
    sweep_mode: Mode = Mode.NOTIFY
    key_max_age_days: int = 90
    key_warning_days: int = 14
    unused_credential_days: int = 90
    # admin_grants: a grant that only opens an escalation path is reported, not reverted, unless this says so
    admin_grants_escalation_mode: Mode = Mode.NOTIFY
    # identity_center: the same, for permission sets
    identity_center_escalation_mode: Mode = Mode.NOTIFY

    def mode_of(self, rule_id: str, default: Mode = Mode.NOTIFY) -> Mode:
        return self.modes.get(rule_id, default)

    def is_own(self, arn: str | None) -> bool:
        """True for one of the stack's roles, by role ARN or assumed-role session ARN."""
        if not arn or not self.own_role_arns:
            return False
        if arn in self.own_role_arns:
            return True
        if ":assumed-role/" in arn:
            role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
            account = arn.split(":")[4]
            return any(
                own.split(":")[4] == account and own.rsplit("/", 1)[-1] == role_name for own in self.own_role_arns
            )
        return False

    def is_break_glass(self, *arns: str | None) -> bool:
        return any(arn in self.break_glass_arns for arn in arns if arn)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, live: bool = True) -> Settings:
        env = os.environ if environ is None else environ
        modes = {}  # only what the environment sets: `mode_of` falls back to the rule's default
        for rule_id in RULE_IDS:  # ids only: importing every rule here would slow every cold start
            raw = env.get(mode_variable(rule_id), "").strip().lower()
            if raw in Mode.__members__.values():
                modes[rule_id] = Mode(raw)
        return cls(
            modes=modes,
            own_role_arns=_split(env.get("OWN_ROLE_ARNS")),
            break_glass_arns=_split(env.get("BREAK_GLASS_ARNS")),
            trusted_accounts=_split(env.get("TRUSTED_ACCOUNT_IDS")),
            trusted_org_ids=_split(env.get("TRUSTED_ORG_IDS")),
            trusted_oidc_subjects=_split(env.get("TRUSTED_OIDC_SUBJECTS")),
            topic_arn=env.get("TOPIC_ARN") or None,
            live=live,
            mfa_grace_period_hours=max(0, _int(env.get("MFA_GRACE_PERIOD_HOURS"), 24)),
            console_mfa_remediation=(
                "delete-login-profile" if env.get("CONSOLE_MFA_REMEDIATION", "").strip().lower()
                == "delete-login-profile" else "deny-policy"),
            deny_without_mfa_policy_arn=env.get("DENY_WITHOUT_MFA_POLICY_ARN") or None,
            roles_only_account=_flag(env.get("ROLES_ONLY_ACCOUNT")),
            findings_table=env.get("FINDINGS_TABLE") or None,
            sweep_mode=Mode(sweep) if (sweep := env.get("MODE_SWEEP", "").strip().lower()) in Mode else Mode.NOTIFY,
            key_max_age_days=max(1, _int(env.get("KEY_MAX_AGE_DAYS"), 90)),
            key_warning_days=max(0, _int(env.get("KEY_WARNING_DAYS"), 14)),
            unused_credential_days=max(1, _int(env.get("UNUSED_CREDENTIAL_DAYS"), 90)),
            admin_grants_escalation_mode=Mode.REMEDIATE if env.get(ESCALATION_MODE_VARIABLE, "").strip().lower()
            == Mode.REMEDIATE else Mode.NOTIFY,
            identity_center_escalation_mode=Mode.REMEDIATE if env.get(
                IDENTITY_CENTER_ESCALATION_VARIABLE, "").strip().lower() == Mode.REMEDIATE else Mode.NOTIFY,
        )
