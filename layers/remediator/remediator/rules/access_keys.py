"""access_keys: a new (or re-activated) access key is long-lived credential material.

Practices 1, 6 and 7: no root keys, rotate keys, prefer roles with STS over user keys. The
remediation deactivates the key (reversible) and never deletes it.
"""

from __future__ import annotations

from remediator.aws import AwsClients
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Resource, Severity
from remediator.remediate.credentials import deactivate_key
from remediator.rules.base import (
    ACCESS_KEY_ID,
    EvalContext,
    RuleMeta,
    Trigger,
    iam_arn,
    iam_name,
    keep_mode,
    resolves_nothing,
)

META = RuleMeta(
    id="access_keys",
    title="Access key created or re-activated",
    practice="Disable root keys; rotate keys; use roles with STS AssumeRole instead of long-lived keys",
    severity=Severity.HIGH,
    triggers=(Trigger(event_names=("CreateAccessKey", "UpdateAccessKey")),),
    resource_path="responseElements.accessKey.accessKeyId || requestParameters.accessKeyId",
    remediation="set the access key Inactive",
    undo="aws iam update-access-key --user-name {user} --access-key-id {key_id} --status Active",
    remediation_actions=("iam:UpdateAccessKey", "iam:ListAccessKeys"),
    state_actions=("iam:ListUserTags",),
)

mode_for = keep_mode
resolve = resolves_nothing


def _key_id(record: CloudTrailRecord) -> str | None:
    if record.eventName == "UpdateAccessKey":
        return record.params.get("accessKeyId")
    key = record.response.get("accessKey")
    return key.get("accessKeyId") if isinstance(key, dict) else None


def _key_owner(record: CloudTrailRecord) -> str | None:
    """The user the key belongs to: the parameter, the response, or the calling IAM user itself."""
    owner = record.params.get("userName")
    key = record.response.get("accessKey")
    if not owner and isinstance(key, dict):
        owner = key.get("userName")
    if not owner and record.identity.type == "IAMUser":
        owner = record.identity.userName
    return iam_name(owner)


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    if record.eventName == "UpdateAccessKey" and str(record.params.get("status", "")).lower() != "active":
        return None
    caller = record.identity
    key_id = _key_id(record)
    key_id = key_id if isinstance(key_id, str) and ACCESS_KEY_ID.fullmatch(key_id) else None
    account = record.account
    verb = "re-activated" if record.eventName == "UpdateAccessKey" else "created"
    key_text = f"access key {key_id}" if key_id else "an access key"
    where = f" from {record.sourceIPAddress}" if record.sourceIPAddress else ""

    if caller.type == "Root" and not record.params.get("userName"):
        return Finding(
            rule=META.id,
            severity=Severity.CRITICAL,
            resource=Resource("root", "root", account, caller.arn),
            reason=f"root {verb} {key_text} for the root user{where}; root keys can only be deactivated or "
            "deleted by root itself (Security credentials page), so nothing is changed automatically.",
            details={"key_id": key_id, "user": None},
        )

    owner = _key_owner(record)
    own_key = owner is not None and caller.type == "IAMUser" and owner == caller.userName
    severity = Severity.MEDIUM if own_key else Severity.HIGH
    whose = "their own key" if own_key else f"a key for {owner or 'an unnamed user'}"
    arn = iam_arn(record, "user", owner)
    exemption = exemption_for(context, record, "user", owner, arn, rule=META.id)
    reason = f"{caller.display_name} {verb} {key_text} ({whose}){where}."
    if context.assumed:
        reason += " State assumed (dry run): the user exists and has no exemption."

    action = f"set {key_text} of user {owner} Inactive" if key_id and owner else None
    if action is None:
        reason += " The event does not name the key and its user, so nothing can be changed."
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=Resource("user", owner or "unknown", account, arn),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=META.undo.format(user=owner, key_id=key_id) if action else None,
        details={"key_id": key_id, "user": owner},
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Deactivate the key (by id, or by creation time for a key the credential report found), verified."""
    details = finding.details
    return deactivate_key(aws.iam, details["user"], details.get("key_id"), details.get("key_created"))
