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


class AssumedState:
    """No account: assume no exemption tag (SPEC §1)."""

    live = False

    def exemption_tag(self, kind: str, name: str) -> str | None:
        return None


class LiveState:
    """Reads state through an IAM client; each answer is cached for the event being handled."""

    live = True

    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam
        self._tags: dict[tuple[str, str], str | None] = {}

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
