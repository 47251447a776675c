"""role_trust: a role's trust policy decides who can become it, so a broad one hands out its permissions.

Practice 7 (use roles with STS AssumeRole safely). Broad trust (`*`, NotPrincipal, OIDC/SAML/Cognito
without pinned claims) and accounts outside this one and the trusted list are found with the policy
analysis (docs/policy-analysis.md). The remediation keeps every other statement and drops only the offending ones
(deny-all if none is left); the message carries the original document and the command that restores it.

A stripped statement does not end sessions outsiders already assumed, so the remediation also denies
every session issued before now, with the inline policy IAM's console uses to revoke sessions
(AWSRevokeOlderSessions) — unless a kept statement trusts a service (an EC2 instance profile, a Lambda
function, ECS tasks ...): its own sessions would be denied too, so a human decides.

A caller who names itself in the trust (its IAM user, or the role its session was issued by, by ARN with any
path or case, or by unique id) of a role holding more power than its own gets the same strip
(remediator/self_trust.py); the account root is the account, not the caller, and is not self-trust.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for, review_finding
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.policy import PolicyParseError, TrustVerdict, analyse_trust_policy, as_list, load_policy_document
from remediator.policy import strip_statements as strip_trust_statements
from remediator.remediate.trust import ALREADY, replace_trust_policy
from remediator.remediation import compact, shell_document
from remediator.rules.base import EvalContext, RuleMeta, Trigger, iam_arn, iam_name, keep_mode, resolves_nothing
from remediator.self_trust import judge_self_trust
from remediator.state import StateUnreadable

# Identity providers: whoever controls a provider signs in to every role that trusts it, so a new or changed
# provider is reported (notify only: a provider cannot be safely "half" reverted).
PROVIDER_EVENTS = (
    "CreateSAMLProvider",
    "UpdateSAMLProvider",
    "CreateOpenIDConnectProvider",
    "AddClientIDToOpenIDConnectProvider",
)

META = RuleMeta(
    id="role_trust",
    title="Role trust policy lets outsiders assume the role",
    practice="Use roles with STS AssumeRole safely: trust named principals of this or trusted accounts only",
    severity=Severity.HIGH,
    triggers=(Trigger(event_names=("CreateRole", "UpdateAssumeRolePolicy", *PROVIDER_EVENTS)),),
    resource_path="requestParameters.roleName",
    remediation="replace the trust policy with the same document minus the offending statements (deny-all if "
    "none is left) and deny sessions issued before now, unless a kept statement trusts a service",
    undo="aws iam update-assume-role-policy --role-name {role} --policy-document {document}",
    remediation_actions=("iam:UpdateAssumeRolePolicy", "iam:GetRole", "iam:PutRolePolicy", "iam:GetRolePolicy"),
    state_actions=(
        "iam:GetRole",
        "iam:ListRoleTags",
        "organizations:DescribeOrganization",
        # a caller trusting itself: what the role and the caller (a user with its groups, or a role) hold
        "iam:GetUser",
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
        "iam:ListGroupsForUser",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html",
        "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
        "configuring-openid-connect-in-amazon-web-services",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing

REVOKE_POLICY = "AWSRevokeOlderSessions"  # the name IAM's console gives it: people recognise it


def restore_command(role: str, document: dict[str, Any]) -> str:
    """One line a human can paste to put the original trust policy back."""
    return META.undo.format(role=role, document=shell_document(document))


def lift_revocation_command(role: str) -> str:
    return f"aws iam delete-role-policy --role-name {role} --policy-name {REVOKE_POLICY}"


def revoke_sessions_document(before: datetime) -> dict[str, Any]:
    """Deny everything to sessions issued before `before`: IAM's own "revoke active sessions" policy."""
    issued = before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{before.microsecond // 1000:03d}Z"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued}},
            }
        ],
    }


def trusted_services(document: dict[str, Any]) -> list[str]:
    """Service principals an Allow statement of the (kept) trust policy names: their sessions are the service's own."""
    services: list[str] = []
    for statement in document["Statement"]:
        principal = statement.get("Principal")
        if statement.get("Effect") != "Allow" or not isinstance(principal, dict):
            continue
        for key, value in principal.items():
            if str(key).lower() == "service":
                services += [v for v in as_list(value) if isinstance(v, str) and v not in services]
    return services


def _event_document(record: CloudTrailRecord) -> tuple[dict[str, Any] | None, str]:
    """The trust policy the call set, from the request or the URL-encoded copy in the response."""
    candidates = [
        record.params.get("assumeRolePolicyDocument" if record.eventName == "CreateRole" else "policyDocument")
    ]
    role = record.response.get("role")
    if isinstance(role, dict):
        candidates.append(role.get("assumeRolePolicyDocument"))
    problem = "the event carries no trust policy"
    for raw in candidates:
        if raw is None:
            continue
        if isinstance(raw, dict) and raw.get("omitted"):
            problem = "CloudTrail omitted the trust policy from the event"
            continue
        try:
            return load_policy_document(raw), ""
        except PolicyParseError as error:
            problem = f"the trust policy in the event is unreadable ({error})"
    return None, problem


def _statement_label(document: dict[str, Any], index: int) -> str:
    sid = document["Statement"][index].get("Sid")
    return f"statement {index} ({sid})" if isinstance(sid, str) and sid else f"statement {index}"


def _open_to_everyone(document: dict[str, Any], verdict: TrustVerdict) -> bool:
    """Principal `*` left unnarrowed (critical), as opposed to NotPrincipal or federated breadth (high)."""
    for issue in verdict.issues:
        statement = document["Statement"][issue.statement_index]
        if (
            issue.kind == "broad"
            and issue.principal == "*"
            and not any(str(key).lower() == "notprincipal" for key in statement)
        ):
            return True
    return False


def _own_organization(context: EvalContext) -> tuple[str | None, str]:
    """The account's organization (trusted like the account itself), or why an organization named in a condition
    is taken to be it: a role for the own organization must never be stripped on a guess."""
    try:
        return context.state.organization_id(), ""
    except StateUnreadable as error:
        return None, (
            f"Could not read {error}, so an organization named in a condition is taken to be the account's own."
        )


def _external_id_note(verdict: TrustVerdict) -> str:
    if not verdict.cross_account:
        return ""
    if verdict.external_id_required:
        return " Every statement that lets other AWS accounts assume it requires an sts:ExternalId."
    return " No sts:ExternalId is required of the other accounts that may assume it."


def _provider_arn(record: CloudTrailRecord) -> str | None:
    for source in (record.response, record.params):
        for key in ("sAMLProviderArn", "openIDConnectProviderArn"):
            value = source.get(key)
            if isinstance(value, str) and value.startswith("arn:"):
                return value
    return None


def _provider_change(record: CloudTrailRecord, context: EvalContext) -> Finding:
    """A new or changed SAML/OIDC provider: who it lets in is decided outside AWS, so a human must confirm it."""
    arn = _provider_arn(record)
    name = record.params.get("name") or record.params.get("url")
    provider = arn or (f"provider {name}" if isinstance(name, str) and name else "an identity provider")
    kind = "SAML" if "SAML" in record.eventName else "OpenID Connect"
    change = {
        "CreateSAMLProvider": "created",
        "CreateOpenIDConnectProvider": "created",
        "UpdateSAMLProvider": "replaced the metadata of",
        "AddClientIDToOpenIDConnectProvider": "added a client id to",
    }[record.eventName]
    reason = (
        f"{record.identity.display_name} {change} {kind} identity provider {provider}: whoever controls "
        "that provider can sign in to every role that trusts it. Confirm the provider is yours and that "
        "the roles trusting it pin its audience."
    )
    exemption = exemption_for(context, record, "provider", None, arn, rule=META.id)
    reason, _ = exemption.applied_to(reason, None)
    return Finding(
        rule=META.id,
        severity=Severity.HIGH,
        reason=reason,
        resource=Resource("identity_provider", (arn or provider).rsplit("/", 1)[-1], record.account, arn),
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        details={"provider": arn},
    )


def _review(record: CloudTrailRecord, context: EvalContext, resource: Resource, role: str | None, what: str) -> Finding:
    """Something the decision needs could not be read: a low finding for a human, nothing changed."""
    exemption = exemption_for(context, record, "role", role, resource.arn, rule=META.id)
    return review_finding(META.id, resource, what, exemption, details={"role": role})


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    if record.eventName in PROVIDER_EVENTS:
        return _provider_change(record, context)
    role = iam_name(record.params.get("roleName"))
    account = record.account
    response_role = record.response.get("role")
    arn = response_role.get("arn") if isinstance(response_role, dict) else None
    arn = arn if isinstance(arn, str) and arn else iam_arn(record, "role", role)
    resource = Resource("role", role or "unknown", account, arn)
    role_text = f"role {role}" if role else "a role the event does not name"
    what = (
        f"{record.identity.display_name} created {role_text}"
        if record.eventName == "CreateRole"
        else f"{record.identity.display_name} changed the trust policy of {role_text}"
    )

    document, problem = _event_document(record)
    if document is None and role:
        try:
            document = load_policy_document(context.state.trust_policy(role))
        except StateUnreadable as error:
            problem += f"; could not read {error}"
        except PolicyParseError as error:
            problem += f"; the role's current trust policy is unreadable ({error})"
    if document is None:
        return _review(record, context, resource, role, f"{what}, but its trust policy could not be read: {problem}")

    settings = context.settings
    own_org, org_note = _own_organization(context)
    verdict = analyse_trust_policy(
        document,
        account,
        settings.trusted_accounts,
        settings.trusted_org_ids,
        settings.trusted_oidc_subjects,
        own_org_id=own_org,
        assume_named_org_is_own=own_org is None and bool(org_note),
    )
    self_trust = judge_self_trust(record, document, role, context)
    if not verdict.issues and self_trust is None:
        return None
    self_labels = ", ".join(_statement_label(document, index) for index in self_trust.indices) if self_trust else ""
    if not verdict.issues and self_trust is not None and self_trust.review:
        return _review(record, context, resource, role, f"{what} whose trust policy {self_labels} {self_trust.why}")
    any_tenant = verdict.any_tenant or _open_to_everyone(document, verdict)
    severity = Severity.CRITICAL if any_tenant else Severity.HIGH
    acted_on = self_trust.indices if self_trust is not None and not self_trust.review else ()
    offending = tuple(sorted({*verdict.offending_indices, *acted_on}))
    whys = "; ".join(
        dict.fromkeys(
            f"{_statement_label(document, issue.statement_index)}: {issue.why.rstrip('.')}" for issue in verdict.issues
        )
    )
    if verdict.issues:
        reason = f"{what} whose trust policy lets outsiders assume it ({whys}).{_external_id_note(verdict)}"
    else:
        reason = f"{what} whose trust policy lets the caller assume a role with more power than its own."
    if self_trust is not None:
        reason += f" The caller trusts itself: {self_labels} {self_trust.why}."
        reason += " Reported for review; not stripped for this." if self_trust.review else ""
    if verdict.assumptions:
        reason += f" {org_note} Assumed: {'; '.join(verdict.assumptions)}."
    if context.assumed:
        reason += " State assumed (dry run): the role has no exemption."

    replacement = strip_trust_statements(document, offending)
    labels = ", ".join(_statement_label(document, index) for index in offending)
    services = trusted_services(replacement)
    action = undo = None
    if role:
        action = (
            f"replace the trust policy of role {role} with a deny-all policy (every statement is offending)"
            if len(offending) == len(document["Statement"])
            else f"replace the trust policy of role {role} with the same document minus {labels}"
        )
        undo = restore_command(role, document)
        if services:
            action += (
                f"; sessions already issued are not revoked, because the kept trust of {', '.join(services)} "
                "would lose its own sessions too: a human decides whether to revoke them"
            )
        else:
            action += f" and deny every session issued before now (inline policy {REVOKE_POLICY})"
            undo += f" && {lift_revocation_command(role)}"
    else:
        reason += " The event does not name the role, so nothing can be changed."
    exemption = exemption_for(context, record, "role", role, arn, rule=META.id)
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=resource,
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=undo,
        details={"role": role, "original": document, "replacement": replacement, "kept_services": services},
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Strip the offending statements, then deny older sessions; each verified by re-reading."""
    stripped = _strip(finding, aws)
    if stripped.outcome != Outcome.VERIFIED:
        return stripped
    role, services = finding.details["role"], finding.details.get("kept_services") or []
    if services:
        return ActionResult(
            Outcome.VERIFIED,
            f"{stripped.detail} Sessions issued before now were NOT revoked: "
            f"the kept trust of {', '.join(services)} would lose its own sessions too. If outsiders "
            "may hold sessions of this role, revoke them by hand (IAM console: Roles, "
            f"{role}, Revoke sessions) once the service's sessions can be renewed.",
        )
    revoked = revoke_older_sessions(aws, role, again=not stripped.detail.startswith(ALREADY))
    if revoked.outcome != Outcome.VERIFIED:
        return ActionResult(revoked.outcome, f"{stripped.detail} But {revoked.detail}", revoked.error)
    return ActionResult(Outcome.VERIFIED, f"{stripped.detail} {revoked.detail}")


def revoke_older_sessions(aws: AwsClients, role: str, *, again: bool = True) -> ActionResult:
    """Put AWSRevokeOlderSessions (deny all to sessions issued before now) on the role; verify by re-reading.
    A repeated delivery (`again` False) keeps a revocation already in place rather than moving its time on."""
    if not again:
        try:
            existing: Any = aws.iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY)["PolicyDocument"]
            return ActionResult(
                Outcome.VERIFIED,
                f"Sessions of role {role} are already revoked ({compact(existing)}"
                f", verified by re-reading); lift it with: {lift_revocation_command(role)}",
            )
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
    document = revoke_sessions_document(datetime.now(UTC))
    try:
        aws.iam.put_role_policy(RoleName=role, PolicyName=REVOKE_POLICY, PolicyDocument=compact(document))
        stored: Any = aws.iam.get_role_policy(RoleName=role, PolicyName=REVOKE_POLICY)["PolicyDocument"]
        after = load_policy_document(stored)
    except ClientError as error:
        code = error_code(error)
        return ActionResult(
            Outcome.FAILED, f"sessions of role {role} issued before now could not be revoked.", f"{code}: {error}"
        )
    issued = document["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    if after != document:
        return ActionResult(Outcome.FAILED, f"the {REVOKE_POLICY} policy of role {role} does not read as written.")
    return ActionResult(
        Outcome.VERIFIED,
        f"Sessions of role {role} issued before {issued} are denied (inline policy "
        f"{REVOKE_POLICY}, verified by re-reading); lift it with: {lift_revocation_command(role)}",
    )


def _strip(finding: Finding, aws: AwsClients) -> ActionResult:
    """Strip the offending statements, unless the trust policy changed since the event; verify by re-reading."""
    details = finding.details
    return replace_trust_policy(aws.iam, details["role"], details["original"], details["replacement"])
