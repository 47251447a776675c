"""Print the confusion table of every rule against the third-party event corpus.

Usage: .venv/bin/python scripts/score_events.py [CORPUS_DIR]   (default: $REMEDIATOR_CORPUS or ../shared/corpus)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.corpus.event_scoring import known_disagreements, score


def main() -> int:
    default = os.environ.get("REMEDIATOR_CORPUS", Path(__file__).resolve().parent.parent.parent / "shared" / "corpus")
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else default)
    if not (corpus / "events" / "labels.json").is_file():
        print(f"no corpus at {corpus}: set REMEDIATOR_CORPUS")
        return 2
    scores, errors, _ = score(corpus)
    known = known_disagreements()
    print(f"{'rule':<18} {'TP':>4} {'FN':>4} {'FP':>4} {'TN':>5}  precision  recall")
    for result in scores.values():
        precision = result.tp / (result.tp + result.fp) if result.tp + result.fp else float("nan")
        recall = result.tp / (result.tp + result.fn) if result.tp + result.fn else float("nan")
        print(
            f"{result.rule:<18} {result.tp:>4} {result.fn:>4} {result.fp:>4} {result.tn:>5}  "
            f"{precision:9.3f}  {recall:6.3f}"
        )
    for result in scores.values():
        for case in result.misses + result.false_alarms:
            kind = "missed" if case in result.misses else "false alarm"
            reason = known.get(case, {}).get("reason", "UNEXPLAINED")
            print(f"  {result.rule} {kind}: {case} -- {reason}")
    print(f"ambiguous cases with errors: {len(errors)}")
    for error in errors:
        print(f"  {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
