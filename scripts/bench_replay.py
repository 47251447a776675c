"""Measure `remediator replay`: records per second and peak memory over a large synthetic trail.

Writes FILES gzipped CloudTrail log files of RECORDS records each into a temporary folder (the shapes of
events/*.json for the share of risky events, plus typical read and write noise no rule reacts to), then
runs `remediator replay` on it in a fresh process and reports wall time, records/s and the child's peak RSS.

Usage: .venv/bin/python scripts/bench_replay.py [--files 1000] [--records 1000] [--risky-share 0.1] [--json]
Nothing leaves the machine: the trail is local files and replay runs without --live.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
NOISE = [  # (eventSource, eventName): what most of a real trail is
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("sts.amazonaws.com", "AssumeRole"),
    ("kms.amazonaws.com", "Decrypt"),
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "TagRole"),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
    ("logs.amazonaws.com", "CreateLogStream"),
    ("cloudformation.amazonaws.com", "DescribeStacks"),
]


def shapes() -> list[dict]:
    return [json.loads(path.read_text())["detail"] for path in sorted((ROOT / "events").glob("*.json"))]


def noise_record(template: dict, source: str, name: str) -> dict:
    record = copy.deepcopy(template)
    record.update(eventSource=source, eventName=name, requestParameters={"maxResults": 100}, responseElements=None)
    record["userIdentity"] = {**record["userIdentity"], "type": "AssumedRole"}
    return record


def write_trail(folder: Path, files: int, records: int, risky_share: float, seed: int = 7) -> int:
    rng = random.Random(seed)
    risky, base = shapes(), shapes()[0]
    noise = [noise_record(base, source, name) for source, name in NOISE]
    day = folder / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "11" / "24"
    day.mkdir(parents=True)
    written = 0
    for number in range(files):
        batch = []
        for index in range(records):
            pick = rng.choice(risky) if rng.random() < risky_share else rng.choice(noise)
            record = dict(pick)  # shallow: only the top-level ids change
            record["eventID"] = f"{number:06d}-{index:06d}"
            batch.append(record)
        name = f"{ACCOUNT}_CloudTrail_us-east-1_20261124T{number % 24:02d}00Z_{number:06d}.json.gz"
        (day / name).write_bytes(gzip.compress(json.dumps({"Records": batch}).encode(), compresslevel=1))
        written += len(batch)
    return written


def run(folder: Path, output: str) -> tuple[float, int, str]:
    command = [str(Path(sys.executable).with_name("remediator")), "replay", str(folder)]
    if output != "summary":
        command.insert(2, f"--{output}")
    started = time.perf_counter()
    with open("/dev/null", "w") if output != "summary" else tempfile.TemporaryFile("w+") as sink:
        subprocess.run(command, stdout=sink, check=True)
        seconds = time.perf_counter() - started
        text = ""
        if output == "summary":
            sink.seek(0)
            text = sink.read()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far (KiB on Linux)
    return seconds, peak_kib, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--risky-share", type=float, default=0.1, help="share of records shaped like events/*.json")
    parser.add_argument("--json", action="store_true", help="also time --json output (one line per record)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        total = write_trail(folder, args.files, args.records, args.risky_share)
        size = sum(path.stat().st_size for path in folder.rglob("*.json.gz"))
        print(
            f"trail: {total:,} records in {args.files:,} files ({size / 2**20:,.0f} MiB gzipped), "
            f"{args.risky_share:.0%} risky shapes, written in {time.perf_counter() - started:,.0f} s"
        )
        outputs = ["summary", "json"] if args.json else ["summary"]
        for output in outputs:
            seconds, peak_kib, text = run(folder, output)
            print(
                f"replay ({output}): {seconds:,.1f} s, {total / seconds:,.0f} records/s, "
                f"peak RSS {peak_kib / 1024:,.0f} MiB"
            )
            if text:
                print("\n".join("  " + line for line in text.splitlines()[:12]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
