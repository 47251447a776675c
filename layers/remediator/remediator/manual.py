"""The exact AWS CLI command that does by hand what remediate mode would do, from a finding's details.

Notify-mode messages carry it, so a human can act on a finding in one paste. Every value is shell-quoted:
names come from the event, which the actor of the event chose.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from remediator.findings import Finding

DENY_POLICY_PLACEHOLDER = "DenyWithoutMfaPolicy ARN (stack resources)"


def _q(value: Any) -> str:
    return shlex.quote(str(value))


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def _access_keys(details: dict[str, Any]) -> str | None:
    if not details.get("key_id") or not details.get("user"):
        return None
    return (
        f"aws iam update-access-key --user-name {_q(details['user'])} --access-key-id {_q(details['key_id'])} "
        "--status Inactive"
    )


def _console_mfa(details: dict[str, Any]) -> str | None:
    user = details.get("user")
    if not user:
        return None
    if details.get("method") == "delete-login-profile":
        return f"aws iam delete-login-profile --user-name {_q(user)}"
    policy = details.get("policy_arn") or DENY_POLICY_PLACEHOLDER
    return f"aws iam attach-user-policy --user-name {_q(user)} --policy-arn {_q(policy)}"


def _role_trust(details: dict[str, Any]) -> str | None:
    if not details.get("role") or not isinstance(details.get("replacement"), dict):
        return None
    return (
        f"aws iam update-assume-role-policy --role-name {_q(details['role'])} "
        f"--policy-document {_q(_compact(details['replacement']))}"
    )


def _admin_grants(details: dict[str, Any]) -> str | None:
    op = details.get("op")
    if op == "detach":
        kind = details["kind"]
        return (
            f"aws iam detach-{kind}-policy --{kind}-name {_q(details['entity'])} "
            f"--policy-arn {_q(details['policy_arn'])}"
        )
    if op == "delete":
        kind = details["kind"]
        return (
            f"aws iam delete-{kind}-policy --{kind}-name {_q(details['entity'])} --policy-name {_q(details['policy'])}"
        )
    if op == "restore" and details.get("previous"):
        return (
            f"aws iam set-default-policy-version --policy-arn {_q(details['policy_arn'])} "
            f"--version-id {_q(details['previous'])}"
        )
    if op == "remove":
        return f"aws iam remove-user-from-group --group-name {_q(details['group'])} --user-name {_q(details['user'])}"
    return None


def _guardrail_tampering(details: dict[str, Any]) -> str | None:
    region = f" --region {_q(details['region'])}" if details.get("region") else ""
    target = {"start_logging": "trail", "enable_detector": "detector", "start_recorder": "recorder"}.get(
        details.get("remediation") or ""
    )
    if not target or not details.get(target):
        return None
    name = _q(details[target])
    return {
        "trail": f"aws cloudtrail start-logging --name {name}{region}",
        "detector": f"aws guardduty update-detector --detector-id {name} --enable{region}",
        "recorder": f"aws configservice start-configuration-recorder --configuration-recorder-name {name}{region}",
    }[target]


def _remediator_tampering(details: dict[str, Any]) -> str | None:
    return f"aws events enable-rule --name {_q(details['rule_name'])}" if details.get("rule_name") else None


def _ec2_without_role(details: dict[str, Any]) -> str | None:
    region = f" --region {_q(details['region'])}" if details.get("region") else ""
    profile = details.get("profile") or "<the stack's Ec2BaselineInstanceProfile>"
    commands = [
        f"aws ec2 modify-instance-metadata-options --instance-id {_q(i)} --http-tokens required --http-endpoint "
        f"enabled{region}"
        for i in details.get("require_imdsv2") or []
    ] + [
        f"aws ec2 associate-iam-instance-profile --instance-id {_q(i)} --iam-instance-profile "
        f"Name={_q(profile)}{region}"
        for i in details.get("attach") or []
    ]
    return " && ".join(commands) or None


def _s3_public(details: dict[str, Any]) -> str | None:
    on = _q(
        _compact(
            dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
        )
    )
    region = f" --region {_q(details['region'])}" if details.get("region") else ""
    where = (
        f"s3control put-public-access-block --account-id {_q(details['target'])}"
        if details.get("scope") == "account"
        else f"s3api put-public-access-block --bucket {_q(details['target'])}"
    )
    return f"aws {where} --public-access-block-configuration {on}{region}"


def _open_security_group(details: dict[str, Any]) -> str | None:
    ids = [rule["id"] for rule in details.get("rules") or () if rule.get("id")]
    if not ids or len(ids) != len(details["rules"]):
        return None  # the rule ids come from reading the group: see the finding
    region = f" --region {_q(details['region'])}" if details.get("region") else ""
    return (
        f"aws ec2 revoke-security-group-ingress --group-id {_q(details['group'])} "
        f"--security-group-rule-ids {' '.join(_q(i) for i in ids)}{region}"
    )


# Rule id -> the command from the finding's details. Rules that only report have none.
COMMANDS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "access_keys": _access_keys,
    "console_mfa": _console_mfa,
    "role_trust": _role_trust,
    "admin_grants": _admin_grants,
    "guardrail_tampering": _guardrail_tampering,
    "remediator_tampering": _remediator_tampering,
    "ec2_without_role": _ec2_without_role,
    "s3_public": _s3_public,
    "open_security_group": _open_security_group,
    # The rule writes it per resource kind (launch permission, statement id, grant, stripped policy ...).
    "external_access": lambda details: details.get("fix"),
}


def fix_command(finding: Finding) -> str | None:
    """The command, when the finding has an action and the rule says how; else None."""
    if not finding.action or finding.exempt:
        return None
    command = COMMANDS.get(finding.rule)
    try:
        return command(finding.details) if command else None
    except KeyError:
        return None
