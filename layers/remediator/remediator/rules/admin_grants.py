"""admin_grants: a grant of admin-equivalent permissions, or of a privilege-escalation path, to an IAM entity.

Practices 3 and 5 (least privilege; no standing admin). The document decides (docs/policy-analysis.md):
admin-equivalent is critical, an escalation path high and named. AWS managed policies are judged from
shipped data (no call); a customer-managed policy is read only when the event does not carry its document.
Every remediation is the smallest reversible step: detach, delete the inline policy (its document is in the
message), restore a previous default version only when it is known, remove the user from the group. A grant
that only opens an escalation path is reported, not reverted, unless MODE_ADMIN_GRANTS_ESCALATION says
remediate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.config import ESCALATION_MODE_VARIABLE
from remediator.events import CloudTrailRecord
from remediator.exemptions import Exemption, exemption_for, review_finding
from remediator.findings import ActionResult, Finding, Mode, Outcome, Resource, Severity
from remediator.grants import Grant, judge, judge_attached, judge_group, judge_principal, within_boundary
from remediator.policy import PolicyParseError, load_policy_document
from remediator.remediate.grants import detach_policy
from remediator.remediation import compact, shell_document
from remediator.rules.base import (
    EvalContext,
    RuleMeta,
    Trigger,
    escalation_stays_notify,
    iam_arn,
    iam_name,
    resolves_nothing,
)
from remediator.state import StateUnreadable

ATTACH = {"AttachUserPolicy": "user", "AttachGroupPolicy": "group", "AttachRolePolicy": "role"}
PUT = {"PutUserPolicy": "user", "PutGroupPolicy": "group", "PutRolePolicy": "role"}
VERSIONS = ("CreatePolicyVersion", "SetDefaultPolicyVersion")
MEMBERSHIP = "AddUserToGroup"
BOUNDARIES = {
    "PutUserPermissionsBoundary": "user",
    "PutRolePermissionsBoundary": "role",
    "DeleteUserPermissionsBoundary": "user",
    "DeleteRolePermissionsBoundary": "role",
}

META = RuleMeta(
    id="admin_grants",
    title="Admin-equivalent or privilege-escalation permissions granted",
    practice="Grant least privilege; no standing admin-equivalent or escalation-capable permissions",
    severity=Severity.CRITICAL,
    triggers=(Trigger(event_names=(*ATTACH, *PUT, *VERSIONS, MEMBERSHIP, *BOUNDARIES)),),
    resource_path="requestParameters.[userName, groupName, roleName, policyArn] | [?@] | [0]",
    remediation="detach the policy / delete the inline policy / make the newest other version that is not risky "
    "the default again / remove the user from the group; boundary changes: notify",
    undo="the message names the command that restores the grant",
    remediation_actions=(
        "iam:DetachUserPolicy",
        "iam:DetachGroupPolicy",
        "iam:DetachRolePolicy",
        "iam:ListAttachedUserPolicies",
        "iam:ListAttachedGroupPolicies",
        "iam:ListAttachedRolePolicies",
        "iam:DeleteUserPolicy",
        "iam:DeleteGroupPolicy",
        "iam:DeleteRolePolicy",
        "iam:GetUserPolicy",
        "iam:GetGroupPolicy",
        "iam:GetRolePolicy",
        # (iam:GetPolicyVersion, which a revert planned without an account reads too, is a state action)
        "iam:ListPolicyVersions",
        "iam:SetDefaultPolicyVersion",
        "iam:GetPolicy",
        "iam:RemoveUserFromGroup",
        "iam:ListGroupsForUser",
    ),
    state_actions=(
        "iam:ListUserTags",
        "iam:ListRoleTags",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:GetUserPolicy",
        "iam:GetGroupPolicy",
        "iam:GetRolePolicy",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        # a boundary change: everything the user (with its groups) or role holds
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:ListGroupsForUser",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
    ),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
        "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
    ),
)

resolve = resolves_nothing

POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[A-Za-z0-9+=,.@_/-]{1,640}")
VERSION_ID = re.compile(r"v\d{1,6}")


def _request_document(record: CloudTrailRecord) -> tuple[Any, str | None]:
    """The policyDocument the call carried, or why it is not usable (absent, omitted by CloudTrail)."""
    raw = record.params.get("policyDocument")
    if raw is None:
        return None, "the event carries no policy document"
    if isinstance(raw, dict) and raw.get("omitted"):
        return None, "CloudTrail omitted the policy document from the event"
    try:
        return load_policy_document(raw), None
    except PolicyParseError as error:
        return None, f"the policy document in the event is unreadable ({error})"


def _document_or_read(record: CloudTrailRecord, what: str, read: Callable[[], Any] | None) -> tuple[Grant, Any]:
    """Judge the event's document; when it is missing or unreadable, the one AWS holds (live only)."""
    document, problem = _request_document(record)
    if document is None:
        if read is None:
            return Grant(what, unreadable=f"{problem}, and the event does not say where to read it"), None
        try:
            document = read()
        except StateUnreadable as error:
            return Grant(what, unreadable=f"{problem}; could not read {error}"), None
    grant = judge(what, document)
    return grant, document if grant.unreadable is None else None


@dataclass
class Target:
    """The entity the grant lands on and what would revert it."""

    kind: str
    name: str | None
    arn: str | None
    action: str | None = None
    undo: str | None = None
    details: dict[str, Any] | None = None
    note: str = ""  # why nothing can be reverted, when that is known at evaluation
    staged: bool = False  # a non-default policy version: nothing is granted until someone makes it the default


def _version_number(version_id: str) -> int:
    return int(version_id[1:]) if VERSION_ID.fullmatch(version_id) else -1


def newest_safe_version(
    version_ids: list[str], offending: str, document_of: Callable[[str], Any]
) -> tuple[str | None, str]:
    """The newest version other than the offending one that grants neither admin nor an escalation path,
    else why there is none. `document_of` reads a version's document (state at evaluation, IAM at remediation)."""
    refused = []
    for version in sorted((v for v in version_ids if v != offending), key=_version_number, reverse=True):
        try:
            grant = judge(f"version {version}", document_of(version))
        except StateUnreadable as error:
            grant = Grant(f"version {version}", unreadable=str(error))
        if grant.unreadable:
            refused.append(f"{version} could not be read")
        elif grant.risky:
            refused.append(f"{version} is {'admin-equivalent' if grant.admin else 'escalating'} too")
        else:
            return version, ""
    if not refused:
        return None, "the policy has no other version"
    return None, f"no other version is free of risky grants ({'; '.join(refused)})"


def _previous_version(arn: str, new_version: str, context: EvalContext) -> tuple[str | None, str]:
    """The version to make the default again, read from the account, else why there is none."""
    try:
        versions = [v["VersionId"] for v in context.state.policy_versions(arn)]
    except StateUnreadable as error:
        return None, f"could not read {error}"
    if new_version not in versions:
        return None, f"version {new_version} no longer exists"
    return newest_safe_version(versions, new_version, lambda version: context.state.policy_document(arn, version))


def _decide(record: CloudTrailRecord, context: EvalContext) -> tuple[Grant, Target] | None:
    """What the event grants (judged) and to whom; None when it grants nothing we watch."""
    params, name = record.params, record.eventName
    caller = record.identity.display_name
    if name in ATTACH or name in PUT:
        kind = ATTACH.get(name) or PUT[name]
        entity = iam_name(params.get(f"{kind}Name"))
        target = Target(kind, entity, iam_arn(record, kind, entity))
        on = f"{kind} {entity or '(not named in the event)'}"
        if name in ATTACH:
            arn = params.get("policyArn")
            if not isinstance(arn, str) or not POLICY_ARN.fullmatch(arn):
                return Grant(f"a policy attached to {on}", unreadable="the event names no valid policy ARN"), target
            grant = judge_attached(arn, context.state)
            grant.what = f"{caller} attached {grant.what} to {on}"
            if entity:
                target.action = f"detach {arn} from {kind} {entity}"
                target.undo = f"aws iam attach-{kind}-policy --{kind}-name {entity} --policy-arn {arn}"
                target.details = {"op": "detach", "kind": kind, "entity": entity, "policy_arn": arn}
            return grant, target
        policy = iam_name(params.get("policyName"))
        what = f"inline policy {policy or '(unnamed)'} of {on}"
        grant, document = _document_or_read(
            record, what, (lambda: context.state.inline_policy(kind, entity, policy)) if entity and policy else None
        )
        grant.what = f"{caller} put {what}"
        if entity and policy and document is not None:
            target.action = f"delete inline policy {policy} of {kind} {entity}"
            target.undo = (
                f"aws iam put-{kind}-policy --{kind}-name {entity} --policy-name {policy} "
                f"--policy-document {shell_document(document)}"
            )
            target.details = {"op": "delete", "kind": kind, "entity": entity, "policy": policy, "document": document}
        return grant, target
    if name in VERSIONS:
        return _decide_version(record, context)
    if name in BOUNDARIES:
        return _decide_boundary(record, context)
    group, user = iam_name(params.get("groupName")), iam_name(params.get("userName"))
    target = Target("user", user, iam_arn(record, "user", user))
    if not group:
        return Grant(
            f"{caller} added user {user or '(not named in the event)'} to a group",
            unreadable="the event names no group",
        ), target
    grant = judge_group(group, context.state)
    grant.what = f"{caller} added user {user or '(not named in the event)'} to group {group}"
    if user:
        target.action = f"remove user {user} from group {group}"
        target.undo = f"aws iam add-user-to-group --group-name {group} --user-name {user}"
        target.details = {"op": "remove", "user": user, "group": group, "group_arn": iam_arn(record, "group", group)}
    return grant, target


def _decide_version(record: CloudTrailRecord, context: EvalContext) -> tuple[Grant, Target] | None:
    params, caller = record.params, record.identity.display_name
    arn = params.get("policyArn")
    arn = arn if isinstance(arn, str) and POLICY_ARN.fullmatch(arn) else None
    policy_name = arn.rsplit("/", 1)[-1] if arn else None
    target = Target("policy", policy_name, arn)
    if record.eventName == "CreatePolicyVersion":
        # A non-default version grants nothing yet, but one SetDefaultPolicyVersion away: staged.
        target.staged = str(params.get("setAsDefault")).lower() != "true"
        response = record.response.get("policyVersion")
        version = response.get("versionId") if isinstance(response, dict) else None
        version = version if isinstance(version, str) and VERSION_ID.fullmatch(version) else None
        what = (
            f"a new {'non-default' if target.staged else 'default'} version "
            f"{version or '(number not in the event)'} of policy {arn or '(not named)'}"
        )
        grant, _ = _document_or_read(
            record, what, (lambda: context.state.policy_document(arn, version)) if arn and version else None
        )
        grant.what = f"{caller} made {what}"
        if target.staged:
            target.note = (
                " It is staged, not in force: it takes effect when someone makes it the default "
                "(SetDefaultPolicyVersion); nothing is changed now."
            )
            if arn and version:
                target.note += f" To drop it: aws iam delete-policy-version --policy-arn {arn} --version-id {version}"
            return grant, target
    else:
        version = params.get("versionId")
        version = version if isinstance(version, str) and VERSION_ID.fullmatch(version) else None
        what = f"version {version} of policy {arn}"
        if not arn or not version:
            grant = Grant(what, unreadable="the event names no valid policy ARN and version")
        else:
            try:
                grant = judge(what, context.state.policy_document(arn, version))
            except StateUnreadable as error:
                grant = Grant(what, unreadable=str(error))
        grant.what = f"{caller} made {what} the default"
    if arn and version and not grant.unreadable and grant.risky:
        previous, why = (None, "") if context.assumed else _previous_version(arn, version, context)
        if previous:
            target.action = f"make version {previous} of {arn} (the newest other version that is not risky) the default"
            target.details = {"op": "restore", "policy_arn": arn, "version": version, "previous": previous}
        elif context.assumed:
            target.action = (
                f"make the newest other version of {arn} that is neither admin-equivalent nor escalating "
                "the default, if there is one; otherwise report only"
            )
            target.details = {"op": "restore", "policy_arn": arn, "version": version, "previous": None}
        else:
            target.note = f" No other version is made the default automatically: {why}."
        target.undo = f"aws iam set-default-policy-version --policy-arn {arn} --version-id {version}"
    return grant, target


def _decide_boundary(record: CloudTrailRecord, context: EvalContext) -> tuple[Grant, Target]:
    """A boundary removed or replaced: what the principal's own policies grant now, under the new boundary if any.

    The boundary before the change is in neither the event nor IAM any more, so nothing is put back: notify.
    """
    kind = BOUNDARIES[record.eventName]
    entity = iam_name(record.params.get(f"{kind}Name"))
    target = Target(kind, entity, iam_arn(record, kind, entity))
    on = f"{kind} {entity or '(not named in the event)'}"
    caller = record.identity.display_name
    held = (
        judge_principal(kind, entity, context.state)
        if entity
        else Grant(on, unreadable="the event does not name the principal")
    )
    if record.eventName.startswith("Delete"):
        grant, change = held, f"{caller} removed the permissions boundary of {on}"
    else:
        arn = record.params.get("permissionsBoundary")
        if not isinstance(arn, str) or not POLICY_ARN.fullmatch(arn):
            return Grant(
                f"{caller} replaced the permissions boundary of {on}",
                unreadable="the event names no valid boundary policy ARN",
            ), target
        grant = within_boundary(held, judge_attached(arn, context.state))
        change = f"{caller} replaced the permissions boundary of {on} with {arn}"
    grant.what = change if grant.unreadable else f"{change}, so its own policies now grant"
    if entity:
        target.note = (
            " The boundary before this change is in neither the event nor IAM any more, so it is not "
            f"put back automatically (notify only): put the right one back with aws iam "
            f"put-{kind}-permissions-boundary --{kind}-name {entity} --permissions-boundary <policy ARN>."
        )
    return grant, target


def _exemption(record: CloudTrailRecord, target: Target, context: EvalContext) -> Exemption:
    """Tags only on users and roles (IAM groups carry none); groups and policies: break-glass and the list."""
    group_arn = (target.details or {}).get("group_arn")
    if group_arn and context.settings.is_break_glass(group_arn):
        return Exemption(True, f"{group_arn} is a break-glass principal")
    tagged = target.kind in ("user", "role")
    return exemption_for(context, record, target.kind, target.name if tagged else None, target.arn, rule=META.id)


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    decided = _decide(record, context)
    if decided is None:
        return None
    grant, target = decided
    resource = Resource(target.kind, target.name or "unknown", record.account, target.arn)
    if grant.unreadable:
        what = f"{grant.what}, but what it grants could not be read: {grant.unreadable}"
        return review_finding(META.id, resource, what, _exemption(record, target, context))
    if not grant.risky:
        return None
    if target.staged:
        holds = (
            "admin-equivalent permissions" if grant.admin else f"privilege-escalation paths ({', '.join(grant.paths)})"
        )
        reason = f"{grant.what}: it holds {holds}.{target.note}"
        exemption = _exemption(record, target, context)
        reason, _ = exemption.applied_to(reason, None)
        return Finding(
            rule=META.id,
            severity=Severity.MEDIUM,
            resource=resource,
            reason=reason,
            exempt=exemption.exempt,
            exempt_reason=exemption.reason,
            details={"staged": True},
        )
    if grant.admin:
        via = f" (through {grant.via})" if grant.via else ""
        severity, reason = Severity.CRITICAL, f"{grant.what}: admin-equivalent permissions{via}."
    else:
        severity = Severity.HIGH
        reason = f"{grant.what}: it opens privilege-escalation paths ({', '.join(grant.paths)})."
        if context.settings.admin_grants_escalation_mode != Mode.REMEDIATE:
            reason += (
                " Escalation-only grants are reported, not reverted, unless the AdminGrantsEscalationMode "
                f"parameter ({ESCALATION_MODE_VARIABLE}) is remediate."
            )
    if context.assumed and target.kind in ("user", "role"):
        reason += f" State assumed (dry run): the {target.kind} has no exemption."
    reason += target.note
    action = target.action
    if action is None and target.name is None:
        reason += " The event does not name what to revert, so nothing can be changed."
    exemption = _exemption(record, target, context)
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=resource,
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=target.undo,
        details={**(target.details or {}), "escalation_only": not grant.admin},
    )


mode_for = escalation_stays_notify(lambda settings: settings.admin_grants_escalation_mode)


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """The smallest reverting step for the grant, then a re-read that shows it holds."""
    details = finding.details
    steps = {"detach": _detach, "delete": _delete_inline, "restore": _restore_version, "remove": _remove_from_group}
    try:
        return steps[details["op"]](aws, details)
    except ClientError as error:
        code = error_code(error)
        if code == "NoSuchEntity":
            return ActionResult(
                Outcome.SKIPPED,
                f"{finding.resource.kind} {finding.resource.name} (or the policy) no longer exists: nothing to revert.",
            )
        return ActionResult(Outcome.FAILED, f"could not {finding.action}.", f"{code}: {error}")


# Detaching or deleting a policy takes effect for sessions already issued, so a revert on a role revokes nothing.
_SESSIONS_NOTE = " Sessions of the role already issued lose the grant as well: no session revocation is needed."


def _verb(kind: str, verb: str) -> str:
    return f"{verb}_{kind}_policy" if verb != "list_attached" else f"list_attached_{kind}_policies"


def _detach(aws: AwsClients, details: dict[str, Any]) -> ActionResult:
    kind = details["kind"]
    result = detach_policy(aws.iam, kind, details["entity"], details["policy_arn"])
    if result.outcome == Outcome.VERIFIED and kind == "role":
        result.detail += _SESSIONS_NOTE
    return result


def _delete_inline(aws: AwsClients, details: dict[str, Any]) -> ActionResult:
    kind, entity, policy = details["kind"], details["entity"], details["policy"]
    key = {f"{kind.title()}Name": entity, "PolicyName": policy}
    get = getattr(aws.iam, _verb(kind, "get"))
    try:
        current = load_policy_document(get(**key)["PolicyDocument"])
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        return ActionResult(
            Outcome.VERIFIED, f"{kind} {entity} has no inline policy {policy} (verified by re-reading)."
        )
    if current != details["document"]:
        return ActionResult(
            Outcome.SKIPPED,
            f"inline policy {policy} of {kind} {entity} changed after this event; "
            "nothing changed here (the later change is evaluated on its own event).",
        )
    getattr(aws.iam, _verb(kind, "delete"))(**key)
    try:
        get(**key)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return ActionResult(
                Outcome.VERIFIED,
                f"inline policy {policy} of {kind} {entity} is deleted (verified "
                f"by re-reading).{_SESSIONS_NOTE if kind == 'role' else ''} "
                f"Its document: {compact(details['document'])}",
            )
        raise
    return ActionResult(Outcome.FAILED, f"inline policy {policy} of {kind} {entity} still exists after deleting it.")


def _restore_version(aws: AwsClients, details: dict[str, Any]) -> ActionResult:
    """Make the chosen (or, planned in a dry run, the newest non-risky) other version the default; re-read."""
    arn, version = details["policy_arn"], details["version"]
    versions = aws.iam.list_policy_versions(PolicyArn=arn)["Versions"]
    default = next((v["VersionId"] for v in versions if v["IsDefaultVersion"]), None)
    ids = [v["VersionId"] for v in versions]
    previous = details.get("previous")
    if default == previous and previous:
        return ActionResult(Outcome.VERIFIED, f"version {previous} of {arn} is the default (verified by re-reading).")
    if default != version:
        return ActionResult(
            Outcome.SKIPPED, f"the default version of {arn} changed after this event ({default}); nothing changed here."
        )
    if previous is None or previous not in ids:
        previous, why = newest_safe_version(
            ids, version, lambda v: aws.iam.get_policy_version(PolicyArn=arn, VersionId=v)["PolicyVersion"]["Document"]
        )
        if previous is None:
            return ActionResult(
                Outcome.SKIPPED, f"no version of {arn} can be made the default instead: {why}; nothing changed."
            )
    aws.iam.set_default_policy_version(PolicyArn=arn, VersionId=previous)
    now = aws.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    if now == previous:
        return ActionResult(
            Outcome.VERIFIED,
            f"version {previous} of {arn} is the default again (verified by "
            f"re-reading); version {version} is kept, not deleted.",
        )
    return ActionResult(Outcome.FAILED, f"the default version of {arn} reads {now} after restoring {previous}.")


def _remove_from_group(aws: AwsClients, details: dict[str, Any]) -> ActionResult:
    user, group = details["user"], details["group"]
    try:
        aws.iam.remove_user_from_group(GroupName=group, UserName=user)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
    groups = [
        g["GroupName"]
        for page in aws.iam.get_paginator("list_groups_for_user").paginate(UserName=user)
        for g in page["Groups"]
    ]
    if group in groups:
        return ActionResult(Outcome.FAILED, f"user {user} is still in group {group} after removing them.")
    return ActionResult(Outcome.VERIFIED, f"user {user} is no longer in group {group} (verified by re-reading).")
