"""Parse IAM policy documents leniently and normalise each statement once, so analysis never re-checks shapes.

Documents arrive as CloudTrail strings (pretty-printed, URL-encoded) or as dicts; IAM itself accepts a
single statement object, string-or-list values and case-insensitive condition keys. Anything we cannot read
as a policy raises PolicyParseError; anything IAM would reject but we can still read is analysed and
reported in `problems`.
"""

from __future__ import annotations

import json
from typing import Any


class PolicyParseError(ValueError):
    """The input is not a policy document we can analyse (not JSON, not an object, no Statement ...)."""


def as_list(value: object) -> list[Any]:
    """IAM lets most elements be one value or a list of values; treat both as a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def clone_json(value: object) -> object:
    """Copy a JSON value so callers' documents are never mutated (cheaper than importing copy)."""
    if isinstance(value, dict):
        return {key: clone_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone_json(item) for item in value]
    return value


def _decode_text(raw: str) -> object:
    """JSON text as CloudTrail records it: plain, URL-encoded (responseElements) or JSON-in-a-JSON-string."""
    text = raw.strip()
    if not text:
        raise PolicyParseError("policy document is empty")
    candidates = [text]
    if "%" in text:
        from urllib.parse import unquote  # only CloudTrail responseElements need it: keep cold start lean

        candidates.insert(0 if text.startswith("%7B") or text.startswith("%7b") else 1, unquote(text))
    if "\\n" in text or "\\t" in text or "\\r" in text:
        candidates.append(text.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r"))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, str) and value.strip()[:1] in ("{", "%"):
            return _decode_text(value)
        return value
    raise PolicyParseError("policy document is not JSON (nor URL-encoded JSON)")


def _find_key(document: dict[Any, Any], wanted: str) -> str | None:
    """IAM spells top-level keys one way; accept other cases rather than refuse a readable document."""
    if wanted in document:
        return wanted
    lowered = wanted.lower()
    for key in document:
        if isinstance(key, str) and key.lower() == lowered:
            return key
    return None


def load_policy_document(raw: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """A new dict whose 'Statement' is always a list of dicts; raises PolicyParseError otherwise."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyParseError("policy document is not UTF-8 text") from error
    if isinstance(raw, str):
        value = _decode_text(raw)
    elif isinstance(raw, dict):
        value = raw
    else:
        raise PolicyParseError(f"policy document must be a JSON string or an object, not {type(raw).__name__}")
    if not isinstance(value, dict):
        raise PolicyParseError(f"policy document must be a JSON object, not {type(value).__name__}")
    key = _find_key(value, "Statement")
    if key is None:
        raise PolicyParseError("policy document has no Statement")
    statements = value[key]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise PolicyParseError(f"Statement must be an object or a list, not {type(statements).__name__}")
    for position, statement in enumerate(statements):
        if not isinstance(statement, dict):
            raise PolicyParseError(f"statement {position} is not an object ({type(statement).__name__})")
    try:
        document = {k: clone_json(v) for k, v in value.items() if k != key}
        document["Statement"] = [clone_json(statement) for statement in statements]
    except RecursionError as error:
        raise PolicyParseError("policy document is nested too deeply") from error
    return document


class Condition:
    """One key test of a Condition block, with the operator split the way IAM reads it.

    operator: as written ("ForAnyValue:StringLikeIfExists"); base: lower-case without qualifier or IfExists
    ("stringlike"); qualifier: "", "foranyvalue", "forallvalues" or "unknown"; key: lower-case, since IAM
    condition keys are case-insensitive. Plain slotted classes: dataclass creation costs cold-start time.
    """

    __slots__ = ("base", "if_exists", "key", "operator", "qualifier", "values")

    def __init__(
        self, operator: str, base: str, qualifier: str, if_exists: bool, key: str, values: tuple[str, ...]
    ) -> None:
        self.operator, self.base, self.qualifier = operator, base, qualifier
        self.if_exists, self.key, self.values = if_exists, key, values

    def __repr__(self) -> str:
        return f"Condition({self.operator!r}, {self.key!r}, {self.values!r})"


class Statement:
    """A statement normalised for analysis: lower-case action patterns, string values, parsed conditions.

    effect is "Allow" or "Deny" (a missing or unknown Effect is analysed as Allow and noted in problems);
    actions is None when the statement uses NotAction, resources None when it uses NotResource.
    """

    __slots__ = (
        "actions", "conditions", "effect", "has_not_principal", "has_principal", "has_resource", "index",
        "not_actions", "not_principal", "not_resources", "principal", "problems", "resources",
    )  # fmt: skip

    def __init__(self, index: int, effect: str, problems: tuple[str, ...]) -> None:
        self.index, self.effect, self.problems = index, effect, problems
        self.actions: tuple[str, ...] | None = None
        self.not_actions: tuple[str, ...] | None = None
        self.resources: tuple[str, ...] | None = ("*",)
        self.not_resources: tuple[str, ...] | None = None
        self.principal: object = None
        self.not_principal: object = None
        self.has_principal = self.has_not_principal = self.has_resource = False
        self.conditions: tuple[Condition, ...] = ()

    def __repr__(self) -> str:
        return f"Statement({self.index}, {self.effect}, actions={self.actions}, not_actions={self.not_actions})"


def _strings(value: object) -> tuple[str, ...]:
    """String elements of a one-or-many value; numbers and booleans as IAM prints them, the rest dropped."""
    out: list[str] = []
    for item in as_list(value):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int | float):
            out.append(str(item))
    return tuple(out)


def _split_operator(operator: str) -> tuple[str, str, bool]:
    """'ForAnyValue:StringLikeIfExists' -> ('stringlike', 'foranyvalue', True)."""
    lowered = operator.strip().lower()
    qualifier = ""
    if ":" in lowered:
        qualifier, _, lowered = lowered.partition(":")
        if qualifier not in ("foranyvalue", "forallvalues"):
            qualifier = "unknown"
    if_exists = lowered.endswith("ifexists")
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    return lowered, qualifier, if_exists


def _conditions(block: object, problems: list[str], label: str) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        problems.append(f"{label} has a Condition that is not an object; IAM rejects it (condition ignored).")
        return ()
    out: list[Condition] = []
    for operator, tests in block.items():
        if not isinstance(tests, dict):
            problems.append(f"{label} has condition operator {operator!r} without key/value pairs (ignored).")
            continue
        base, qualifier, if_exists = _split_operator(str(operator))
        for key, values in tests.items():
            out.append(Condition(str(operator), base, qualifier, if_exists, str(key).lower(), _strings(values)))
    return tuple(out)


def _field(statement: dict[str, Any], name: str) -> tuple[bool, object]:
    key = _find_key(statement, name)
    return (key is not None, statement[key] if key is not None else None)


def _effect(statement: dict[str, Any], problems: list[str], label: str) -> str:
    present, effect = _field(statement, "Effect")
    if effect == "Allow" or effect == "Deny":
        return effect
    if not present:
        problems.append(f"{label} has no Effect; IAM rejects it (analysed as Allow).")
        return "Allow"
    if isinstance(effect, str) and effect.strip().lower() == "deny":
        problems.append(f"{label} spells Effect {effect!r}; IAM accepts only 'Deny' (analysed as Deny).")
        return "Deny"
    problems.append(f"{label} has Effect {effect!r}; IAM accepts only 'Allow' or 'Deny' (analysed as Allow).")
    return "Allow"


def _pair(
    statement: dict[str, Any], name: str, problems: list[str], label: str, default: tuple[str, ...] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """(Name, NotName) as lower/upper-case-preserving tuples; IAM requires exactly one of the two."""
    has, value = _field(statement, name)
    has_not, not_value = _field(statement, "Not" + name)
    if has and has_not:
        problems.append(f"{label} has both {name} and Not{name}; IAM rejects it (Not{name} ignored).")
        has_not = False
    if has:
        return _strings(value), None
    if has_not:
        return None, _strings(not_value)
    if default is None:
        problems.append(f"{label} has neither {name} nor Not{name}; IAM rejects it (grants nothing).")
        return (), None
    problems.append(f"{label} has neither {name} nor Not{name}; IAM rejects it (analysed as {name} '*').")
    return default, None


def normalise_statement(index: int, statement: dict[str, Any], kind: str) -> Statement:
    """Read one statement the way IAM would, noting anything IAM would reject. kind: 'identity' or 'trust'."""
    problems: list[str] = []
    label = f"Statement {index}"
    effect = _effect(statement, problems, label)
    actions, not_actions = _pair(statement, "Action", problems, label, None)
    if actions is not None:
        actions = tuple(action.strip().lower() for action in actions)
    if not_actions is not None:
        not_actions = tuple(action.strip().lower() for action in not_actions)
    for action in (actions or ()) + (not_actions or ()):
        if action != "*" and ":" not in action:
            problems.append(f"{label} has action {action!r} without a service prefix; IAM rejects it.")
    has_principal, principal = _field(statement, "Principal")
    has_not_principal, not_principal = _field(statement, "NotPrincipal")
    has_resource = _find_key(statement, "Resource") is not None or _find_key(statement, "NotResource") is not None
    if kind == "identity":
        resources, not_resources = _pair(statement, "Resource", problems, label, ("*",))
        if has_principal or has_not_principal:
            problems.append(f"{label} names a Principal; IAM rejects that in an identity policy (ignored).")
    else:
        resources, not_resources = ("*",), None
        if has_resource:
            problems.append(f"{label} has a Resource element; IAM rejects it in a trust policy (ignored).")
        if not has_principal and not has_not_principal:
            problems.append(f"{label} has no Principal; IAM rejects it in a trust policy (trusts nobody).")
    _, condition_block = _field(statement, "Condition")
    conditions = _conditions(condition_block, problems, label)
    out = Statement(index, effect, tuple(problems))
    out.actions, out.not_actions, out.resources, out.not_resources = (
        actions,
        not_actions,
        resources,
        not_resources,
    )
    out.principal, out.not_principal, out.conditions = principal, not_principal, conditions
    out.has_principal, out.has_not_principal, out.has_resource = (
        has_principal,
        has_not_principal,
        has_resource,
    )
    return out


def normalised_statements(document: dict[str, Any] | str, kind: str) -> tuple[Statement, ...]:
    """Parse (if needed) and normalise every statement of a document."""
    parsed = load_policy_document(document)
    return tuple(normalise_statement(i, s, kind) for i, s in enumerate(parsed["Statement"]))
