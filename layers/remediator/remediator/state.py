"""Account state a decision needs (exemption tags, MFA devices, documents).

`LiveState` reads it from AWS; `AssumedState` is the dry run of SPEC §1: the entity exists, has
no exemption tag and no MFA device, and the reason says "assumed".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from remediator.config import EXEMPT_TAG

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


class StateUnreadable(Exception):
    """AWS would not tell us something a decision needs: report it, never act on a guess."""


class AccountState(Protocol):
    live: bool

    def exemption_tag(self, kind: str, name: str) -> str | None:
        """The `remediator:exempt` tag's value on a user or role ("" counts as exempt), else None."""
        ...

    def mfa_devices(self, user: str) -> list[str]:
        """Serial numbers of the user's MFA devices (console_mfa: "lower severity when the user has MFA")."""
        ...

    def has_login_profile(self, user: str) -> bool:
        """Whether the user has a console password (MFA removed from such a user is high severity)."""
        ...


class AssumedState:
    """No account: assume no exemption tag (SPEC §1)."""

    live = False

    def exemption_tag(self, kind: str, name: str) -> str | None:
        return None

    def mfa_devices(self, user: str) -> list[str]:
        return []

    def has_login_profile(self, user: str) -> bool:
        """Assumed: the user has the console password the event is about (the case the rule guards)."""
        return True


class LiveState:
    """Reads state through an IAM client; each answer is cached for the event being handled."""

    live = True

    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam
        self._tags: dict[tuple[str, str], str | None] = {}
        self._mfa: dict[str, list[str]] = {}
        self._profiles: dict[str, bool] = {}

    def exemption_tag(self, kind: str, name: str) -> str | None:
        if (kind, name) not in self._tags:
            self._tags[kind, name] = self._read_exemption_tag(kind, name)
        return self._tags[kind, name]

    def _read_exemption_tag(self, kind: str, name: str) -> str | None:
        try:
            if kind == "user":
                tags = self._iam.list_user_tags(UserName=name)["Tags"]
            elif kind == "role":
                tags = self._iam.list_role_tags(RoleName=name)["Tags"]
            else:
                return None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "NoSuchEntity":
                return None
            if code not in DENIED:
                raise  # throttling or an outage: the handler raises, Lambda retries
            raise StateUnreadable(f"the tags of {kind} {name} ({code})") from error
        return next((tag["Value"] for tag in tags if tag["Key"] == EXEMPT_TAG), None)

    def mfa_devices(self, user: str) -> list[str]:
        if user not in self._mfa:
            try:
                devices = self._iam.list_mfa_devices(UserName=user)["MFADevices"]
            except ClientError as error:
                self._mfa[user] = _unreadable_or_empty(error, f"the MFA devices of user {user}")
            else:
                self._mfa[user] = [device["SerialNumber"] for device in devices]
        return self._mfa[user]

    def has_login_profile(self, user: str) -> bool:
        if user not in self._profiles:
            try:
                self._iam.get_login_profile(UserName=user)
            except ClientError as error:
                _unreadable_or_empty(error, f"the login profile of user {user}")
                self._profiles[user] = False
            else:
                self._profiles[user] = True
        return self._profiles[user]


def _unreadable_or_empty(error: ClientError, what: str) -> list[str]:
    """NoSuchEntity means "none"; a denied read is StateUnreadable; anything else raises (retry)."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "NoSuchEntity":
        return []
    if code in DENIED:
        raise StateUnreadable(f"{what} ({code})") from error
    raise error
