"""iam_user_sprawl: every CreateUser is reported with the role and trust policy to use instead."""

from __future__ import annotations

import json

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import parse_envelope
from remediator.rules.base import EvalContext
from remediator.state import AssumedState
from tests.conftest import load_event

ONLY = ("iam_user_sprawl",)


def _finding(settings: Settings):
    [finding] = decide(
        parse_envelope(load_event("create-user.json")), EvalContext(settings, AssumedState()), ONLY
    ).findings
    return finding


def test_low_by_default_high_in_a_roles_only_account() -> None:
    assert _finding(Settings(live=False)).severity == "low"
    high = _finding(Settings(live=False, roles_only_account=True))
    assert high.severity == "high" and "roles-only" in high.reason


def test_message_gives_role_and_trust_policy() -> None:
    finding = _finding(Settings(live=False, trusted_org_ids=frozenset({"o-abcdefghij"})))
    assert finding.action is None
    assert "aws iam create-role --role-name deploy-bot-role" in finding.reason
    trust = finding.details["suggested_trust_policy"]
    assert json.dumps(trust, separators=(",", ":")) in finding.reason
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-abcdefghij"}
    assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
