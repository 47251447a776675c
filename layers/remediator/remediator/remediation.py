"""What remediations share: a policy document as the one line a restore command carries."""

from __future__ import annotations

import json
import shlex
from typing import Any


def compact(document: dict[str, Any]) -> str:
    """The document as compact JSON, as IAM takes it and as a message quotes the original."""
    return json.dumps(document, separators=(",", ":"))


def shell_document(document: dict[str, Any]) -> str:
    """The document quoted for a shell command line a human can paste (`--policy-document ...`)."""
    return shlex.quote(compact(document))
