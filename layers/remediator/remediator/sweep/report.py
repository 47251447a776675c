"""The IAM credential report: one CSV for the whole account, whatever its size.

Two list-free calls give the credential data of every user (GenerateCredentialReport until it is
COMPLETE, then GetCredentialReport), so the sweep's IAM reads do not grow with the user count.
Columns and special values as the IAM User Guide documents them ("Understanding the report
format"): `N/A`, `no_information` and `not_supported` mean "no date"; booleans are true/false.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from remediator.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

ROOT_USER = "<root_account>"
NO_VALUE = frozenset({"", "N/A", "no_information", "not_supported"})


class ReportUnavailable(RuntimeError):
    """IAM did not produce the report in time: the sweep reports it and the next run tries again."""


@dataclass(frozen=True)
class AccessKeyColumns:
    """One of the two access-key column groups of a row (slot 1 or 2)."""

    slot: int
    active: bool
    last_rotated: datetime | None  # creation (or last change) of the key
    last_used: datetime | None


@dataclass(frozen=True)
class CredentialRow:
    """One user (or the root account) as the credential report describes it."""

    user: str
    arn: str
    created: datetime | None
    password_enabled: bool | None  # None for root (not_supported)
    password_last_used: datetime | None
    password_last_changed: datetime | None
    mfa_active: bool
    keys: tuple[AccessKeyColumns, AccessKeyColumns]

    @property
    def is_root(self) -> bool:
        return self.user == ROOT_USER

    @property
    def account(self) -> str:
        return self.arn.split(":")[4] if self.arn.count(":") >= 5 else "unknown"

    @property
    def active_keys(self) -> list[AccessKeyColumns]:
        return [key for key in self.keys if key.active]


def _date(value: str | None) -> datetime | None:
    if value is None or value.strip() in NO_VALUE:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bool(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    return True if text == "true" else False if text == "false" else None


def parse_report(text: str) -> list[CredentialRow]:
    """Rows of the CSV, in report order; a column a report lacks reads as "no value"."""
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        keys = tuple(
            AccessKeyColumns(
                slot,
                bool(_bool(raw.get(f"access_key_{slot}_active"))),
                _date(raw.get(f"access_key_{slot}_last_rotated")),
                _date(raw.get(f"access_key_{slot}_last_used_date")),
            )
            for slot in (1, 2)
        )
        rows.append(
            CredentialRow(
                user=raw.get("user") or "",
                arn=raw.get("arn") or "",
                created=_date(raw.get("user_creation_time")),
                password_enabled=_bool(raw.get("password_enabled")),
                password_last_used=_date(raw.get("password_last_used")),
                password_last_changed=_date(raw.get("password_last_changed")),
                mfa_active=bool(_bool(raw.get("mfa_active"))),
                keys=keys,  # type: ignore[arg-type]
            )
        )
    return rows


def fetch_report(
    iam: IAMClient, *, max_wait_seconds: float = 300, sleep: Callable[[float], None] = time.sleep
) -> tuple[datetime | None, str]:
    """Generate (IAM reuses a report younger than 4 hours), poll until COMPLETE, download: (generated, CSV)."""
    waited, delay = 0.0, 1.0
    while iam.generate_credential_report()["State"] != "COMPLETE":
        if waited >= max_wait_seconds:
            raise ReportUnavailable(f"the credential report was not ready after {waited:.0f} s")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 15.0)
    try:
        response = iam.get_credential_report()
    except ClientError as error:
        raise ReportUnavailable(f"GetCredentialReport failed: {error_code(error)}") from error
    content = response["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    generated = response.get("GeneratedTime")
    return (generated if isinstance(generated, datetime) else None), text
