"""A sweep that silently stops running is itself a finding: the stack alarms when it has not run."""

from __future__ import annotations

from tests.template.conftest import Resolver


def test_an_alarm_fires_when_the_sweep_has_not_run_for_two_days(cfn_template) -> None:
    alarm = Resolver(cfn_template)(cfn_template["Resources"]["SweepNotRunAlarm"]["Properties"])
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "ref:SweepFunction"}]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "breaching"  # no datapoint at all is the failure we look for
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 2 * 86400
    assert alarm["AlarmActions"] == ["ref:FindingsTopic"]
