"""The load benchmark's CI variant: 200 events, 20% of AWS requests throttled, retries without sleeping.
Every event is processed exactly once: none lost, each new key deactivated, one notification per key."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_burst_with_throttling_is_processed_exactly_once(monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "scripts" / "bench_load.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_load", bench)
    spec.loader.exec_module(bench)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "TOPIC_ARN",
        "MODE_ACCESS_KEYS",
        "IDEMPOTENCY_TABLE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "POWERTOOLS_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)  # run_load sets them; monkeypatch restores the test's values
        monkeypatch.setenv(name, "placeholder")
    from botocore.client import BaseClient
    from botocore.retries import bucket, standard

    for target, attribute in (
        (BaseClient, "__init__"),
        (standard.ExponentialBackoff, "delay_amount"),
        (bucket.TokenBucket, "acquire"),
    ):
        monkeypatch.setattr(target, attribute, getattr(target, attribute))  # undone after the test

    report = bench.run_load(200, throttle=0.2, duplicates=0.05, zero_sleep=True)
    assert report.throttles_injected > 100
    assert report.deliveries > report.events  # duplicates were delivered
    assert report.lost == 0 and report.dead_lettered == 0
    assert report.processed == 200
    assert report.keys_inactive == report.keys_expected > 50
    assert report.notifications == report.keys_expected and report.duplicated_notifications == 0
    assert set(report.skipped) == {"failed call", "malformed", "no rule for ListUsers"}
