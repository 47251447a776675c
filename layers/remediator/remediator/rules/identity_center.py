"""identity_center: an Identity Center permission set that is admin-equivalent or escalating, assigned or widened.

Practices 3 and 5 (least privilege; no standing admin), for the people who sign in through IAM Identity Center.
The same analysis as admin_grants (docs/policy-analysis.md): AWS managed policies are judged from the shipped
verdicts, inline and customer-managed documents by the policy analysis. An assignment or a provisioning is
judged on the whole permission set as Identity Center holds it (its boundary applied when it has one); a new
policy on its own. What cannot be read is a low finding for a human, never "nothing risky". The remediation
removes exactly the change (the assignment, or the attached or inline policy, then re-provisions the permission
set to every account it is provisioned to); a boundary change or a provisioning is reported only, since the
previous state is not in the event. Escalation-only findings are reported, not reverted, unless
MODE_IDENTITY_CENTER_ESCALATION says remediate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.config import IDENTITY_CENTER_ESCALATION_VARIABLE
from remediator.events import CloudTrailRecord
from remediator.exemptions import Exemption, exemption_for, review_finding
from remediator.findings import ActionResult, Finding, Mode, Outcome, Resource, Severity
from remediator.grants import Grant, judge
from remediator.managed_policies import aws_managed_key, managed_policy_verdicts
from remediator.policy import PolicyParseError, load_policy_document
from remediator.remediation import compact, shell_document
from remediator.rules.base import (
    EvalContext,
    RuleMeta,
    Trigger,
    escalation_stays_notify,
    partition_of,
    resolves_nothing,
)
from remediator.state import StateUnreadable

ASSIGN = "CreateAccountAssignment"
ATTACH_MANAGED = "AttachManagedPolicyToPermissionSet"
ATTACH_CUSTOMER = "AttachCustomerManagedPolicyReferenceToPermissionSet"
PUT_INLINE = "PutInlinePolicyToPermissionSet"
PUT_BOUNDARY = "PutPermissionsBoundaryToPermissionSet"
DELETE_BOUNDARY = "DeletePermissionsBoundaryFromPermissionSet"
PROVISION = "ProvisionPermissionSet"

META = RuleMeta(
    id="identity_center",
    title="Admin or escalation permissions granted through Identity Center",
    practice="Grant least privilege through Identity Center too; no standing admin-equivalent permission sets",
    severity=Severity.CRITICAL,
    triggers=(
        Trigger(
            sources=("aws.sso",),
            event_sources=("sso.amazonaws.com",),
            event_names=(ASSIGN, ATTACH_MANAGED, ATTACH_CUSTOMER, PUT_INLINE, PUT_BOUNDARY, DELETE_BOUNDARY, PROVISION),
        ),
    ),
    resource_path="requestParameters.permissionSetArn",
    remediation="delete the account assignment / detach the managed policy or the customer managed policy reference "
    "/ delete the inline policy, then re-provision the permission set",
    undo="the message names the command that restores the assignment or the policy",
    remediation_actions=(
        "sso:DeleteAccountAssignment",
        "sso:DescribeAccountAssignmentDeletionStatus",
        "sso:ListAccountAssignments",
        "sso:DetachManagedPolicyFromPermissionSet",
        "sso:ListManagedPoliciesInPermissionSet",
        "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
        "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
        "sso:DeleteInlinePolicyFromPermissionSet",
        "sso:GetInlinePolicyForPermissionSet",
        "sso:ProvisionPermissionSet",
    ),
    state_actions=(
        "sso:ListManagedPoliciesInPermissionSet",
        "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
        "sso:GetInlinePolicyForPermissionSet",
        "sso:GetPermissionsBoundaryForPermissionSet",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ),
    references=(
        "https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html",
        "https://docs.aws.amazon.com/singlesignon/latest/userguide/howtopermrole.html",
    ),
)

resolve = resolves_nothing

# Identity Center writes permissionSet/<instance id>/ps-...; moto writes instance/<instance id>/ps-...
PERMISSION_SET_ARN = re.compile(
    r"arn:aws[a-z-]*:sso:::(?:permissionSet|instance)/[A-Za-z0-9.-]{1,64}"
    r"/ps-[A-Za-z0-9.-]{1,64}"
)
INSTANCE_ARN = re.compile(r"arn:aws[a-z-]*:sso:::instance/[A-Za-z0-9.-]{1,64}")
MANAGED_ARN = re.compile(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[A-Za-z0-9+=,.@_/-]{1,640}")
POLICY_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")
POLICY_PATH = re.compile(r"/([A-Za-z0-9+=,.@_-]{1,128}/)*")
ACCOUNT_ID = re.compile(r"\d{12}")
PRINCIPAL_ID = re.compile(r"[A-Za-z0-9-]{1,47}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def _judge_managed(arn: str, context: EvalContext) -> Grant:
    key = aws_managed_key(arn)
    if key is not None:
        data = managed_policy_verdicts()
        return Grant(
            f"AWS managed policy {key.rsplit('/', 1)[-1]}",
            key in data["admin_equivalent"],
            tuple(data["escalation"].get(key, ())),
        )
    what = f"managed policy {arn}"
    try:
        return judge(what, context.state.policy_document(arn))
    except StateUnreadable as error:
        return Grant(what, unreadable=str(error))


def _customer_arn(record: CloudTrailRecord, name: str, path: str) -> str:
    return f"arn:{partition_of(record)}:iam::{record.account}:policy{path}{name}"


def _judge_customer(record: CloudTrailRecord, name: str, path: str, context: EvalContext) -> tuple[Grant, Any]:
    """A customer managed policy reference names a policy of every account the set is provisioned to: it is read in
    the account the event was recorded in, the one account we can read."""
    what = f"customer managed policy {path}{name}"
    try:
        document = context.state.policy_document(_customer_arn(record, name, path))
    except StateUnreadable as error:
        return Grant(
            what,
            unreadable=f"{error}; it is read in account {record.account} only, and each account the "
            "permission set is provisioned to holds its own policy of that name",
        ), None
    return judge(what, document), document


def _reference(value: Any) -> tuple[str, str] | None:
    """(name, path) of a customer managed policy reference, from an event (camelCase) or the API (PascalCase)."""
    if not isinstance(value, dict):
        return None
    fields = {str(key).lower(): item for key, item in value.items()}
    name, path = fields.get("name"), fields.get("path") or "/"
    if isinstance(name, str) and POLICY_NAME.fullmatch(name) and isinstance(path, str) and POLICY_PATH.fullmatch(path):
        return name, path
    return None


def _combined(what: str, verdicts: list[Grant], documents: list[Any]) -> Grant:
    """The union of every policy's verdict, plus the documents read together: two harmless halves of an escalation
    path (iam:PassRole in one policy, lambda:CreateFunction in another) make one."""
    statements = [s for document in documents for s in load_policy_document(document)["Statement"]]
    if len(documents) > 1:
        verdicts = [*verdicts, judge(what, {"Version": "2012-10-17", "Statement": statements})]
    admin = [v.what for v in verdicts if v.admin]
    paths = tuple(dict.fromkeys(path for v in verdicts for path in v.paths))
    unreadable = [v.unreadable for v in verdicts if v.unreadable]
    if admin:
        return Grant(what, admin=True, notes=[f"through {', '.join(dict.fromkeys(admin))}"])
    if unreadable and not paths:
        return Grant(what, unreadable="; ".join(unreadable))
    notes = [f"could not read {'; '.join(unreadable)}"] if unreadable else []
    return Grant(what, paths=paths, notes=notes)


@dataclass(frozen=True)
class PermissionSet:
    """The permission set an event is about, and where its Identity Center instance lives."""

    arn: str
    instance: str
    region: str | None

    @property
    def short(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


def _judge_set(record: CloudTrailRecord, target: PermissionSet, context: EvalContext) -> Grant:
    """Everything the permission set grants, as Identity Center holds it now."""
    what = f"permission set {target.short}"
    try:
        policies = context.state.permission_set(target.instance, target.arn, target.region)
    except StateUnreadable as error:
        return Grant(what, unreadable=str(error))
    verdicts = [_judge_managed(arn, context) for arn in policies.managed_arns]
    documents = []
    for name, path in policies.customer_managed:
        verdict, document = _judge_customer(record, name, path, context)
        verdicts.append(verdict)
        documents += [load_policy_document(document)] if verdict.unreadable is None else []
    if policies.inline:
        verdict = judge(f"the inline policy of {what}", policies.inline)
        verdicts.append(verdict)
        documents += [load_policy_document(policies.inline)] if verdict.unreadable is None else []
    return _combined(what, verdicts, documents)


def _judge_boundary(record: CloudTrailRecord, boundary: Any, context: EvalContext) -> Grant | None:
    """The boundary's own verdict (what it lets through at most); None when there is no boundary."""
    if not isinstance(boundary, dict) or not boundary:
        return None
    fields = {str(key).lower(): item for key, item in boundary.items()}
    arn = fields.get("managedpolicyarn")
    if isinstance(arn, str) and MANAGED_ARN.fullmatch(arn):
        return _judge_managed(arn, context)
    reference = _reference(fields.get("customermanagedpolicyreference"))
    if reference:
        return _judge_customer(record, *reference, context)[0]
    return Grant("the permissions boundary", unreadable="the permissions boundary names no policy we can read")


def _bounded(verdict: Grant, boundary: Grant | None) -> Grant:
    """A boundary caps what the policies grant: what both let through. One that cannot be read caps nothing."""
    if boundary is None or not verdict.risky or boundary.admin:
        return verdict
    if boundary.unreadable:
        verdict.notes.append(f"its permissions boundary was not counted ({boundary.unreadable})")
        return verdict
    paths = boundary.paths if verdict.admin else tuple(path for path in verdict.paths if path in boundary.paths)
    return Grant(verdict.what, paths=paths, notes=[*verdict.notes, f"capped by {boundary.what} as its boundary"])


def _boundary_now(record: CloudTrailRecord, target: PermissionSet, context: EvalContext) -> Grant | None:
    try:
        boundary = context.state.permission_set_boundary(target.instance, target.arn, target.region)
    except StateUnreadable as error:
        return Grant("the permissions boundary", unreadable=str(error))
    return _judge_boundary(record, boundary, context)


@dataclass
class Change:
    """What the event did, judged, and how to revert it (None when the previous state is not known)."""

    verdict: Grant
    action: str | None = None
    undo: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def _sso(target: PermissionSet) -> str:
    return f"--instance-arn {target.instance} --permission-set-arn {target.arn} --region {target.region}"


def _provision(target: PermissionSet) -> str:
    return f" && aws sso-admin provision-permission-set {_sso(target)} --target-type ALL_PROVISIONED_ACCOUNTS"


def _decide(record: CloudTrailRecord, target: PermissionSet, context: EvalContext) -> Change | None:
    params, name, who = record.params, record.eventName, record.identity.display_name
    if name == ASSIGN:
        return _assignment(record, target, context)
    reprovision = " and re-provision it to every account it is provisioned to"
    if name == ATTACH_MANAGED:
        arn = params.get("managedPolicyArn")
        if not isinstance(arn, str) or not MANAGED_ARN.fullmatch(arn):
            return Change(
                Grant(
                    f"{who} attached a policy to permission set {target.short}",
                    unreadable="the event names no valid managed policy ARN",
                )
            )
        verdict = _judge_managed(arn, context)
        verdict.what = f"{who} attached {verdict.what} to permission set {target.short}"
        return Change(
            verdict,
            f"detach {arn} from permission set {target.short}{reprovision}",
            f"aws sso-admin attach-managed-policy-to-permission-set {_sso(target)} --managed-policy-arn "
            f"{arn}{_provision(target)}",
            {"op": "detach_managed", "policy": arn},
        )
    if name == ATTACH_CUSTOMER:
        reference = _reference(params.get("customerManagedPolicyReference"))
        if reference is None:
            return Change(
                Grant(
                    f"{who} attached a customer managed policy to permission set {target.short}",
                    unreadable="the event names no valid customer managed policy reference",
                )
            )
        verdict = _judge_customer(record, *reference, context)[0]
        verdict.what = f"{who} attached {verdict.what} to permission set {target.short}"
        policy_name, path = reference
        return Change(
            verdict,
            f"detach customer managed policy {path}{policy_name} from permission set {target.short}{reprovision}",
            f"aws sso-admin attach-customer-managed-policy-reference-to-permission-set {_sso(target)} "
            f"--customer-managed-policy-reference Name={policy_name},Path={path}{_provision(target)}",
            {"op": "detach_customer", "name": policy_name, "path": path},
        )
    if name == PUT_INLINE:
        return _inline(record, target, context)
    return _boundary_or_provision(record, target, context)


def _assignment(record: CloudTrailRecord, target: PermissionSet, context: EvalContext) -> Change:
    params, who = record.params, record.identity.display_name
    account, kind, principal = params.get("targetId"), params.get("principalType"), params.get("principalId")
    verdict = _bounded(_judge_set(record, target, context), _boundary_now(record, target, context))
    whom = f"{str(kind).lower() if kind in ('USER', 'GROUP') else 'principal'} {principal}"
    verdict.what = f"{who} assigned {verdict.what} to {whom} in account {account}"
    if not (
        isinstance(account, str)
        and ACCOUNT_ID.fullmatch(account)
        and kind in ("USER", "GROUP")
        and isinstance(principal, str)
        and PRINCIPAL_ID.fullmatch(principal)
    ):
        return Change(verdict, note=" The event does not name the assignment fully, so nothing can be changed.")
    return Change(
        verdict,
        f"delete the assignment of permission set {target.short} to {whom} in account {account}",
        f"aws sso-admin create-account-assignment {_sso(target)} --target-type AWS_ACCOUNT --target-id "
        f"{account} --principal-type {kind} --principal-id {principal}",
        {"op": "unassign", "account": account, "principal_type": kind, "principal": principal},
    )


def _inline(record: CloudTrailRecord, target: PermissionSet, context: EvalContext) -> Change:
    who = record.identity.display_name
    what = f"the inline policy of permission set {target.short}"
    raw = record.params.get("inlinePolicy")
    document, problem = None, "the event carries no inline policy"
    if isinstance(raw, dict) and raw.get("omitted"):
        problem = "CloudTrail omitted the inline policy from the event"
    elif raw is not None:
        try:
            document = load_policy_document(raw)
        except PolicyParseError as error:
            problem = f"the inline policy in the event is unreadable ({error})"
    if document is None:
        try:
            held = context.state.permission_set(target.instance, target.arn, target.region).inline
            document = load_policy_document(held) if held else None
        except (StateUnreadable, PolicyParseError) as error:
            return Change(Grant(f"{who} put {what}", unreadable=f"{problem}; could not read {error}"))
        if document is None:
            return Change(Grant(f"{who} put {what}", unreadable=f"{problem}, and the permission set holds none now"))
    verdict = judge(what, document)
    verdict.what = f"{who} put {what}"
    return Change(
        verdict,
        f"delete {what} and re-provision it to every account it is provisioned to",
        f"aws sso-admin put-inline-policy-to-permission-set {_sso(target)} --inline-policy "
        f"{shell_document(document)}{_provision(target)}",
        {"op": "delete_inline", "document": document},
    )


def _boundary_or_provision(record: CloudTrailRecord, target: PermissionSet, context: EvalContext) -> Change | None:
    """Judged on the whole permission set; reported only, since the previous boundary is not in the event."""
    name, who = record.eventName, record.identity.display_name
    verdict = _judge_set(record, target, context)
    if name == PUT_BOUNDARY:
        if not verdict.risky and not verdict.unreadable:
            return None  # whatever the boundary, the policies grant nothing risky
        boundary = _judge_boundary(record, record.params.get("permissionsBoundary"), context)
        verdict = _bounded(verdict, boundary or Grant("the permissions boundary", unreadable="the event names none"))
        verdict.what = f"{who} replaced the permissions boundary of permission set {target.short}"
        note = " The previous boundary is not in the event, so it is not put back; restore it by hand."
    elif name == DELETE_BOUNDARY:
        verdict.what = f"{who} removed the permissions boundary of permission set {target.short}"
        note = " The previous boundary is not in the event, so it is not put back; restore it by hand."
    else:
        verdict = _bounded(verdict, _boundary_now(record, target, context))
        verdict.what = f"{who} provisioned permission set {target.short}"
        note = (
            " Provisioning pushes what the permission set already holds: remove the risky policy from it and "
            "provision it again (a policy added by an event we saw is removed on that event)."
        )
    return Change(verdict, note=note)


def _target(record: CloudTrailRecord) -> PermissionSet | None:
    arn, instance = record.params.get("permissionSetArn"), record.params.get("instanceArn")
    if not (isinstance(arn, str) and PERMISSION_SET_ARN.fullmatch(arn)):
        return None
    instance = instance if isinstance(instance, str) and INSTANCE_ARN.fullmatch(instance) else ""
    region = record.awsRegion if isinstance(record.awsRegion, str) and REGION.fullmatch(record.awsRegion) else None
    return PermissionSet(arn, instance, region)


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    target = _target(record)
    resource = Resource(
        "permission_set", target.short if target else "unknown", record.account, target.arn if target else None
    )
    exemption = exemption_for(context, record, "permission_set", None, target.arn if target else None)
    if target is None or not target.instance:
        what = (
            f"{record.identity.display_name} called {record.eventName}, but the event names no valid permission "
            "set and instance, so what it grants could not be read"
        )
        return review_finding(META.id, resource, what, exemption, explain=False)
    change = _decide(record, target, context)
    if change is None:
        return None
    verdict = change.verdict
    if verdict.unreadable:
        what = f"{verdict.what}, but what it grants could not be read: {verdict.unreadable}"
        # Only whether it is exempt is explained here, not the exemption check's notes.
        return review_finding(META.id, resource, what, Exemption(exemption.exempt, exemption.reason))
    if not verdict.risky:
        return None
    notes = f" ({'; '.join(verdict.notes)})" if verdict.notes else ""
    if verdict.admin:
        severity, reason = Severity.CRITICAL, f"{verdict.what}: admin-equivalent permissions{notes}."
    else:
        severity = Severity.HIGH
        reason = f"{verdict.what}: it opens privilege-escalation paths ({', '.join(verdict.paths)}){notes}."
        if context.settings.identity_center_escalation_mode != Mode.REMEDIATE and change.action:
            reason += (
                " Escalation-only grants are reported, not reverted, unless the IdentityCenterEscalationMode "
                f"parameter ({IDENTITY_CENTER_ESCALATION_VARIABLE}) is remediate."
            )
    reason += change.note
    if target.region is None and change.action:
        reason += " The event names no region for the Identity Center instance, so nothing can be changed."
        change.action = None
    reason, action = exemption.applied_to(reason, change.action)
    details = {
        **change.details,
        "permission_set": target.arn,
        "instance": target.instance,
        "region": target.region,
        "escalation_only": not verdict.admin,
    }
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=resource,
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=change.undo if action else None,
        details=details,
    )


mode_for = escalation_stays_notify(lambda settings: settings.identity_center_escalation_mode)


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Remove exactly what the event added, re-read the permission set to show it is gone, then re-provision."""
    details = finding.details
    sso = aws.regional("sso-admin", details["region"])
    key = {"InstanceArn": details["instance"], "PermissionSetArn": details["permission_set"]}
    steps = {
        "unassign": _unassign,
        "detach_managed": _detach_managed,
        "detach_customer": _detach_customer,
        "delete_inline": _delete_inline,
    }
    try:
        result = steps[details["op"]](sso, key, details)
        if details["op"] != "unassign" and result.outcome == Outcome.VERIFIED:
            result.detail += " " + _reprovision(sso, key)
        return result
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            return ActionResult(
                Outcome.SKIPPED,
                f"permission set {finding.resource.name} (or the policy) no longer exists: nothing to revert.",
            )
        return ActionResult(Outcome.FAILED, f"could not {finding.action}.", f"{code}: {error}")


def _reprovision(sso: Any, key: dict[str, str]) -> str:
    status = sso.provision_permission_set(**key, TargetType="ALL_PROVISIONED_ACCOUNTS")[
        "PermissionSetProvisioningStatus"
    ]
    return (
        f"Re-provisioning it to every account it is provisioned to: {status.get('Status', 'requested')} (request "
        f"{status.get('RequestId', 'unknown')})."
    )


def _unassign(sso: Any, key: dict[str, str], details: dict[str, Any]) -> ActionResult:
    account, kind, principal = details["account"], details["principal_type"], details["principal"]
    status = sso.delete_account_assignment(
        **key, TargetId=account, TargetType="AWS_ACCOUNT", PrincipalType=kind, PrincipalId=principal
    )["AccountAssignmentDeletionStatus"]
    request = status.get("RequestId")
    if request:
        status = sso.describe_account_assignment_deletion_status(
            InstanceArn=key["InstanceArn"],
            AccountAssignmentDeletionRequestId=request,
        )["AccountAssignmentDeletionStatus"]
    if status.get("Status") == "FAILED":
        return ActionResult(
            Outcome.FAILED,
            f"Identity Center could not delete the assignment to {kind.lower()} "
            f"{principal} in account {account}: {status.get('FailureReason', 'no reason given')}.",
        )
    assignments = [
        a
        for page in sso.get_paginator("list_account_assignments").paginate(**key, AccountId=account)
        for a in page["AccountAssignments"]
    ]
    if any(a.get("PrincipalId") == principal and a.get("PrincipalType") == kind for a in assignments):
        state = status.get("Status", "requested")
        return ActionResult(
            Outcome.FAILED,
            f"the assignment to {kind.lower()} {principal} in account {account} is "
            f"still listed after deleting it (deletion {state}).",
        )
    return ActionResult(
        Outcome.VERIFIED,
        f"the assignment of the permission set to {kind.lower()} {principal} in "
        f"account {account} is deleted (verified by re-reading).",
    )


def _detach_managed(sso: Any, key: dict[str, str], details: dict[str, Any]) -> ActionResult:
    arn = details["policy"]
    try:
        sso.detach_managed_policy_from_permission_set(**key, ManagedPolicyArn=arn)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise  # not attached any more: the re-read says so
    attached = [
        p["Arn"]
        for page in sso.get_paginator("list_managed_policies_in_permission_set").paginate(**key)
        for p in page["AttachedManagedPolicies"]
    ]
    if arn in attached:
        return ActionResult(Outcome.FAILED, f"{arn} is still attached to the permission set after detaching it.")
    return ActionResult(Outcome.VERIFIED, f"{arn} is detached from the permission set (verified by re-reading).")


def _detach_customer(sso: Any, key: dict[str, str], details: dict[str, Any]) -> ActionResult:
    name, path = details["name"], details["path"]
    try:
        sso.detach_customer_managed_policy_reference_from_permission_set(
            **key, CustomerManagedPolicyReference={"Name": name, "Path": path}
        )
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
    held = [
        _reference(p)
        for page in sso.get_paginator("list_customer_managed_policy_references_in_permission_set").paginate(**key)
        for p in page["CustomerManagedPolicyReferences"]
    ]
    if (name, path) in held:
        return ActionResult(
            Outcome.FAILED,
            f"customer managed policy {path}{name} is still attached to the permission set after detaching it.",
        )
    return ActionResult(
        Outcome.VERIFIED,
        f"customer managed policy {path}{name} is detached from the permission set (verified by re-reading).",
    )


def _delete_inline(sso: Any, key: dict[str, str], details: dict[str, Any]) -> ActionResult:
    held = sso.get_inline_policy_for_permission_set(**key).get("InlinePolicy")
    if not held:
        return ActionResult(Outcome.VERIFIED, "the permission set has no inline policy (verified by re-reading).")
    try:
        current = load_policy_document(held)
    except PolicyParseError:
        current = None
    if current != details["document"]:
        return ActionResult(
            Outcome.SKIPPED,
            "the inline policy of the permission set changed after this event; "
            "nothing changed here (the later change is evaluated on its own event).",
        )
    sso.delete_inline_policy_from_permission_set(**key)
    if sso.get_inline_policy_for_permission_set(**key).get("InlinePolicy"):
        return ActionResult(Outcome.FAILED, "the permission set still has its inline policy after deleting it.")
    return ActionResult(
        Outcome.VERIFIED,
        "the inline policy of the permission set is deleted (verified by "
        f"re-reading). Its document: {compact(details['document'])}",
    )
