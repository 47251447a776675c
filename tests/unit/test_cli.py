"""`remediator evaluate`: SPEC §2 output, one line per record in input order, exit codes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

from remediator.cli import main
from tests.conftest import EVENTS, load_event

SPEC_KEYS = ["source", "eventID", "eventName", "account", "skipped", "resolves", "findings"]
FINDING_KEYS = ["rule", "severity", "mode", "action", "exempt", "reason"]


def run(capsys, *args: str) -> tuple[int, list[dict], str]:
    status = main(["evaluate", "--json", *args])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_envelope_gives_one_spec_line(capsys) -> None:
    path = str(EVENTS / "create-access-key-for-another-user.json")
    status, [line], err = run(capsys, path)
    assert status == 0 and err == ""
    assert list(line) == SPEC_KEYS
    assert line["source"] == path and line["eventName"] == "CreateAccessKey" and line["account"] == "123456789012"
    assert line["skipped"] is None and line["resolves"] == []
    [finding] = line["findings"]
    assert list(finding) == FINDING_KEYS
    assert finding["rule"] == "access_keys" and finding["mode"] == "notify" and finding["exempt"] is False


def test_log_file_gives_one_line_per_record_in_order_and_bad_files_exit_2(capsys, tmp_path) -> None:
    records = [
        load_event("create-own-access-key.json")["detail"],
        {"eventName": "ListUsers", "eventSource": "iam.amazonaws.com"},
        {"eventName": "CreateAccessKey", "eventSource": "iam.amazonaws.com", "errorCode": "AccessDenied"},
        {"eventName": "CreateAccessKey", "eventSource": "iam.amazonaws.com", "userIdentity": "alice"},
    ]
    log = tmp_path / "123456789012_CloudTrail_us-east-1_20261124T0915Z_abc.json.gz"
    log.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    not_json, empty = tmp_path / "notes.txt", tmp_path / "empty.json"
    not_json.write_text("hello")
    empty.write_text("{}")
    status, lines, err = run(capsys, str(not_json), str(log), str(empty))
    assert status == 2
    assert [line["source"] for line in lines] == [f"{log}#{n}" for n in (1, 2, 3, 4)]
    assert [line["skipped"] for line in lines[1:3]] == ["no rule for ListUsers", "failed call"]
    assert lines[0]["findings"][0]["severity"] == "medium"
    assert lines[3]["skipped"].startswith("malformed: userIdentity")
    assert [row.split(":")[1].strip() for row in err.splitlines()] == [str(not_json), str(empty)]


def test_human_output_and_module_entry_point() -> None:
    command = [sys.executable, "-m", "remediator", "evaluate", str(EVENTS / "create-root-access-key.json")]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "access_keys CRITICAL (notify)" in result.stdout


def test_corrupt_gzip_deep_nesting_and_a_directory_get_one_line_each_and_the_rest_is_read(capsys, tmp_path) -> None:
    truncated = tmp_path / "truncated.json.gz"
    log = json.dumps({"Records": [load_event("create-user.json")["detail"]]}).encode()
    truncated.write_bytes(gzip.compress(log)[:30])
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50_000)
    folder = tmp_path / "folder"
    folder.mkdir()
    good = str(EVENTS / "create-user.json")
    assert main(["evaluate", "--json", str(truncated), str(deep), str(folder), good]) == 2
    out, err = capsys.readouterr()
    assert [json.loads(line)["eventName"] for line in out.splitlines()] == ["CreateUser"]
    errors = err.splitlines()
    assert len(errors) == 3 and "Traceback" not in err
    assert "truncated.json.gz: corrupt or truncated gzip" in errors[0]
    assert "deep.json: JSON nested too deeply" in errors[1]
    assert "folder:" in errors[2]
