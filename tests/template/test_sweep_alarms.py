"""A sweep that silently stops running is itself a finding: the stack alarms when it has not run."""

from __future__ import annotations

import pytest

from tests.template.conftest import Resolver

DAY, HOUR = 86400, 3600


@pytest.mark.parametrize(
    "rate, interval",
    [
        ("rate(1 day)", DAY),
        ("rate(3 days)", 3 * DAY),
        ("rate(1 hour)", HOUR),
        ("rate(6 hours)", 6 * HOUR),
        ("rate(84 hours)", 84 * HOUR),
        ("cron(0 3 * * ? *)", DAY),  # a cron() schedule is assumed to run daily
    ],
)
def test_the_alarm_fires_after_two_missed_runs_at_the_sweep_rate(cfn_template, rate, interval) -> None:
    alarm = Resolver(cfn_template, {"SweepRate": rate})(cfn_template["Resources"]["SweepNotRunAlarm"]["Properties"])
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "ref:SweepFunction"}]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    window = int(alarm["Period"]) * int(alarm["EvaluationPeriods"])
    assert window == 2 * interval, rate
    assert window <= 7 * DAY and int(alarm["Period"]) % 60 == 0  # what CloudWatch accepts


def test_no_alarm_before_the_first_sweep_and_one_when_it_stops(cfn_template) -> None:
    """Invocations has no datapoint at all until the first run, and none after the schedule stops. With
    `missing`, a new alarm stays INSUFFICIENT_DATA (no transition, no action) until the first run; a sweep that
    stops takes it from OK to INSUFFICIENT_DATA, and that transition notifies."""
    alarm = Resolver(cfn_template)(cfn_template["Resources"]["SweepNotRunAlarm"]["Properties"])
    assert alarm["TreatMissingData"] == "missing"
    assert alarm["InsufficientDataActions"] == ["ref:FindingsTopic"]
    assert alarm["AlarmActions"] == ["ref:FindingsTopic"]
