"""Lambda glue shared by every function: parse, skip or decide, act, notify, log and count."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from remediator.accounts import Target, target_for
from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import FAILED_CALL, OWN_ACTION, decide, held_back
from remediator.events import CloudTrailRecord, MalformedRecord, parse_envelope
from remediator.exemption_list import ExemptionTable
from remediator.findings import Decision, Finding, Outcome
from remediator.notify import publish, publish_contested
from remediator.root_sessions import already_reported
from remediator.rules import FUNCTIONS, RULES, rules_for
from remediator.rules.base import EvalContext, iam_arn
from remediator.store import Claim, EventLedger, event_ledger, findings_store, resource_key, track_outcome

NAMESPACE = "ComplianceRemediator"
# The heartbeat: every function counts each invocation under one dimension value, so one alarm sees whether
# any IAM event reached the stack at all (HeartbeatAlarm: none for HeartbeatHours means we may be blind).
HEARTBEAT_METRIC = "EventsReceived"
HEARTBEAT_DIMENSIONS = {"service": "remediator"}
DUPLICATE = "duplicate delivery"
# The Lambda request being handled and when its time runs out (set by the handler; None outside Lambda): a claim
# in the event ledger names them, so Lambda's retry of an invocation that died can take its claim over.
INVOCATION: ContextVar[tuple[str | None, datetime | None]] = ContextVar("invocation", default=(None, None))


def count_event_received() -> None:
    """One EventsReceived datapoint, printed at once (EMF) under the stack-wide dimension, not the function's.
    Like every other metric, none when POWERTOOLS_METRICS_DISABLED says so (the demo's output is its report)."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=HEARTBEAT_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=HEARTBEAT_DIMENSIONS,
    ):
        pass


def _skip_metric(decision: Decision, record: CloudTrailRecord | None) -> str:
    if decision.skipped == FAILED_CALL:
        return "SkippedFailedCall" if record is not None and record.errorCode else "SkippedFailedSignIn"
    if decision.skipped == OWN_ACTION:
        return "SkippedOwnAction"
    if decision.skipped and decision.skipped.startswith("malformed"):
        return "SkippedMalformed"
    return "SkippedNoRule"


def exemption_list(aws: AwsClients, settings: Settings) -> ExemptionTable | None:
    """The stack's exemption table (read through a few-minute cache), when the stack names one. Its client is made
    when the list is first read, so an event no rule needs it for costs no DynamoDB client."""
    return ExemptionTable(lambda: aws.dynamodb, settings.exemptions_table) if settings.exemptions_table else None


def handle_event(
    event: Any, rule_ids: tuple[str, ...], *, settings: Settings, aws: AwsClients, logger: Logger, metrics: Metrics
) -> dict[str, Any]:
    """Process one EventBridge event. Bad input is a logged, counted skip; AWS outages raise (retry, DLQ)."""
    record: CloudTrailRecord | None = None
    try:
        parsed = parse_envelope(event)
    except MalformedRecord as error:
        decision = Decision(event_id=None, event_name=None, account=None, skipped=f"malformed: {error}")
    else:
        record = parsed
        target = target_for(parsed, aws, settings)  # organization mode: the event's account, through its member role
        decision = decide(parsed, EvalContext(target.settings, target.state(), exemption_list(aws, settings)), rule_ids)
    if decision.skipped:
        log = logger.warning if decision.skipped.startswith("malformed") else logger.info
        log("skipped", extra={"skipped": decision.skipped, "eventName": decision.event_name})
        metrics.add_metric(name=_skip_metric(decision, record), unit=MetricUnit.Count, value=1)
        return {"eventID": decision.event_id, "skipped": decision.skipped, "findings": []}

    assert record is not None
    store = findings_store(aws, settings.findings_table)
    ledger = _ledger(aws, settings, metrics) if decision.findings else None
    try:
        claims = _claim(ledger, decision.findings, record)
        if claims and all(claim.duplicate for claim in claims):
            logger.info(DUPLICATE, extra={"eventID": decision.event_id})
            metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
            return {"eventID": decision.event_id, "skipped": DUPLICATE, "findings": []}
        outcomes = _act_and_notify(decision.findings, claims, record, target, store, logger, metrics)
        resolved = {
            rule_id: RULES[rule_id].resolve(record, target.aws, target.settings, store) for rule_id in decision.resolves
        }
    except BaseException:
        if ledger is not None and (problems := ledger.release()):
            logger.error("could not release the event's claims", extra={"problems": problems})
        raise
    if decision.resolves:
        if os.environ.get("ENABLE_SECURITY_HUB", "").strip().lower() == "true":
            resolved.update(_resolve_in_security_hub(aws, record, decision.resolves))
        logger.info("resolves", extra={"resolves": decision.resolves, "resolved": resolved})
    return {
        "eventID": decision.event_id,
        "skipped": None,
        "findings": outcomes,
        "resolves": decision.resolves,
        "resolved": resolved,
    }


def _ledger(aws: AwsClients, settings: Settings, metrics: Metrics) -> EventLedger | None:
    request_id, deadline = INVOCATION.get()
    return event_ledger(
        aws,
        os.environ.get("IDEMPOTENCY_TABLE"),
        settings.findings_table,
        function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or metrics.service or "remediator",
        request_id=request_id,
        deadline=deadline,
    )


def _claim(ledger: EventLedger | None, findings: list[Finding], record: CloudTrailRecord) -> list[Claim]:
    """One conditional write per finding: claim the event (exactly once per function) and count the change
    the finding is about to make against its rule's budget on the resource. No ledger: nothing to claim."""
    if ledger is None:
        return []
    return [
        ledger.claim(
            resource_key(finding.resource),
            finding.rule,
            record.eventID,
            record.event_time,
            acts=held_back(finding) is None,
        )
        for finding in findings
    ]


def _act_and_notify(
    findings: list[Finding],
    claims: list[Claim],
    record: CloudTrailRecord,
    target: Target,
    store: Any,
    logger: Logger,
    metrics: Metrics,
) -> list[dict[str, Any]]:
    """Act in the event's account (`target`); notify, count and import into Security Hub from the hub."""
    settings, aws = target.settings, target.hub
    security_hub = os.environ.get("ENABLE_SECURITY_HUB", "").strip().lower() == "true"
    outcomes = []
    for position, finding in enumerate(findings):
        claim = claims[position] if claims else None
        if claim is not None and claim.duplicate:
            continue
        result = target.act(finding, store, claim)
        if store is not None:
            # The ledger counted the change; only a finding an event may later close is remembered.
            track_outcome(store, finding, result, counted=True, keeps_open=bool(RULES[finding.rule].META.resolved_by))
        logger.warning(
            "finding",
            extra={
                "finding": finding.as_spec(),
                "outcome": str(result.outcome),
                "detail": result.detail,
                "error": result.error,
            },
        )
        _count(metrics, "Findings", finding)
        if result.outcome in {Outcome.VERIFIED, Outcome.FAILED, Outcome.SKIPPED}:
            _count(metrics, f"Remediation{result.outcome.title()}", finding)
        elif result.outcome == Outcome.EXEMPT:
            _count(metrics, "FindingsExempt", finding)
        message_id = (
            publish(aws.sns, settings.topic_arn, finding, record, result)
            if settings.topic_arn and not already_reported(store, finding, record)
            else None
        )
        if result.contested:
            logger.error("contested resource", extra={"rule": finding.rule, "resource": finding.resource.name})
            metrics.add_metric(name="ContestedResources", unit=MetricUnit.Count, value=1)
            if settings.topic_arn:
                publish_contested(aws.sns, settings.topic_arn, finding, record)
        if security_hub:
            _to_security_hub(aws, finding, record, result, logger, metrics)
        outcomes.append(
            {**finding.as_spec(), "outcome": str(result.outcome), "detail": result.detail, "messageId": message_id}
        )
    return outcomes


def _count(metrics: Metrics, name: str, finding: Finding) -> None:
    """One metric per rule (dimensions service and rule): the dashboard draws each rule apart. A metric set
    has one dimension set, so these go out as single metrics instead of through `metrics.add_dimension`."""
    if is_metrics_disabled():  # single_metric prints even where Metrics is disabled (the local demo)
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": metrics.service or "remediator", "rule": finding.rule},
    ):
        pass


def _to_security_hub(
    aws: AwsClients, finding: Finding, record: CloudTrailRecord, result: Any, logger: Logger, metrics: Metrics
) -> None:
    """Import the finding into Security Hub (EnableSecurityHub); a failure is logged and counted, never raised."""
    from remediator.asff import import_finding

    problem = import_finding(aws, finding, record, result)
    if problem:
        logger.warning("security hub import failed", extra={"rule": finding.rule, "error": problem})
        metrics.add_metric(name="SecurityHubImportErrors", unit=MetricUnit.Count, value=1)


def _resolve_in_security_hub(aws: AwsClients, record: CloudTrailRecord, rule_ids: list[str]) -> dict[str, str]:
    """A resolving event (the user enrolled MFA) resolves the rule's open Security Hub findings on that user."""
    from remediator.asff import resolve_findings

    user = record.params.get("userName") or record.identity.userName
    arn = iam_arn(record, "user", user if isinstance(user, str) else None)
    if not arn:
        return {}
    return {
        f"{rule_id}:securityhub": f"{resolve_findings(aws, rule_id, arn, record.eventName)} findings resolved"
        for rule_id in rule_ids
    }


def make_handler(service: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler for one concern (`FUNCTIONS[service]`): powertools logs (correlation id = eventID) and
    metrics; exactly once per eventID through the event ledger when IDEMPOTENCY_TABLE or FINDINGS_TABLE is set."""
    rule_ids = FUNCTIONS[service]
    rules_for(rule_ids)  # import this function's rules during init, and only those
    logger = Logger(service=service)
    metrics = Metrics(namespace=NAMESPACE, service=service)
    aws = AwsClients()

    @logger.inject_lambda_context(correlation_id_path="detail.eventID", clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count_event_received()
        token = INVOCATION.set(_invocation(context))
        try:
            return handle_event(event, rule_ids, settings=Settings.from_env(), aws=aws, logger=logger, metrics=metrics)
        finally:
            INVOCATION.reset(token)

    lambda_handler.rule_ids = rule_ids  # type: ignore[attr-defined]
    return traced(lambda_handler, service)


def _invocation(context: Any) -> tuple[str | None, datetime | None]:
    """The request id and deadline of a Lambda invocation (what its claims name)."""
    request_id = getattr(context, "aws_request_id", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = datetime.now(UTC) + timedelta(milliseconds=remaining()) if callable(remaining) else None
    return (request_id if isinstance(request_id, str) else None), deadline


def traced(handler: Callable[..., Any], service: str) -> Callable[..., Any]:
    """X-Ray subsegments per AWS call when the stack enables tracing (EnableTracing sets
    POWERTOOLS_TRACE_DISABLED=false). Off by default, and then nothing of X-Ray is imported (~0.35 s)."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() != "false":
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer(service=service).capture_lambda_handler(handler)
