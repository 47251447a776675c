"""Reading CloudTrail leniently: only eventName and eventSource are required (SPEC §1)."""

from __future__ import annotations

import gzip
import json

import pytest

from remediator.events import MalformedRecord, parse_envelope, parse_record, read_event_file
from tests.conftest import load_event


def test_envelope_gives_the_record_with_caller_and_account() -> None:
    record = parse_envelope(load_event("create-access-key-for-another-user.json"))
    assert record.eventName == "CreateAccessKey"
    assert record.identity.userName == "alice"
    assert record.account == "123456789012"
    assert record.event_time is not None and record.event_time.year == 2026


@pytest.mark.parametrize(
    "event, problem",
    [
        ({"version": "0", "source": "aws.iam"}, "envelope has no detail"),
        ({"detail": {"eventSource": "iam.amazonaws.com"}}, "eventName"),
        ({"detail": {"eventName": 7, "eventSource": "iam.amazonaws.com"}}, "eventName"),
        (
            {"detail": {"eventName": "CreateUser", "eventSource": "iam.amazonaws.com", "requestParameters": [1]}},
            "requestParameters",
        ),
        ({"detail": "CreateUser"}, "not an object"),
        ([], "not an object"),
    ],
)
def test_bad_input_names_what_is_wrong(event: object, problem: str) -> None:
    with pytest.raises(MalformedRecord, match=problem):
        parse_envelope(event)


def test_optional_fields_may_be_missing_null_or_odd() -> None:
    record = parse_record(
        {
            "eventName": "CreateUser",
            "eventSource": "iam.amazonaws.com",
            "requestParameters": None,
            "eventTime": "redacted",
            "recipientAccountId": 123456789012,
        }
    )
    assert record.params == {}
    assert record.event_time is None
    assert record.account == "123456789012"
    assert record.identity.display_name == "unknown caller"


def test_lower_case_identity_keys_are_understood() -> None:
    record = parse_record(
        {
            "eventName": "X",
            "eventSource": "iam.amazonaws.com",
            "userIdentity": {
                "type": "AssumedRole",
                "principalid": "AROA:x",
                "sessioncontext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/r"}},
            },
        }
    )
    assert record.identity.issuer_arn == "arn:aws:iam::1:role/r"


def test_failed_sign_in_counts_as_failed_without_error_code() -> None:
    record = parse_record(
        {
            "eventName": "ConsoleLogin",
            "eventSource": "signin.amazonaws.com",
            "responseElements": {"ConsoleLogin": "Failure"},
        }
    )
    assert record.failed
    assert not parse_record(
        {
            "eventName": "ConsoleLogin",
            "eventSource": "signin.amazonaws.com",
            "responseElements": {"ConsoleLogin": "Success"},
        }
    ).failed


def test_trail_log_files_plain_and_gzipped(tmp_path) -> None:
    records = [
        load_event("create-own-access-key.json")["detail"],
        {"eventName": "ListUsers", "eventSource": "iam.amazonaws.com"},
    ]
    plain, zipped = tmp_path / "log.json", tmp_path / "log.json.gz"
    plain.write_text(json.dumps({"Records": records}))
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, zipped):
        is_log, items = read_event_file(str(path))
        assert is_log and [item["eventName"] for item in items] == ["CreateAccessKey", "ListUsers"]


@pytest.mark.parametrize(
    "content, problem",
    [(b"{not json", "not JSON"), (b'{"hello": 1}', "no CloudTrail record"), (b"[]", "no CloudTrail record")],
)
def test_unreadable_files_raise_a_clear_error(tmp_path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=problem):
        read_event_file(str(path))


def test_each_rule_module_is_named_by_its_id_and_a_function_imports_only_its_own() -> None:
    import subprocess
    import sys

    from remediator.rules import RULES

    assert all(module.META.id == rule_id for rule_id, module in RULES.items())
    probe = (
        "import sys; from remediator.runtime import make_handler; make_handler('access_keys'); "
        "print(sorted(m for m in sys.modules if m.startswith('remediator.rules.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "remediator.rules.access_keys" in loaded and "remediator.rules.admin_grants" not in loaded


def test_xray_is_imported_only_when_the_stack_enables_tracing() -> None:
    import os
    import subprocess
    import sys

    probe = (
        "import sys; from remediator.runtime import make_handler; h = make_handler('access_keys'); "
        "print('aws_xray_sdk' in sys.modules)"
    )
    for setting, expected in (("true", "False"), ("", "False"), ("false", "True")):
        env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": setting}
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == expected.split(), setting


def test_no_model_library_is_imported_by_a_handler_or_its_first_event() -> None:
    """A cold start pays for boto3 and powertools' logger and metrics only: records are read as dicts, so neither
    pydantic nor powertools' parser (nor its idempotency utility) is on a handler's import path."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(ROOT / 'functions/access_keys/app.py')!r})\n"
        "app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)\n"
        "from remediator.events import parse_envelope\n"
        f"parse_envelope(json.load(open({str(ROOT / 'events/create-access-key-for-another-user.json')!r})))\n"
        "print(sorted(m for m in ('pydantic', 'aws_lambda_powertools.utilities.parser',"
        " 'aws_lambda_powertools.utilities.idempotency') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]"]
