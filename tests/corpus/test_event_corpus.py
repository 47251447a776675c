"""Our decisions on CloudTrail events written by others (../shared/corpus/events, labels.json)."""

from __future__ import annotations

import json

import pytest

from tests.corpus.event_scoring import known_disagreements, score

pytestmark = pytest.mark.corpus

# Rules the corpus has no positive case for yet, each with why; a rule that gains one must leave this list.
WITHOUT_CORPUS_POSITIVES = {
    "identity_center": "the corpus holds no Identity Center permission-set or assignment record; events/ and "
    "tests/unit/rules/test_identity_center.py cover the rule",
}


@pytest.fixture(scope="module")
def scored(corpus):
    return score(corpus)


def test_every_labelled_positive_is_found_and_no_negative_reports_anything(scored, corpus) -> None:
    scores, _, _ = scored
    known = known_disagreements()
    unexplained = [
        f"{rule}: missed {case}"
        for rule, result in scores.items()
        for case in result.misses
        if known.get(case, {}).get("rule") != rule
    ]
    unexplained += [
        f"{rule}: false alarm on {case}"
        for rule, result in scores.items()
        for case in result.false_alarms
        if known.get(case, {}).get("rule") != rule
    ]
    assert unexplained == []
    labels = json.loads((corpus / "events" / "labels.json").read_text())
    labelled = {rule for label in labels.values() for rule in label["rules"]}
    assert all(result.tp > 0 for rule, result in scores.items() if rule in labelled), (
        "every implemented rule the corpus labels has corpus positives"
    )


def test_ambiguous_cases_evaluate_without_error(scored) -> None:
    _, errors, _ = scored
    assert errors == []


def test_known_disagreements_still_disagree(scored) -> None:
    scores, _, _ = scored
    for case, entry in known_disagreements().items():
        assert entry["reason"], case
        result = scores.get(entry["rule"])
        if result is not None:
            assert case in result.misses + result.false_alarms, f"{case} now agrees: drop it from the list"
