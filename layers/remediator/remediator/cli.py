"""`remediator`: evaluate or replay events in dry run, redrive dead letters, manage the exemption list, run the
local demo or the sweep."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from remediator import exemption_admin
from remediator.config import Settings
from remediator.engine import decide
from remediator.events import MalformedRecord, parse_record
from remediator.exemption_list import ExemptionList
from remediator.findings import Decision, decision_line
from remediator.rules.base import EvalContext
from remediator.state import AccountState, AssumedState

DECISIONS = (
    "What each decision means (skipped, exempt, modes, assumed state) and the --json format: "
    "docs/decisions.md in the repository."
)
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
        return Decision(
            event_id=_text_or_none(raw.get("eventID")),
            event_name=_text_or_none(raw.get("eventName")),
            account=_text_or_none(raw.get("recipientAccountId")),
            skipped=f"malformed: {error}",
        )
    return decide(record, context)


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
        parts.append(
            f"  - {finding['rule']} {finding['severity'].upper()} ({finding['mode']}){exempt}: "
            f"{finding['reason']}{action}"
        )
    return "\n".join(parts)


def evaluate_files(
    paths: list[str],
    context: EvalContext,
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    fmt: str | None = None,
    options: Any = None,
    window: Any = None,
) -> int:
    """Print a decision per record, in input order; exit 2 if any file was unreadable.

    Paths may be files, folders (read recursively), s3:// prefixes or `lookup-events` output; `options`
    (a SourceOptions) adds an Athena table; `window` keeps only records in --since/--until/--account."""
    from remediator.sources import SourceOptions, Unreadable, Window, read_sources

    fmt = fmt or ("json" if as_json else "text")
    window = window or Window()
    status = 0
    for item in read_sources(options or SourceOptions(paths), window):
        if isinstance(item, Unreadable):
            print(f"remediator: {item.source}: {item.error}", file=err)
            status = 2
            continue
        for offset, raw in enumerate(item.records):
            if not window.keeps(raw):
                continue
            source = f"{item.source}#{item.first_number + offset}" if item.numbered else item.source
            if fmt == "asff":
                for finding in asff_lines(raw, context):
                    print(json.dumps(finding), file=out)
                continue
            line = decision_line(source, evaluate_raw(raw, context))
            print(json.dumps(line) if fmt == "json" else _human_line(line), file=out)
    return status


def asff_lines(raw: Any, context: EvalContext) -> list[dict[str, Any]]:
    """The findings of one record as Security Hub would receive them (nothing is changed: workflow NEW)."""
    from remediator.asff import to_asff
    from remediator.replay import decide_raw

    decision, record = decide_raw(raw, context)
    if record is None:
        return []
    return [to_asff(finding, record) for finding in decision.findings]


def _state(live: bool, settings: Settings) -> tuple[AccountState, ExemptionList | None]:
    """Dry run: no account, so no exemption list either (the reason says what was assumed). --live: the
    account's state and the exemption table EXEMPTIONS_TABLE names, with your credentials."""
    if not live:
        return AssumedState(), None
    from remediator.aws import AwsClients
    from remediator.exemption_list import ExemptionTable
    from remediator.state import LiveState, own_organization

    aws = AwsClients()
    table = ExemptionTable(aws.dynamodb, settings.exemptions_table) if settings.exemptions_table else None
    return LiveState(aws.iam, aws, own_organization(aws)), table


def _source_options(command: argparse.ArgumentParser) -> None:
    """Where CloudTrail comes from: the same for evaluate and replay."""
    command.add_argument("--since", help="only records at or after this eventTime (2026-11-01, 2026-11-01T09:00Z, 7d)")
    command.add_argument("--until", help="only records before this eventTime")
    command.add_argument("--account", help="only records of this account id")
    command.add_argument(
        "--athena-table",
        metavar="DB.TABLE",
        help="query a CloudTrail table in Athena instead "
        "of (or as well as) files; only the events the rules react to are selected",
    )
    command.add_argument("--athena-workgroup", default="primary", help="Athena workgroup (default: primary)")
    command.add_argument(
        "--athena-output", metavar="S3_URI", help="where Athena writes results (unless the workgroup sets it)"
    )
    command.add_argument("--live", action="store_true", help="read account state with your AWS credentials")


def _window_and_options(args: argparse.Namespace, err: TextIO) -> tuple[Any, Any] | None:
    from remediator.sources import SourceOptions, Window, parse_when

    try:
        window = Window(
            parse_when(args.since) if args.since else None, parse_when(args.until) if args.until else None, args.account
        )
    except ValueError as error:
        print(f"remediator: {error}", file=err)
        return None
    if not args.files and not args.athena_table:
        print("remediator: name files, folders, s3:// prefixes or --athena-table", file=err)
        return None
    return window, SourceOptions(args.files, args.athena_table, args.athena_workgroup, args.athena_output)


def _live_ready(live: bool, err: TextIO) -> bool:
    if not live:
        return True
    from remediator.replay import live_check

    problem = live_check()
    if problem:
        print(f"remediator: {problem}", file=err)
    return problem is None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("compliance-remediator")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="remediator", description=__doc__, epilog=DECISIONS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate = commands.add_parser(
        "evaluate",
        help="decide events in dry run (nothing is changed)",
        description="Decide events in dry run; nothing is changed.",
        epilog=DECISIONS,
    )
    evaluate.add_argument(
        "files",
        nargs="*",
        help="EventBridge events, CloudTrail records, trail log files, "
        "folders of them, s3://bucket/prefix, or `aws cloudtrail lookup-events` output",
    )
    evaluate.add_argument("--json", action="store_true", help="one JSON line per record (format: docs/decisions.md)")
    evaluate.add_argument(
        "--format",
        choices=("text", "json", "asff"),
        help="text (default), json (= --json) or asff: each finding as Security Hub ASFF, one per line",
    )
    _source_options(evaluate)
    demo = commands.add_parser("demo", help="replay events/*.json through the handlers on a local moto server")
    demo.add_argument("--json", action="store_true", help="machine-readable report")
    demo.add_argument(
        "--mode",
        choices=("notify", "remediate"),
        default="remediate",
        help="mode for every rule in the demo (default: remediate)",
    )
    demo.add_argument(
        "--org",
        action="store_true",
        help="organization mode instead: a hub and two member accounts (one without its member role)",
    )
    demo.add_argument(
        "--events",
        type=Path,
        metavar="DIR",
        help="the event envelopes to replay (default: the events/ folder of the checkout)",
    )
    sweep = commands.add_parser("sweep", help="the credential-report sweep, dry run (moto sample account by default)")
    sweep.add_argument("--endpoint-url", help="a running moto server (or other endpoint) instead of a fresh one")
    sweep.add_argument("--live", action="store_true", help="your AWS credentials and account")
    sweep.add_argument("--remediate", action="store_true", help="act as remediate mode would (default: dry run)")
    sweep.add_argument("--json", action="store_true", help="machine-readable report")
    replay = commands.add_parser("replay", help="the rules over CloudTrail history: per-rule summary (dry run)")
    replay.add_argument("files", nargs="*", help="trail log folders or files, s3://bucket/prefix, lookup-events output")
    output = replay.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one evaluate --json line per record instead")
    output.add_argument("--csv", action="store_true", help="one CSV row per finding (and per record without one)")
    output.add_argument("--summary-json", action="store_true", help="the summary as one JSON document")
    _source_options(replay)
    redrive = commands.add_parser("redrive", help="hand the events in a dead-letter queue back to the function")
    redrive.add_argument(
        "--queue", required=True, metavar="URL", help="a rule DLQ or a function DLQ (the stack's *DLQUrl outputs)"
    )
    redrive.add_argument("--function", help="function name or ARN (default: the one the message names)")
    redrive.add_argument("--dry-run", action="store_true", help="list what would be redriven; change nothing")
    redrive.add_argument("--max", type=int, metavar="N", help="at most N messages")
    exemption_admin.add_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "exempt":
        return exemption_admin.run(args, sys.stdout, sys.stderr)
    if args.command == "redrive":
        from remediator.redrive import run_cli as run_redrive

        return run_redrive(args.queue, args.function, args.dry_run, args.max, sys.stdout, sys.stderr)

    if args.command in ("evaluate", "replay"):
        prepared = _window_and_options(args, sys.stderr)
        if prepared is None or not _live_ready(args.live, sys.stderr):
            return 2
        window, options = prepared
        settings = Settings.from_env(live=args.live)
        context = EvalContext(settings, *_state(args.live, settings))
        if args.command == "replay":
            from remediator.replay import replay as run_replay

            fmt = "json" if args.json else "csv" if args.csv else "summary-json" if args.summary_json else "summary"
            return run_replay(options, context, window=window, fmt=fmt, out=sys.stdout, err=sys.stderr)
        return evaluate_files(
            args.files,
            context,
            as_json=args.json,
            out=sys.stdout,
            err=sys.stderr,
            fmt=args.format,
            options=options,
            window=window,
        )
    if importlib.util.find_spec(DEV_TOOLS) is None:
        print(
            f"remediator {args.command}: needs the development tools ({DEV_TOOLS}, with moto), which are not "
            "installed; in a checkout, `make .venv/bin/.installed` installs them.",
            file=sys.stderr,
        )
        return 2
    if args.command == "sweep":
        from remediator_dev.sweep import run_cli

        return run_cli(endpoint_url=args.endpoint_url, live=args.live, remediate=args.remediate, as_json=args.json)
    if args.org:
        from remediator_dev.org_demo import run_org_demo

        return run_org_demo(as_json=args.json)
    from remediator_dev.demo import run_demo

    return run_demo(as_json=args.json, mode=args.mode, events_dir=args.events)


if __name__ == "__main__":
    sys.exit(main())
