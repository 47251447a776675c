"""One sweep: read the credential report, decide, then take every finding down the events' path.

The scheduled rules (sweep/checks.py) give `Finding`s of access_keys, console_mfa and root_activity; each gets
the events' exemption (`exemption_for`: break-glass, the exemption tag, or "could not read"), then
`engine.act` (which calls the rule's own remediation, re-reading to verify), `store.track_outcome` (action
budget, warnings) and `notify.publish` (a message per action taken or failed, and per critical finding).
The coverage self-check (sweep/coverage.py) adds its critical findings; one summary closes the run.

IAM calls: 2+ for the report (whatever the user count), then per offender one ListUserTags, and per action
its call plus one re-read. Actions run one after another through the adaptive-retry client (it slows down on
throttling); the run stops acting before the Lambda deadline, after `max_actions`, or when IAM keeps
throttling, and the summary names what is left for the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from remediator.aws import THROTTLED, AwsClients, error_code
from remediator.config import Settings
from remediator.engine import act
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Mode, Outcome, Resource, Severity
from remediator.notify import publish
from remediator.rules.base import EvalContext
from remediator.state import LiveState
from remediator.store import resource_key, track_outcome
from remediator.sweep.checks import CONSOLE_MFA, WARNING_RULES, find_offenders
from remediator.sweep.coverage import Watched, coverage_findings
from remediator.sweep.exposure import exposure_findings
from remediator.sweep.report import fetch_report, parse_report
from remediator.sweep.summary import SweepReport, summary_request

if TYPE_CHECKING:
    from remediator.store import FindingsStore

__all__ = ["SweepReport", "run_sweep"]

SELF_CHECK_SECONDS = 20  # stop acting this long before the deadline: the summary still has to go out


def scheduled_record(account: str) -> CloudTrailRecord:
    """What `exemption_for` sees for a scheduled finding: no caller (nobody's break-glass status applies but
    the offender's own), in the swept account."""
    return CloudTrailRecord(
        eventName="GetCredentialReport", eventSource="iam.amazonaws.com", recipientAccountId=account
    )


def _open_warnings(store: FindingsStore | None) -> dict[tuple[str, str], datetime]:
    if store is None:
        return {}
    return {(rule, item.user): item.due_at for rule in WARNING_RULES for item in store.open_findings(rule)}


def _close_resolved(
    store: FindingsStore | None, warned: dict[tuple[str, str], datetime], findings: list[Finding], account: str
) -> list[str]:
    """Open warnings whose user no longer offends (MFA enrolled, key rotated, user gone) are closed."""
    if store is None:
        return []
    still = {(f.rule, f.resource.name) for f in findings}
    closed = []
    for rule, user in warned:
        if (rule, user) not in still:
            store.close(resource_key(Resource("user", user, account)), rule, "sweep: no longer offending")
            closed.append(f"{rule}:{user}")
    return closed


def apply_exemptions(findings: list[Finding], context: EvalContext, account: str) -> None:
    """The events' exemption, per finding: break-glass, then the offender's exemption tag (read once per
    offending user, never for the others); a tag AWS will not show us means "not acting on a guess"."""
    record = scheduled_record(account)
    for finding in findings:
        if finding.rule == "coverage":
            continue
        resource = finding.resource
        exemption = exemption_for(context, record, resource.kind, finding.details.get("user"), resource.arn)
        finding.reason, finding.action = exemption.applied_to(finding.reason, finding.action)
        finding.exempt, finding.exempt_reason = exemption.exempt, exemption.reason
        if exemption.unreadable:
            finding.details.pop("grace_hours", None)  # nothing will be acted on: no warning to follow up


def _changes(finding: Finding) -> bool:
    """Whether `act` would change something now (and so counts against the run's limits)."""
    return (
        finding.mode == Mode.REMEDIATE
        and bool(finding.action)
        and not finding.exempt
        and not finding.details.get("grace_hours")
    )


def _announce(finding: Finding, result: ActionResult) -> bool:
    """Its own message: a change made or failed, or anything critical (root, coverage); the rest is in the summary."""
    return result.outcome in {Outcome.VERIFIED, Outcome.FAILED} or finding.severity == Severity.CRITICAL


def run_sweep(
    aws: AwsClients,
    settings: Settings,
    *,
    store: FindingsStore | None = None,
    remaining_seconds: Callable[[], float] = lambda: float("inf"),
    max_actions: int = 500,
    watched: Watched | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    exposure: bool = True,
    publish_summary: bool = True,
) -> SweepReport:
    """The whole sweep. Messages go to `settings.topic_arn` when set; `watched` turns the coverage check on;
    `exposure` the checks of what is already exposed (sweep/exposure.py: notify only); without `publish_summary`
    the caller sums runs up itself (the organization sweep)."""
    now = now or datetime.now(UTC)
    generated, text = fetch_report(aws.iam, sleep=sleep)
    rows = parse_report(text)
    report = SweepReport(
        report_generated=generated,
        users=sum(not row.is_root for row in rows),
        modes={"sweep": str(settings.sweep_mode), CONSOLE_MFA: str(settings.mode_of(CONSOLE_MFA))},
    )
    report.account = next((row.account for row in rows), "unknown")
    warned = _open_warnings(store)
    report.findings = find_offenders(rows, settings, now, warned)
    report.closed = _close_resolved(store, warned, report.findings, report.account)
    if exposure:
        report.findings += exposure_findings(aws, report.account, settings.public_ingress_ports)
    apply_exemptions(report.findings, EvalContext(settings, LiveState(aws.iam)), report.account)
    if watched is not None:
        report.findings = coverage_findings(aws, watched, report.account) + report.findings

    for finding in report.findings:
        changes = _changes(finding)
        if (
            changes
            and report.stopped_because is None
            and (len(report.actions) >= max_actions or remaining_seconds() < SELF_CHECK_SECONDS)
        ):
            report.stopped_because = (
                "the action limit per sweep" if len(report.actions) >= max_actions else "the function's time limit"
            )
        if changes and report.stopped_because is not None:
            report.left.append(finding)
            continue
        try:
            result = act(finding, aws, store)
        except ClientError as error:
            if error_code(error) not in THROTTLED:
                result = ActionResult(Outcome.FAILED, f"could not {finding.action}.", f"{error_code(error)}: {error}")
            else:  # throttled even after adaptive retries: leave the rest for next time
                report.stopped_because = f"IAM throttling ({error_code(error)})"
                report.left.append(finding)
                continue
        if changes:
            report.actions.append((finding, result))
        already_warned = (finding.rule, finding.resource.name) in warned and "grace_hours" in finding.details
        if store is not None and not already_warned:
            track_outcome(store, finding, result)
        if settings.topic_arn and _announce(finding, result):
            publish(aws.sns, settings.topic_arn, finding, None, result)
            report.messages += 1
    if settings.topic_arn and publish_summary:
        aws.sns.publish(**summary_request(settings.topic_arn, report))
    return report
