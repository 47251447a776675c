"""Detach a managed policy from a user, group or role, and re-read the attachments to verify."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from remediator.aws import error_code
from remediator.findings import ActionResult, Outcome

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


def detach_policy(iam: IAMClient, kind: str, entity: str, policy_arn: str) -> ActionResult:
    """Detach (never delete) the policy; a policy already gone is fine, the re-read says whether it holds."""
    key = {f"{kind.title()}Name": entity}
    try:
        getattr(iam, f"detach_{kind}_policy")(**key, PolicyArn=policy_arn)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise  # NoSuchEntity: not attached any more (or the entity is gone): the re-read tells which
    attached = getattr(iam, f"list_attached_{kind}_policies")(**key)["AttachedPolicies"]
    if any(policy["PolicyArn"] == policy_arn for policy in attached):
        return ActionResult(Outcome.FAILED, f"{policy_arn} is still attached to {kind} {entity} after detaching it.")
    return ActionResult(Outcome.VERIFIED, f"{policy_arn} is detached from {kind} {entity} (verified by re-reading).")
