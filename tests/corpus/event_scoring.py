"""Score our decisions against the third-party event corpus (labels.json), in process."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from remediator.cli import evaluate_raw
from remediator.config import Settings
from remediator.events import read_event_file
from remediator.findings import Decision
from remediator.rules import RULES
from remediator.rules.base import EvalContext
from remediator.state import AssumedState

KNOWN_DISAGREEMENTS = Path(__file__).with_name("known_event_disagreements.json")


@dataclass
class RuleScore:
    """Confusion counts for one rule; `misses` and `false_alarms` name the cases."""

    rule: str
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)


def decide_case(path: Path) -> Decision:
    """One corpus file holds one record; decide it as `remediator evaluate` does (dry run, defaults)."""
    _, [raw] = read_event_file(str(path))
    return evaluate_raw(raw, EvalContext(Settings(live=False), AssumedState()))


def score(corpus: Path, rules: Iterable[str] = tuple(RULES)) -> tuple[dict[str, RuleScore], list[str], dict]:
    """Per implemented rule: positives must report it; `rules: []` cases must report nothing at all."""
    labels = json.loads((corpus / "events" / "labels.json").read_text())
    scores = {rule: RuleScore(rule) for rule in rules}
    decisions = {}
    for case, label in sorted(labels.items()):
        decision = decisions[case] = decide_case(corpus / "events" / case)
        found = {finding.rule for finding in decision.findings}
        for rule, result in scores.items():
            if rule in label["rules"]:
                if rule in found:
                    result.tp += 1
                else:
                    result.fn += 1
                    result.misses.append(case)
            elif not label["rules"]:
                if rule in found:
                    result.fp += 1
                    result.false_alarms.append(case)
                else:
                    result.tn += 1
    errors = []
    for case in json.loads((corpus / "events" / "ambiguous.json").read_text()):
        try:
            decisions[case] = decide_case(corpus / "events" / case)
        except Exception as error:
            errors.append(f"{case}: {error!r}")
    return scores, errors, decisions


def known_disagreements() -> dict[str, dict[str, str]]:
    """`{case: {"rule": ..., "label": ..., "reason": ...}}`: decisions we stand by against a label."""
    return json.loads(KNOWN_DISAGREEMENTS.read_text())
