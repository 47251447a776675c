"""The findings table (DynamoDB): open findings with their grace period, actions taken, TTL.

One table for every rule. Keys: `resource` ("<account>:<kind>/<name>") and `record`
("finding#<rule>" for a finding, "action#<rule>#<time>" for an action, counted for the
action budget of that rule on that resource, "contested#<rule>" for the one message that says a budget
is spent). Open findings also carry `open_rule` and `due_at`, the keys of
the sparse index `open-by-rule`: the sweep asks it which grace periods are over without a scan,
and closing a finding removes it from the index. `expires_at` is the table's TTL attribute.
The client is passed in, so Lambda, the CLI and tests share this code.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from remediator.aws import error_code
from remediator.findings import ActionResult, Finding, Outcome, Resource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from remediator.aws import AwsClients

OPEN_INDEX = "open-by-rule"
OPEN_RETENTION = timedelta(days=90)  # an open finding nobody follows up on disappears; the sweep re-finds it
CLOSED_RETENTION = timedelta(days=30)  # kept for the audit trail, then dropped
ACTION_RETENTION = timedelta(days=1)  # the action budget looks one hour back
ACTION_BUDGET_PER_HOUR = 3  # changes by one rule to one resource per hour before it stops acting and only notifies
CONTESTED_QUIET = timedelta(hours=1)  # one "contested resource" message per rule and resource in this long


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    """Fixed-width UTC text, so string order is time order (the index sorts on it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def resource_key(resource: Resource) -> str:
    """The partition key of a resource: one item collection per IAM entity and account."""
    return f"{resource.account or 'unknown'}:{resource.kind}/{resource.name}"


@dataclass(frozen=True)
class OpenFinding:
    """A finding we warned about and may act on once `due_at` has passed."""

    resource: str
    rule: str
    warned_at: datetime
    due_at: datetime
    event_id: str | None = None
    severity: str | None = None
    reason: str | None = None

    @property
    def user(self) -> str:
        return self.resource.split(":", 1)[1].split("/", 1)[1]

    @property
    def account(self) -> str:
        return self.resource.split(":", 1)[0]

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OpenFinding:
        text = {name: value["S"] for name, value in item.items() if "S" in value}
        return cls(
            resource=text["resource"],
            rule=text["rule"],
            warned_at=_parse(text["warned_at"]),
            due_at=_parse(text["due_at"]),
            event_id=text.get("event_id"),
            severity=text.get("severity"),
            reason=text.get("reason"),
        )


class FindingsStore:
    """Small API over the findings table; every method is one or two DynamoDB calls."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = client
        self._table = table_name
        self._clock = clock

    def _key(self, resource: str, record: str) -> dict[str, Any]:
        return {"resource": {"S": resource}, "record": {"S": record}}

    def open_finding(
        self,
        resource: str,
        rule: str,
        *,
        grace: timedelta,
        event_id: str | None = None,
        severity: str | None = None,
        reason: str | None = None,
    ) -> OpenFinding:
        """Record a first warning. A finding already open keeps its warned-at: a new event never restarts the grace."""
        now = self._clock()
        item = {
            **self._key(resource, f"finding#{rule}"),
            "rule": {"S": rule},
            "status": {"S": "open"},
            "open_rule": {"S": rule},
            "warned_at": {"S": _iso(now)},
            "due_at": {"S": _iso(now + grace)},
            "expires_at": {"N": str(int((now + OPEN_RETENTION).timestamp()))},
        }
        for name, value in (("event_id", event_id), ("severity", severity), ("reason", reason)):
            if value:
                item[name] = {"S": value[:1000]}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#r) OR #s <> :open",
                ExpressionAttributeNames={"#r": "resource", "#s": "status"},
                ExpressionAttributeValues={":open": {"S": "open"}},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            existing = self.get(resource, rule)
            if existing is not None:
                return existing
        return OpenFinding.from_item(item)

    def get(self, resource: str, rule: str) -> OpenFinding | None:
        """The open finding of this rule on this resource, if any."""
        item = self._db.get_item(
            TableName=self._table, Key=self._key(resource, f"finding#{rule}"), ConsistentRead=True
        ).get("Item")
        if not item or item.get("status", {}).get("S") != "open":
            return None
        return OpenFinding.from_item(item)

    def due(self, rule: str, now: datetime | None = None) -> Iterator[OpenFinding]:
        """Open findings of a rule whose grace period is over, oldest first (the sweep acts on them)."""
        return self._open(rule, _iso(now or self._clock()))

    def open_findings(self, rule: str) -> Iterator[OpenFinding]:
        """Every open finding of a rule, due or not (for the sweep's summary)."""
        return self._open(rule, "~")

    def _open(self, rule: str, cutoff: str) -> Iterator[OpenFinding]:
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            IndexName=OPEN_INDEX,
            KeyConditionExpression="open_rule = :rule AND due_at <= :cutoff",
            ExpressionAttributeValues={":rule": {"S": rule}, ":cutoff": {"S": cutoff}},
        ):
            for item in page.get("Items", []):
                yield OpenFinding.from_item(item)

    def _finish(self, resource: str, rule: str, status: str, fields: dict[str, str], *, must_exist: bool) -> bool:
        """Leave the open state (drop it from the index); True when the finding was open before."""
        now = self._clock()
        names = {"#s": "status", **{f"#f{i}": name for i, name in enumerate(fields)}}
        expires = str(int((now + CLOSED_RETENTION).timestamp()))
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":exp": {"N": expires},
            **{f":f{i}": {"S": value[:1000]} for i, value in enumerate(fields.values())},
        }
        sets = ", ".join(["#s = :status", "expires_at = :exp", *(f"#f{i} = :f{i}" for i in range(len(fields)))])
        condition: dict[str, Any] = {"ConditionExpression": "attribute_exists(#rule)"} if must_exist else {}
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=self._key(resource, f"finding#{rule}"),
                UpdateExpression=f"SET {sets}, #rule = :rule REMOVE open_rule",
                ExpressionAttributeNames={**names, "#rule": "rule"},
                ExpressionAttributeValues={**values, ":rule": {"S": rule}},
                ReturnValues="UPDATED_OLD",
                **condition,
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return response.get("Attributes", {}).get("status", {}).get("S") == "open"

    def mark_acted(self, resource: str, rule: str, action: str) -> bool:
        """We changed the resource: keep what we did (so a resolving event knows what to undo)."""
        return self._finish(
            resource, rule, "acted", {"action_taken": action, "acted_at": _iso(self._clock())}, must_exist=False
        )

    def close(self, resource: str, rule: str, why: str) -> bool:
        """The risk is gone (e.g. EnableMFADevice): no follow-up. True when it was open."""
        return self._finish(
            resource, rule, "closed", {"closed_by": why, "closed_at": _iso(self._clock())}, must_exist=True
        )

    def record_action(self, resource: str, rule: str, action: str) -> None:
        """Count one change a rule made to a resource, for that rule's action budget on it."""
        now = self._clock()
        self._db.put_item(
            TableName=self._table,
            Item={
                **self._key(resource, f"action#{rule}#{_iso(now)}"),
                "rule": {"S": rule},
                "action": {"S": action[:1000]},
                "expires_at": {"N": str(int((now + ACTION_RETENTION).timestamp()))},
            },
        )

    def actions_in_last_hour(self, resource: str, rule: str) -> int:
        """How many changes this rule made to this resource in the past hour (one query, no scan). Another
        rule's changes never count: harmless changes can never use up the budget of a serious one."""
        since = _iso(self._clock() - timedelta(hours=1))
        response = self._db.query(
            TableName=self._table,
            Select="COUNT",
            KeyConditionExpression="#r = :r AND #k BETWEEN :since AND :end",
            ExpressionAttributeNames={"#r": "resource", "#k": "record"},
            ExpressionAttributeValues={
                ":r": {"S": resource},
                ":since": {"S": f"action#{rule}#{since}"},
                ":end": {"S": f"action#{rule}#~"},
            },
        )
        return int(response.get("Count", 0))

    def claim_contested(self, resource: str, rule: str) -> bool:
        """True once per quiet period: the caller sends the one "contested resource" message, later events
        (and concurrent invocations, by the conditional write) do not."""
        now = self._clock()
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(resource, f"contested#{rule}"),
                    "rule": {"S": rule},
                    "until": {"S": _iso(now + CONTESTED_QUIET)},
                    "expires_at": {"N": str(int((now + ACTION_RETENTION).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(#r) OR #u < :now",
                ExpressionAttributeNames={"#r": "resource", "#u": "until"},
                ExpressionAttributeValues={":now": {"S": _iso(now)}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_once(self, resource: str, record: str, owner: str, period: timedelta) -> bool:
        """True for the first claimant of `record` in `period`, and again for the same owner (a retried event);
        one conditional write, so concurrent invocations cannot both win."""
        now = self._clock()
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(resource, record),
                    "owner": {"S": owner},
                    "until": {"S": _iso(now + period)},
                    "expires_at": {"N": str(int((now + period + ACTION_RETENTION).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(#r) OR #u < :now OR #o = :owner",
                ExpressionAttributeNames={"#r": "resource", "#u": "until", "#o": "owner"},
                ExpressionAttributeValues={":now": {"S": _iso(now)}, ":owner": {"S": owner}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def over_budget(store: FindingsStore | None, resource: Resource, rule: str) -> bool:
    """Something keeps undoing this rule's fix (a loop with another tool, someone fighting us): the rule stops
    acting on the resource and keeps notifying. Other rules keep their own budgets."""
    return store is not None and store.actions_in_last_hour(resource_key(resource), rule) >= ACTION_BUDGET_PER_HOUR


def findings_store(aws: AwsClients, table_name: str | None) -> FindingsStore | None:
    """The store for a deployment (FINDINGS_TABLE), on the same session and endpoint as the other clients."""
    if not table_name:
        return None
    return FindingsStore(aws.dynamodb, table_name)


def track_outcome(
    store: FindingsStore, finding: Finding, result: ActionResult, *, counted: bool = False, keeps_open: bool = True
) -> None:
    """After acting on a finding: count a change we made (unless the event ledger `counted` it already) and close
    an open finding of the rule (when its rule `keeps_open` findings), or open the grace period it asks for."""
    if finding.exempt:
        return
    key = resource_key(finding.resource)
    if result.outcome == Outcome.VERIFIED:
        if not counted:
            store.record_action(key, finding.rule, finding.action or result.detail)
        if keeps_open:
            store.mark_acted(key, finding.rule, finding.action or result.detail)
    elif (hours := finding.details.get("grace_hours")) is not None and finding.resource.name != "unknown":
        store.open_finding(
            key,
            finding.rule,
            grace=timedelta(hours=hours),
            event_id=finding.details.get("event_id"),
            severity=str(finding.severity),
            reason=finding.reason,
        )


def _keys(partition: str, sort: str) -> list[dict[str, str]]:
    return [{"AttributeName": partition, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"}]


def table_definition(table_name: str) -> dict[str, Any]:
    """`create_table` arguments matching the template (tests, the CLI sweep and the benchmark use it)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in ("resource", "record", "open_rule", "due_at")
        ],
        "KeySchema": _keys("resource", "record"),
        "GlobalSecondaryIndexes": [
            {
                "IndexName": OPEN_INDEX,
                "KeySchema": _keys("open_rule", "due_at"),
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


# The event ledger: what every event with a finding costs in DynamoDB, one conditional UpdateItem per finding.
#
# One item per rule, resource and hour of the event's CloudTrail time: it holds the claims of the events that
# reached that rule on that resource (an attribute per function and eventID) and `actions`, the changes the rule
# made to it in that hour. The update that claims an event also counts the change it is about to make, under a
# condition that this event is not yet claimed and the count is under the budget: duplicates and the action
# budget cost the one write. The CloudTrail time (not the clock) keeps a late duplicate on the same item.

CLAIM_RETENTION = timedelta(days=2)  # longer than EventBridge's 24 h of delivery retries
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Claim:
    """What the ledger answered for one finding of an event."""

    duplicate: bool = False  # this function already claimed this event for this finding: do nothing, say nothing
    over_budget: bool = False  # the rule already changed the resource ACTION_BUDGET_PER_HOUR times that hour
    first_contested: bool = False  # ... and this is the first event to find so: it sends the "contested" message
    counted: bool = False  # the claim counted a change against the budget (released if the event then fails)


class EventLedger:
    """Claims one event's findings in the idempotency table (key `id`) or, without one, the findings table.

    A claim names the Lambda request that made it and when that invocation's time runs out: Lambda retries a
    failed invocation under the same request id, after its timeout, so a retry of a claimant that died (timeout,
    out of memory) takes the claim over; any other delivery of the event is a duplicate. An invocation that
    fails with an exception releases its claims first, so its retry starts clean."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        keyed_by_id: bool,
        function: str,
        request_id: str | None = None,
        deadline: datetime | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = client
        self._table = table
        self._keyed_by_id = keyed_by_id
        self._function = function
        self._request = request_id
        self._clock = clock
        self._deadline = deadline
        self._made: list[tuple[dict[str, Any], str, bool]] = []  # (item key, claim attribute, counted)
        self._ttl = "expiration" if keyed_by_id else "expires_at"  # each table's TTL attribute (template.yaml)

    def _item_key(self, resource: str, rule: str, hour: str) -> dict[str, Any]:
        if self._keyed_by_id:
            return {"id": {"S": f"ledger#{rule}#{resource}#{hour}"}}
        return {"resource": {"S": resource}, "record": {"S": f"ledger#{rule}#{hour}"}}

    def claim(self, resource: str, rule: str, event_id: str | None, when: datetime | None, *, acts: bool) -> Claim:
        """Claim the event for this finding; when it `acts`, count the change against the rule's budget. Without
        an eventID nothing can recognise a duplicate: the change is still counted."""
        now = self._clock()
        hour = (when or now).astimezone(UTC).strftime("%Y-%m-%dT%H")
        key = self._item_key(resource, rule, hour)
        attribute = f"claim#{self._function}#{event_id or uuid.uuid4()}"
        values: dict[str, Any] = {
            ":claim": {
                "M": {
                    "request": {"S": self._request or ""},
                    "until": {"N": str(int((self._deadline or now).timestamp()))},
                }
            },
            ":exp": {"N": str(int((max(when or now, now) + CLAIM_RETENTION).timestamp()))},
            ":rule": {"S": rule},
        }
        names = {"#c": attribute, "#rule": "rule"}
        free = "attribute_not_exists(#c)"
        if self._request:  # a retry of the claimant, after the claimant's time ran out
            free = "(attribute_not_exists(#c) OR (#c.#req = :req AND #c.#until < :now))"
            names.update({"#req": "request", "#until": "until"})
            values.update({":req": {"S": self._request}, ":now": {"N": str(int(now.timestamp()))}})
        update = f"SET #c = :claim, {self._ttl} = :exp, #rule = :rule"
        if acts:
            values.update({":one": {"N": "1"}, ":budget": {"N": str(ACTION_BUDGET_PER_HOUR)}})
            try:
                self._update(
                    key,
                    f"{update} ADD actions :one",
                    f"{free} AND (attribute_not_exists(actions) OR actions < :budget)",
                    names,
                    values,
                )
            except ClientError as error:
                if error_code(error) != _CONDITION_FAILED:
                    raise
                old: dict[str, Any] = dict(error.response.get("Item") or {})  # type: ignore[call-overload]
                if attribute in old and not self._taken_over(old[attribute], now):
                    return Claim(duplicate=True)
                # Over budget: claim the event without counting, and learn whether the contested message is ours.
                values.pop(":one")
                values.pop(":budget")
                values[":now_text"] = {"S": _iso(now)}
                try:
                    response = self._update(
                        key,
                        f"{update}, contested = if_not_exists(contested, :now_text)",
                        free,
                        names,
                        values,
                        returns="ALL_OLD",
                    )
                except ClientError as again:
                    if error_code(again) == _CONDITION_FAILED:
                        return Claim(duplicate=True)
                    raise
                self._made.append((key, attribute, False))
                first = "contested" not in response.get("Attributes", {})
                return Claim(over_budget=True, first_contested=first)
            self._made.append((key, attribute, True))
            return Claim(counted=True)
        try:
            self._update(key, update, free, names, values)
        except ClientError as error:
            if error_code(error) == _CONDITION_FAILED:
                return Claim(duplicate=True)
            raise
        self._made.append((key, attribute, False))
        return Claim()

    def _taken_over(self, claim: dict[str, Any], now: datetime) -> bool:
        fields = claim.get("M", {})
        return (
            bool(self._request)
            and fields.get("request", {}).get("S") == self._request
            and int(fields.get("until", {}).get("N", "0")) < int(now.timestamp())
        )

    def _update(
        self,
        key: dict[str, Any],
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        returns: str = "NONE",
    ) -> dict[str, Any]:
        text = f"{update} {condition}"
        used = {name: value for name, value in values.items() if re.search(f"{name}\\b", text)}
        return dict(
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    name: value for name, value in names.items() if re.search(f"{name}\\b", text)
                },
                ExpressionAttributeValues=used,
                ReturnValues=returns,  # type: ignore[arg-type]
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        )

    def release(self) -> list[str]:
        """Undo this invocation's claims (and what they counted) after a failure, so Lambda's retry acts and
        notifies. Best effort: a claim that stays behind is taken over by that retry (same request id)."""
        problems = []
        for key, attribute, counted in self._made:
            request: dict[str, Any] = {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": "REMOVE #c ADD actions :minus" if counted else "REMOVE #c",
                "ConditionExpression": "attribute_exists(#c)",
                "ExpressionAttributeNames": {"#c": attribute},
            }
            if counted:
                request["ExpressionAttributeValues"] = {":minus": {"N": "-1"}}
            try:
                self._db.update_item(**request)
            except (ClientError, BotoCoreError) as error:
                problems.append(f"{attribute}: {error}")
        self._made.clear()
        return problems


def event_ledger(
    aws: AwsClients,
    idempotency_table: str | None,
    findings_table: str | None,
    *,
    function: str,
    request_id: str | None = None,
    deadline: datetime | None = None,
) -> EventLedger | None:
    """The ledger of a deployment: the idempotency table when the stack names one, else the findings table."""
    if idempotency_table:
        return EventLedger(
            aws.dynamodb,
            idempotency_table,
            keyed_by_id=True,
            function=function,
            request_id=request_id,
            deadline=deadline,
        )
    if findings_table:
        return EventLedger(
            aws.dynamodb, findings_table, keyed_by_id=False, function=function, request_id=request_id, deadline=deadline
        )
    return None
