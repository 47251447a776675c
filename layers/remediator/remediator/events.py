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


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _read(data: dict[str, Any], where: str, texts: tuple[str, ...], objects: tuple[str, ...]) -> dict[str, Any]:
    """The declared fields of `data`, each None when missing: text fields text, object fields objects, else
    MalformedRecord naming the first field of the wrong type."""
    values: dict[str, Any] = {}
    for name in texts:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise MalformedRecord(f"{where}{name}: must be text, not {_kind(value)}")
        values[name] = value
    for name in objects:
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            raise MalformedRecord(f"{where}{name}: must be an object, not {_kind(value)}")
        values[name] = value
    return values


class UserIdentity:
    """Who made the call. Any field may be missing (service events, anonymised samples); unknown keys are kept
    in `extra`."""

    TEXT = ("type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy")
    OBJECTS = ("sessionContext",)

    type: str | None
    principalId: str | None
    arn: str | None
    accountId: str | None
    accessKeyId: str | None
    userName: str | None
    invokedBy: str | None
    sessionContext: dict[str, Any] | None

    def __init__(self, **fields: Any) -> None:
        data = {_IDENTITY_KEYS.get(key.lower(), key): _text(value) for key, value in fields.items()}
        self.__dict__.update(_read(data, "userIdentity.", self.TEXT, self.OBJECTS))
        self.extra = {key: value for key, value in data.items() if key not in self.TEXT + self.OBJECTS}
        self._data = data

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

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


class CloudTrailRecord:
    """One CloudTrail record (the `detail` of an "AWS API Call via CloudTrail" event), read from the dict as it
    came: a thin typed view, no model library on the import path (a cold start imports none)."""

    REQUIRED = ("eventName", "eventSource")
    TEXT = (
        "eventID",
        "eventTime",
        "eventType",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "recipientAccountId",
    )
    OBJECTS = ("requestParameters", "responseElements", "additionalEventData")
    NUMERIC_TEXT = ("eventID", "eventTime", "recipientAccountId", "errorCode")

    eventName: str
    eventSource: str
    eventID: str | None
    eventTime: str | None
    eventType: str | None
    awsRegion: str | None
    sourceIPAddress: str | None
    userAgent: str | None
    errorCode: str | None
    errorMessage: str | None
    recipientAccountId: str | None
    requestParameters: dict[str, Any] | None
    responseElements: dict[str, Any] | None
    additionalEventData: dict[str, Any] | None
    userIdentity: UserIdentity | None

    def __init__(self, **fields: Any) -> None:
        for name in self.REQUIRED:
            if fields.get(name) is None:
                raise MalformedRecord(f"{name}: missing")
        data = {key: _text(value) if key in self.NUMERIC_TEXT else value for key, value in fields.items()}
        self.__dict__.update(_read(data, "", self.REQUIRED + self.TEXT, self.OBJECTS))
        identity = data.get("userIdentity")
        if identity is not None and not isinstance(identity, dict):
            raise MalformedRecord(f"userIdentity: must be an object, not {_kind(identity)}")
        self.userIdentity = UserIdentity(**identity) if identity is not None else None
        self._data = data

    @classmethod
    def model_validate(cls, raw: Any) -> CloudTrailRecord:
        """Read one bare record (the name the rest of the code and the tests have always used)."""
        return parse_record(raw)

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The record as read: every field, unknown ones included (the ASFF finding id hashes it)."""
        return dict(self._data)

    def __repr__(self) -> str:
        return f"CloudTrailRecord({self.eventSource!r}, {self.eventName!r}, eventID={self.eventID!r})"

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


def parse_record(raw: Any) -> CloudTrailRecord:
    """Read one bare record; raise MalformedRecord naming the first bad field."""
    if not isinstance(raw, dict):
        raise MalformedRecord(f"record is a {type(raw).__name__}, not an object")
    if not all(isinstance(key, str) for key in raw):
        raise MalformedRecord("record has a key that is not text")
    return CloudTrailRecord(**raw)


def parse_envelope(event: Any) -> CloudTrailRecord:
    """Read an EventBridge envelope ("AWS API Call via CloudTrail"): only its `detail` must be a readable record.

    Envelope fields EventBridge always sets (`time`, `account`, ...) may be missing or odd in replayed or
    hand-written events: the record alone decides (a record needs only eventName and eventSource).
    """
    if not isinstance(event, dict):
        raise MalformedRecord(f"event is a {type(event).__name__}, not an object")
    if "detail" not in event:
        raise MalformedRecord("envelope has no detail")
    return parse_record(event["detail"])


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
