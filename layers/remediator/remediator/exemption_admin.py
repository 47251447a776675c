"""`remediator exempt add | list | expire`: change the central exemption list with your own credentials.

Only the exemption admins may write the table (its resource policy denies everyone else), and this command
refuses entries that would weaken it by accident: no reason, approver or expiry, an expiry more than
MAX_EXEMPTION_DAYS away, a pattern that covers a whole account, and an entry that would exempt its writer.
Expiring keeps the entry (expiry set to now) so the list stays an audit trail.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from remediator.arns import canonical, parse_arn, pattern_matches
from remediator.exemption_list import ALL_RULES, SORT_KEY, ExemptionEntry, ExemptionTable, forget_cached_entries
from remediator.rule_ids import RULE_IDS
from remediator.state import StateUnreadable

if TYPE_CHECKING:
    from remediator.aws import AwsClients

MAX_EXEMPTION_DAYS = 365  # an exemption is re-approved at least once a year
DEFAULT_STACK = "compliance-remediator"
TABLE_OUTPUT = "ExemptionsTableName"
ACCOUNT = re.compile(r"\d{12}")


class Refused(ValueError):
    """An entry this command will not write, with why."""


def check_pattern(pattern: str) -> str:
    """The pattern if it names something narrower than an account; Refused saying why otherwise."""
    arn = parse_arn(pattern)
    if arn is None:
        raise Refused(f"{pattern!r} is not an ARN pattern (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")
    if any(ch in field for field in (arn.partition, arn.service, arn.account) for ch in "*?") or (
        arn.account and not ACCOUNT.fullmatch(arn.account)
    ):
        raise Refused(f"{pattern}: name the partition, service and account exactly (no wildcards there)")
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        role = canonical(arn)
        raise Refused(f"{pattern}: session names are chosen by whoever assumes the role; name the role ({role})")
    kind, slash, rest = arn.resource.partition("/")
    literal = re.sub(r"[*?]", "", rest if slash else arn.resource)
    if not literal:
        what = kind if slash and kind.strip("*?") else "resource"
        raise Refused(
            f"{pattern} would exempt every {what} of the account; name the principal or "
            "resource (wildcards inside a name are allowed)"
        )
    if arn.service == "iam" and "/" in rest and any(ch in arn.resource for ch in "*?"):
        raise Refused(f"{pattern}: IAM paths are chosen by whoever creates the entity; name it without a path")
    return pattern


def new_entry(
    pattern: str, rule: str, reason: str, expires: str, approver: str, *, added_by: str, today: date, now: datetime
) -> ExemptionEntry:
    """A checked entry, or Refused."""
    check_pattern(pattern)
    if rule != ALL_RULES and rule not in RULE_IDS:
        raise Refused(f"unknown rule {rule!r}: one of {', '.join(RULE_IDS)}, or '*' for every rule")
    if not reason.strip() or not approver.strip():
        raise Refused("an exemption needs a reason and the name of whoever approved it")
    try:
        until = date.fromisoformat(expires)
    except ValueError:
        raise Refused(f"--expires {expires!r}: a date, YYYY-MM-DD") from None
    if until < today or until > today + timedelta(days=MAX_EXEMPTION_DAYS):
        raise Refused(
            f"--expires {expires}: between today and {MAX_EXEMPTION_DAYS} days from now "
            f"({today + timedelta(days=MAX_EXEMPTION_DAYS)})"
        )
    if added_by and pattern_matches(pattern, added_by):
        raise Refused(f"{pattern} matches you ({added_by}): nobody may exempt themselves; ask another admin")
    return ExemptionEntry(
        pattern,
        rule,
        reason.strip(),
        until.isoformat(),
        approver.strip(),
        added_by=added_by,
        added_at=now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
    )


def table_name(aws: AwsClients, table: str | None, stack: str) -> str:
    """--table, else the stack's ExemptionsTableName output."""
    if table:
        return table
    outputs = aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output.get("OutputKey") == TABLE_OUTPUT and output.get("OutputValue"):
            return str(output["OutputValue"])
    raise Refused(f"stack {stack} has no {TABLE_OUTPUT} output: pass --table")


def caller_arn(aws: AwsClients) -> str:
    return str(aws.sts.get_caller_identity()["Arn"])


def add(aws: AwsClients, table: str, args: argparse.Namespace, out: TextIO) -> None:
    now = datetime.now(UTC)
    entry = new_entry(
        args.pattern,
        args.rule,
        args.reason,
        args.expires,
        args.approver,
        added_by=caller_arn(aws),
        today=now.date(),
        now=now,
    )
    # Never overwrite an entry: the list is also the history of what was approved.
    aws.dynamodb.put_item(TableName=table, Item=entry.as_item(), ConditionExpression="attribute_not_exists(pattern)")
    forget_cached_entries()
    print(f"added: {entry.describe()}", file=out)


def list_entries(aws: AwsClients, table: str, out: TextIO) -> None:
    now = datetime.now(UTC)
    entries = sorted(ExemptionTable(aws.dynamodb, table).read_all(), key=lambda e: (e.pattern, e.rule, e.expires))
    for entry in entries:
        state = "" if entry.active(now) else "  [EXPIRED]"
        print(
            f"{entry.pattern}  rule={entry.rule}  until={entry.expires}  approver={entry.approver}  "
            f"added_by={entry.added_by or '?'}  reason={entry.reason}{state}",
            file=out,
        )
    if not entries:
        print("no exemptions", file=out)


def expire(aws: AwsClients, table: str, pattern: str, rule: str, out: TextIO) -> int:
    """Set the expiry of every active entry for (pattern, rule) to now; the entries stay as history."""
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    who = caller_arn(aws)
    items = [
        item
        for page in aws.dynamodb.get_paginator("query").paginate(
            TableName=table, KeyConditionExpression="pattern = :p", ExpressionAttributeValues={":p": {"S": pattern}}
        )
        for item in page.get("Items", [])
    ]
    expired = 0
    for item in items:
        entry = ExemptionEntry.from_item(item)
        if entry is None or entry.rule != rule or not entry.active(now):
            continue
        aws.dynamodb.update_item(
            TableName=table,
            Key={"pattern": item["pattern"], SORT_KEY: item[SORT_KEY]},
            UpdateExpression="SET expires = :now, expired_by = :who, expired_at = :now, expiry_was = :was",
            ExpressionAttributeValues={":now": {"S": stamp}, ":who": {"S": who}, ":was": {"S": entry.expires}},
        )
        expired += 1
    forget_cached_entries()
    print(f"expired {expired} entr{'y' if expired == 1 else 'ies'} for {pattern} (rule {rule})", file=out)
    return 0 if expired else 1


def add_parser(commands: Any) -> None:
    """The `exempt` subcommand and its three actions."""
    exempt = commands.add_parser(
        "exempt", help="add, list or expire entries of the central exemption list", description=__doc__
    )
    actions = exempt.add_subparsers(dest="exempt_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--table", help="the exemption table (default: the stack's ExemptionsTableName output)")
    common.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack (default: {DEFAULT_STACK})")
    add_cmd = actions.add_parser("add", parents=[common], help="approve an exemption")
    add_cmd.add_argument("--pattern", required=True, help="principal or resource ARN; * and ? allowed in the name")
    add_cmd.add_argument("--rule", required=True, help="the rule id, or '*' for every rule")
    add_cmd.add_argument("--reason", required=True, help="why (a ticket, a vendor, ...)")
    add_cmd.add_argument(
        "--expires",
        required=True,
        metavar="YYYY-MM-DD",
        help=f"last day it counts (UTC), at most {MAX_EXEMPTION_DAYS} days away",
    )
    add_cmd.add_argument("--approver", required=True, help="who approved it")
    actions.add_parser("list", parents=[common], help="every entry; expired ones are marked [EXPIRED]")
    expire_cmd = actions.add_parser("expire", parents=[common], help="end an exemption now (the entry is kept)")
    expire_cmd.add_argument("--pattern", required=True)
    expire_cmd.add_argument("--rule", required=True)


def run(args: argparse.Namespace, out: TextIO, err: TextIO, aws: AwsClients | None = None) -> int:
    """Exit 0 on success, 1 when `expire` found nothing to expire, 2 when refused or AWS said no."""
    from remediator.aws import AwsClients

    aws = aws or AwsClients()
    try:
        table = table_name(aws, args.table, args.stack)
        if args.exempt_command == "add":
            add(aws, table, args, out)
            return 0
        if args.exempt_command == "list":
            list_entries(aws, table, out)
            return 0
        return expire(aws, table, args.pattern, args.rule, out)
    except Refused as error:
        print(f"remediator exempt: refused: {error}", file=err)
    except StateUnreadable as error:
        print(f"remediator exempt: could not read {error}", file=err)
    except (ClientError, BotoCoreError) as error:
        print(f"remediator exempt: {error}", file=err)
    return 2
