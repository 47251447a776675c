"""`remediator demo --org --json` (make demo's second part): a member's event is fixed in that member, not in the
hub; a member without its member role is reported, not fixed, with one critical "cannot act" message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REMEDIATOR = Path(sys.executable).with_name("remediator")


@pytest.fixture(scope="module")
def report() -> dict:
    command = [str(REMEDIATOR)] if REMEDIATOR.exists() else [sys.executable, "-m", "remediator"]
    result = subprocess.run(
        [*command, "demo", "--org", "--json"], capture_output=True, text=True, timeout=180, check=True
    )
    return json.loads(result.stdout)


def test_a_member_event_is_fixed_in_that_member_and_nowhere_else(report) -> None:
    member_a = report["events"][0]
    assert [f["outcome"] for f in member_a["findings"]] == ["verified"]
    assert member_a["keys"] == {"hub": "Active", "member A": "Inactive", "member B": "Active"}
    assert member_a["published"] == ["[HIGH] access_keys: Remediated and verified (bob) in 111122223333"]
    assert report["assumed"] == ["arn:aws:iam::111122223333:role/compliance-remediator/compliance-remediator-member"]


def test_a_member_without_its_role_is_reported_loudly_and_left_unchanged(report) -> None:
    member_b = report["events"][1]
    assert [f["outcome"] for f in member_b["findings"]] == ["failed"]
    assert member_b["keys"]["member B"] == "Active"
    assert "[CRITICAL] cannot act in account 444455556666" in member_b["published"]
