#!/usr/bin/env python3
"""Score remediator.policy against the labelled policy corpus: confusion tables, disagreements, timing.

    python scripts/score_policies.py                        # our analysis only (stdlib, no extra packages)
    python scripts/score_policies.py --compare-libraries    # also policyuniverse, cloudsplaining, parliament,
                                                            # policy_sentry, installed into a throwaway venv

The corpus is read in place from $REMEDIATOR_CORPUS or ../shared/corpus beside the repository; it is never
copied or changed. Own account per the corpus README: 111122223333 where the corpus substituted it for the
role's own account (iam-vulnerable, kics, checkov), 123456789012 for prowler (its tests mock that account),
unknown elsewhere (awsdocs, actionscope).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "remediator"))

from remediator.policy import analyse_identity_policy, analyse_trust_policy  # noqa: E402

DISAGREEMENTS = ROOT / "tests" / "corpus" / "known_policy_disagreements.json"
IDENTITY_LABELS = ("admin_equivalent", "privesc")
TRUST_LABELS = ("broad_trust", "cross_account", "external_id_required")
CURATED_PRIVESC_SOURCES = frozenset({"iam-vulnerable", "kics", "checkov", "prowler", "cloudsplaining", "parliament"})
OWN_ACCOUNT = {
    "iam-vulnerable": "111122223333",
    "kics": "111122223333",
    "checkov": "111122223333",
    "prowler": "123456789012",
}
LIBVENV = Path("/tmp/libvenv")
LIBRARIES = ("policyuniverse", "cloudsplaining", "parliament", "policy_sentry")


def corpus_dir() -> Path:
    return Path(os.environ.get("REMEDIATOR_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()


def source_of(path: str) -> str:
    return path.split("/")[1]


def load_labels(corpus: Path) -> dict[str, dict]:
    return json.loads((corpus / "policies" / "labels.json").read_text())


def scored(path: str, label: str) -> bool:
    """Which (document, label) pairs the corpus test holds us to; iam-dataset privesc is report-only."""
    return label != "privesc" or source_of(path) in CURATED_PRIVESC_SOURCES


def our_verdict(path: str, document: dict) -> dict[str, bool]:
    """Our answer for every label the document's kind has."""
    if path.startswith("identity/"):
        verdict = analyse_identity_policy(document)
        return {"admin_equivalent": verdict.admin_equivalent, "privesc": bool(verdict.escalation_paths)}
    trust = analyse_trust_policy(document, OWN_ACCOUNT.get(source_of(path)))
    return {
        "broad_trust": trust.broad,
        "cross_account": trust.cross_account,
        "external_id_required": trust.external_id_required,
    }


def analyse_corpus(corpus: Path) -> tuple[dict[str, dict[str, bool]], list[float]]:
    """Our verdicts for every document, and the analysis time of each (seconds, parsing JSON excluded)."""
    verdicts, times = {}, []
    for path in load_labels(corpus):
        document = json.loads((corpus / "policies" / path).read_text())
        start = time.perf_counter()
        verdicts[path] = our_verdict(path, document)
        times.append(time.perf_counter() - start)
    return verdicts, times


def disagreements(labels: dict[str, dict], verdicts: dict[str, dict[str, bool]]) -> dict[tuple[str, str], tuple]:
    """(path, label) -> (their label, ours) wherever a scored label differs from our verdict."""
    out = {}
    for path, entry in labels.items():
        for label, ours in verdicts[path].items():
            theirs = entry.get(label)
            if theirs is not None and scored(path, label) and theirs != ours:
                out[(path, label)] = (theirs, ours)
    return out


def confusion(
    labels: dict[str, dict],
    answers: dict[str, dict[str, bool | None]],
    label: str,
    keep: Callable[[str], bool],
) -> dict[str, int]:
    counts = dict.fromkeys(("TP", "FP", "FN", "TN", "unscored", "no answer"), 0)
    for path, entry in labels.items():
        if not keep(path):
            continue
        theirs, ours = entry.get(label), answers.get(path, {}).get(label)
        if theirs is None:
            counts["unscored"] += 1
        elif ours is None:
            counts["no answer"] += 1
        else:
            counts[("T" if theirs == ours else "F") + ("P" if ours else "N")] += 1
    return counts


def kind_of(label: str) -> str:
    return "identity/" if label in IDENTITY_LABELS else "trust/"


def print_table(title: str, rows: list[tuple[str, dict[str, int]]]) -> None:
    print(f"\n{title}")
    columns = ("TP", "FP", "FN", "TN", "unscored", "no answer", "agree")
    print(f"  {'label':44}" + "".join(f"{c:>10}" for c in columns))
    for name, c in rows:
        decided = c["TP"] + c["FP"] + c["FN"] + c["TN"]
        agree = f"{(c['TP'] + c['TN']) / decided:.1%}" if decided else "-"
        cells = [c["TP"], c["FP"], c["FN"], c["TN"], c["unscored"], c["no answer"], agree]
        print(f"  {name:44}" + "".join(f"{cell:>10}" for cell in cells))


def import_times_ms(python: str, module: str, pythonpath: str = "", preload: str = "", runs: int = 7) -> dict:
    """Median wall time of `import module` in fresh interpreters: with .pyc (as a built layer ships it; cached
    under /tmp, never in the repository) and from source. `preload` is imported first and not counted."""
    code = f"import time{', ' + preload if preload else ''}; t = time.perf_counter(); import {module}; "
    code += "print(time.perf_counter() - t)"
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if pythonpath:
        base["PYTHONPATH"] = pythonpath
    out = {}
    for mode, extra in (
        ("pyc", {"PYTHONPYCACHEPREFIX": "/tmp/score-policies-pyc"}),
        ("source", {"PYTHONDONTWRITEBYTECODE": "1"}),
    ):
        env = dict(base, **extra)
        samples = []
        for attempt in range(runs + 1):
            result = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=True)
            if attempt:  # the first run writes the .pyc files
                samples.append(float(result.stdout.strip().splitlines()[-1]) * 1000)
        out[mode] = statistics.median(samples)
    return out


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report_ours(corpus: Path) -> None:
    labels = load_labels(corpus)
    verdicts, times = analyse_corpus(corpus)
    rows = [(label, confusion(labels, verdicts, label, keeper(label))) for label in IDENTITY_LABELS + TRUST_LABELS]
    rows.append(("privesc, iam-dataset (report only)", confusion(labels, verdicts, "privesc", is_iam_dataset)))
    print(f"corpus: {corpus / 'policies'} ({len(labels)} documents)")
    print_table("remediator.policy against the corpus labels", rows)
    known = json.loads(DISAGREEMENTS.read_text()) if DISAGREEMENTS.is_file() else {}
    print("\ndisagreements (scored labels):")
    for (path, label), (theirs, ours) in sorted(disagreements(labels, verdicts).items()):
        entry = known.get(path, {})
        reason = entry.get("reason", "") if entry.get("label") == label else ""
        print(f"  {path} {label}: corpus {theirs}, ours {ours}\n      {reason or 'NOT DOCUMENTED'}")
    layer = str(ROOT / "layers" / "remediator")
    ours = import_times_ms(sys.executable, "remediator.policy", layer)
    own = import_times_ms(sys.executable, "remediator.policy", layer, preload="json, dataclasses")
    print("\ntiming:")
    print(
        f"  analysis per document: median {statistics.median(times) * 1e3:.3f} ms, "
        f"p99 {percentile(times, 0.99) * 1e3:.3f} ms, max {max(times) * 1e3:.1f} ms, "
        f"whole corpus {sum(times):.2f} s"
    )
    print(
        f"  import remediator.policy, fresh process, median of 7: {ours['pyc']:.1f} ms with .pyc "
        f"({ours['source']:.1f} ms from source); {own['pyc']:.1f} ms of it is the module itself "
        f"(json and dataclasses, which the rest of the package imports anyway, preloaded)"
    )


def keeper(label: str) -> Callable[[str], bool]:
    return lambda path: path.startswith(kind_of(label)) and scored(path, label)


def is_iam_dataset(path: str) -> bool:
    return source_of(path) == "iam-dataset"


# Runs inside the throwaway venv: each library answers the labels it has an API for, timed per document.
_WORKER = r"""
import json, statistics, sys, time
from pathlib import Path

corpus = Path(sys.argv[1]) / "policies"
own = json.loads(sys.argv[2])
labels = json.loads((corpus / "labels.json").read_text())
documents = {path: json.loads((corpus / path).read_text()) for path in labels}
out = {}


def run(name, answer, kinds):
    answers, times, errors = {}, [], []
    for path, document in documents.items():
        if path.split("/")[0] not in kinds:
            continue
        start = time.perf_counter()
        try:
            result = answer(path, document)
        except Exception as error:
            errors.append(f"{path}: {error!r}"[:200])
            result = None
        times.append(time.perf_counter() - start)
        if result:
            answers[path] = result
    ordered = sorted(times)
    out[name] = {"answers": answers, "errors": errors, "median_ms": statistics.median(times) * 1e3,
                 "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3}


def policyuniverse_answer(path, document):
    from policyuniverse.policy import Policy
    if path.startswith("trust/"):
        return {"broad_trust": bool(Policy(document).is_internet_accessible())}


def cloudsplaining_answer(path, document):
    from cloudsplaining.scan.assume_role_policy_document import AssumeRolePolicyDocument
    from cloudsplaining.scan.policy_document import PolicyDocument
    if path.startswith("identity/"):
        return {"privesc": bool(PolicyDocument(document).allows_privilege_escalation)}
    trust = AssumeRolePolicyDocument(document, current_account_id=own.get(path.split("/")[1]))
    return {"broad_trust": bool(trust.role_assumable_by_any_principal),
            "cross_account": bool(trust.role_assumable_by_cross_account_principals)}


def parliament_answer(path, document):
    from parliament import analyze_policy_string
    if path.startswith("identity/"):
        policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
        return {"privesc": any(f.issue == "PRIVILEGE_ESCALATION" for f in policy.findings)}


def policy_sentry_answer(path, document):
    from policy_sentry.analysis.analyze import analyze_by_access_level
    if path.startswith("identity/"):
        return {"privesc": bool(analyze_by_access_level(document, "Permissions management"))}


for name, answer, kinds in (("policyuniverse", policyuniverse_answer, ("trust",)),
                            ("cloudsplaining", cloudsplaining_answer, ("identity", "trust")),
                            ("parliament", parliament_answer, ("identity",)),
                            ("policy_sentry", policy_sentry_answer, ("identity",))):
    try:
        run(name, answer, kinds)
    except Exception as error:
        out[name] = {"unavailable": repr(error)}
from importlib.metadata import version
out["_versions"] = {n: version(n) for n in [*out]}
print(json.dumps(out))
"""
LIBRARY_IMPORTS = {
    "policyuniverse": "policyuniverse.policy",
    "cloudsplaining": "cloudsplaining.scan.policy_document, cloudsplaining.scan.assume_role_policy_document",
    "parliament": "parliament",
    "policy_sentry": "policy_sentry.analysis.analyze",
}


def ensure_libvenv() -> Path:
    """A throwaway venv for the libraries, so the project's own environment never gets them."""
    python = LIBVENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LIBVENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *LIBRARIES], check=True)
    return python


def report_libraries(corpus: Path) -> None:
    python = ensure_libvenv()
    labels = load_labels(corpus)
    worker = [str(python), "-c", _WORKER, str(corpus), json.dumps(OWN_ACCOUNT)]
    result = subprocess.run(worker, capture_output=True, text=True, check=True)
    libraries = json.loads(result.stdout.strip().splitlines()[-1])
    versions = libraries.pop("_versions", {})
    print("\nlibrary versions: " + ", ".join(f"{name} {v}" for name, v in versions.items()))
    verdicts, times = analyse_corpus(corpus)
    layer = str(ROOT / "layers" / "remediator")
    rows = [
        (
            "remediator.policy",
            verdicts,
            statistics.median(times) * 1e3,
            percentile(times, 0.99) * 1e3,
            import_times_ms(sys.executable, "remediator.policy", layer)["pyc"],
            0,
        )
    ]
    for name, data in libraries.items():
        if "unavailable" in data:
            print(f"  {name}: unavailable: {data['unavailable']}")
            continue
        import_ms = import_times_ms(str(python), LIBRARY_IMPORTS[name])["pyc"]
        rows.append((name, data["answers"], data["median_ms"], data["p99_ms"], import_ms, len(data["errors"])))
        for error in data["errors"]:
            print(f"  {name} raised on {error}")
    print("\nlibrary comparison (same labels and scoring; iam-dataset privesc excluded, as for us; time per")
    print("document over the documents of the kind the tool analyses; import in a fresh process, with .pyc):")
    print("| tool | label | TP | FP | FN | TN | agreement | no answer | errors | ms/doc median | p99 | import ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, answers, median_ms, p99_ms, import_ms, errors in rows:
        for label in IDENTITY_LABELS + TRUST_LABELS:
            keep = keeper(label)
            if not any(label in answers.get(p, {}) for p in labels if keep(p)):
                continue
            c = confusion(labels, answers, label, keep)
            decided = c["TP"] + c["FP"] + c["FN"] + c["TN"]
            agree = f"{(c['TP'] + c['TN']) / decided:.1%}" if decided else "-"
            print(
                f"| {name} | {label} | {c['TP']} | {c['FP']} | {c['FN']} | {c['TN']} | {agree} | "
                f"{c['no answer']} | {errors} | {median_ms:.3f} | {p99_ms:.2f} | {import_ms:.0f} |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description="Score remediator.policy against the labelled policy corpus.")
    parser.add_argument(
        "--compare-libraries",
        action="store_true",
        help=f"also score {', '.join(LIBRARIES)} (installed into {LIBVENV})",
    )
    args = parser.parse_args()
    corpus = corpus_dir()
    if not (corpus / "policies" / "labels.json").is_file():
        print(f"policy corpus not found at {corpus} (set REMEDIATOR_CORPUS)", file=sys.stderr)
        return 2
    report_ours(corpus)
    if args.compare_libraries:
        report_libraries(corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
