"""Policy analysis against the third-party policy corpus: every scored label must match, or be a
documented disagreement that still disagrees. The corpus is read in place; the scoring rules live in
scripts/score_policies.py so that the script and this test cannot drift apart."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("score_policies", ROOT / "scripts" / "score_policies.py")
assert _spec and _spec.loader
score = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(score)

CORPUS = score.corpus_dir()
if not (CORPUS / "policies" / "labels.json").is_file():
    pytest.skip(f"policy corpus not found at {CORPUS} (set REMEDIATOR_CORPUS)", allow_module_level=True)

LABELS = score.load_labels(CORPUS)
KNOWN = json.loads(score.DISAGREEMENTS.read_text())


@pytest.fixture(scope="module")
def analysed() -> tuple[dict[str, dict[str, bool]], dict[str, str], float]:
    """Our verdict per document, the documents that raised, and the total analysis time."""
    verdicts, failures, spent = {}, {}, 0.0
    for path in LABELS:
        document = json.loads((CORPUS / "policies" / path).read_text())
        start = time.perf_counter()
        try:
            verdicts[path] = score.our_verdict(path, document)
        except Exception as error:  # the test reports every document that raises
            failures[path] = repr(error)
        spent += time.perf_counter() - start
    return verdicts, failures, spent


def test_every_document_analyses_without_exception(analysed) -> None:
    _, failures, _ = analysed
    assert not failures, "\n".join(f"{path}: {error}" for path, error in failures.items())


def test_scored_labels_match_or_are_documented(analysed) -> None:
    verdicts, _, _ = analysed
    undocumented = [
        f"{path} {label}: corpus {theirs}, ours {ours}"
        for (path, label), (theirs, ours) in sorted(score.disagreements(LABELS, verdicts).items())
        if KNOWN.get(path, {}).get("label") != label
    ]
    assert not undocumented, "undocumented disagreements:\n" + "\n".join(undocumented)


@pytest.mark.parametrize("path", sorted(KNOWN))
def test_documented_disagreement_still_disagrees(analysed, path: str) -> None:
    verdicts, _, _ = analysed
    entry = KNOWN[path]
    assert entry.get("reason"), "a documented disagreement needs a concrete reason"
    label = entry["label"]
    theirs = LABELS[path][label]
    assert score.scored(path, label) and theirs is not None, f"{path} {label} is not a scored label"
    assert theirs == entry["corpus"], f"the corpus label changed to {theirs}"
    assert verdicts[path][label] == entry["ours"] != theirs, "we now agree with the corpus: drop the entry"
