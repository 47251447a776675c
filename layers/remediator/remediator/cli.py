"""`remediator`: evaluate events in dry run, run the local demo, or run the sweep."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import MalformedRecord, parse_record, read_event_file
from remediator.findings import Decision
from remediator.rules.base import EvalContext
from remediator.state import AccountState, AssumedState

DECISIONS = ("What each decision means (skipped, exempt, modes, assumed state) and the --json format: "
             "docs/decisions.md in the repository.")
# `demo` and `sweep` run locally on moto: their code is in the development package, outside the Lambda layer.
DEV_TOOLS = "remediator_dev"


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def evaluate_raw(raw: Any, context: EvalContext) -> Decision:
    """Decide one raw record; a malformed one becomes a skip naming what is wrong."""
    try:
        record = parse_record(raw)
    except MalformedRecord as error:
        raw = raw if isinstance(raw, dict) else {}
        return Decision(event_id=_text_or_none(raw.get("eventID")), event_name=_text_or_none(raw.get("eventName")),
                        account=_text_or_none(raw.get("recipientAccountId")), skipped=f"malformed: {error}")
    return decide(record, context)


def decision_line(source: str, decision: Decision) -> dict[str, Any]:
    """The `evaluate --json` line for one record (its format: docs/decisions.md)."""
    return {
        "source": source,
        "eventID": decision.event_id,
        "eventName": decision.event_name,
        "account": decision.account,
        "skipped": decision.skipped,
        "resolves": decision.resolves,
        "findings": [finding.as_spec() for finding in decision.findings],
    }


def _human_line(line: dict[str, Any]) -> str:
    head = f"{line['source']}: {line['eventName'] or '?'} (account {line['account'] or '?'})"
    if line["skipped"]:
        return f"{head}: skipped, {line['skipped']}"
    if not line["findings"]:
        resolved = f", resolves {', '.join(line['resolves'])}" if line["resolves"] else ""
        return f"{head}: nothing risky{resolved}"
    parts = [head]
    for finding in line["findings"]:
        exempt = " [exempt]" if finding["exempt"] else ""
        action = f"\n      action: {finding['action']}" if finding["action"] else ""
        parts.append(f"  - {finding['rule']} {finding['severity'].upper()} ({finding['mode']}){exempt}: "
                     f"{finding['reason']}{action}")
    return "\n".join(parts)


def evaluate_files(paths: list[str], context: EvalContext, *, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Print a decision per record, in input order; exit 2 if any file was unreadable."""
    status = 0
    for path in paths:
        try:
            is_log, items = read_event_file(path)
        except (OSError, ValueError) as error:
            print(f"remediator: {path}: {error}", file=err)
            status = 2
            continue
        for number, raw in enumerate(items, start=1):
            line = decision_line(f"{path}#{number}" if is_log else path, evaluate_raw(raw, context))
            print(json.dumps(line) if as_json else _human_line(line), file=out)
    return status


def _state(live: bool) -> AccountState:
    if not live:
        return AssumedState()
    from remediator.aws import AwsClients
    from remediator.state import LiveState

    aws = AwsClients()
    return LiveState(aws.iam, aws.regional)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="remediator", description=__doc__, epilog=DECISIONS)
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate = commands.add_parser("evaluate", help="decide events in dry run (nothing is changed)",
                                   description="Decide events in dry run; nothing is changed.", epilog=DECISIONS)
    evaluate.add_argument("files", nargs="+", help="EventBridge events, CloudTrail records or trail log files")
    evaluate.add_argument("--json", action="store_true", help="one JSON line per record (format: docs/decisions.md)")
    evaluate.add_argument("--live", action="store_true", help="read account state with your AWS credentials")
    demo = commands.add_parser("demo", help="replay events/*.json through the handlers on a local moto server")
    demo.add_argument("--json", action="store_true", help="machine-readable report")
    demo.add_argument("--mode", choices=("notify", "remediate"), default="remediate",
                      help="mode for every rule in the demo (default: remediate)")
    demo.add_argument("--events", type=Path, metavar="DIR",
                      help="the event envelopes to replay (default: the events/ folder of the checkout)")
    sweep = commands.add_parser("sweep", help="the credential-report sweep, dry run (moto sample account by default)")
    sweep.add_argument("--endpoint-url", help="a running moto server (or other endpoint) instead of a fresh one")
    sweep.add_argument("--live", action="store_true", help="your AWS credentials and account")
    sweep.add_argument("--remediate", action="store_true", help="act as remediate mode would (default: dry run)")
    sweep.add_argument("--json", action="store_true", help="machine-readable report")
    args = parser.parse_args(argv)

    if args.command == "evaluate":
        state = _state(args.live)
        context = EvalContext(Settings.from_env(live=args.live), state)
        return evaluate_files(args.files, context, as_json=args.json, out=sys.stdout, err=sys.stderr)
    if importlib.util.find_spec(DEV_TOOLS) is None:
        print(f"remediator {args.command}: needs the development tools ({DEV_TOOLS}, with moto), which are not "
              "installed; in a checkout, `make .venv/bin/.installed` installs them.", file=sys.stderr)
        return 2
    if args.command == "sweep":
        from remediator_dev.sweep import run_cli

        return run_cli(endpoint_url=args.endpoint_url, live=args.live, remediate=args.remediate, as_json=args.json)
    from remediator_dev.demo import run_demo

    return run_demo(as_json=args.json, mode=args.mode, events_dir=args.events)


if __name__ == "__main__":
    sys.exit(main())
