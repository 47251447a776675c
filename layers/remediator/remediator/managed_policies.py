"""AWS managed policies are judged from shipped data, not read: every rule that meets one asks here."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def managed_policy_verdicts() -> dict[str, Any]:
    """The shipped verdicts of every AWS managed policy (scripts/generate_managed_policy_verdicts.py); the
    Lambda layer ships them gzipped (a fifth of the size), a checkout as the JSON the script writes."""
    data = resources.files("remediator").joinpath("data")
    packed = data.joinpath("aws_managed_policies.json.gz")
    text = (
        gzip.decompress(packed.read_bytes())
        if packed.is_file()
        else data.joinpath("aws_managed_policies.json").read_bytes()
    )
    verdicts: dict[str, Any] = json.loads(text)
    return verdicts


def aws_managed_key(arn: str) -> str | None:
    """`arn:aws:iam::aws:policy/service-role/X` -> `service-role/X`; None for a customer-managed policy."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[4] == "aws" and parts[5].startswith("policy/"):
        return parts[5][len("policy/") :]
    return None
