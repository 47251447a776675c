"""console_mfa: a console password without MFA is one phished password away from the account.

Practice 2. A new or changed password, or a sign-in without MFA, opens a grace period (warned
now; the sweep acts when it is over and MFA is still missing). MFA removed from a user who still
has a password is acted on at once. The action attaches the stack's customer-managed copy of
AWS's documented "deny everything except managing your own MFA unless MFA is present" policy
(reversible; the user can still enrol, and EnableMFADevice removes it), or, by parameter,
deletes the login profile.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Mode, Outcome, Resource, Severity
from remediator.rules.base import CONSOLE_SIGN_IN, EvalContext, RuleMeta, Trigger, iam_arn, iam_name, keep_mode
from remediator.state import StateUnreadable

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from remediator.config import Settings
    from remediator.store import FindingsStore

DELETE_LOGIN_PROFILE = "delete-login-profile"
MFA_REMOVED = ("DeactivateMFADevice", "DeleteVirtualMFADevice")

META = RuleMeta(
    id="console_mfa",
    title="Console access without MFA",
    practice="Require MFA for every console user",
    severity=Severity.MEDIUM,
    triggers=(
        Trigger(event_names=("CreateLoginProfile", "UpdateLoginProfile", *MFA_REMOVED, "EnableMFADevice")),
        Trigger(sources=("aws.signin",), event_sources=("signin.amazonaws.com",), event_names=("ConsoleLogin",),
                detail_types=(CONSOLE_SIGN_IN,), identity_types=("IAMUser",)),
    ),
    resource_path="requestParameters.userName || userIdentity.userName",
    remediation="after the grace period, attach the deny-unless-MFA policy (or, by parameter, delete the password)",
    undo="aws iam detach-user-policy --user-name {user} --policy-arn {policy}  (enrolling an MFA device does it too)",
    remediation_actions=("iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:ListAttachedUserPolicies",
                         "iam:DeleteLoginProfile", "iam:GetLoginProfile", "iam:ListMFADevices"),
    state_actions=("iam:ListUserTags", "iam:ListMFADevices", "iam:GetLoginProfile"),
    stack_policy_only=("iam:AttachUserPolicy", "iam:DetachUserPolicy"),
    resolved_by=("EnableMFADevice",),
    references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_mfa-selfmanage.html",
                "CIS AWS Foundations Benchmark 1.10: MFA for every user with a console password"),
)

mode_for = keep_mode


def deny_without_mfa_document() -> dict[str, Any]:
    """AWS's documented self-manage-MFA policy; the template creates the managed policy from the same file."""
    document: dict[str, Any] = json.loads(resources.files("remediator").joinpath("data/deny_without_mfa.json")
                                          .read_text())
    return document


def _target_user(record: CloudTrailRecord) -> str | None:
    """The user whose console access changed: the parameter, else the calling IAM user (self-service)."""
    name = record.params.get("userName")
    if not name and record.identity.type == "IAMUser":
        name = record.identity.userName or (record.identity.arn or "").rsplit("/", 1)[-1] or None
    return iam_name(name)


def action_text(user: str, settings: Settings) -> str:
    if settings.console_mfa_remediation == DELETE_LOGIN_PROFILE:
        return f"delete the console password (login profile) of user {user}"
    policy = settings.deny_without_mfa_policy_arn or "the stack's deny-unless-MFA policy"
    return f"attach the deny-unless-MFA policy {policy} to user {user}"


def _what(record: CloudTrailRecord, user: str | None) -> str:
    who = record.identity.display_name
    target = user or "an unnamed user"
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


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    if record.eventName == "EnableMFADevice":
        return None  # resolves the finding (runtime: removes our deny policy); never a finding itself
    extra = record.additionalEventData or {}
    if record.eventName == "ConsoleLogin" and extra.get("SamlProviderArn"):
        return None  # federated sign-in: MFA is the identity provider's, not an IAM password's
    user = _target_user(record)
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
        return _finding(record, resource, Severity.LOW, f"{_what(record, user)}. Could not read {error}: "
                        "reported for review, nothing will be changed.", None, exempt=None, details={"user": user})

    reason = f"{_what(record, user)}.{note}"
    if context.assumed:
        reason += " State assumed (dry run): the user exists, has no exemption and no MFA device."
    settings = context.settings
    needs_action = act_now if record.eventName in MFA_REMOVED else severity != Severity.LOW
    action: str | None = None
    details: dict[str, Any] = {"user": user, "event_id": record.eventID, "method": settings.console_mfa_remediation,
                               "policy_arn": settings.deny_without_mfa_policy_arn}
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


def _finding(record: CloudTrailRecord, resource: Resource, severity: Severity, reason: str, action: str | None,
             *, exempt: Any, details: dict[str, Any]) -> Finding:
    policy = details.get("policy_arn") or "<policy-arn>"
    undo = None
    if action:
        undo = META.undo.format(user=resource.name, policy=policy)
        if details.get("method") == DELETE_LOGIN_PROFILE:
            undo = (f"aws iam create-login-profile --user-name {resource.name} --password-reset-required "
                    "--password <temporary password>")
    return Finding(rule=META.id, severity=severity, reason=reason, resource=resource, action=action,
                   exempt=bool(exempt and exempt.exempt), exempt_reason=exempt.reason if exempt else None,
                   undo=undo, details=details)


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Within the grace period: warn only (the sweep follows up). Otherwise enforce MFA now."""
    user = finding.details["user"]
    if finding.details.get("grace_hours"):
        return ActionResult(Outcome.SKIPPED, f"warned: {user} has {finding.details['grace_hours']} h to enrol an MFA "
                            "device; the scheduled sweep acts then if MFA is still missing.")
    return enforce_mfa(aws.iam, user, finding.details.get("method"), finding.details.get("policy_arn"))


def enforce_mfa(iam: IAMClient, user: str, method: str | None, policy_arn: str | None) -> ActionResult:
    """Attach the deny policy (or delete the login profile) unless the user has MFA by now; verify by re-reading."""
    try:
        if iam.list_mfa_devices(UserName=user)["MFADevices"]:
            return ActionResult(Outcome.SKIPPED, f"{user} has enrolled an MFA device since: nothing to enforce.")
        if method == DELETE_LOGIN_PROFILE:
            return delete_login_profile(iam, user)
        if not policy_arn:
            return ActionResult(Outcome.FAILED, f"no deny-unless-MFA policy is configured for {user}.",
                                "DENY_WITHOUT_MFA_POLICY_ARN is not set")
        iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
        attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    except ClientError as error:
        code = error_code(error)
        if code == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"user {user} (or the policy) no longer exists: nothing changed.")
        return ActionResult(Outcome.FAILED, f"could not enforce MFA for {user}.", f"{code}: {error}")
    if any(policy["PolicyArn"] == policy_arn for policy in attached):
        return ActionResult(Outcome.VERIFIED, f"{user} now has the deny-unless-MFA policy attached (verified by "
                            "re-reading); they can still sign in and enrol an MFA device.")
    return ActionResult(Outcome.FAILED, f"the deny-unless-MFA policy does not show on {user} after attaching it.")


def delete_login_profile(iam: IAMClient, user: str) -> ActionResult:
    """Remove console access outright (the parameter's choice, and the sweep's for unused passwords)."""
    try:
        iam.delete_login_profile(UserName=user)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"{user} has no console password any more: nothing to delete.")
        raise
    try:
        iam.get_login_profile(UserName=user)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return ActionResult(Outcome.VERIFIED, f"the console password of {user} is deleted (verified by re-read).")
        raise
    return ActionResult(Outcome.FAILED, f"{user} still has a console password after deleting it.")


def resolve(record: CloudTrailRecord, aws: AwsClients, settings: Settings, store: FindingsStore | None) -> str:
    """EnableMFADevice: remove our deny policy (if attached) and close the open finding."""
    user = _target_user(record)
    if not user or settings.mode_of(META.id, META.default_mode) == Mode.OFF:
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
