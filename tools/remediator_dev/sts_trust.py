"""The check real STS makes and moto's does not: the role exists and its trust policy names the caller.

moto's AssumeRole succeeds for any role ARN ("the role does not need to exist"), so without this a member
account whose role is missing, or does not trust the hub, would look reachable. `enforce_trust(org_id)`
makes moto's STS answer AccessDenied as AWS does, from the role's trust policy: an Allow of sts:AssumeRole
whose AWS principal is the caller's role ARN or account, and whose conditions (StringEquals on
aws:PrincipalOrgID, ArnLike/ArnEquals on aws:PrincipalArn) hold for the caller. Any other condition denies:
this is a small evaluator, not IAM. `calls` counts every AssumeRole it allowed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from typing import Any

CALLS: list[str] = []  # role ARNs assumed while the check is on (the benchmark and tests count them)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def trusts(document: dict[str, Any], caller_role_arn: str, caller_account: str, org_id: str | None) -> bool:
    """Whether the trust policy lets the caller (a session of `caller_role_arn`) assume the role."""
    context = {"aws:principalorgid": org_id or "", "aws:principalarn": caller_role_arn}
    allowed = False
    statements = document.get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or "sts:AssumeRole" not in _listed(statement.get("Action")):
            continue
        principals = _listed((statement.get("Principal") or {}).get("AWS"))
        named = any(
            principal in {caller_role_arn, caller_account, f"arn:aws:iam::{caller_account}:root"}
            for principal in principals
        )
        if not named or not _conditions_hold(statement.get("Condition") or {}, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, values in tests.items():
            actual = context.get(key.lower())
            if actual is None:
                return False
            if operator == "StringEquals" and actual not in _listed(values):
                return False
            if operator in {"ArnLike", "ArnEquals", "StringLike"} and not any(
                fnmatchcase(actual, pattern) for pattern in _listed(values)
            ):
                return False
            if operator not in {"StringEquals", "ArnLike", "ArnEquals", "StringLike"}:
                return False
    return True


@contextmanager
def enforce_trust(org_id: str | None) -> Iterator[list[str]]:
    """Within: moto's AssumeRole refuses what AWS would refuse; yields the list of role ARNs it allowed."""
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import sts_backends
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self: TokenResponse) -> Any:
        role_arn = str(self._get_param("RoleArn"))
        key = self.get_access_key()
        caller = next(
            (
                found
                for account in list(sts_backends.keys())
                if (found := sts_backends[account]["aws"].get_assumed_role_from_access_key(key)) is not None
            ),
            None,
        )
        caller_role = caller.role_arn if caller is not None else f"arn:aws:iam::{self.current_account}:root"
        caller_account = caller_role.split(":")[4]
        denied = STSClientError(
            "AccessDenied",
            f"User: {caller.arn if caller else caller_role} is not authorized to perform: sts:AssumeRole "
            f"on resource: {role_arn}",
        )
        parts = role_arn.split(":")
        if len(parts) < 6:
            raise denied
        role = next((r for r in iam_backends[parts[4]]["aws"].get_roles() if r.arn == role_arn), None)
        if role is None or not trusts(
            json.loads(role.assume_role_policy_document), caller_role, caller_account, org_id
        ):
            raise denied
        CALLS.append(role_arn)
        return original(self)

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
    CALLS.clear()
    try:
        yield CALLS
    finally:
        TokenResponse.assume_role = original  # type: ignore[method-assign]
