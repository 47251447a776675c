"""Settings from the environment: one source of truth for Lambda, the CLI and tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from remediator.arns import same_principal
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


DEFAULT_PUBLIC_PORTS = "80,443"


def port_ranges(value: str | None, default: str = DEFAULT_PUBLIC_PORTS) -> tuple[tuple[int, int], ...]:
    """ "80,443,8000-8080" as port ranges; a malformed value keeps the default (never allows more by accident)."""
    ranges = []
    for item in (value if value is not None else default).split(","):
        if not item.strip():
            continue
        low, _, high = item.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            return port_ranges(default) if value is not None else ()
        if not 0 <= first <= last <= 65535:
            return port_ranges(default) if value is not None else ()
        ranges.append((first, last))
    return tuple(ranges)


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
    # Each of the stack's functions by name, with its role's ARN: Lambda names a role's session after the
    # function, so only that pairing is "our function acting". The stack names each function's role as the
    # function, under OWN_ROLE_PREFIX (OWN_FUNCTION_NAMES).
    own_functions: Mapping[str, str] = field(default_factory=dict)
    # The stack's own resources (remediator_tampering): EventBridge rules, queues, key, the stack itself, and the
    # principals that deploy it (DeployerArns).
    own_queue_names: frozenset[str] = frozenset()
    own_key_arn: str | None = None
    own_stack_id: str | None = None
    deployer_arns: frozenset[str] = frozenset()
    break_glass_arns: frozenset[str] = frozenset()
    trusted_accounts: frozenset[str] = frozenset()
    trusted_org_ids: frozenset[str] = frozenset()
    trusted_oidc_subjects: frozenset[str] = frozenset()
    topic_arn: str | None = None
    live: bool = True
    # The central exemption list (a table only the exemption admins may write); none: no entry applies.
    exemptions_table: str | None = None
    # The remediator:exempt tag counts only where the operator says so (anyone who may tag may set it).
    honour_exempt_tags: bool = False
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
    # guardrail_tampering: a lifecycle rule on a trail's bucket that deletes logs sooner than this is a finding
    trail_log_retention_days: int = 365
    # open_security_group: ports that may be open to the whole internet (e.g. a web server's 80 and 443)
    public_ingress_ports: tuple[tuple[int, int], ...] = ((80, 80), (443, 443))
    # identity_center: the same, for permission sets
    identity_center_escalation_mode: Mode = Mode.NOTIFY
    # ec2_without_role: the stack's SSM-only instance profile, attached to an instance that has none
    ec2_baseline_instance_profile: str | None = None
    # Organization mode: the role each member account holds for the hub, "<path><name>" (its sessions are ours).
    member_role: str | None = None

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

    def is_own_session(self, arn: str | None, issuer_arn: str | None) -> bool:
        """True for a session one of our functions holds: the role is that function's own role and the session
        is named after the function (Lambda names its sessions so). Someone else's session of our role is not."""
        if not arn or ":assumed-role/" not in arn or len(arn.split(":")) < 6:
            return False
        role_name, _, session = arn.split(":assumed-role/", 1)[1].partition("/")
        role_arn = self.own_functions.get(session)
        if role_arn is None or len(role_arn.split(":")) < 6:
            return False
        same_role = role_arn.split(":")[4] == arn.split(":")[4] and role_arn.rsplit("/", 1)[-1] == role_name
        return same_role and (issuer_arn is None or issuer_arn == role_arn)

    def is_member_session(self, arn: str | None, issuer_arn: str | None) -> bool:
        """True for a session of the member role (organization mode): only the hub's function roles may assume it,
        in whichever account holds it; the issuer, when present, must be that role of that same account."""
        if not self.member_role or not arn or ":assumed-role/" not in arn or len(arn.split(":")) < 6:
            return False
        role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        if role_name != self.member_role.rsplit("/", 1)[-1]:
            return False
        issuer = (issuer_arn or "").split(":", 5)
        return issuer_arn is None or (
            len(issuer) == 6 and issuer[4] == arn.split(":")[4] and issuer[5] == f"role{self.member_role}"
        )

    def is_own_rule(self, name: str) -> bool:
        """The stack names its functions' EventBridge rules `<function name>-<n>`."""
        function, _, number = name.rpartition("-")
        return function in self.own_functions and number.isdigit()

    def is_break_glass(self, *arns: str | None) -> bool:
        """A break-glass ARN names one of these: a session by its role, a user or role by name whatever its
        path and case (IAM names are unique so); the partition and the account must be the same."""
        return self.break_glass_match(*arns) is not None

    def break_glass_match(self, *arns: str | None) -> str | None:
        """The first of `arns` that a break-glass ARN names, else None."""
        return next(
            (arn for arn in arns if arn and any(same_principal(glass, arn) for glass in self.break_glass_arns)), None
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, live: bool = True) -> Settings:
        env = os.environ if environ is None else environ
        modes = {}  # only what the environment sets: `mode_of` falls back to the rule's default
        for rule_id in RULE_IDS:  # ids only: importing every rule here would slow every cold start
            raw = env.get(mode_variable(rule_id), "").strip().lower()
            if raw in Mode.__members__.values():
                modes[rule_id] = Mode(raw)
        prefix = env.get("OWN_ROLE_PREFIX", "").strip()
        functions = {name: f"{prefix}{name}" for name in _split(env.get("OWN_FUNCTION_NAMES"))} if prefix else {}
        return cls(
            modes=modes,
            own_role_arns=_split(env.get("OWN_ROLE_ARNS")) | frozenset(functions.values()),
            own_functions=functions,
            # Every queue of the stack is named after its function: <function>-rule-dlq, -function-dlq (the
            # sweep's schedule: -schedule-dlq). OWN_QUEUE_NAMES may name more.
            own_queue_names=_split(env.get("OWN_QUEUE_NAMES"))
            | frozenset(
                f"{name}-{kind}-dlq"
                for name in _split(env.get("OWN_FUNCTION_NAMES"))
                for kind in ("rule", "function", "schedule")
            ),
            own_key_arn=env.get("OWN_KEY_ARN") or None,
            own_stack_id=env.get("OWN_STACK_ID") or None,
            deployer_arns=_split(env.get("DEPLOYER_ARNS")),
            break_glass_arns=_split(env.get("BREAK_GLASS_ARNS")),
            trusted_accounts=_split(env.get("TRUSTED_ACCOUNT_IDS")),
            trusted_org_ids=_split(env.get("TRUSTED_ORG_IDS")),
            trusted_oidc_subjects=_split(env.get("TRUSTED_OIDC_SUBJECTS")),
            topic_arn=env.get("TOPIC_ARN") or None,
            live=live,
            exemptions_table=env.get("EXEMPTIONS_TABLE") or None,
            honour_exempt_tags=_flag(env.get("HONOUR_EXEMPT_TAGS")),
            mfa_grace_period_hours=max(0, _int(env.get("MFA_GRACE_PERIOD_HOURS"), 24)),
            console_mfa_remediation=(
                "delete-login-profile"
                if env.get("CONSOLE_MFA_REMEDIATION", "").strip().lower() == "delete-login-profile"
                else "deny-policy"
            ),
            deny_without_mfa_policy_arn=env.get("DENY_WITHOUT_MFA_POLICY_ARN") or None,
            roles_only_account=_flag(env.get("ROLES_ONLY_ACCOUNT")),
            findings_table=env.get("FINDINGS_TABLE") or None,
            sweep_mode=Mode(sweep) if (sweep := env.get("MODE_SWEEP", "").strip().lower()) in Mode else Mode.NOTIFY,
            key_max_age_days=max(1, _int(env.get("KEY_MAX_AGE_DAYS"), 90)),
            key_warning_days=max(0, _int(env.get("KEY_WARNING_DAYS"), 14)),
            unused_credential_days=max(1, _int(env.get("UNUSED_CREDENTIAL_DAYS"), 90)),
            admin_grants_escalation_mode=Mode.REMEDIATE
            if env.get(ESCALATION_MODE_VARIABLE, "").strip().lower() == Mode.REMEDIATE
            else Mode.NOTIFY,
            trail_log_retention_days=max(1, _int(env.get("TRAIL_LOG_RETENTION_DAYS"), 365)),
            public_ingress_ports=port_ranges(env.get("PUBLIC_INGRESS_PORTS")),
            identity_center_escalation_mode=Mode.REMEDIATE
            if env.get(IDENTITY_CENTER_ESCALATION_VARIABLE, "").strip().lower() == Mode.REMEDIATE
            else Mode.NOTIFY,
            ec2_baseline_instance_profile=env.get("EC2_BASELINE_INSTANCE_PROFILE", "").strip() or None,
            member_role=_member_role(env),
        )


def _member_role(env: Mapping[str, str]) -> str | None:
    """MEMBER_ROLE_PATH + MEMBER_ROLE_NAME (organization mode), None when the name is empty."""
    name = env.get("MEMBER_ROLE_NAME", "").strip()
    path = env.get("MEMBER_ROLE_PATH", "").strip() or "/compliance-remediator/"
    return f"{path.rstrip('/')}/{name}" if name else None
