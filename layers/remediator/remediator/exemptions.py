"""Why a finding must not be acted on: a break-glass principal, an entry of the central exemption list, the
exemption tag where the operator honours it, or state we could not read.

Nothing the actor of an event controls may exempt it: the list is writable only by the exemption admins,
break-glass ARNs come from the stack's parameters, and a tag that came with the event (or sits on an entity
the event itself created) never counts. What counts as exempt is described in docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from remediator.config import EXEMPT_TAG
from remediator.exemption_list import match
from remediator.findings import Finding, Resource, Severity
from remediator.state import StateUnreadable

if TYPE_CHECKING:
    from remediator.events import CloudTrailRecord
    from remediator.rules.base import EvalContext

CREATES = {"user": "CreateUser", "role": "CreateRole"}


@dataclass(frozen=True)
class Exemption:
    """Why a finding must not be acted on: exempt by configuration, list or tag, or state unreadable."""

    exempt: bool = False
    reason: str | None = None  # why it is exempt
    unreadable: str | None = None  # what we could not read: report, do not act
    note: str | None = None  # what did not exempt it, and why (an expired entry, a tag set by this event)

    def applied_to(self, reason: str, action: str | None) -> tuple[str, str | None]:
        """The reason says why nothing will be changed; the planned action is dropped."""
        reason = self.explained(reason)
        if self.unreadable or self.exempt:
            return reason, None
        return reason, action

    def explained(self, reason: str) -> str:
        """The finding's reason with what the exemption check found appended."""
        if self.note:
            reason = f"{reason} {self.note}"
        if self.unreadable:
            return f"{reason} Could not read {self.unreadable}: not acting on a guess."
        if self.exempt:
            return f"{reason} Exempt: {self.reason}."
        return reason


def exemption_for(
    context: EvalContext,
    record: CloudTrailRecord,
    kind: str,
    name: str | None,
    arn: str | None,
    rule: str | None = None,
    *,
    now: datetime | None = None,
) -> Exemption:
    """Break-glass principals (the target or the caller) first, then the central list (entries for `rule` or
    for every rule, matching the target or the caller), then, only where honoured, the target's tag."""
    settings = context.settings
    caller = record.identity
    who = settings.break_glass_match(arn, caller.arn, caller.issuer_arn)
    if who:
        return Exemption(True, f"{who} is a break-glass principal")
    notes = []
    if context.exemptions is not None:
        try:
            entries = context.exemptions.entries()
        except StateUnreadable as error:
            notes.append(f"No exemption applies: {error} could not be read.")
            entries = ()
        found = match(entries, rule, (arn, caller.arn, caller.issuer_arn), now or datetime.now(UTC))
        if found.active:
            return Exemption(True, found.active.describe())
        if found.expired:
            notes.append(f"The {found.expired.label} expired on {found.expired.expires}: not honoured.")
    note = " ".join(notes) or None
    if not settings.honour_exempt_tags or not name or kind not in CREATES:
        return Exemption(note=note)
    if _tag_came_with(record, kind, name):
        why = f"The {EXEMPT_TAG} tag came with this event ({record.eventName}): not honoured."
        return Exemption(note=f"{note} {why}" if note else why)
    try:
        tag = context.state.exemption_tag(kind, name)
    except StateUnreadable as error:
        return Exemption(unreadable=str(error), note=note)
    if tag is None:
        return Exemption(note=note)
    return Exemption(True, f"{kind} {name} carries the tag {EXEMPT_TAG} ({tag or 'no reason given'})")


def _tag_came_with(record: CloudTrailRecord, kind: str, name: str) -> bool:
    """The event created the entity (any tag on it is as new as the event) or set the tag itself."""
    params = record.params
    if record.eventName == CREATES[kind] and str(params.get(f"{kind}Name", "")).casefold() == name.casefold():
        return True
    return any(_is_exempt_tag(tag) for tag in _list(params.get("tags")))


def _is_exempt_tag(tag: Any) -> bool:
    if not isinstance(tag, dict):
        return False
    key = next((value for field, value in tag.items() if str(field).lower() == "key"), None)
    return isinstance(key, str) and key.strip().casefold() == EXEMPT_TAG


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def review_finding(
    rule: str,
    resource: Resource,
    what: str,
    exemption: Exemption | None = None,
    *,
    details: dict[str, Any] | None = None,
    explain: bool = True,
) -> Finding:
    """A verdict needs a document that is neither in the event nor readable: a low finding whose reason says
    what could not be read, for a human to review, never acted on. `what` ends without a full stop; the
    exemption, if given, marks the finding and (unless `explain` is off) is explained in its reason."""
    reason = f"{what}. Reported for review; nothing will be changed."
    if exemption is not None and explain:
        reason = exemption.explained(reason)
    return Finding(
        rule=rule,
        severity=Severity.LOW,
        reason=reason,
        resource=resource,
        exempt=exemption.exempt if exemption else False,
        exempt_reason=exemption.reason if exemption else None,
        details=details if details is not None else {},
    )
