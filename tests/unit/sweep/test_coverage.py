"""Which trail settings count as "IAM write events are logged": read-only selectors do not."""

from __future__ import annotations

import pytest

from remediator.sweep.coverage import Watched, _logs_management_writes

CUSTOM = {"HasCustomEventSelectors": True}


@pytest.mark.parametrize(
    "selectors, logged",
    [
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}, True),
        ({"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, True),
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, False),
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, False),
        (
            {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]},
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    }
                ]
            },
            False,
        ),
        ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]}, False),
        ({"EventSelectors": [], "AdvancedEventSelectors": []}, False),  # custom selectors that select nothing
    ],
)
def test_management_writes_are_logged_only_by_selectors_that_include_them(selectors, logged) -> None:
    assert _logs_management_writes(CUSTOM, selectors) is logged


def test_a_trail_without_custom_selectors_logs_every_management_event() -> None:
    assert _logs_management_writes({"HasCustomEventSelectors": False}, {"EventSelectors": []})


def test_watched_rules_and_queues_come_from_the_environment() -> None:
    watched = Watched.from_env(
        {
            "WATCHED_RULES": "s-A-1=arn:aws:lambda:us-east-1:1:function:a, s-B-2=arn:b",
            "WATCHED_QUEUES": "https://sqs/1/q1,https://sqs/1/q2",
        }
    )
    assert watched.rules == {"s-A-1": "arn:aws:lambda:us-east-1:1:function:a", "s-B-2": "arn:b"}
    assert watched.queues == ("https://sqs/1/q1", "https://sqs/1/q2")
    assert Watched.from_env({}) == Watched()


def test_the_templates_compact_form_names_each_rule_function_and_queue() -> None:
    watched = Watched.from_env(
        {"WATCHED_FUNCTIONS": "access_keys:1,console_mfa:2", "STACK_NAME": "rem"},
        region="eu-west-1",
        account="111122223333",
    )
    function = "arn:aws:lambda:eu-west-1:111122223333:function:rem-"
    assert watched.rules == {
        "rem-access_keys-1": f"{function}access_keys",
        "rem-console_mfa-1": f"{function}console_mfa",
        "rem-console_mfa-2": f"{function}console_mfa",
    }
    queue = "https://sqs.eu-west-1.amazonaws.com/111122223333/rem-"
    assert watched.queues == (
        f"{queue}access_keys-rule-dlq",
        f"{queue}access_keys-function-dlq",
        f"{queue}console_mfa-rule-dlq",
        f"{queue}console_mfa-function-dlq",
        f"{queue}sweep-function-dlq",
        f"{queue}sweep-schedule-dlq",
    )
