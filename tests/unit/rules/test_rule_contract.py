"""Every rule module keeps the contract of rules/base.py: META, evaluate, remediate and both hooks.

mypy checks the signatures statically (the CHECKED tuple in rules/__init__.py); these tests check that the
tuple names every rule and that the hooks a rule declares agree with its metadata.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import remediator.rules
from remediator.rule_ids import RULE_IDS
from remediator.rules import RULES
from remediator.rules.base import RuleModule, keep_mode, resolves_nothing

CONTRACT = ("evaluate", "remediate", "mode_for", "resolve")


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_the_module_defines_the_contract(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert rule.META.id == rule_id
    for name in CONTRACT:
        expected = list(inspect.signature(getattr(RuleModule, name)).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(rule, name)).parameters) == expected, name


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_rule_resolves_exactly_when_its_metadata_names_resolving_events(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert bool(rule.META.resolved_by) == (rule.resolve is not resolves_nothing)


def test_only_the_grant_rules_hold_findings_back_from_their_mode() -> None:
    """Escalation-only grants (IAM policies, Identity Center permission sets) have their own escalation mode."""
    assert [rule_id for rule_id in RULE_IDS if RULES[rule_id].mode_for is not keep_mode] == [
        "admin_grants",
        "identity_center",
    ]


def test_mypy_checks_every_rule_module() -> None:
    source = Path(remediator.rules.__file__).read_text()
    [checked] = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "CHECKED"
    ]
    assert isinstance(checked.value, ast.Tuple)
    assert sorted(element.id for element in checked.value.elts if isinstance(element, ast.Name)) == sorted(RULE_IDS)
