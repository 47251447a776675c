"""`remediator replay` (and `evaluate` reading the same sources): folders, S3, lookup-events, Athena, windows."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from remediator.cli import main
from remediator.config import Settings
from remediator.replay import Progress, Summary, live_check, replay
from remediator.rules import rules_for
from remediator.rules.base import EvalContext
from remediator.sources import SourceOptions, Window, athena_query, athena_rows, parse_when, read_sources
from remediator.state import AssumedState
from tests.conftest import EVENTS, load_event

CONTEXT = EvalContext(Settings(live=False), AssumedState())
ACCOUNT = "123456789012"


def _record(name: str, **changes: object) -> dict:
    record = copy.deepcopy(load_event(name)["detail"])
    record.update(changes)
    return record


def _noise(n: int) -> dict:
    return {
        "eventName": "DescribeInstances",
        "eventSource": "ec2.amazonaws.com",
        "eventTime": "2026-11-24T12:00:00Z",
        "recipientAccountId": ACCOUNT,
        "eventID": f"noise-{n}",
        "userIdentity": {"type": "IAMUser"},
    }


def _log(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return path


def _trail(tmp_path: Path) -> Path:
    """A trail folder as CloudTrail writes it, with a digest, a corrupt file and a folder named like a log."""
    day = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "11" / "24"
    _log(
        day / f"{ACCOUNT}_CloudTrail_us-east-1_20261124T0915Z_a.json.gz",
        [_record("create-access-key-for-another-user.json"), _noise(1), _noise(2)],
    )
    _log(
        day / "deeper" / f"{ACCOUNT}_CloudTrail_us-east-1_20261124T1000Z_b.json.gz",
        [
            _record("attach-administrator-access-to-user.json"),
            _record("create-access-key-for-break-glass-user.json"),
            _record("root-list-buckets-read-only.json"),
            _noise(3),
        ],
    )
    _log(day.parent.parent / "CloudTrail-Digest" / f"{ACCOUNT}_CloudTrail-Digest_us-east-1_x.json.gz", [])
    (day / "truncated.json.gz").write_bytes(gzip.compress(b'{"Records": []}')[:12])
    (day / "odd.json.gz").mkdir()
    return tmp_path / "AWSLogs"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_trail_folder_is_read_recursively_and_summarised_per_rule(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BREAK_GLASS_ARNS", f"arn:aws:iam::{ACCOUNT}:user/break-glass")
    status, out, err = run(capsys, "replay", "--summary-json", str(_trail(tmp_path)))
    assert status == 2  # two unreadable entries, named on stderr; the rest was read
    lines = err.splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert any("odd.json.gz: is a directory, not a log file" in line for line in lines)
    assert any("truncated.json.gz: corrupt or truncated gzip" in line for line in lines)
    summary = json.loads(out)
    assert (summary["files"], summary["records"]) == (2, 7)
    assert summary["skipped"] == {"no rule reacts": 3}
    keys, admin, root = (summary["rules"][rule] for rule in ("access_keys", "admin_grants", "root_activity"))
    assert (keys["findings"], keys["exempt"], keys["would_revert"]) == (2, 1, 1)
    assert keys["top_principals"][0] == [f"arn:aws:iam::{ACCOUNT}:user/alice", 2]
    assert (admin["findings"], admin["would_revert"]) == (1, 1)
    assert (root["findings"], root["would_revert"]) == (1, 0)  # notify only: nothing to revert


def test_the_text_summary_names_rules_principals_and_resources(capsys, tmp_path) -> None:
    status, out, _ = run(capsys, "replay", str(_trail(tmp_path)))
    assert status == 2
    assert "Replayed 7 records from 2 files" in out
    assert "3 no rule reacts" in out
    row = next(line for line in out.splitlines() if line.startswith("access_keys "))
    assert row.split()[1:4] == ["2", "0", "2"]
    assert f"top resources:  arn:aws:iam::{ACCOUNT}:user/bob (1)" in out


def test_json_gives_the_evaluate_line_per_record_and_csv_a_row_per_finding(capsys, tmp_path) -> None:
    log = _log(tmp_path / "a.json.gz", [_record("create-user.json"), _noise(1)])
    _, replayed, _ = run(capsys, "replay", "--json", str(log))
    _, evaluated, _ = run(capsys, "evaluate", "--json", str(log))
    assert replayed == evaluated and len(replayed.splitlines()) == 2
    assert json.loads(replayed.splitlines()[1])["skipped"] == "no rule for DescribeInstances"
    _, table, _ = run(capsys, "replay", "--csv", str(log))
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [row["rule"] for row in rows] == ["iam_user_sprawl", ""]
    assert rows[0]["source"] == f"{log}#1" and rows[0]["resource"].endswith(":user/deploy-bot")


def test_lookup_events_output_is_read(capsys, tmp_path) -> None:
    looked_up = {
        "Events": [
            {"EventId": "1", "EventName": "CreateUser", "CloudTrailEvent": json.dumps(_record("create-user.json"))},
            {"EventId": "2", "CloudTrailEvent": "{not json"},
        ]
    }
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps(looked_up))
    status, out, _ = run(capsys, "evaluate", "--json", str(path))
    first, second = (json.loads(line) for line in out.splitlines())
    assert status == 0 and first["findings"][0]["rule"] == "iam_user_sprawl"
    assert second["skipped"].startswith("malformed")


def test_since_until_and_account_keep_only_the_window(capsys, tmp_path) -> None:
    log = _log(
        tmp_path / "a.json.gz",
        [
            _record("create-user.json", eventTime="2026-11-01T00:00:00Z"),
            _record("create-user.json", eventTime="2026-11-24T10:00:00Z"),
            _record("create-user.json", eventTime="2026-11-24T10:00:00Z", recipientAccountId="210987654321"),
            _record("create-user.json", eventTime="2026-12-02T00:00:00Z"),
        ],
    )
    status, out, _ = run(
        capsys,
        "replay",
        "--summary-json",
        "--since",
        "2026-11-20",
        "--until",
        "2026-12-01",
        "--account",
        ACCOUNT,
        str(log),
    )
    summary = json.loads(out)
    assert status == 0 and summary["records"] == 1 and summary["outside_window"] == 3
    _, out, _ = run(capsys, "evaluate", "--json", "--since", "2026-11-20", str(log))
    assert len(out.splitlines()) == 3
    assert parse_when("7d").tzinfo is not None
    status, _, err = run(capsys, "replay", "--since", "last tuesday", str(log))
    assert status == 2 and "not an ISO date" in err


def test_an_s3_prefix_is_read_object_by_object_and_days_outside_the_window_are_not_fetched(capsys) -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="trail")
        for day in ("01", "24"):
            key = f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/{day}/{ACCOUNT}_CloudTrail_x_{day}.json.gz"
            record = _record("create-user.json", eventTime=f"2026-11-{day}T10:00:00Z")
            s3.put_object(Bucket="trail", Key=key, Body=gzip.compress(json.dumps({"Records": [record]}).encode()))
        s3.put_object(Bucket="trail", Key=f"AWSLogs/{ACCOUNT}/CloudTrail/bad.json.gz", Body=b"\x1f\x8bxx")
        fetched: list[str] = []
        s3.meta.events.register("before-call.s3.GetObject", lambda params, **_: fetched.append(params["url_path"]))
        items = list(
            read_sources(
                SourceOptions(["s3://trail/AWSLogs/"]), Window(since=parse_when("2026-11-20")), client=lambda name: s3
            )
        )
    batches = [item for item in items if hasattr(item, "records")]
    errors = [item for item in items if hasattr(item, "error")]
    assert [b.source.rsplit("/", 1)[-1] for b in batches] == [f"{ACCOUNT}_CloudTrail_x_24.json.gz"]
    assert len(errors) == 1 and "corrupt or truncated gzip" in errors[0].error
    assert not any(key.endswith("_01.json.gz") for key in fetched)


def test_athena_sql_selects_exactly_what_the_rules_react_to() -> None:
    sql = athena_query("cloudtrail.logs", Window(parse_when("2026-11-01"), parse_when("2026-12-01"), ACCOUNT))
    names = {name for rule in rules_for() for trigger in rule.META.triggers for name in trigger.event_names}
    assert names and all(f"'{name}'" in sql for name in names)
    assert "useridentity.type IN ('Root')" in sql  # root_activity reacts to any call root makes
    assert "eventtime >= '2026-11-01T00:00:00Z'" in sql and "eventtime < '2026-12-01T00:00:00Z'" in sql
    assert f"recipientaccountid = '{ACCOUNT}'" in sql and 'FROM "cloudtrail"."logs"' in sql
    with pytest.raises(ValueError):
        athena_query("logs; DROP TABLE x")


COLUMNS = [
    "eventid",
    "eventtime",
    "eventsource",
    "eventname",
    "awsregion",
    "recipientaccountid",
    "useridentity",
    "requestparameters",
    "responseelements",
]


def _row(record: dict) -> dict:
    identity = {k.lower(): v for k, v in record["userIdentity"].items()}
    values = [
        record["eventID"],
        record["eventTime"],
        record["eventSource"],
        record["eventName"],
        record["awsRegion"],
        record["recipientAccountId"],
        json.dumps(identity),
        json.dumps(record.get("requestParameters")),
        json.dumps(record.get("responseElements")),
    ]
    return {"Data": [{"VarCharValue": value} for value in values]}


HEADER = {"Data": [{"VarCharValue": column} for column in COLUMNS]}


def test_athena_on_moto_decides_only_the_rows_returned(capsys) -> None:
    from moto.moto_api._internal.models import moto_api_backend

    with mock_aws():
        moto_api_backend.set_athena_result(
            rows=[HEADER, _row(_record("create-access-key-for-another-user.json")), _row(_record("create-user.json"))],
            column_info=[{"Name": column, "Type": "varchar"} for column in COLUMNS],
            account_id=ACCOUNT,
            region="us-east-1",
        )
        out, err = io.StringIO(), io.StringIO()
        status = replay(
            SourceOptions([], "cloudtrail.logs", "primary", "s3://results/"), CONTEXT, fmt="json", out=out, err=err
        )
        athena = boto3.client("athena")
        [query_id] = athena.list_query_executions()["QueryExecutionIds"]
        sql = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Query"]
    assert status == 0, err.getvalue()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["findings"][0]["rule"] for line in lines] == ["access_keys", "iam_user_sprawl"]
    assert lines[0]["source"] == f"athena:{query_id}#1"
    assert "alice" in lines[0]["findings"][0]["reason"]  # userIdentity came back from Athena's lower-case JSON
    assert "'CreateAccessKey'" in sql


def test_athena_results_are_paged_with_next_token() -> None:
    athena = boto3.client("athena", region_name="us-east-1")
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
        meta = {"ColumnInfo": [{"Name": c, "Type": "varchar"} for c in COLUMNS]}
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {"Rows": [HEADER, _row(_record("create-user.json"))], "ResultSetMetadata": meta},
                "NextToken": "page-2",
            },
        )
        stub.add_response(
            "get_query_results",
            {"ResultSet": {"Rows": [_row(_record("create-role-trusting-everyone.json"))], "ResultSetMetadata": meta}},
            {"QueryExecutionId": "q1", "MaxResults": 1000, "NextToken": "page-2"},
        )
        batches = list(athena_rows(athena, "db.t", "primary", None, sleep=lambda _: None))
    assert [(b.source, b.first_number, [r["eventName"] for r in b.records]) for b in batches] == [
        ("athena:q1", 1, ["CreateUser"]),
        ("athena:q1", 2, ["CreateRole"]),
    ]


def test_a_failed_athena_query_is_one_line() -> None:
    athena = boto3.client("athena", region_name="us-east-1")
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND"}}},
        )
        [item] = list(athena_rows(athena, "db.t", "primary", None))
    assert "FAILED: TABLE_NOT_FOUND" in item.error


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_stderr_only_on_a_terminal() -> None:
    ticks = iter(range(0, 100, 2))
    terminal, pipe = FakeTty(), io.StringIO()
    for err in (terminal, pipe):
        progress = Progress(err, clock=lambda: next(ticks))
        summary = Summary(records=1000, files=3)
        progress.tick(summary)
        progress.done()
    assert "replay: 1,000 records, 3 files" in terminal.getvalue() and pipe.getvalue() == ""


def _no_credentials(monkeypatch, tmp_path) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_live_without_credentials_is_one_line_and_fast(capsys, monkeypatch, tmp_path) -> None:
    _no_credentials(monkeypatch, tmp_path)
    started = time.monotonic()
    status, out, err = run(capsys, "replay", "--live", str(EVENTS / "create-user.json"))
    assert status == 2 and out == "" and time.monotonic() - started < 5
    assert len(err.splitlines()) == 1 and "needs AWS credentials" in err


def test_live_without_network_is_one_line_and_fast() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    problem = live_check(endpoint_url=f"http://127.0.0.1:{port}")
    assert problem and "cannot reach AWS" in problem and time.monotonic() - started < 5


def test_operator_tools_stay_off_the_lambda_import_path() -> None:
    """replay, its sources and redrive are operator tools: no function imports them, even on an event."""
    import subprocess
    import sys

    code = """
import json, sys
from pathlib import Path
from tests.conftest import load_function
from remediator_dev.demo import LocalLambdaContext
for name in ("access_keys", "console_mfa", "root_activity", "iam_user_sprawl", "role_trust", "admin_grants"):
    load_function(name)
from moto import mock_aws
with mock_aws():  # in-process: nothing leaves the machine
    handler = load_function("iam_user_sprawl").lambda_handler
    handler(json.loads(Path("events/create-user.json").read_text()), LocalLambdaContext())
print(sorted(m for m in sys.modules if m in ("remediator.replay", "remediator.sources", "remediator.redrive",
                                             "remediator.cli")))
"""
    env = {
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
