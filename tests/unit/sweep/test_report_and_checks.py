"""Credential report parsing on a real-shaped CSV (IAM User Guide columns and special values, root row
included: moto's report has no root row) and the scheduled rules' pure decisions: `Finding`s of the rules
whose concern they are, with the details those rules' remediations act on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from remediator.config import Settings
from remediator.findings import Finding, Mode
from remediator.sweep.checks import CONSOLE_MFA, KEY_AGE, ROOT, UNUSED, check_of, find_offenders
from remediator.sweep.report import parse_report

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,"
    "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
REPORT = (
    "\n".join(
        [
            HEADER,
            "<root_account>,arn:aws:iam::123456789012:root,2019-03-04T10:11:12+00:00,not_supported,"
            "2026-11-20T08:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,"
            "2026-11-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            # console user without MFA, password used recently
            "ana,arn:aws:iam::123456789012:user/ana,2026-01-01T00:00:00+00:00,true,2026-11-23T08:00:00+00:00,"
            "2026-01-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            # two active keys, the older 200 days old, both in use
            "ben,arn:aws:iam::123456789012:user/ben,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,"
            "2026-05-08T12:00:00+00:00,2026-11-23T00:00:00+00:00,eu-west-1,sts,true,2026-11-14T12:00:00+00:00,"
            "2026-11-23T00:00:00+00:00,eu-west-1,sts,false,N/A,false,N/A",
            # one old key in use
            "cai,arn:aws:iam::123456789012:user/cai,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,"
            "2026-07-27T12:00:00+00:00,2026-11-23T00:00:00+00:00,N/A,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            # password never used since 2025, a key never used
            "dee,arn:aws:iam::123456789012:user/dee,2025-02-01T00:00:00+00:00,true,no_information,"
            "2025-02-01T00:00:00+00:00,2025-05-02T00:00:00+00:00,true,true,2025-02-01T00:00:00+00:00,N/A,N/A,N/A,"
            "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            # console user with MFA, everything recent
            "eve,arn:aws:iam::123456789012:user/eve,2026-10-01T00:00:00+00:00,TRUE,2026-11-24T07:00:00+00:00,"
            "2026-10-01T00:00:00+00:00,N/A,TRUE,FALSE,N/A,N/A,N/A,N/A,FALSE,N/A,N/A,N/A,N/A,FALSE,N/A,FALSE,N/A",
        ]
    )
    + "\n"
)


def test_parse_documented_special_values() -> None:
    rows = {row.user: row for row in parse_report(REPORT)}
    root = rows["<root_account>"]
    assert root.is_root and root.password_enabled is None and root.account == "123456789012"
    assert [k.active for k in root.keys] == [True, False]
    assert rows["dee"].password_last_used is None and rows["dee"].keys[0].last_used is None
    assert rows["eve"].password_enabled is True and rows["eve"].mfa_active is True  # upper-case booleans
    assert rows["ben"].keys[1].last_rotated == datetime(2026, 11, 14, 12, tzinfo=UTC)


def test_a_report_missing_columns_reads_as_no_value() -> None:
    [row] = parse_report("user,arn,mfa_active\nzed,arn:aws:iam::1:user/zed,false\n")
    assert row.password_enabled is None and row.active_keys == []


def _by(found: list[Finding]) -> dict[tuple[str, str], Finding]:
    return {(check_of(f), f.resource.name): f for f in found}


def test_checks_per_user() -> None:
    found = find_offenders(parse_report(REPORT), Settings(), NOW, {})
    by = _by(found)
    assert all(isinstance(f, Finding) for f in found)
    assert set(by) == {(ROOT, "root"), (CONSOLE_MFA, "ana"), (KEY_AGE, "ben"), (KEY_AGE, "cai"), (UNUSED, "dee")}
    assert {(check_of(f), f.rule) for f in found} == {
        (ROOT, "root_activity"),
        (CONSOLE_MFA, "console_mfa"),
        (KEY_AGE, "access_keys"),
        (UNUSED, "access_keys"),
        (UNUSED, "console_mfa"),
    }
    assert len([f for f in found if check_of(f) == ROOT]) == 2  # active key and no MFA
    assert all(f.action is None and f.severity == "critical" for f in found if check_of(f) == ROOT)
    ben, cai, ana = by[KEY_AGE, "ben"], by[KEY_AGE, "cai"], by[CONSOLE_MFA, "ana"]
    assert "grace_hours" not in ben.details and ben.details["key_created"] == datetime(2026, 5, 8, 12, tzinfo=UTC)
    assert cai.details["grace_hours"] == 14 * 24 and cai.action.startswith("after the warning period")
    assert ana.details["grace_hours"] == 24
    dee = [f for f in found if f.resource.name == "dee"]
    assert {f.rule for f in dee} == {"access_keys", "console_mfa"}  # the unused password goes too
    assert next(f for f in dee if f.rule == "console_mfa").details["step"] == "delete_login_profile"


def test_modes_follow_the_sweep_or_console_mfa_and_off_drops_the_check() -> None:
    settings = Settings(modes={"console_mfa": Mode.REMEDIATE}, sweep_mode=Mode.OFF)
    found = find_offenders(parse_report(REPORT), settings, NOW, {})
    assert {check_of(f) for f in found} == {CONSOLE_MFA} and found[0].mode == Mode.REMEDIATE


def test_warning_period_over_means_act_now() -> None:
    warned = {("console_mfa", "ana"): NOW - timedelta(minutes=1), ("access_keys", "cai"): NOW + timedelta(days=3)}
    by = _by(find_offenders(parse_report(REPORT), Settings(), NOW, warned))
    assert "grace_hours" not in by[CONSOLE_MFA, "ana"].details and "grace_hours" in by[KEY_AGE, "cai"].details
    assert "warned; acted on after 2026-11-27" in by[KEY_AGE, "cai"].reason


def test_summary_message_has_default_text_and_attributes() -> None:
    from remediator.sweep.run import SweepReport
    from remediator.sweep.summary import summary_request

    report = SweepReport(
        account="123456789012", users=5, findings=find_offenders(parse_report(REPORT), Settings(), NOW, {})
    )
    request = summary_request("arn:aws:sns:us-east-1:123456789012:t", report)
    body = json.loads(request["Message"])
    assert body["default"] == body["email"] and "Top offenders" in body["default"]
    assert request["MessageAttributes"]["severity"]["StringValue"] == "critical"
    assert len(request["Subject"]) <= 100
