"""`remediator exempt add | list | expire` against a moto account: what it writes, what it refuses, and that
expiring keeps the entry as history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from remediator.cli import main
from remediator.exemption_admin import MAX_EXEMPTION_DAYS
from remediator.exemption_list import ExemptionEntry, table_definition

A = "123456789012"
ROLE = f"arn:aws:iam::{A}:role/vendor-sync"
TODAY = datetime.now(UTC).date()
SOON = (TODAY + timedelta(days=30)).isoformat()


@pytest.fixture
def table():
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_definition("exemptions"))
        yield dynamodb


def _add(
    *extra: str,
    pattern: str = ROLE,
    rule: str = "role_trust",
    reason: str = "vendor sync, SEC-12",
    expires: str = SOON,
    approver: str = "Dana Ito",
) -> int:
    return main(
        [
            "exempt",
            "add",
            "--table",
            "exemptions",
            "--pattern",
            pattern,
            "--rule",
            rule,
            "--reason",
            reason,
            "--expires",
            expires,
            "--approver",
            approver,
            *extra,
        ]
    )


def _items(dynamodb) -> list[dict]:
    return dynamodb.scan(TableName="exemptions")["Items"]


def test_add_writes_an_entry_the_functions_read_and_list_shows_it(table, capsys) -> None:
    assert _add() == 0
    [item] = _items(table)
    entry = ExemptionEntry.from_item(item)
    assert entry is not None and (entry.pattern, entry.rule, entry.expires, entry.approver) == (
        ROLE,
        "role_trust",
        SOON,
        "Dana Ito",
    )
    assert entry.added_by == f"arn:aws:sts::{A}:user/moto"  # who ran the command, from STS
    capsys.readouterr()
    assert main(["exempt", "list", "--table", "exemptions"]) == 0
    line = capsys.readouterr().out.strip()
    assert ROLE in line and f"until={SOON}" in line and "[EXPIRED]" not in line


def test_expire_ends_it_now_and_keeps_it_as_history(table, capsys) -> None:
    assert _add() == 0
    assert main(["exempt", "expire", "--table", "exemptions", "--pattern", ROLE, "--rule", "role_trust"]) == 0
    [item] = _items(table)
    assert item["expiry_was"]["S"] == SOON and item["expired_by"]["S"].endswith(":user/moto")
    entry = ExemptionEntry.from_item(item)
    assert entry is not None and not entry.active(datetime.now(UTC) + timedelta(seconds=1))
    capsys.readouterr()
    main(["exempt", "list", "--table", "exemptions"])
    assert "[EXPIRED]" in capsys.readouterr().out
    assert main(["exempt", "expire", "--table", "exemptions", "--pattern", ROLE, "--rule", "role_trust"]) == 1

    assert _add() == 0  # approved again: a new entry beside the expired one
    assert len(_items(table)) == 2


@pytest.mark.parametrize(
    "overrides, why",
    [
        ({"pattern": "*"}, "not an ARN pattern"),
        ({"pattern": f"arn:aws:iam::{A}:*"}, "would exempt every resource"),
        ({"pattern": f"arn:aws:iam::{A}:role/*"}, "would exempt every role"),
        ({"pattern": "arn:aws:iam::*:role/vendor-sync"}, "no wildcards there"),
        ({"pattern": f"arn:aws:sts::{A}:assumed-role/vendor-sync/s"}, "name the role"),
        ({"pattern": f"arn:aws:iam::{A}:role/vendors/*"}, "IAM paths are chosen"),
        ({"pattern": f"arn:aws:sts::{A}:user/moto"}, "nobody may exempt themselves"),
        ({"rule": "no_such_rule"}, "unknown rule"),
        ({"reason": "  "}, "needs a reason"),
        ({"approver": ""}, "needs a reason and the name of whoever approved it"),
        ({"expires": MAX_EXEMPTION_DAYS + 1}, "days from now"),
        ({"expires": -1}, "between today"),
        ({"expires": "next year"}, "YYYY-MM-DD"),
    ],
)
def test_add_refuses_entries_that_weaken_the_list(table, capsys, overrides, why) -> None:
    if isinstance(overrides.get("expires"), int):  # days from the day the test runs, not the day it was collected
        overrides = {"expires": (datetime.now(UTC).date() + timedelta(days=overrides["expires"])).isoformat()}
    assert _add(**overrides) == 2
    err = capsys.readouterr().err
    assert "refused" in err and why in err
    assert _items(table) == []


def test_add_requires_every_field(table) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "exempt",
                "add",
                "--table",
                "exemptions",
                "--pattern",
                ROLE,
                "--rule",
                "role_trust",
                "--reason",
                "r",
                "--approver",
                "a",
            ]
        )  # no --expires


def test_the_table_is_found_from_the_stack_output(table, capsys) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ExemptionsTableName": {"Value": "exemptions"}},
    }
    boto3.client("cloudformation").create_stack(StackName="compliance-remediator", TemplateBody=json.dumps(template))
    assert (
        main(["exempt", "add", "--pattern", ROLE, "--rule", "*", "--reason", "r", "--expires", SOON, "--approver", "a"])
        == 0
    )
    assert len(_items(table)) == 1
    assert main(["exempt", "list", "--stack", "not-deployed"]) == 2
    assert "not-deployed" in capsys.readouterr().err


def test_evaluate_reads_the_list_only_with_live(table, capsys, monkeypatch) -> None:
    """Dry run: no account, no list (the reason says what was assumed); --live: the list EXEMPTIONS_TABLE names."""
    from tests.conftest import EVENTS

    bob = f"arn:aws:iam::{A}:user/bob"
    entry = ExemptionEntry(bob, "access_keys", "CI key rotation", SOON, "Dana Ito", added_at="2026-11-01T00:00:00Z")
    table.put_item(TableName="exemptions", Item=entry.as_item())
    boto3.client("iam").create_user(UserName="bob")
    monkeypatch.setenv("EXEMPTIONS_TABLE", "exemptions")
    event = str(EVENTS / "create-access-key-for-another-user.json")

    assert main(["evaluate", "--json", event]) == 0
    [dry] = json.loads(capsys.readouterr().out)["findings"]
    assert dry["exempt"] is False and "State assumed (dry run): the user exists and has no exemption." in dry["reason"]

    assert main(["evaluate", "--json", "--live", event]) == 0
    [live] = json.loads(capsys.readouterr().out)["findings"]
    assert live["exempt"] is True and f"exemption {bob} for access_keys (CI key rotation" in live["reason"]
