"""iam_user_sprawl: a new IAM user is a new set of long-lived credentials to guard.

Practice 7, the reason this product exists: people and workloads assume roles with STS (temporary
credentials) instead of holding a user in every account. Notify only; the message says which role
and trust policy to create instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from remediator.aws import AwsClients
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.rules.base import EvalContext, RuleMeta, Trigger, iam_arn, keep_mode, resolves_nothing

META = RuleMeta(
    id="iam_user_sprawl",
    title="IAM user created",
    practice="Use roles assumed with STS instead of IAM users in every account",
    severity=Severity.LOW,
    triggers=(Trigger(event_names=("CreateUser",)),),
    resource_path="requestParameters.userName",
    remediation="none: notify with the role and trust policy to use instead",
    undo="nothing is changed",
    state_actions=("iam:ListUserTags",),
)

mode_for = keep_mode
resolve = resolves_nothing


def _user(record: CloudTrailRecord) -> str | None:
    name = record.params.get("userName")
    user = record.response.get("user")
    if not name and isinstance(user, dict):
        name = user.get("userName")
    return name if isinstance(name, str) and name else None


def suggested_trust_policy(account: str | None, org_ids: frozenset[str]) -> dict[str, Any]:
    """Who may assume the replacement role: principals of this account, signed in with MFA (and the org)."""
    condition: dict[str, Any] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if org_ids:
        condition["StringEquals"] = {"aws:PrincipalOrgID": sorted(org_ids)[0]}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account or '<account-id>'}:root"},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ],
    }


def role_name_for(user: str | None) -> str:
    """A valid role name derived from the user's (IAM names: 64 chars of [\\w+=,.@-])."""
    base = re.sub(r"[^\w+=,.@-]", "-", user or "workload")[:59]
    return f"{base}-role"


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    caller = record.identity
    account = record.account
    user = _user(record)
    arn = iam_arn(record, "user", user)
    roles_only = context.settings.roles_only_account
    severity = Severity.HIGH if roles_only else Severity.LOW
    exemption = exemption_for(context, record, "user", user, arn, rule=META.id)
    role = role_name_for(user)
    trust = suggested_trust_policy(account, context.settings.trusted_org_ids)
    where = f" from {record.sourceIPAddress}" if record.sourceIPAddress else ""
    marked = " in an account marked roles-only" if roles_only else ""
    reason = (
        f"{caller.display_name} created IAM user {user or '(name not in the event)'}{marked}{where}; "
        f"use a role assumed with STS (temporary credentials) instead: aws iam create-role --role-name {role} "
        f"--assume-role-policy-document '{json.dumps(trust, separators=(',', ':'))}' and attach the user's "
        "permissions to the role (for a workload, trust its service principal instead)."
    )
    if context.assumed:
        reason += " State assumed (dry run): the user has no exemption."
    reason = exemption.explained(reason)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=Resource("user", user or "unknown", account, arn),
        action=None,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        details={"user": user, "suggested_role": role, "suggested_trust_policy": trust},
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Never called with an action (notify only); kept for the rule contract."""
    return ActionResult(Outcome.SKIPPED, "nothing changed: a new user is reported with the role to use instead.")
