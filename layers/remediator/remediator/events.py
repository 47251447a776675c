"""CloudTrail records as we read them: lenient, because real trails and third-party samples vary.

Only `eventName` and `eventSource` are required (docs/decisions.md); every other field is optional and a
field of the wrong type is reported as malformed instead of crashing the handler.
"""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

# Some published samples spell userIdentity keys in lower case ("accesskeyid", "sessioncontext").
_IDENTITY_KEYS = {
    k.lower(): k
    for k in (
        "type",
        "principalId",
        "arn",
        "accountId",
        "accessKeyId",
        "userName",
        "invokedBy",
        "sessionContext",
        "identityProvider",
    )
}


class MalformedRecord(ValueError):
    """The input is not a CloudTrail record we can read; the message says what is wrong."""


def _text(value: Any) -> Any:
    """Account ids and similar may arrive as numbers from YAML-loaded samples: keep them as text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class UserIdentity(BaseModel):
    """Who made the call. Any field may be missing (service events, anonymised samples)."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _canonical_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {_IDENTITY_KEYS.get(k.lower(), k): _text(v) for k, v in data.items()}

    @property
    def issuer_arn(self) -> str | None:
        """The role behind an assumed-role session (`sessionContext.sessionIssuer.arn`)."""
        issuer = (self.sessionContext or {}).get("sessionIssuer")
        return issuer.get("arn") if isinstance(issuer, dict) else None

    @property
    def display_name(self) -> str:
        """A short human name for messages: user name, role session, or the ARN."""
        if self.type == "Root":
            return "root"
        if self.userName:
            return self.userName
        if self.arn:
            return self.arn.rsplit(":", 1)[-1]
        return self.principalId or self.type or "unknown caller"


class CloudTrailRecord(BaseModel):
    """One CloudTrail record (the `detail` of an "AWS API Call via CloudTrail" event)."""

    model_config = ConfigDict(extra="allow")

    eventName: str
    eventSource: str
    eventID: str | None = None
    eventTime: str | None = None
    eventType: str | None = None
    awsRegion: str | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    userIdentity: UserIdentity | None = None
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    additionalEventData: dict[str, Any] | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    recipientAccountId: str | None = None

    @field_validator("eventID", "eventTime", "recipientAccountId", "errorCode", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return _text(value)

    @property
    def params(self) -> dict[str, Any]:
        return self.requestParameters or {}

    @property
    def response(self) -> dict[str, Any]:
        return self.responseElements or {}

    @property
    def identity(self) -> UserIdentity:
        return self.userIdentity or UserIdentity()

    @property
    def account(self) -> str | None:
        """The account the change happened in."""
        return self.recipientAccountId or self.identity.accountId

    @property
    def event_time(self) -> datetime | None:
        """`eventTime` parsed, or None: samples carry "redacted", "..." or other formats."""
        if not self.eventTime:
            return None
        text = self.eventTime.strip().replace(" ", "T")
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    @property
    def failed(self) -> bool:
        """An error, or a sign-in whose `responseElements.<eventName>` is "Failure" (no errorCode there)."""
        if self.errorCode:
            return True
        return self.response.get(self.eventName) == "Failure"


class CloudTrailEvent(EventBridgeModel):
    """The EventBridge envelope ("AWS API Call via CloudTrail") around a CloudTrail record."""

    detail: CloudTrailRecord


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return f"{where}: {first['msg']}"


def parse_record(raw: Any) -> CloudTrailRecord:
    """Validate one bare record; raise MalformedRecord naming the first bad field."""
    if not isinstance(raw, dict):
        raise MalformedRecord(f"record is a {type(raw).__name__}, not an object")
    try:
        return CloudTrailRecord.model_validate(raw)
    except ValidationError as error:
        raise MalformedRecord(_describe(error)) from None


def parse_envelope(event: Any) -> CloudTrailRecord:
    """Validate an EventBridge envelope with the powertools parser; only its `detail` must be a readable record.

    Envelope fields EventBridge always sets (`time`, `account`, ...) may be missing or odd in replayed or
    hand-written events: then the record alone decides (a record needs only eventName and eventSource).
    """
    if not isinstance(event, dict):
        raise MalformedRecord(f"event is a {type(event).__name__}, not an object")
    if "detail" not in event:
        raise MalformedRecord("envelope has no detail")
    try:
        return parse(event=event, model=CloudTrailEvent).detail
    except ValidationError:
        return parse_record(event["detail"])  # names the record's bad field, or accepts it despite the envelope


def is_record(value: Any) -> bool:
    return isinstance(value, dict) and "eventName" in value and "eventSource" in value


def records_in(document: Any) -> list[Any]:
    """The raw records a file holds: a bare record, an EventBridge envelope (its detail), a trail log file,
    or a list of records and envelopes."""
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        items = list(document["Records"])
    elif (isinstance(document, dict) and isinstance(document.get("detail"), dict)) or is_record(document):
        items = [document]
    elif isinstance(document, list):
        items = [item for item in document if is_record(item) or (isinstance(item, dict) and "detail" in item)]
    else:
        items = []
    return [item["detail"] if isinstance(item, dict) and "detail" in item else item for item in items]


def load_json(data: bytes) -> Any:
    """A file's JSON, gunzipped first when it is gzipped; ValueError saying what is wrong (corrupt or truncated
    gzip, not JSON, nested too deeply), never a traceback."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as error:
            raise ValueError(f"corrupt or truncated gzip ({error})") from None
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not JSON ({error})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply to be a CloudTrail record") from None


def read_event_file(path: str) -> tuple[bool, list[Any]]:
    """Load a JSON (optionally gzipped) file: (is_trail_log, raw records). Raises ValueError if unreadable."""
    with open(path, "rb") as handle:
        document = load_json(handle.read())
    is_log = isinstance(document, dict) and isinstance(document.get("Records"), list)
    items = records_in(document)
    if not items:
        raise ValueError("holds no CloudTrail record")
    return is_log, items
