"""The central exemption list: a DynamoDB table only the exemption admins may write (its resource policy).

An entry names an ARN pattern (principal or resource), a rule (or `*`), a reason, an expiry and who approved
it. Functions read the whole table (it is small) and keep it for CACHE_SECONDS, so a change takes effect
within minutes without a redeploy. An entry past its expiry never matches; the finding says it expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from remediator.arns import pattern_matches
from remediator.aws import error_code
from remediator.state import DENIED, StateUnreadable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CACHE_SECONDS = 300  # how stale a function's copy of the list may be: a new entry counts within 5 minutes
ALL_RULES = "*"
SORT_KEY = "entry"  # "<rule>#<added at>"
FIELDS = ("pattern", "rule", "reason", "expires", "approver")


def _end_of(expires: str) -> datetime | None:
    """When an entry stops counting: a date counts through that whole day (UTC); a timestamp until then."""
    text = expires.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text) + timedelta(days=1), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ExemptionEntry:
    """One approved exemption, as stored in the table."""

    pattern: str
    rule: str
    reason: str
    expires: str  # YYYY-MM-DD (through that day, UTC), or an ISO timestamp once `remediator exempt expire` ran
    approver: str
    added_by: str | None = None
    added_at: str | None = None

    @property
    def ends_at(self) -> datetime | None:
        return _end_of(self.expires)

    def active(self, now: datetime) -> bool:
        ends = self.ends_at
        return ends is not None and now < ends

    def covers(self, rule: str | None, arns: Iterable[str | None]) -> bool:
        """Its rule is this rule (or every rule), and its pattern matches one of the ARNs."""
        return (self.rule == ALL_RULES or self.rule == rule) and any(
            pattern_matches(self.pattern, arn) for arn in arns if arn
        )

    @property
    def label(self) -> str:
        return f"exemption {self.pattern} for {'every rule' if self.rule == ALL_RULES else self.rule}"

    def describe(self) -> str:
        return f"{self.label} ({self.reason}; approved by {self.approver}; until {self.expires})"

    def as_item(self) -> dict[str, Any]:
        """The DynamoDB item (low-level client format); the sort key keeps an expired entry as history when
        the same pattern and rule are approved again."""
        values = {
            "pattern": self.pattern,
            SORT_KEY: f"{self.rule}#{self.added_at or ''}",
            "rule": self.rule,
            "reason": self.reason,
            "expires": self.expires,
            "approver": self.approver,
            "added_by": self.added_by,
            "added_at": self.added_at,
        }
        return {name: {"S": value} for name, value in values.items() if value}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ExemptionEntry | None:
        """An entry from a stored item; None when a field is missing or the expiry unreadable (never matches)."""
        values: dict[str, str] = {
            name: value["S"]
            for name, value in item.items()
            if isinstance(value, Mapping) and isinstance(value.get("S"), str)
        }
        if not all(values.get(name, "").strip() for name in FIELDS):
            return None
        entry = cls(
            values["pattern"],
            values["rule"],
            values["reason"],
            values["expires"],
            values["approver"],
            added_by=values.get("added_by"),
            added_at=values.get("added_at"),
        )
        return entry if entry.ends_at is not None else None


@dataclass(frozen=True)
class ListMatch:
    """What the list says about one finding: the entry that exempts it, or the one that would have."""

    active: ExemptionEntry | None = None
    expired: ExemptionEntry | None = None


def match(entries: Iterable[ExemptionEntry], rule: str | None, arns: Iterable[str | None], now: datetime) -> ListMatch:
    """The first active entry covering the finding; else the latest-expired one that would have."""
    candidates = tuple(arns)
    expired: ExemptionEntry | None = None
    for entry in entries:
        if not entry.covers(rule, candidates):
            continue
        if entry.active(now):
            return ListMatch(active=entry)
        if expired is None or (entry.ends_at or now) > (expired.ends_at or now):
            expired = entry
    return ListMatch(expired=expired)


class ExemptionList(Protocol):
    def entries(self) -> tuple[ExemptionEntry, ...]:
        """Every entry, expired ones included; StateUnreadable when the list cannot be read."""
        ...


class NoExemptionList:
    """Dry run, or no table configured: no entry (docs/decisions.md: the dry run assumes no exemption)."""

    def entries(self) -> tuple[ExemptionEntry, ...]:
        return ()


NO_EXEMPTION_LIST = NoExemptionList()

_cache: dict[str, tuple[float, tuple[ExemptionEntry, ...]]] = {}


def forget_cached_entries() -> None:
    """Drop every cached copy (tests, and the CLI after it writes)."""
    _cache.clear()


class ExemptionTable:
    """The list as the stack's table holds it, cached for CACHE_SECONDS per table across invocations."""

    def __init__(
        self,
        dynamodb: DynamoDBClient | Callable[[], DynamoDBClient],
        table: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A client, or what makes one: an event that never consults the list (or finds it cached) makes none.
        self._dynamodb = dynamodb
        self.table = table
        self._clock = clock

    def entries(self) -> tuple[ExemptionEntry, ...]:
        cached = _cache.get(self.table)
        if cached and cached[0] > self._clock():
            return cached[1]
        entries = tuple(self.read_all())
        _cache[self.table] = (self._clock() + CACHE_SECONDS, entries)
        return entries

    def read_all(self) -> list[ExemptionEntry]:
        """Scan the table. Denied or missing: StateUnreadable (no exemption applies; the finding says why)."""
        client = self._dynamodb if hasattr(self._dynamodb, "scan") else self._dynamodb()
        items: list[dict[str, Any]] = []
        start: dict[str, Any] = {}
        try:
            # Scan page by page by hand: a paginator would load botocore's paginator models on a cold start.
            while True:
                page = client.scan(TableName=self.table, **start)
                items.extend(page.get("Items", []))
                if not page.get("LastEvaluatedKey"):
                    break
                start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        except ClientError as error:
            code = error_code(error)
            if code in DENIED or code == "ResourceNotFoundException":
                raise StateUnreadable(f"the exemption list, table {self.table} ({code})") from error
            raise
        return [entry for item in items if (entry := ExemptionEntry.from_item(item)) is not None]


def table_definition(table_name: str) -> dict[str, Any]:
    """`create_table` arguments matching the template's ExemptionsTable (tests and local runs use it)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in ("pattern", SORT_KEY)],
        "KeySchema": [{"AttributeName": "pattern", "KeyType": "HASH"}, {"AttributeName": SORT_KEY, "KeyType": "RANGE"}],
    }
