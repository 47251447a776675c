"""Why a finding must not be acted on: a break-glass principal, the exemption tag, or state we could not read.

What counts as exempt, and when the tag counts, is described in docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from remediator.state import StateUnreadable

if TYPE_CHECKING:
    from remediator.events import CloudTrailRecord
    from remediator.rules.base import EvalContext


@dataclass(frozen=True)
class Exemption:
    """Why a finding must not be acted on: exempt by configuration or tag, or state unreadable."""

    exempt: bool = False
    reason: str | None = None  # why it is exempt
    unreadable: str | None = None  # what we could not read: report, do not act

    def applied_to(self, reason: str, action: str | None) -> tuple[str, str | None]:
        """The reason says why nothing will be changed; the planned action is dropped."""
        if self.unreadable:
            return f"{reason} Could not read {self.unreadable}: not acting on a guess.", None
        if self.exempt:
            return f"{reason} Exempt: {self.reason}.", None
        return reason, action


def exemption_for(context: EvalContext, record: CloudTrailRecord, kind: str, name: str | None,
                  arn: str | None) -> Exemption:
    """Break-glass principals (the caller or the target) first, then the target's exemption tag."""
    if context.settings.is_break_glass(record.identity.arn, arn):
        who = arn if context.settings.is_break_glass(arn) else record.identity.arn
        return Exemption(True, f"{who} is a break-glass principal")
    if not name:
        return Exemption()
    try:
        tag = context.state.exemption_tag(kind, name)
    except StateUnreadable as error:
        return Exemption(unreadable=str(error))
    if tag is None:
        return Exemption()
    return Exemption(True, f"{kind} {name} carries the tag remediator:exempt ({tag or 'no reason given'})")
