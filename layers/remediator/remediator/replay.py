"""`remediator replay`: run the rules over real CloudTrail history, in dry run, and summarise what they
would have said, so a team tunes modes and exemptions before switching anything to remediate.

Per rule: findings, exempt, would have been reverted (remediate mode would act: the finding has an
action), and the principals and resources behind them. Nothing is changed; an operator tool, never
imported in Lambda.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from remediator.engine import decide
from remediator.events import CloudTrailRecord, MalformedRecord, parse_record
from remediator.findings import Decision, Finding, decision_line
from remediator.rule_ids import RULE_IDS
from remediator.rules import rules_for
from remediator.rules.base import EvalContext, Trigger
from remediator.sources import Batch, SourceOptions, Unreadable, Window, read_sources

TOP = 5
NO_RULE = "no rule reacts"
CSV_COLUMNS = (
    "source",
    "eventID",
    "eventTime",
    "eventName",
    "account",
    "caller",
    "skipped",
    "rule",
    "severity",
    "mode",
    "action",
    "exempt",
    "resource",
    "reason",
)


class Reactors:
    """Which raw records any rule could react to, decided from the rules' triggers without parsing the record.

    Most of a trail is reads no rule looks at; the summary skips those without building a model.
    """

    def __init__(self) -> None:
        rules = rules_for()
        self.triggers: tuple[Trigger, ...] = tuple(t for rule in rules for t in rule.META.triggers)
        self.resolving = frozenset(name for rule in rules for name in rule.META.resolved_by)

    def could_react(self, raw: Any) -> bool:
        if not isinstance(raw, dict):
            return True  # the full path says what is malformed about it
        name, source = raw.get("eventName"), raw.get("eventSource")
        if name in self.resolving:
            return True
        identity = raw.get("userIdentity")
        kind = identity.get("type") if isinstance(identity, dict) else None
        return any(
            (not t.event_sources or source in t.event_sources)
            and (not t.event_names or name in t.event_names)
            and (not t.identity_types or kind in t.identity_types)
            for t in self.triggers
        )


def decide_raw(raw: Any, context: EvalContext) -> tuple[Decision, CloudTrailRecord | None]:
    """The same decision `evaluate` prints, and the parsed record (None when malformed)."""
    try:
        record = parse_record(raw)
    except MalformedRecord as error:
        raw = raw if isinstance(raw, dict) else {}

        def text(key: str) -> str | None:
            return raw.get(key) if isinstance(raw.get(key), str) else None

        return Decision(
            event_id=text("eventID"),
            event_name=text("eventName"),
            account=text("recipientAccountId"),
            skipped=f"malformed: {error}",
        ), None
    return decide(record, context), record


def _principal(record: CloudTrailRecord) -> str:
    identity = record.identity
    return identity.issuer_arn or identity.arn or identity.display_name


def _resource(finding: Finding) -> str:
    return finding.resource.arn or f"{finding.resource.kind} {finding.resource.name}"


@dataclass
class RuleTally:
    findings: int = 0
    exempt: int = 0
    would_revert: int = 0
    severities: Counter[str] = field(default_factory=Counter)
    principals: Counter[str] = field(default_factory=Counter)
    resources: Counter[str] = field(default_factory=Counter)

    def add(self, finding: Finding, record: CloudTrailRecord) -> None:
        self.findings += 1
        self.severities[str(finding.severity)] += 1
        self.exempt += finding.exempt
        self.would_revert += bool(finding.action) and not finding.exempt
        self.principals[_principal(record)] += 1
        self.resources[_resource(finding)] += 1


@dataclass
class Summary:
    """What a replay saw: counts a team tunes exemptions with."""

    files: int = 0
    unreadable: int = 0
    records: int = 0
    outside_window: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    resolves: int = 0
    rules: dict[str, RuleTally] = field(default_factory=lambda: {rule: RuleTally() for rule in RULE_IDS})

    def add(self, decision: Decision, record: CloudTrailRecord | None) -> None:
        if decision.skipped:
            reason = decision.skipped
            if reason.startswith("no rule for"):
                reason = NO_RULE
            elif reason.startswith("malformed"):
                reason = "malformed"
            self.skipped[reason] += 1
            return
        self.resolves += bool(decision.resolves)
        for finding in decision.findings:
            assert record is not None
            self.rules.setdefault(finding.rule, RuleTally()).add(finding, record)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "unreadable": self.unreadable,
            "records": self.records,
            "outside_window": self.outside_window,
            "skipped": dict(self.skipped),
            "resolves": self.resolves,
            "rules": {
                rule: {
                    "findings": t.findings,
                    "exempt": t.exempt,
                    "would_revert": t.would_revert,
                    "severities": dict(t.severities),
                    "top_principals": t.principals.most_common(TOP),
                    "top_resources": t.resources.most_common(TOP),
                }
                for rule, t in self.rules.items()
            },
        }

    def render(self, seconds: float) -> str:
        rate = f", {self.records / seconds:,.0f} records/s" if seconds > 0 else ""
        lines = [
            f"Replayed {self.records:,} records from {self.files:,} files in {seconds:,.1f} s{rate}"
            + (f"; {self.unreadable:,} unreadable (named above)" if self.unreadable else "")
            + "."
        ]
        if self.outside_window:
            lines.append(f"Left out {self.outside_window:,} records outside --since/--until/--account.")
        if self.skipped:
            lines.append(
                "Skipped: " + ", ".join(f"{count:,} {reason}" for reason, count in self.skipped.most_common()) + "."
            )
        lines += ["", f"{'rule':<22}{'findings':>10}{'exempt':>10}{'would revert':>14}  severities"]
        for rule, tally in self.rules.items():
            severities = ", ".join(f"{sev} {count:,}" for sev, count in sorted(tally.severities.items()))
            lines.append(f"{rule:<22}{tally.findings:>10,}{tally.exempt:>10,}{tally.would_revert:>14,}  {severities}")
        for rule, tally in self.rules.items():
            if not tally.findings:
                continue
            lines += ["", f"{rule}:"]
            for label, counter in (("top principals:", tally.principals), ("top resources: ", tally.resources)):
                lines.append(f"  {label} " + "; ".join(f"{name} ({n:,})" for name, n in counter.most_common(TOP)))
        if self.resolves:
            lines += ["", f"{self.resolves:,} records resolve an open finding (e.g. a user enrolling MFA)."]
        return "\n".join(lines)


class Progress:
    """A progress line on stderr, only when stderr is a terminal, at most once a second."""

    def __init__(self, err: TextIO, clock: Any = time.monotonic) -> None:
        self.err, self.clock = err, clock
        self.enabled = hasattr(err, "isatty") and err.isatty()
        self.start = self.last = clock()
        self.shown = False

    def tick(self, summary: Summary) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.last < 1.0:
            return
        self.last, self.shown = now, True
        rate = summary.records / max(now - self.start, 1e-9)
        findings = sum(t.findings for t in summary.rules.values())
        print(
            f"\rreplay: {summary.records:,} records, {summary.files:,} files, {findings:,} findings, "
            f"{rate:,.0f} records/s",
            end="",
            file=self.err,
            flush=True,
        )

    def done(self) -> None:
        if self.shown:
            print(file=self.err)


def _csv_rows(source: str, decision: Decision, record: CloudTrailRecord | None) -> list[list[Any]]:
    base = [
        source,
        decision.event_id,
        record.eventTime if record else None,
        decision.event_name,
        decision.account,
        _principal(record) if record else None,
        decision.skipped,
    ]
    if not decision.findings:
        return [[*base, None, None, None, None, None, None, None]]
    return [
        [*base, f.rule, str(f.severity), str(f.mode), f.action, f.exempt, _resource(f), f.reason]
        for f in decision.findings
    ]


def replay(
    options: SourceOptions,
    context: EvalContext,
    *,
    window: Window | None = None,
    fmt: str = "summary",
    out: TextIO,
    err: TextIO,
    client: Any = None,
) -> int:
    """Decide every record of every source; print per-record lines (json, csv) or the summary. Exit 2 when a
    source was unreadable (named on stderr), else 0."""

    window = window or Window()
    summary, reactors, progress = Summary(), Reactors(), Progress(err)
    started = time.monotonic()
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    for item in read_sources(options, window, client):
        if isinstance(item, Unreadable):
            summary.unreadable += 1
            print(f"remediator: {item.source}: {item.error}", file=err)
            continue
        assert isinstance(item, Batch)
        summary.files += 1
        for offset, raw in enumerate(item.records):
            if not window.keeps(raw):
                summary.outside_window += 1
                continue
            summary.records += 1
            if fmt.startswith("summary") and not reactors.could_react(raw):
                summary.skipped[NO_RULE] += 1
                continue
            decision, record = decide_raw(raw, context)
            summary.add(decision, record)
            source = f"{item.source}#{item.first_number + offset}" if item.numbered else item.source
            if fmt == "json":
                print(json.dumps(decision_line(source, decision)), file=out)
            elif writer:
                writer.writerows(_csv_rows(source, decision, record))
        progress.tick(summary)
    progress.done()
    if fmt == "summary":
        print(summary.render(time.monotonic() - started), file=out)
    elif fmt == "summary-json":
        print(json.dumps(summary.as_dict()), file=out)
    return 2 if summary.unreadable else 0


def live_check(session: Any = None, *, endpoint_url: str | None = None) -> str | None:
    """None when AWS answers with the caller's identity; else one line saying why not, within seconds
    (short timeouts, no retries): no credentials, no network, or credentials AWS rejects."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    config = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 1})
    try:
        sts = (session or boto3.Session()).client("sts", config=config, endpoint_url=endpoint_url)
        sts.get_caller_identity()
    except NoCredentialsError:
        return "--live needs AWS credentials (none found: set AWS_PROFILE or run aws configure/sso login)"
    except NoRegionError:
        return "--live needs a region (set AWS_REGION or AWS_DEFAULT_REGION)"
    except (EndpointConnectionError, ConnectTimeoutError) as error:
        return f"--live cannot reach AWS ({error})"
    except ClientError as error:
        return f"--live: AWS rejected the credentials ({error.response.get('Error', {}).get('Code', 'error')})"
    except BotoCoreError as error:
        return f"--live: {error}"
    return None
