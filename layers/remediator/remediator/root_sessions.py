"""One root_activity message per root session: the first call sends it, later calls of the session are findings
(logged, counted, in `evaluate`) without a message of their own.

A session is what AWS issued, never what the caller chose: the access key CloudTrail records (`ASIA…` for a
console session, the root access key itself for programmatic use), else the session's `creationDate`. A call
that names neither, a sign-in and any failed call or sign-in (someone guessing) always get their own message.
The first message claims the session in the findings table for SESSION_WINDOW (a console session lasts at
most 12 h) with one conditional write; a retried delivery of the same event claims it again and publishes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from remediator.events import CloudTrailRecord
from remediator.findings import Finding
from remediator.store import resource_key

if TYPE_CHECKING:
    from remediator.store import FindingsStore

SESSION_WINDOW = timedelta(hours=12)


def session_of(record: CloudTrailRecord) -> str | None:
    """The session a successful root call belongs to, or None when it must be reported on its own."""
    if record.failed or record.eventName == "ConsoleLogin":
        return None
    identity = record.identity
    key = identity.accessKeyId
    if isinstance(key, str) and len(key) >= 16 and key.isalnum():
        return f"key:{key}"
    created = ((identity.sessionContext or {}).get("attributes") or {}).get("creationDate")
    return f"created:{created}" if isinstance(created, str) and created else None


def thread_of(record: CloudTrailRecord) -> str:
    """The chat thread every root message of one account and (UTC) day goes to."""
    moment = record.event_time
    day = moment.date().isoformat() if moment is not None else "unknown-date"
    return f"root_activity-{record.account or 'unknown'}-{day}"


def already_reported(store: FindingsStore | None, finding: Finding, record: CloudTrailRecord | None) -> bool:
    """True when an earlier event of this root session already sent the message (without a store: never)."""
    session = finding.details.get("session")
    if store is None or record is None or not session or not record.eventID:
        return False
    return not store.claim_once(
        resource_key(finding.resource), f"session#{finding.rule}#{session}", record.eventID, SESSION_WINDOW
    )
