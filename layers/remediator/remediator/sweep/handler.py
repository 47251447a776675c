"""Lambda glue for the scheduled sweep: an EventBridge Scheduler invocation, not a CloudTrail event."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.runtime import NAMESPACE, traced
from remediator.store import findings_store
from remediator.sweep.coverage import Watched
from remediator.sweep.run import run_sweep


def _watched(context: Any) -> Watched:
    """Our own rules and queues, named from the stack name and the partition, region and account of our ARN."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    if len(parts) < 5:
        return Watched.from_env(os.environ)
    return Watched.from_env(os.environ, partition=parts[1], region=parts[3], account=parts[4])


def make_sweep_handler(service: str = "sweep") -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The handler: one sweep per invocation, stopping to act 20 s before the function's deadline."""
    logger = Logger(service=service)
    metrics = Metrics(namespace=NAMESPACE, service=service)
    aws = AwsClients()

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = Settings.from_env()
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        report = run_sweep(
            aws,
            settings,
            store=findings_store(aws, settings.findings_table),
            remaining_seconds=(lambda: remaining() / 1000) if remaining else (lambda: float("inf")),
            watched=_watched(context),
        )
        summary = report.as_dict()
        if os.environ.get("MEMBER_ROLE_NAME", "").strip():  # organization mode: every member account too
            from remediator.sweep.members import sweep_members

            summary["members"] = sweep_members(
                aws,
                settings,
                store=findings_store(aws, settings.findings_table),
                remaining_seconds=(lambda: remaining() / 1000) if remaining else (lambda: float("inf")),
            ).as_dict()
        logger.info("sweep", extra={"sweep": summary})
        for check, count in summary["findings"].items():
            metrics.add_metric(name=f"Sweep_{check}", unit=MetricUnit.Count, value=count)
        metrics.add_metric(name="SweepActionsLeft", unit=MetricUnit.Count, value=summary["left"])
        return summary

    return traced(lambda_handler, service)
