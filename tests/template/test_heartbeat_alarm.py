"""Events that stop arriving are themselves a finding: an alarm fires when no event reached any function for
HeartbeatHours, on the metric every invocation emits."""

from __future__ import annotations

import json

import pytest

from remediator.runtime import HEARTBEAT_DIMENSIONS, HEARTBEAT_METRIC, NAMESPACE, count_event_received
from tests.template.conftest import Resolver


@pytest.mark.parametrize("hours", ["24", "6", "168"])
def test_the_heartbeat_alarm_fires_after_heartbeat_hours_without_an_event(cfn_template, hours) -> None:
    alarm = Resolver(cfn_template, {"HeartbeatHours": hours})(cfn_template["Resources"]["HeartbeatAlarm"]["Properties"])
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, HEARTBEAT_METRIC)
    assert alarm["Dimensions"] == [{"Name": name, "Value": value} for name, value in HEARTBEAT_DIMENSIONS.items()]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "breaching"  # no datapoint at all is the failure we look for
    assert alarm["Period"] * int(alarm["EvaluationPeriods"]) == int(hours) * 3600  # the window is N hours
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]  # every hour of it empty
    assert alarm["AlarmActions"] == ["ref:FindingsTopic"]


def test_heartbeat_hours_defaults_to_a_day_within_cloudwatchs_seven_days(cfn_template) -> None:
    parameter = cfn_template["Parameters"]["HeartbeatHours"]
    assert parameter["Default"] == 24 and parameter["MinValue"] == 1 and parameter["MaxValue"] * 3600 <= 7 * 86400


def test_each_invocation_emits_the_metric_the_alarm_watches(capsys, monkeypatch) -> None:
    """The function's own service dimension would split the heartbeat per function: the stack-wide one is kept."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "access_keys")
    count_event_received()
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE and directive["Metrics"][0]["Name"] == HEARTBEAT_METRIC
    assert directive["Dimensions"] == [list(HEARTBEAT_DIMENSIONS)]
    assert {name: document[name] for name in HEARTBEAT_DIMENSIONS} == HEARTBEAT_DIMENSIONS
    assert document[HEARTBEAT_METRIC] == [1.0]
