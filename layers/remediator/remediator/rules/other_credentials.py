"""other_credentials: every other way to mint long-lived or outside credentials is reported, like an access key.

Practices 1, 6 and 7: service-specific credentials (CodeCommit, Keyspaces, Bedrock API keys), SSH public keys
(CodeCommit) and signing certificates are passwords and keys of an IAM user; a federation token is a
session that outlives the user's key being deactivated; a Roles Anywhere trust anchor or profile lets any
holder of a certificate from the anchor's CA take the profile's roles from outside AWS. Always a finding. The
remediation is the reversible one: set the credential Inactive, disable the anchor or profile, and for a
federation token deny the calling user's sessions issued before now (an inline policy the message names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.rules.base import EvalContext, RuleMeta, Trigger, iam_arn, iam_name, keep_mode, resolves_nothing


@dataclass(frozen=True)
class UserCredential:
    """One kind of credential an IAM user holds: the calls that make it usable and how to set it Inactive."""

    noun: str
    create: str
    update: str
    response_keys: tuple[str, ...]  # where the create call's response holds the credential
    id_keys: tuple[str, ...]  # the id's key in requestParameters (update) and in the response (create)
    cli: str  # the `aws iam` command that sets its status, with the id option

    @property
    def a_noun(self) -> str:
        return f"{'an' if self.noun.startswith('SSH') else 'a'} {self.noun}"


CREDENTIALS: tuple[UserCredential, ...] = (
    UserCredential(
        "service-specific credential",
        "CreateServiceSpecificCredential",
        "UpdateServiceSpecificCredential",
        ("serviceSpecificCredential",),
        ("serviceSpecificCredentialId",),
        "update-service-specific-credential --service-specific-credential-id",
    ),
    UserCredential(
        "SSH public key",
        "UploadSSHPublicKey",
        "UpdateSSHPublicKey",
        ("sSHPublicKey", "sshPublicKey"),
        ("sSHPublicKeyId", "sshPublicKeyId"),
        "update-ssh-public-key --ssh-public-key-id",
    ),
    UserCredential(
        "signing certificate",
        "UploadSigningCertificate",
        "UpdateSigningCertificate",
        ("certificate",),
        ("certificateId",),
        "update-signing-certificate --certificate-id",
    ),
)
BY_EVENT = {name: kind for kind in CREDENTIALS for name in (kind.create, kind.update)}
FEDERATION = "GetFederationToken"
# Roles Anywhere: a new anchor or profile, or one switched on again (creating it disabled and enabling it later
# must not slip past).
ANCHOR_EVENTS = ("CreateTrustAnchor", "EnableTrustAnchor")
PROFILE_EVENTS = ("CreateProfile", "EnableProfile")
# The inline policy that ends a user's federation tokens: a fixed name, never one the event's actor chooses.
REVOKE_POLICY = "compliance-remediator-revoke-older-sessions"

META = RuleMeta(
    id="other_credentials",
    title="Other long-lived or outside credentials created or re-activated",
    practice="No long-lived credentials besides what is reviewed: prefer roles with STS; every credential is "
    "known and owned",
    severity=Severity.HIGH,
    triggers=(
        Trigger(event_names=tuple(BY_EVENT)),
        Trigger(sources=("aws.sts",), event_sources=("sts.amazonaws.com",), event_names=(FEDERATION,)),
        Trigger(
            sources=("aws.rolesanywhere",),
            event_sources=("rolesanywhere.amazonaws.com",),
            event_names=(*ANCHOR_EVENTS, *PROFILE_EVENTS),
        ),
    ),
    resource_path="requestParameters.userName || userIdentity.userName || responseElements.trustAnchor.trustAnchorArn"
    " || responseElements.profile.profileArn",
    remediation="set the credential Inactive / deny the federating user's sessions issued before now / disable the "
    "trust anchor or profile",
    undo="the message names the command that re-activates the credential, lifts the deny or re-enables the anchor",
    remediation_actions=(
        "iam:UpdateServiceSpecificCredential",
        "iam:ListServiceSpecificCredentials",
        "iam:UpdateSSHPublicKey",
        "iam:ListSSHPublicKeys",
        "iam:UpdateSigningCertificate",
        "iam:ListSigningCertificates",
        "iam:PutUserPolicy",
        "iam:GetUserPolicy",
        "rolesanywhere:DisableTrustAnchor",
        "rolesanywhere:GetTrustAnchor",
        "rolesanywhere:DisableProfile",
        "rolesanywhere:GetProfile",
    ),
    state_actions=("iam:ListUserTags",),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html",
        "https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing

CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_]{16,128}")
ROLES_ANYWHERE_ID = re.compile(r"[a-f0-9-]{36}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def _same_user(one: str | None, other: str | None) -> bool:
    """IAM user names are unique case-insensitively: Alice and alice are one user."""
    return one is not None and other is not None and one.lower() == other.lower()


def _where(record: CloudTrailRecord) -> str:
    return f" from {record.sourceIPAddress}" if record.sourceIPAddress else ""


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    if record.eventName in BY_EVENT:
        return _user_credential(record, context, BY_EVENT[record.eventName])
    if record.eventName == FEDERATION:
        return _federation_token(record, context)
    return _roles_anywhere(record, context)


def _credential_id(record: CloudTrailRecord, kind: UserCredential) -> str | None:
    sources: list[Any] = [record.params]
    if record.eventName == kind.create:
        sources = [record.response.get(key) for key in kind.response_keys]
    for source in sources:
        if isinstance(source, dict):
            for key in kind.id_keys:
                value = source.get(key)
                if isinstance(value, str) and CREDENTIAL_ID.fullmatch(value):
                    return value
    return None


def _owner(record: CloudTrailRecord, kind: UserCredential) -> str | None:
    """The user the credential belongs to: the parameter, the response, or the calling IAM user itself."""
    owner = record.params.get("userName")
    for key in kind.response_keys:
        response = record.response.get(key)
        if not owner and isinstance(response, dict):
            owner = response.get("userName")
    if not owner and record.identity.type == "IAMUser":
        owner = record.identity.userName
    return iam_name(owner)


def _user_credential(record: CloudTrailRecord, context: EvalContext, kind: UserCredential) -> Finding | None:
    if record.eventName == kind.update and str(record.params.get("status", "")).lower() != "active":
        return None
    caller, account = record.identity, record.account
    credential_id = _credential_id(record, kind)
    verb = "re-activated" if record.eventName == kind.update else "created"
    text = f"{kind.noun} {credential_id}" if credential_id else kind.a_noun
    if caller.type == "Root" and not record.params.get("userName"):
        return Finding(
            rule=META.id,
            severity=Severity.CRITICAL,
            resource=Resource("root", "root", account, caller.arn),
            reason=f"root {verb} {text} for the root user{_where(record)}; only root itself can deactivate or delete "
            "it (Security credentials page), so nothing is changed automatically.",
            details={"op": "none"},
        )
    owner = _owner(record, kind)
    own = caller.type == "IAMUser" and _same_user(owner, caller.userName)
    whose = f"their own {kind.noun}" if own else f"{kind.a_noun} for {owner or 'an unnamed user'}"
    arn = iam_arn(record, "user", owner)
    exemption = exemption_for(context, record, "user", owner, arn)
    reason = f"{caller.display_name} {verb} {text} ({whose}){_where(record)}."
    if context.assumed:
        reason += " State assumed (dry run): the user exists and has no remediator:exempt tag."
    action = f"set {text} of user {owner} Inactive" if credential_id and owner else None
    if action is None:
        reason += f" The event does not name the {kind.noun} and its user, so nothing can be changed."
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=Severity.MEDIUM if own else Severity.HIGH,
        reason=reason,
        resource=Resource("user", owner or "unknown", account, arn),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=f"aws iam {kind.cli} {credential_id} --user-name {owner} --status Active" if action else None,
        details={"op": "deactivate", "event": record.eventName, "id": credential_id, "user": owner},
    )


def revoke_document(cutoff: str) -> dict[str, Any]:
    """Deny everything to sessions issued before `cutoff`; calls with the user's long-term keys carry no
    aws:TokenIssueTime, so the condition never holds for them."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenySessionsIssuedBeforeRemediation",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
            }
        ],
    }


def _federation_token(record: CloudTrailRecord, context: EvalContext) -> Finding:
    """A federated user's permissions are the calling user's policies intersected with the session policy, so a
    Deny on the calling user reaches every token it issued, without touching its long-term keys."""
    caller, account = record.identity, record.account
    federated = record.response.get("federatedUser")
    name = federated.get("arn") if isinstance(federated, dict) else None
    token = f"federation token {name}" if isinstance(name, str) and name else "a federation token"
    reason = f"{caller.display_name} obtained {token}{_where(record)}: a session that outlives the key that made it."
    if caller.type == "Root":
        return Finding(
            rule=META.id,
            severity=Severity.HIGH,
            resource=Resource("root", "root", account, caller.arn),
            reason=reason + " No policy can restrict root's sessions, so nothing is changed automatically.",
            details={"op": "none"},
        )
    user = iam_name(caller.userName) if caller.type == "IAMUser" else None
    arn = iam_arn(record, "user", user)
    exemption = exemption_for(context, record, "user", user, arn)
    if context.assumed:
        reason += " State assumed (dry run): the user exists and has no remediator:exempt tag."
    action = None
    if user:
        action = (
            f"put inline policy {REVOKE_POLICY} on user {user}, denying every session of theirs issued before "
            "now: the federation token ends, and so do the user's other temporary sessions (their long-term "
            "keys and console sign-ins after now still work)"
        )
    else:
        reason += " The event does not name the IAM user who called it, so nothing can be changed."
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=Severity.HIGH,
        reason=reason,
        resource=Resource("user", user or "unknown", account, arn),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=(f"aws iam delete-user-policy --user-name {user} --policy-name {REVOKE_POLICY}" if action else None),
        details={"op": "revoke", "user": user},
    )


def _roles_anywhere(record: CloudTrailRecord, context: EvalContext) -> Finding:
    anchor = record.eventName in ANCHOR_EVENTS
    noun, key = ("trust anchor", "trustAnchor") if anchor else ("profile", "profile")
    response = record.response.get(key)
    response = response if isinstance(response, dict) else {}
    found = response.get(f"{key}Id") or record.params.get(f"{key}Id")
    ident = found if isinstance(found, str) and ROLES_ANYWHERE_ID.fullmatch(found) else None
    name = response.get("name") or record.params.get("name")
    label = f"Roles Anywhere {noun} {name if isinstance(name, str) and name else ident or '(not named)'}"
    verb = "created" if record.eventName.startswith("Create") else "enabled"
    if anchor:
        risk = "anyone holding a certificate from its certificate authority can take the roles of its profiles"
    else:
        roles = response.get("roleArns") or record.params.get("roleArns")
        listed = ", ".join(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else ""
        risk = f"certificates of any trust anchor can now take its roles{f' ({listed})' if listed else ''}"
    reason = f"{record.identity.display_name} {verb} {label}{_where(record)}: {risk} from outside AWS."
    region = record.awsRegion if isinstance(record.awsRegion, str) and REGION.fullmatch(record.awsRegion) else None
    arn = response.get(f"{key}Arn")
    arn = arn if isinstance(arn, str) and arn.startswith("arn:") else None
    exemption = exemption_for(context, record, noun, None, arn)
    action = f"disable {label} in {region}" if ident and region else None
    if action is None:
        reason += f" The event does not name the {noun} and its region, so nothing can be changed."
    reason, action = exemption.applied_to(reason, action)
    command = "enable-trust-anchor --trust-anchor-id" if anchor else "enable-profile --profile-id"
    return Finding(
        rule=META.id,
        severity=Severity.HIGH,
        reason=reason,
        resource=Resource(noun.replace(" ", "_"), str(name or ident or "unknown"), record.account, arn),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=f"aws rolesanywhere {command} {ident} --region {region}" if action else None,
        details={"op": "disable", "anchor": anchor, "id": ident, "region": region},
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Set the credential Inactive / revoke older sessions / disable the anchor, then re-read to verify."""
    details = finding.details
    try:
        if details["op"] == "deactivate":
            return _deactivate(aws, BY_EVENT[details["event"]], details["user"], details["id"])
        if details["op"] == "revoke":
            return _revoke_sessions(aws, details["user"])
        if details["op"] == "disable":
            return _disable(aws, details)
    except ClientError as error:
        code = error_code(error)
        if code in ("NoSuchEntity", "ResourceNotFoundException"):
            return ActionResult(Outcome.SKIPPED, f"{finding.resource.name}: it no longer exists, nothing to change.")
        return ActionResult(Outcome.FAILED, f"could not {finding.action}.", f"{code}: {error}")
    return ActionResult(Outcome.SKIPPED, "nothing changed: no safe automatic remediation for this finding.")


def _status_of(aws: AwsClients, kind: UserCredential, user: str, credential_id: str) -> str | None:
    iam = aws.iam
    if kind.update == "UpdateServiceSpecificCredential":
        items = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
        return next((c["Status"] for c in items if c["ServiceSpecificCredentialId"] == credential_id), None)
    if kind.update == "UpdateSSHPublicKey":
        keys = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
        return next((k["Status"] for k in keys if k["SSHPublicKeyId"] == credential_id), None)
    certificates = [
        c
        for page in iam.get_paginator("list_signing_certificates").paginate(UserName=user)
        for c in page["Certificates"]
    ]
    return next((c["Status"] for c in certificates if c["CertificateId"] == credential_id), None)


def _deactivate(aws: AwsClients, kind: UserCredential, user: str, credential_id: str) -> ActionResult:
    iam = aws.iam
    if kind.update == "UpdateServiceSpecificCredential":
        iam.update_service_specific_credential(
            UserName=user, ServiceSpecificCredentialId=credential_id, Status="Inactive"
        )
    elif kind.update == "UpdateSSHPublicKey":
        iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=credential_id, Status="Inactive")
    else:
        iam.update_signing_certificate(UserName=user, CertificateId=credential_id, Status="Inactive")
    status = _status_of(aws, kind, user, credential_id)
    if status == "Inactive":
        return ActionResult(
            Outcome.VERIFIED, f"{kind.noun} {credential_id} of {user} is now Inactive (verified by re-reading)."
        )
    if status is None:
        return ActionResult(
            Outcome.SKIPPED, f"{kind.noun} {credential_id} of {user} was deleted before we could verify it."
        )
    return ActionResult(
        Outcome.FAILED, f"{kind.noun} {credential_id} of {user} still reads {status} after deactivation."
    )


def _revoke_sessions(aws: AwsClients, user: str) -> ActionResult:
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = revoke_document(cutoff)
    aws.iam.put_user_policy(UserName=user, PolicyName=REVOKE_POLICY, PolicyDocument=json.dumps(document))
    current = aws.iam.get_user_policy(UserName=user, PolicyName=REVOKE_POLICY)["PolicyDocument"]
    current = json.loads(current) if isinstance(current, str) else current
    if current == document:
        return ActionResult(
            Outcome.VERIFIED,
            f"user {user} now carries inline policy {REVOKE_POLICY}, denying every "
            f"session issued before {cutoff} (verified by re-reading): the federation token and the "
            "user's other temporary sessions of before then are refused from now on.",
        )
    return ActionResult(Outcome.FAILED, f"inline policy {REVOKE_POLICY} of user {user} does not read back as written.")


def _disable(aws: AwsClients, details: dict[str, Any]) -> ActionResult:
    client = aws.regional("rolesanywhere", details["region"])
    ident = details["id"]
    if details["anchor"]:
        client.disable_trust_anchor(trustAnchorId=ident)
        enabled = client.get_trust_anchor(trustAnchorId=ident)["trustAnchor"]["enabled"]
        noun = "trust anchor"
    else:
        client.disable_profile(profileId=ident)
        enabled = client.get_profile(profileId=ident)["profile"]["enabled"]
        noun = "profile"
    if enabled is False:
        return ActionResult(Outcome.VERIFIED, f"Roles Anywhere {noun} {ident} is disabled (verified by re-reading).")
    return ActionResult(Outcome.FAILED, f"Roles Anywhere {noun} {ident} still reads enabled after disabling it.")
