"""Replace a role's trust policy with the same document minus the offending statements, and verify it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from remediator.aws import error_code
from remediator.findings import ActionResult, Outcome
from remediator.policy import PolicyParseError, load_policy_document
from remediator.remediation import compact

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


ALREADY = "Already:"  # a repeated delivery finds the trust policy stripped: nothing was written this time


def as_iam_stores_it(document: Any) -> dict[str, Any]:
    """IAM stores an account principal "111122223333" as "arn:aws:iam::111122223333:root": compare that way."""
    normal = load_policy_document(document)
    for statement in normal["Statement"]:
        principal = statement.get("Principal")
        if not isinstance(principal, dict):
            continue
        for key, value in principal.items():
            if str(key).lower() == "aws":
                values = [
                    f"arn:aws:iam::{v}:root" if isinstance(v, str) and len(v) == 12 and v.isdigit() else v
                    for v in (value if isinstance(value, list) else [value])
                ]
                principal[key] = values if isinstance(value, list) else values[0]
    return normal


def _current(iam: IAMClient, role: str) -> dict[str, Any]:
    return as_iam_stores_it(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])


def replace_trust_policy(iam: IAMClient, role: str, original: Any, replacement: Any) -> ActionResult:
    """Write `replacement` unless the trust policy changed since `original` was read; verify by re-reading."""
    try:
        current = _current(iam, role)
        before, after_strip = as_iam_stores_it(original), as_iam_stores_it(replacement)
        if current == after_strip:
            return ActionResult(
                Outcome.VERIFIED,
                f"{ALREADY} the trust policy of role {role} reads the stripped document (verified by re-reading).",
            )
        if current != before:
            return ActionResult(
                Outcome.SKIPPED,
                f"the trust policy of role {role} changed after this event; "
                "nothing changed here (the later change is evaluated on its own event).",
            )
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=compact(after_strip))
        after = _current(iam, role)
    except ClientError as error:
        code = error_code(error)
        if code == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"role {role} no longer exists: nothing to change.")
        return ActionResult(Outcome.FAILED, f"could not replace the trust policy of role {role}.", f"{code}: {error}")
    except PolicyParseError as error:
        return ActionResult(Outcome.FAILED, f"the trust policy of role {role} could not be read back.", str(error))
    if after == after_strip:
        return ActionResult(
            Outcome.VERIFIED,
            f"role {role} now trusts only what the kept statements allow "
            f"(verified by re-reading). Original trust policy: {compact(original)}",
        )
    return ActionResult(Outcome.FAILED, f"the trust policy of role {role} does not read as replaced after the update.")
