"""console_mfa: a console password without MFA is one phished password away from the account.

Practice 2. A user's own new or changed password, or a sign-in without MFA, opens a grace period
(warned now; the sweep acts when it is over and MFA is still missing). MFA removed from a user who
still has a password is acted on at once. The action attaches the stack's customer-managed copy of
AWS's documented "deny everything except managing your own MFA unless MFA is present" policy
(reversible; the user can still enrol, and EnableMFADevice removes it), or, by parameter,
deletes the login profile.

A password set, or an MFA device enrolled, by anyone but the user themself is account takeover:
whoever chose the password or holds the device can sign in as that user. No grace period: the
password is deleted, or the device deactivated, at once. "Anyone but the user" is decided from
CloudTrail's identity, never from names the caller chose: an IAM user of this account whose name
equals the target's (IAM names are unique case-insensitively) is the user; every role session,
federated user, root or service acting on a user is someone else.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for, review_finding
from remediator.findings import ActionResult, Finding, Mode, Resource, Severity
from remediator.grants import judge_principal
from remediator.remediate.credentials import (
    DELETE_LOGIN_PROFILE,
    deactivate_mfa_device,
    delete_login_profile,
    enforce_mfa,
)
from remediator.rules.base import CONSOLE_SIGN_IN, EvalContext, RuleMeta, Trigger, iam_arn, iam_name, keep_mode
from remediator.state import StateUnreadable

if TYPE_CHECKING:
    from remediator.config import Settings
    from remediator.store import FindingsStore

MFA_REMOVED = ("DeactivateMFADevice", "DeleteVirtualMFADevice")
TAKEOVER = ("CreateLoginProfile", "UpdateLoginProfile", "EnableMFADevice")
MFA_SERIAL = re.compile(r"[\w+=/:,.@-]{9,256}")  # IAM's pattern for an MFA device serial number or ARN

META = RuleMeta(
    id="console_mfa",
    title="Console access without MFA",
    practice="Require MFA for every console user",
    severity=Severity.MEDIUM,
    triggers=(
        Trigger(event_names=("CreateLoginProfile", "UpdateLoginProfile", *MFA_REMOVED, "EnableMFADevice")),
        Trigger(
            sources=("aws.signin",),
            event_sources=("signin.amazonaws.com",),
            event_names=("ConsoleLogin",),
            detail_types=(CONSOLE_SIGN_IN,),
            identity_types=("IAMUser",),
        ),
    ),
    resource_path="requestParameters.userName || userIdentity.userName",
    remediation="after the grace period, attach the deny-unless-MFA policy (or, by parameter, delete the password)",
    undo="aws iam detach-user-policy --user-name {user} --policy-arn {policy}  (enrolling an MFA device does it too)",
    remediation_actions=(
        "iam:AttachUserPolicy",
        "iam:DetachUserPolicy",
        "iam:ListAttachedUserPolicies",
        "iam:DeleteLoginProfile",
        "iam:GetLoginProfile",
        "iam:ListMFADevices",
        "iam:DeactivateMFADevice",
    ),
    state_actions=(
        "iam:ListUserTags",
        "iam:ListMFADevices",
        "iam:GetLoginProfile",
        # account takeover: how much power the taken-over user holds
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
        "iam:ListGroupsForUser",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ),
    stack_policy_only=("iam:AttachUserPolicy", "iam:DetachUserPolicy"),
    resolved_by=("EnableMFADevice",),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_mfa-selfmanage.html",
        "CIS AWS Foundations Benchmark 1.10: MFA for every user with a console password",
    ),
)

mode_for = keep_mode


def deny_without_mfa_document() -> dict[str, Any]:
    """AWS's documented self-manage-MFA policy; the template creates the managed policy from the same file."""
    document: dict[str, Any] = json.loads(
        resources.files("remediator").joinpath("data/deny_without_mfa.json").read_text()
    )
    return document


def _target_user(record: CloudTrailRecord) -> str | None:
    """The user whose console access changed: the parameter, else the calling IAM user (self-service)."""
    name = record.params.get("userName")
    if not name and record.identity.type == "IAMUser":
        name = record.identity.userName or (record.identity.arn or "").rsplit("/", 1)[-1] or None
    return iam_name(name)


def _caller_names(record: CloudTrailRecord) -> set[str]:
    """The calling IAM user's names (from its ARN, paths dropped, and userName), lower-cased; empty for any
    other kind of caller."""
    identity = record.identity
    if identity.type != "IAMUser":
        return set()
    names = {identity.userName} if identity.userName else set()
    arn = identity.arn or ""
    if ":user/" in arn:
        names.add(arn.rsplit("/", 1)[-1])
    return {name.lower() for name in names}


def by_someone_else(record: CloudTrailRecord, user: str | None) -> bool:
    """True unless the caller is the IAM user `user` of the record's own account."""
    if user is None:
        return False
    names = _caller_names(record)
    if not names or names != {user.lower()}:
        return True
    account = record.identity.accountId
    return bool(account and record.account and account != record.account)


def resolves(record: CloudTrailRecord) -> bool:
    """Only the user's own EnableMFADevice closes their finding; anyone else's is a finding (takeover)."""
    return record.eventName == "EnableMFADevice" and not by_someone_else(record, _target_user(record))


def action_text(user: str, settings: Settings) -> str:
    if settings.console_mfa_remediation == DELETE_LOGIN_PROFILE:
        return f"delete the console password (login profile) of user {user}"
    policy = (
        f"the deny-unless-MFA policy {settings.deny_without_mfa_policy_arn}"
        if settings.deny_without_mfa_policy_arn
        else "the stack's deny-unless-MFA policy"
    )
    return f"attach {policy} to user {user} (it also blocks their access keys unless the call is made with MFA)"


def _what(record: CloudTrailRecord, user: str | None) -> str:
    who = record.identity.display_name
    target = user or "an unnamed user"
    if user and record.eventName in ("CreateLoginProfile", "UpdateLoginProfile") and not by_someone_else(record, user):
        return (
            f"{user} gave themself a console password"
            if record.eventName == "CreateLoginProfile"
            else f"{user} changed their own console password"
        )
    return {
        "CreateLoginProfile": f"{who} gave {target} a console password",
        "UpdateLoginProfile": f"{who} changed the console password of {target}",
        "DeactivateMFADevice": f"{who} deactivated an MFA device of {target}",
        "DeleteVirtualMFADevice": f"{who} deleted virtual MFA device {record.params.get('serialNumber') or '?'}",
        "ConsoleLogin": f"{target} signed in to the console without MFA",
    }.get(record.eventName, f"{who} called {record.eventName}")


def _signed_in_with_mfa(record: CloudTrailRecord, context: EvalContext, user: str) -> bool | None:
    """True/False from the record; when it does not say, whether the user has an MFA device at all."""
    extra = record.additionalEventData or {}
    used = extra.get("MFAUsed")
    if isinstance(used, str) and used.lower() in {"yes", "no"}:
        return used.lower() == "yes"
    return bool(context.state.mfa_devices(user))


def _power(context: EvalContext, user: str) -> tuple[str, bool]:
    """How much the taken-over user can do (read live with the policy analysis; assumed in a dry run), and
    whether that is admin or escalation power, which takes away the grace period."""
    if context.assumed:
        return (
            f" State assumed (dry run): {user} holds admin or escalation power (their policies cannot be read) "
            "and has no remediator:exempt tag.",
            True,
        )
    try:
        grant = judge_principal("user", user, context.state)
    except StateUnreadable as error:
        return f" Whether {user} holds admin or escalation power could not be read ({error}).", False
    if grant.unreadable:
        return f" Whether {user} holds admin or escalation power could not be read ({grant.unreadable}).", False
    if grant.admin:
        return (
            f" {user} holds admin-equivalent permissions (through {grant.via}): whoever signs in holds the account.",
            True,
        )
    if grant.paths:
        return f" {user} can escalate privileges ({', '.join(grant.paths)}).", True
    return f" {user} holds neither admin-equivalent nor escalation permissions.", False


def _takeover(record: CloudTrailRecord, context: EvalContext, user: str) -> Finding:
    """Someone else set this user's password or enrolled their MFA device: undo that at once when the user
    holds admin or escalation power, otherwise after the grace period (a new user's first password is often
    set by an administrator)."""
    arn = iam_arn(record, "user", user)
    resource = Resource("user", user, record.account, arn)
    who = record.identity.display_name
    power, powerful = _power(context, user)
    grace = context.settings.mfa_grace_period_hours
    when = "at once (no grace period)" if powerful or grace <= 0 else f"after the {grace} h grace period"
    if record.eventName == "EnableMFADevice":
        raw = record.params.get("serialNumber")
        serial = raw if isinstance(raw, str) and MFA_SERIAL.fullmatch(raw) else None
        what = f"{who} enrolled MFA device {serial or '(not named in the event)'} for {user}"
        action = f"deactivate MFA device {serial} of user {user} {when}" if serial else None
        undo = (
            (
                f"aws iam enable-mfa-device --user-name {user} --serial-number {serial} --authentication-code1 "
                "<code> --authentication-code2 <next code>"
            )
            if serial
            else None
        )
        details: dict[str, Any] = {"user": user, "takeover": "mfa", "serial": serial, "event_id": record.eventID}
    else:
        what = _what(record, user)
        action = f"delete the console password (login profile) of user {user} {when}"
        undo = (
            f"aws iam create-login-profile --user-name {user} --password-reset-required --password <temporary password>"
        )
        details = {"user": user, "takeover": "password", "event_id": record.eventID}
    if not powerful and grace > 0:
        details["grace_hours"] = grace
    reason = (
        f"{what}: a password or MFA device set by someone else for another user is account takeover "
        f"(whoever set it can sign in as {user}).{power}"
    )
    if action is None:
        reason += " The event does not name the device, so nothing can be changed."
    exemption = exemption_for(context, record, "user", user, arn)
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=Severity.HIGH,
        reason=reason,
        resource=resource,
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=undo if action else None,
        details=details,
    )


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    extra = record.additionalEventData or {}
    if record.eventName == "ConsoleLogin" and extra.get("SamlProviderArn"):
        return None  # federated sign-in: MFA is the identity provider's, not an IAM password's
    user = _target_user(record)
    if record.eventName in TAKEOVER and user and by_someone_else(record, user):
        return _takeover(record, context, user)
    if record.eventName == "EnableMFADevice":
        return None  # the user's own: resolves the finding (runtime: removes our deny policy)
    account = record.account
    arn = iam_arn(record, "user", user)
    resource = Resource("user", user or "unknown", account, arn)
    severity, act_now, note = Severity.MEDIUM, False, ""
    try:
        if record.eventName == "ConsoleLogin" and user and _signed_in_with_mfa(record, context, user):
            return None
        has_mfa = bool(context.state.mfa_devices(user)) if user else False
        if record.eventName in MFA_REMOVED and user:
            if has_mfa:
                severity, note = Severity.LOW, f" {user} still has another MFA device."
            elif context.state.has_login_profile(user):
                severity, act_now = Severity.HIGH, True
                note = f" {user} still has a console password and now no MFA device."
            else:
                note = f" {user} has no console password, so there is nothing to enforce now."
        elif has_mfa:
            severity, note = Severity.LOW, f" {user} has an MFA device."
    except StateUnreadable as error:
        what = f"{_what(record, user)}. Could not read {error}"
        return review_finding(META.id, resource, what, details={"user": user})

    reason = f"{_what(record, user)}.{note}"
    if context.assumed:
        reason += " State assumed (dry run): the user exists, has no exemption and no MFA device."
    settings = context.settings
    needs_action = act_now if record.eventName in MFA_REMOVED else severity != Severity.LOW
    action: str | None = None
    details: dict[str, Any] = {
        "user": user,
        "event_id": record.eventID,
        "method": settings.console_mfa_remediation,
        "policy_arn": settings.deny_without_mfa_policy_arn,
    }
    if needs_action and user:
        grace = settings.mfa_grace_period_hours
        action = action_text(user, settings)
        if not act_now and grace > 0:
            action = f"after the {grace} h grace period, if {user} still has no MFA device, {action}"
            details["grace_hours"] = grace
    if user is None:
        reason += " The event does not name the user, so nothing can be changed."
    exemption = exemption_for(context, record, "user", user, arn, rule=META.id)
    reason, action = exemption.applied_to(reason, action)
    return _finding(record, resource, severity, reason, action, exempt=exemption, details=details)


def _finding(
    record: CloudTrailRecord,
    resource: Resource,
    severity: Severity,
    reason: str,
    action: str | None,
    *,
    exempt: Any,
    details: dict[str, Any],
) -> Finding:
    policy = details.get("policy_arn") or "<policy-arn>"
    undo = None
    if action:
        undo = META.undo.format(user=resource.name, policy=policy)
        if details.get("method") == DELETE_LOGIN_PROFILE:
            undo = (
                f"aws iam create-login-profile --user-name {resource.name} --password-reset-required "
                "--password <temporary password>"
            )
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=resource,
        action=action,
        exempt=bool(exempt and exempt.exempt),
        exempt_reason=exempt.reason if exempt else None,
        undo=undo,
        details=details,
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Undo a takeover, or enforce MFA now (a finding still in its grace period never reaches here: the engine
    only warns, and the scheduled sweep acts when it is over)."""
    user = finding.details["user"]
    if finding.details.get("takeover") == "password":
        return delete_login_profile(aws.iam, user)
    if finding.details.get("takeover") == "mfa":
        return deactivate_mfa_device(aws.iam, user, finding.details["serial"])
    if finding.details.get("step") == "delete_login_profile":  # a password nobody uses (the sweep)
        return delete_login_profile(aws.iam, user)
    return enforce_mfa(aws.iam, user, finding.details.get("method"), finding.details.get("policy_arn"))


def resolve(record: CloudTrailRecord, aws: AwsClients, settings: Settings, store: FindingsStore | None) -> str:
    """The user's own EnableMFADevice: remove our deny policy (if attached) and close the open finding."""
    user = _target_user(record)
    if not user or not resolves(record) or settings.mode_of(META.id, META.default_mode) == Mode.OFF:
        return "nothing to resolve"
    done = []
    if settings.deny_without_mfa_policy_arn:
        try:
            aws.iam.detach_user_policy(UserName=user, PolicyArn=settings.deny_without_mfa_policy_arn)
            done.append(f"detached the deny-unless-MFA policy from {user}")
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
    if store is not None:
        from remediator.store import resource_key

        key = resource_key(Resource("user", user, record.account))
        if store.close(key, META.id, f"EnableMFADevice {record.eventID or ''}".strip()):
            done.append(f"closed the open console_mfa finding of {user}")
    return "; ".join(done) or f"{user} enrolled MFA; nothing of ours to undo"
