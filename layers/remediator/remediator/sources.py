"""Where `evaluate` and `replay` read CloudTrail from: files, folders, S3, `lookup-events` output, Athena.

One file (or one page of query results) is in memory at a time, so a year of history costs no more
memory than its largest log file. An operator tool: boto3 clients are made only for an s3:// or Athena
source, and nothing on a Lambda import path imports this module.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from remediator.events import load_json, records_in
from remediator.rules import rules_for

LOG_SUFFIXES = (".json.gz", ".json")
DIGEST_MARK = "CloudTrail-Digest"  # digest files prove integrity; they hold no records


@dataclass(frozen=True)
class Batch:
    """The raw records of one file, object or result page; `numbered` lines are `source#n`."""

    source: str
    records: list[Any]
    numbered: bool = True
    first_number: int = 1


@dataclass(frozen=True)
class Unreadable:
    """A file, object or query we could not read: one line naming it, the run goes on."""

    source: str
    error: str


Item = Batch | Unreadable


# ---------------------------------------------------------------------------------------------- window


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or a span back from now: `7d`, `12h`, `30m`."""
    text = text.strip()
    span = re.fullmatch(r"(\d+)([dhm])", text)
    if span:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[span.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: int(span.group(1))})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO date or time (2026-11-01, 2026-11-01T09:00Z) or a span (7d, 12h)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _event_time(raw: dict[str, Any]) -> datetime | None:
    text = raw.get("eventTime")
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """Which records a run looks at: eventTime in [since, until), and one account."""

    since: datetime | None = None
    until: datetime | None = None
    account: str | None = None

    @property
    def everything(self) -> bool:
        return self.since is None and self.until is None and self.account is None

    def keeps(self, raw: Any) -> bool:
        """A record outside the window (or whose time cannot be read while a window is set) is left out."""
        if self.everything or not isinstance(raw, dict):
            return True
        if self.account is not None:
            identity = raw.get("userIdentity")
            account = raw.get("recipientAccountId") or (
                identity.get("accountId") if isinstance(identity, dict) else None
            )
            if str(account) != self.account:
                return False
        if self.since is None and self.until is None:
            return True
        when = _event_time(raw)
        if when is None:
            return False
        return (self.since is None or when >= self.since) and (self.until is None or when < self.until)

    def may_hold(self, key: str) -> bool:
        """Trail log keys carry their day (`.../2026/11/24/...`) and account: skip objects that cannot match."""
        found = re.search(r"AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/", key) if self.account is not None else None
        if found and found.group(1) != self.account:
            return False
        day = re.search(r"/(\d{4})/(\d{2})/(\d{2})/", key)
        if not day or (self.since is None and self.until is None):
            return True
        try:
            start = datetime(int(day.group(1)), int(day.group(2)), int(day.group(3)), tzinfo=UTC)
        except ValueError:
            return True
        # A file is delivered up to ~15 minutes after its records: allow a day of slack on both sides.
        if self.since is not None and start + timedelta(days=2) <= self.since:
            return False
        return not (self.until is not None and start - timedelta(days=1) >= self.until)


# ---------------------------------------------------------------------------------------------- files


def lookup_events_records(document: Any) -> list[Any] | None:
    """`aws cloudtrail lookup-events` output: each `Events[].CloudTrailEvent` is a record as a JSON string."""
    if not (isinstance(document, dict) and isinstance(document.get("Events"), list)):
        return None
    records = []
    for event in document["Events"]:
        text = event.get("CloudTrailEvent") if isinstance(event, dict) else None
        try:
            records.append(json.loads(text) if isinstance(text, str) else event)
        except (json.JSONDecodeError, RecursionError):
            records.append(text)  # decided as malformed, in its place
    return records


def parse_document(data: bytes) -> tuple[bool, list[Any]]:
    """(numbered, raw records) of a file's bytes, gzipped or not. Raises ValueError saying what is wrong."""
    document = load_json(data)
    looked_up = lookup_events_records(document)
    if looked_up is not None:
        return True, looked_up
    items = records_in(document)
    if not items:
        raise ValueError("holds no CloudTrail record")
    numbered = isinstance(document, list) or (isinstance(document, dict) and isinstance(document.get("Records"), list))
    return numbered, items


def read_file(path: str) -> Item:
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
        numbered, records = parse_document(data)
    except IsADirectoryError:
        return Unreadable(path, "is a directory, not a log file")
    except (OSError, ValueError) as error:
        return Unreadable(path, str(error.strerror if isinstance(error, OSError) and error.strerror else error))
    return Batch(path, records, numbered)


def _is_log_name(name: str) -> bool:
    return name.endswith(LOG_SUFFIXES) and DIGEST_MARK not in name


def walk_folder(root: str) -> Iterator[Item]:
    """Every `*.json` / `*.json.gz` below `root`, in name order; unreadable folders are named, not fatal."""
    found = False
    problems: list[Unreadable] = []

    def on_error(error: OSError) -> None:
        problems.append(Unreadable(error.filename or root, error.strerror or str(error)))

    for folder, dirs, files in os.walk(root, onerror=on_error):
        dirs.sort()
        yield from problems
        problems.clear()
        for name in dirs:
            if _is_log_name(name):
                found = True
                yield Unreadable(os.path.join(folder, name), "is a directory, not a log file")
        for name in sorted(files):
            if _is_log_name(name):
                found = True
                yield read_file(os.path.join(folder, name))
    yield from problems
    if not found:
        yield Unreadable(root, "holds no .json or .json.gz file")


# ---------------------------------------------------------------------------------------------- S3


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"{uri}: no bucket in the S3 URI")
    return bucket, prefix


def s3_objects(uri: str, s3: Any, window: Window = Window()) -> Iterator[Item]:
    """Each trail log object under the prefix (the day folders outside the window are skipped by key)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3_uri(uri)
    found = False
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                key = entry["Key"]
                if not _is_log_name(key) or not window.may_hold(key):
                    continue
                found = True
                source = f"s3://{bucket}/{key}"
                try:
                    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                    numbered, records = parse_document(data)
                except (ClientError, BotoCoreError, ValueError) as error:
                    yield Unreadable(source, str(error))
                    continue
                yield Batch(source, records, numbered)
    except (ClientError, BotoCoreError) as error:
        yield Unreadable(uri, str(error))
        return
    if not found:
        yield Unreadable(uri, "holds no .json or .json.gz object" + ("" if window.everything else " in the window"))


# ---------------------------------------------------------------------------------------------- Athena

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Columns of the CloudTrail table AWS documents (CREATE EXTERNAL TABLE ... cloudtrail_logs) -> record fields.
_COLUMNS = {
    "eventid": "eventID",
    "eventtime": "eventTime",
    "eventsource": "eventSource",
    "eventname": "eventName",
    "awsregion": "awsRegion",
    "sourceipaddress": "sourceIPAddress",
    "useragent": "userAgent",
    "errorcode": "errorCode",
    "errormessage": "errorMessage",
    "eventtype": "eventType",
    "recipientaccountid": "recipientAccountId",
    "useridentity": "userIdentity",
    "requestparameters": "requestParameters",
    "responseelements": "responseElements",
    "additionaleventdata": "additionalEventData",
}
_JSON_COLUMNS = {"useridentity", "requestparameters", "responseelements", "additionaleventdata"}
# Athena casts the userIdentity struct to JSON with lower-case keys; nested ones are put back in CloudTrail's case.
_IDENTITY_CASE = {
    key.lower(): key
    for key in (
        "sessionContext",
        "sessionIssuer",
        "mfaAuthenticated",
        "creationDate",
        "principalId",
        "accountId",
        "userName",
        "invokedBy",
        "accessKeyId",
        "webIdFederationData",
        "federatedProvider",
        "sourceIdentity",
        "identityProvider",
        "onBehalfOf",
        "userId",
        "identityStoreArn",
        "credentialId",
        "ec2RoleDelivery",
    )
}


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def trigger_filter() -> str:
    """The SQL form of every rule's triggers: only rows some rule reacts to leave Athena."""
    clauses = []
    for rule in rules_for():
        for trigger in rule.META.triggers:
            parts = []
            if trigger.event_sources:
                parts.append(f"eventsource IN ({_sql_list(trigger.event_sources)})")
            if trigger.event_names:
                parts.append(f"eventname IN ({_sql_list(trigger.event_names)})")
            if trigger.identity_types:
                parts.append(f"useridentity.type IN ({_sql_list(trigger.identity_types)})")
            clause = " AND ".join(parts) or "TRUE"
            if clause not in clauses:
                clauses.append(clause)
    return " OR ".join(f"({clause})" for clause in clauses)


def athena_query(table: str, window: Window = Window()) -> str:
    """SELECT the record fields of the rows our rules react to, inside the window (no ORDER BY: a sort of a
    year of history costs more than it is worth)."""
    parts = table.split(".")
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise ValueError(f"{table!r} is not a table name (database.table, letters, digits and _)")
    columns = ", ".join(
        "json_format(CAST(useridentity AS JSON)) AS useridentity" if column == "useridentity" else column
        for column in _COLUMNS
    )
    where = [f"({trigger_filter()})"]
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    if window.since is not None:
        where.append(f"eventtime >= '{window.since.astimezone(UTC).strftime(stamp)}'")
    if window.until is not None:
        where.append(f"eventtime < '{window.until.astimezone(UTC).strftime(stamp)}'")
    if window.account is not None:
        if not re.fullmatch(r"\d{12}", window.account):
            raise ValueError(f"{window.account!r} is not a 12-digit account id")
        where.append(f"recipientaccountid = '{window.account}'")
    name = ".".join(f'"{part}"' for part in parts)
    return f"SELECT {columns} FROM {name} WHERE {' AND '.join(where)}"


def _recase(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _IDENTITY_CASE.get(key.lower(), key) if isinstance(key, str) else key: _recase(item)
            for key, item in value.items()
        }
    return value


def row_record(columns: list[str], values: list[str | None]) -> dict[str, Any]:
    """One result row as a CloudTrail record; a JSON column that does not parse stays a string (malformed)."""
    record: dict[str, Any] = {}
    for column, value in zip(columns, values, strict=False):
        field = _COLUMNS.get(column.lower())
        if field is None or value is None:
            continue
        if column.lower() in _JSON_COLUMNS:
            try:
                parsed = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                parsed = value
            record[field] = _recase(parsed) if column.lower() == "useridentity" else parsed
        else:
            record[field] = value
    return record


def athena_rows(
    athena: Any,
    table: str,
    workgroup: str,
    output: str | None,
    window: Window = Window(),
    *,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Item]:
    """Run the query, wait for it, and page through GetQueryResults (NextToken) one page at a time."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        query = athena_query(table, window)
    except ValueError as error:
        yield Unreadable(f"athena:{table}", str(error))
        return
    request: dict[str, Any] = {"QueryString": query, "WorkGroup": workgroup}
    if output:
        request["ResultConfiguration"] = {"OutputLocation": output}
    try:
        query_id = athena.start_query_execution(**request)["QueryExecutionId"]
        source = f"athena:{query_id}"
        while True:
            status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            if status["State"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
                break
            sleep(poll_seconds)
        if status["State"] != "SUCCEEDED":
            yield Unreadable(source, f"query {status['State']}: {status.get('StateChangeReason', 'no reason given')}")
            return
        token: str | None = None
        number, columns = 1, None
        while True:
            page = athena.get_query_results(
                QueryExecutionId=query_id, MaxResults=1000, **({"NextToken": token} if token else {})
            )
            result = page["ResultSet"]
            if columns is None:
                columns = [info["Name"] for info in result["ResultSetMetadata"]["ColumnInfo"]]
            rows = [[cell.get("VarCharValue") for cell in row["Data"]] for row in result["Rows"]]
            if number == 1 and rows and [str(v).lower() for v in rows[0]] == [c.lower() for c in columns]:
                rows = rows[1:]  # the first page starts with the column names
            records = [row_record(columns, values) for values in rows]
            if records:
                yield Batch(source, records, True, number)
            number += len(records)
            token = page.get("NextToken")
            if not token:
                break
    except (ClientError, BotoCoreError) as error:
        yield Unreadable(f"athena:{table}", str(error))


# ---------------------------------------------------------------------------------------------- all


@dataclass
class SourceOptions:
    """What the command line names: paths and s3:// URIs, and an Athena table."""

    paths: list[str]
    athena_table: str | None = None
    athena_workgroup: str = "primary"
    athena_output: str | None = None


def read_sources(
    options: SourceOptions, window: Window = Window(), client: Callable[[str], Any] | None = None
) -> Iterator[Item]:
    """Every source in the order given; clients (S3, Athena) are made on first need."""
    made: dict[str, Any] = {}

    def service(name: str) -> Any:
        if name not in made:
            if client is not None:
                made[name] = client(name)
            else:
                import boto3

                made[name] = boto3.client(name)  # type: ignore[call-overload]
        return made[name]

    for path in options.paths:
        if path.startswith("s3://"):
            yield from s3_objects(path, service("s3"), window)
        elif path != "-" and os.path.isdir(path):
            yield from walk_folder(path)
        else:
            yield read_file(path)
    if options.athena_table:
        yield from athena_rows(
            service("athena"), options.athena_table, options.athena_workgroup, options.athena_output, window
        )
