"""`remediator demo --org`: organization mode on a local moto server, a hub and two member accounts.

moto keeps one state per account id, and credentials of a role assumed in another account act in that account,
so the hub's handler really assumes each member's member role. Member A holds the role (member.yaml deployed):
a key created there is deactivated there, not in the hub. Member B has no member role (the StackSet never
reached it): moto's STS is given the check AWS makes (tools/remediator_dev/sts_trust.py), the finding is reported
as not remediated and one critical "cannot act in account" message goes out.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path
from typing import Any

from remediator_dev.demo import DEMO_STACK, LocalAccount, LocalLambdaContext
from remediator_dev.sts_trust import enforce_trust

HUB = "123456789012"
MEMBERS = {"member A": "111122223333", "member B": "444455556666"}
ORG = "o-a1b2c3d4e5"
MEMBER_ROLE = "compliance-remediator-member"
FUNCTION = f"{DEMO_STACK}-access_keys"
EVENT = Path(__file__).resolve().parents[2] / "events" / "organization" / "create-access-key-in-member-account.json"


def _iam_in(account: str) -> Any:
    """An IAM client acting in `account` (the demo's admin in each account)."""
    import boto3

    sts = boto3.client("sts")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="demo")["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _member_role_trust() -> str:
    """member.yaml's trust: the hub's function roles, from the organization."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:PrincipalOrgID": ORG},
                        "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{HUB}:role/compliance-remediator/{FUNCTION}"},
                    },
                }
            ],
        }
    )


def _event(account: str, key: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads(EVENT.read_text()))
    event["account"] = event["detail"]["recipientAccountId"] = account
    event["detail"]["userIdentity"]["accountId"] = account
    event["detail"]["userIdentity"]["arn"] = f"arn:aws:iam::{account}:user/carol"
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = key
    event["detail"]["eventID"] = str(uuid.uuid4())
    return event


def run_org_demo(*, as_json: bool) -> int:
    import warnings

    import boto3

    warnings.filterwarnings("ignore", category=UserWarning)  # moto's and powertools' notes are not the report

    from remediator.runtime import make_handler

    report: list[dict[str, Any]] = []
    with LocalAccount() as account:
        iams = {"hub": account.iam, **{name: _iam_in(number) for name, number in MEMBERS.items()}}
        keys = {}
        for name, iam in iams.items():
            iam.create_user(UserName="bob")
            keys[name] = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
        iams["member A"].create_role(
            RoleName=MEMBER_ROLE, Path="/compliance-remediator/", AssumeRolePolicyDocument=_member_role_trust()
        )
        hub_role = account.iam.create_role(
            RoleName=FUNCTION,
            Path="/compliance-remediator/",
            AssumeRolePolicyDocument=json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*"}]}
            ),
        )["Role"]["Arn"]
        # The function runs as its role (Lambda names the session after the function).
        session = boto3.client("sts").assume_role(RoleArn=hub_role, RoleSessionName=FUNCTION)["Credentials"]
        saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
                "AWS_SESSION_TOKEN": session["SessionToken"],
                "MODE_ACCESS_KEYS": "remediate",
                "TOPIC_ARN": account.topic_arn,
                "MEMBER_ROLE_NAME": MEMBER_ROLE,
                "OWN_ROLE_PREFIX": f"arn:aws:iam::{HUB}:role/compliance-remediator/",
                "OWN_FUNCTION_NAMES": FUNCTION,
            }
        )
        handler = make_handler("access_keys")
        try:
            with enforce_trust(ORG) as assumed:
                for name, number in MEMBERS.items():
                    result = handler(_event(number, keys[name]), LocalLambdaContext(function_name=FUNCTION))
                    status = {
                        who: iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"]
                        for who, iam in iams.items()
                    }
                    report.append(
                        {
                            "event": f"CreateAccessKey for bob in {name} ({number})",
                            "findings": result["findings"],
                            "keys": status,
                            "published": [n["subject"] for n in account.drain_notifications()],
                        }
                    )
            roles_assumed = list(assumed)
        finally:
            os.environ.pop("AWS_SESSION_TOKEN", None)
            for variable in ("MEMBER_ROLE_NAME", "OWN_ROLE_PREFIX", "OWN_FUNCTION_NAMES"):
                os.environ.pop(variable, None)
            os.environ.update({k: v for k, v in saved.items() if v is not None})
    if as_json:
        print(json.dumps({"hub": HUB, "members": MEMBERS, "events": report, "assumed": roles_assumed}, indent=2))
        return 0
    print(f"\nOrganization mode: hub {HUB}, member A {MEMBERS['member A']} (member role deployed), ", end="")
    print(f"member B {MEMBERS['member B']} (no member role)")
    for entry in report:
        print(f"\n{entry['event']}")
        for finding in entry["findings"]:
            print(f"  found:     {finding['rule']} {finding['severity'].upper()}: {finding['reason']}")
            print(f"  outcome:   {finding['outcome']}: {finding['detail']}")
        print("  keys:      " + ", ".join(f"{who}: bob's key {state}" for who, state in entry["keys"].items()))
        for subject in entry["published"]:
            print(f"  published: {subject}")
    print(f"\nAssumeRole calls: {len(roles_assumed)} ({', '.join(roles_assumed)})")
    return 0
