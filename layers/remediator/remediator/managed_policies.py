"""AWS managed policies are judged from shipped data, not read: every rule that meets one asks here."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def managed_policy_verdicts() -> dict[str, Any]:
    """The shipped verdicts of every AWS managed policy (scripts/generate_managed_policy_verdicts.py)."""
    verdicts: dict[str, Any] = json.loads(
        resources.files("remediator").joinpath("data/aws_managed_policies.json").read_text()
    )
    return verdicts


def aws_managed_key(arn: str) -> str | None:
    """`arn:aws:iam::aws:policy/service-role/X` -> `service-role/X`; None for a customer-managed policy."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[4] == "aws" and parts[5].startswith("policy/"):
        return parts[5][len("policy/") :]
    return None
