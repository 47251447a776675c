"""What a change to CloudTrail or to a log bucket's lifecycle does to the record we rely on: pure, no AWS call.

EventBridge sees an API call only while a trail records it, so selectors that drop management write events,
a trail moved or narrowed, or logs expired early blind every rule. These functions read only the request the
caller sent (the new state); the previous state is not in the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Weakening:
    """What a change drops: `whole` when management write events are still logged as before."""

    whole: bool
    what: str  # one clause a person reads: "management events are no longer recorded"


def _as_list(value: Any) -> list[Any]:
    """XML-born request fields hold one item as an object and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _classic_selector(selector: dict[str, Any]) -> str | None:
    """Why a classic event selector no longer records management write events, or None if it does."""
    if _false(selector.get("includeManagementEvents")):
        return "includeManagementEvents is false"
    if str(selector.get("readWriteType", "All")) == "ReadOnly":
        return "readWriteType is ReadOnly"
    if _as_list(selector.get("excludeManagementEventSources")):
        sources = ", ".join(str(s) for s in _as_list(selector.get("excludeManagementEventSources")))
        return f"management events of {sources} are excluded"
    return None


def _field_selectors(selector: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """An advanced selector's field selectors by field: {"eventCategory": {"Equals": [...]}, ...}."""
    fields: dict[str, dict[str, list[str]]] = {}
    for item in _as_list(selector.get("fieldSelectors", selector.get("FieldSelectors"))):
        field = item.get("field", item.get("Field")) if isinstance(item, dict) else None
        if isinstance(field, str):
            ops = fields.setdefault(field, {})
            for op, values in item.items():  # the record spells them equals/notEquals, the API Equals/NotEquals
                if op.lower() != "field":
                    ops.setdefault(op[:1].upper() + op[1:], []).extend(str(v) for v in _as_list(values))
    return fields


def _records_management_writes(selector: dict[str, Any]) -> bool:
    """Whether one advanced selector records every management write event (any narrowing counts against it)."""
    fields = _field_selectors(selector)
    category = fields.get("eventCategory", {})
    if category.get("Equals") != ["Management"] or set(category) != {"Equals"}:
        return False
    read_only = fields.get("readOnly", {})
    if read_only and not (set(read_only) == {"Equals"} and read_only["Equals"] == ["false"]):
        return False  # readOnly true (reads only), or an odd operator we do not try to interpret
    # Any other field (eventSource NotEquals, eventName, ...) narrows what is recorded.
    return set(fields) <= {"eventCategory", "readOnly"}


def _records_management_reads(selector: dict[str, Any]) -> bool:
    fields = _field_selectors(selector)
    return fields.get("eventCategory", {}).get("Equals") == ["Management"] and "readOnly" not in fields


def event_selectors_change(params: dict[str, Any]) -> Weakening | None:
    """PutEventSelectors: None when all management events (read and write) are still recorded."""
    classic = [s for s in _as_list(params.get("eventSelectors")) if isinstance(s, dict)]
    advanced = [s for s in _as_list(params.get("advancedEventSelectors")) if isinstance(s, dict)]
    if not classic and not advanced:
        if "eventSelectors" in params or "advancedEventSelectors" in params:
            return Weakening(False, "the trail's selectors were emptied: no management event is recorded")
        return Weakening(False, "the new selectors are not in the event: what is still recorded is unknown")
    if classic:
        reasons = [_classic_selector(s) for s in classic]
        if all(reasons):  # no selector keeps management writes
            return Weakening(
                False,
                "management write events are no longer recorded ("
                + "; ".join(dict.fromkeys(r for r in reasons if r))
                + ")",
            )
        if any(
            not _false(s.get("includeManagementEvents"))
            and not _as_list(s.get("excludeManagementEventSources"))
            and str(s.get("readWriteType", "All")) in {"All", "ReadOnly"}
            for s in classic
        ):
            return None  # writes kept by one selector, reads by this one
        return Weakening(True, "only management write events are recorded now (reads are dropped)")
    if not any(_records_management_writes(s) for s in advanced):
        return Weakening(False, "no advanced selector records every management write event")
    if any(_records_management_reads(s) for s in advanced):
        return None
    return Weakening(True, "only management write events are recorded now (reads are dropped)")


def insight_selectors_change(params: dict[str, Any]) -> Weakening | None:
    """PutInsightSelectors: turning Insights off leaves management events whole (low); turning it on is nothing."""
    if _as_list(params.get("insightSelectors")):
        return None
    return Weakening(True, "CloudTrail Insights was turned off (management events are still recorded)")


# UpdateTrail fields that move, narrow or unprotect what a trail records; anything else (an SNS topic) is whole.
_TRAIL_FLAGS = {
    "isMultiRegionTrail": "the trail no longer records other regions",
    "includeGlobalServiceEvents": "the trail no longer records global services (IAM, STS)",
    "enableLogFileValidation": "log file validation was turned off",
    "isOrganizationTrail": "the trail no longer records the organization's accounts",
}
_TRAIL_DESTINATIONS = {
    "s3BucketName": "logs now go to bucket {}",
    "s3KeyPrefix": "logs now go under prefix {}",
    "kmsKeyId": "logs are now encrypted with key {}",
    "cloudWatchLogsLogGroupArn": "the CloudWatch Logs group is now {}",
    "cloudWatchLogsRoleArn": "CloudWatch Logs delivery now uses role {}",
}


def trail_update(params: dict[str, Any]) -> Weakening:
    """UpdateTrail: a destination moved or a scope narrowed is not whole; only other settings is whole."""
    changes = [text for key, text in _TRAIL_FLAGS.items() if _false(params.get(key))]
    changes += [text.format(params[key] or "(none)") for key, text in _TRAIL_DESTINATIONS.items() if key in params]
    if changes:
        return Weakening(False, "; ".join(changes))
    changed = sorted(key for key in params if key not in {"name", "trailName"})
    return Weakening(
        True,
        "only " + (", ".join(changed) or "nothing the event shows") + " changed; the trail "
        "still records and delivers as before",
    )


def _expiry_days(rule: dict[str, Any], when: datetime | None) -> int | None:
    """Days after which an enabled lifecycle rule deletes current objects, or None."""
    if str(rule.get("Status", rule.get("status", ""))).lower() != "enabled":
        return None
    expiration = rule.get("Expiration") or rule.get("expiration")
    if not isinstance(expiration, dict):
        return None
    days = expiration.get("Days", expiration.get("days"))
    try:
        if days is not None:
            return int(str(days))
    except ValueError:
        return 0  # an unreadable number of days: assume the worst, report it
    date = expiration.get("Date", expiration.get("date"))
    if isinstance(date, str):
        try:
            expires = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return 0
        if when is None or expires.tzinfo is None or when.tzinfo is None:
            return 0
        return max(0, (expires - when).days)
    return None


def short_expirations(
    params: dict[str, Any], retention_days: int, when: datetime | None
) -> list[tuple[str, int, dict[str, Any]]]:
    """PutBucketLifecycle(Configuration): the enabled rules that expire objects sooner than retention_days.

    The prefix filter is not read: a prefix the caller chooses could as well cover the trail's logs.
    """
    configuration = params.get("LifecycleConfiguration") or params.get("lifecycleConfiguration") or {}
    rules = _as_list(
        configuration.get("Rule") or configuration.get("Rules") or configuration.get("rules")
        if isinstance(configuration, dict)
        else None
    )
    found = []
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        days = _expiry_days(rule, when)
        if days is not None and days < retention_days:
            found.append((str(rule.get("ID") or rule.get("id") or "(no id)"), days, rule))
    return found
