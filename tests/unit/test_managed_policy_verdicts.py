"""The shipped AWS managed policy verdicts are what the policy analysis says of the source documents today."""

from __future__ import annotations

import importlib.util

import pytest

from remediator.managed_policies import managed_policy_verdicts
from tests.conftest import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_managed_policy_verdicts", ROOT / "scripts" / "generate_managed_policy_verdicts.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_data_file_is_fresh() -> None:
    generator = _generator()
    try:
        source = generator.source_documents()
    except ImportError:
        pytest.skip("moto (the source of AWS managed policy documents) is not installed")
    expected = generator.render(generator.verdicts(*source))
    assert generator.DATA.read_text() == expected, "stale: run scripts/generate_managed_policy_verdicts.py"


def test_the_data_holds_only_risky_policies_and_the_well_known_verdicts() -> None:
    data = managed_policy_verdicts()
    assert {"AdministratorAccess", "IAMFullAccess"} <= set(data["admin_equivalent"])
    assert "PowerUserAccess" in data["escalation"]
    risky = set(data["admin_equivalent"]) | set(data["escalation"])
    assert not risky & {"ReadOnlyAccess", "SecurityAudit", "AWSCompromisedKeyQuarantineV2", "AWSDenyAll"}
    assert len(risky) < data["analysed"] / 4
    assert all(paths for paths in data["escalation"].values())
