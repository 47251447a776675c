"""Credential steps: set an access key Inactive, enforce MFA on a console user, delete a console password.

access_keys and the sweep's old and unused keys deactivate keys; console_mfa and the sweep's users without
MFA attach the deny-unless-MFA policy (or delete the login profile); the sweep deletes unused passwords.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from remediator.aws import THROTTLED, error_code
from remediator.findings import ActionResult, Outcome

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

DELETE_LOGIN_PROFILE = "delete-login-profile"
# The credential report dates a key to the second; ListAccessKeys gives the same creation time.
KEY_DATE_TOLERANCE_SECONDS = 2


def _key_created(iam: IAMClient, user: str, created: datetime) -> str | None:
    """The id of the user's key created at `created` (the credential report names keys by slot and date only)."""
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    match = [
        k["AccessKeyId"] for k in keys if abs((k["CreateDate"] - created).total_seconds()) < KEY_DATE_TOLERANCE_SECONDS
    ]
    return match[0] if len(match) == 1 else None


def deactivate_key(iam: IAMClient, user: str, key_id: str | None, created: datetime | None = None) -> ActionResult:
    """Set the key Inactive (never delete it), then list the user's keys to verify. A key known only by its
    creation time (the sweep) is looked up first; throttling raises so the caller retries or stops."""
    try:
        if key_id is None and created is not None:
            key_id = _key_created(iam, user, created)
            if key_id is None:
                return ActionResult(
                    Outcome.SKIPPED,
                    f"the access key of {user} created {created.date()} is no longer there: nothing to deactivate.",
                )
        if key_id is None:
            return ActionResult(Outcome.SKIPPED, f"no access key of {user} is named: nothing changed.")
        iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    except ClientError as error:
        code = error_code(error)
        if code in THROTTLED:
            raise
        if code == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"key {key_id} of {user} no longer exists: nothing to deactivate.")
        return ActionResult(Outcome.FAILED, f"could not deactivate key {key_id} of {user}.", f"{code}: {error}")
    status = next((key["Status"] for key in keys if key["AccessKeyId"] == key_id), None)
    if status == "Inactive":
        return ActionResult(Outcome.VERIFIED, f"key {key_id} of {user} is now Inactive (verified by re-reading).")
    if status is None:
        return ActionResult(Outcome.SKIPPED, f"key {key_id} of {user} was deleted before we could verify it.")
    return ActionResult(Outcome.FAILED, f"key {key_id} of {user} still reads {status} after deactivation.")


def enforce_mfa(iam: IAMClient, user: str, method: str | None, policy_arn: str | None) -> ActionResult:
    """Attach the deny policy (or delete the login profile) unless the user has MFA by now; verify by re-reading."""
    try:
        if iam.list_mfa_devices(UserName=user)["MFADevices"]:
            return ActionResult(Outcome.SKIPPED, f"{user} has enrolled an MFA device since: nothing to enforce.")
        if method == DELETE_LOGIN_PROFILE:
            return delete_login_profile(iam, user)
        if not policy_arn:
            return ActionResult(
                Outcome.FAILED,
                f"no deny-unless-MFA policy is configured for {user}.",
                "DENY_WITHOUT_MFA_POLICY_ARN is not set",
            )
        iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
        attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    except ClientError as error:
        code = error_code(error)
        if code in THROTTLED:
            raise
        if code == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"user {user} (or the policy) no longer exists: nothing changed.")
        return ActionResult(Outcome.FAILED, f"could not enforce MFA for {user}.", f"{code}: {error}")
    if any(policy["PolicyArn"] == policy_arn for policy in attached):
        return ActionResult(
            Outcome.VERIFIED,
            f"{user} now has the deny-unless-MFA policy attached (verified by "
            "re-reading); they can still sign in and enrol an MFA device. It also blocks their "
            "access keys: API calls without MFA are denied until they enrol one.",
        )
    return ActionResult(Outcome.FAILED, f"the deny-unless-MFA policy does not show on {user} after attaching it.")


def delete_login_profile(iam: IAMClient, user: str) -> ActionResult:
    """Remove console access outright (console_mfa's parameter choice, and the sweep's for unused passwords)."""
    try:
        iam.delete_login_profile(UserName=user)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"{user} has no console password any more: nothing to delete.")
        raise
    try:
        iam.get_login_profile(UserName=user)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return ActionResult(Outcome.VERIFIED, f"the console password of {user} is deleted (verified by re-read).")
        raise
    return ActionResult(Outcome.FAILED, f"{user} still has a console password after deleting it.")


def deactivate_mfa_device(iam: IAMClient, user: str, serial: str) -> ActionResult:
    """Take back an MFA device someone else enrolled for the user; the device itself is kept (for the undo)."""
    try:
        iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise  # NoSuchEntity: not enrolled any more (or the user is gone): the re-read tells which
    try:
        devices = [device["SerialNumber"] for device in iam.list_mfa_devices(UserName=user)["MFADevices"]]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return ActionResult(Outcome.SKIPPED, f"user {user} no longer exists: nothing to deactivate.")
        raise
    if serial in devices:
        return ActionResult(Outcome.FAILED, f"MFA device {serial} is still enrolled for {user} after deactivating it.")
    return ActionResult(
        Outcome.VERIFIED,
        f"MFA device {serial} is no longer enrolled for {user} (verified by "
        "re-reading); the device is kept, so it can be enrolled again.",
    )
