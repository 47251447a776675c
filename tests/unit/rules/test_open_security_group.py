"""open_security_group: both request shapes, ports as numbers or strings, any /0, and exact revocation on moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings, port_ranges
from remediator.engine import act, decide
from remediator.events import parse_envelope, parse_record
from remediator.findings import Decision, Finding, Mode, Outcome
from remediator.notify import publish
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ACCOUNT = "123456789012"
REGION = "eu-west-1"
GROUP = "sg-0b7c3e5d9a1f24680"
MALLORY = {
    "type": "AssumedRole",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/mallory",
    "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/ops-admin"}},
}


def raw(event_name: str, params: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "eventName": event_name,
        "eventSource": "ec2.amazonaws.com",
        "eventID": f"unit-{event_name}",
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
        "userIdentity": MALLORY,
        "requestParameters": params,
        "responseElements": response or {"_return": True, "requestId": "6a2b7c1d"},
    }


def call(
    params: dict[str, Any],
    response: dict[str, Any] | None = None,
    context: EvalContext = DRY_RUN,
    event_name: str = "AuthorizeSecurityGroupIngress",
) -> Decision:
    return decide(parse_record(raw(event_name, params, response)), context, rule_ids=("open_security_group",))


def permission(protocol: Any, low: Any, high: Any, v4: tuple[str, ...] = (), v6: tuple[str, ...] = ()) -> dict:
    return {
        "ipProtocol": protocol,
        "fromPort": low,
        "toPort": high,
        "groups": {},
        "ipRanges": {"items": [{"cidrIp": c} for c in v4]} if v4 else {},
        "ipv6Ranges": {"items": [{"cidrIpv6": c} for c in v6]} if v6 else {},
        "prefixListIds": {},
    }


def items(*permissions: dict) -> dict[str, Any]:
    return {"groupId": GROUP, "ipPermissions": {"items": list(permissions)}}


def only(decision: Decision) -> Finding:
    [finding] = decision.findings
    assert finding.rule == "open_security_group"
    return finding


# ---------------------------------------------------------------- what is a finding


@pytest.mark.parametrize(
    "params, severity",
    [
        (items(permission("tcp", 22, 22, v4=("0.0.0.0/0",))), "critical"),  # items form, remote administration
        (items(permission("tcp", "3389", "3389", v4=("0.0.0.0/0",))), "critical"),  # ports as strings
        (items(permission("tcp", 5432, 5432, v6=("::/0",))), "high"),  # IPv6 everywhere
        (items(permission("tcp", 5432, 5432, v4=("10.0.0.0/0",))), "high"),  # any /0 is everything
        (items(permission("-1", None, None, v4=("0.0.0.0/0",))), "critical"),  # all traffic
        (items(permission("tcp", 0, 65535, v4=("0.0.0.0/0",))), "critical"),  # every port
        (items(permission("tcp", 8000, 8443, v4=("0.0.0.0/0",))), "high"),  # a range of other ports
        (items(permission("tcp", 80, 8080, v4=("0.0.0.0/0",))), "critical"),  # a range that takes in 3389
        (items(permission("udp", 53, 53, v4=("0.0.0.0/0",))), "high"),
        (items(permission("6", 6379, 6379, v4=("0.0.0.0/0",))), "high"),  # protocol by number
        (items(permission("50", None, None, v4=("0.0.0.0/0",))), "critical"),  # ESP: no ports, whole protocol
        (
            {
                "groupId": GROUP,
                "ipPermissions": {},
                "cidrIp": "0.0.0.0/0",
                "fromPort": 22,
                "toPort": 22,
                "ipProtocol": "tcp",
            },
            "critical",
        ),  # top-level form
        ({"groupId": GROUP, "cidrIp": "0.0.0.0/0", "fromPort": "8080", "toPort": "8080", "ipProtocol": "tcp"}, "high"),
    ],
)
def test_a_non_public_port_open_to_any_slash_zero_is_a_finding(params: dict, severity: str) -> None:
    finding = only(call(params))
    assert str(finding.severity) == severity
    assert finding.action is not None and GROUP in finding.action


@pytest.mark.parametrize(
    "params",
    [
        items(permission("tcp", 443, 443, v4=("0.0.0.0/0",))),  # allow-listed
        items(permission("tcp", "443", "443", v4=("0.0.0.0/16",))),  # not the whole internet (corpus case)
        items(permission("tcp", 80, 80, v4=("0.0.0.0/0",)), permission("tcp", 443, 443, v6=("::/0",))),
        items(permission("tcp", 22, 22, v4=("203.0.113.7/32",))),
        items(permission("icmp", 8, -1, v4=("0.0.0.0/0",))),  # ping: types, not ports
        {
            "groupId": GROUP,
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 22,
                        "toPort": 22,
                        "groups": {"items": [{"groupId": "sg-0123456789abcdef0"}]},
                    }
                ]
            },
        },
    ],
)
def test_allowed_ports_and_narrower_sources_are_no_finding(params: dict) -> None:
    decision = call(params)
    assert decision.findings == [] and decision.skipped is None


def test_the_allow_list_is_a_setting_and_ranges_count_port_by_port() -> None:
    params = items(permission("tcp", 8000, 8080, v4=("0.0.0.0/0",)))
    wider = EvalContext(Settings(live=False, public_ingress_ports=port_ranges("80,443,8000-8080")), AssumedState())
    assert call(params, context=wider).findings == []
    partial = EvalContext(Settings(live=False, public_ingress_ports=port_ranges("8000-8079")), AssumedState())
    assert only(call(params, context=partial)).severity == "high"
    none = EvalContext(Settings(live=False, public_ingress_ports=port_ranges("")), AssumedState())
    assert only(call(items(permission("tcp", 443, 443, v4=("0.0.0.0/0",))), context=none))


@pytest.mark.parametrize("value", ["80;443", "99999", "443-80", "http"])
def test_a_malformed_allow_list_keeps_the_default_never_allows_more(value: str) -> None:
    assert port_ranges(value) == ((80, 80), (443, 443))


def test_the_response_names_the_rules_by_id_and_only_the_offending_ones_are_revoked() -> None:
    record = parse_envelope(load_event("authorize-security-group-ingress-ssh-from-anywhere.json"))
    finding = only(decide(record, DRY_RUN, rule_ids=("open_security_group",)))
    assert (
        finding.action == f"revoke ingress rules sgr-0a1b2c3d4e5f60001, sgr-0a1b2c3d4e5f60002 of security group {GROUP}"
    )
    assert [rule["id"] for rule in finding.details["rules"]] == ["sgr-0a1b2c3d4e5f60001", "sgr-0a1b2c3d4e5f60002"]
    assert "sgr-0a1b2c3d4e5f60003" not in finding.reason  # 443 from anywhere is allowed: never touched
    assert finding.undo and "authorize-security-group-ingress" in finding.undo and '"CidrIpv6":"::/0"' in finding.undo


def test_a_call_by_group_name_is_read_from_the_response() -> None:
    response = {
        "_return": True,
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupId": GROUP,
                    "securityGroupRuleId": "sgr-0123456789abcdef0",
                    "isEgress": False,
                    "ipProtocol": "tcp",
                    "fromPort": 3306,
                    "toPort": 3306,
                    "cidrIpv4": "0.0.0.0/0",
                },
            ]
        },
    }
    params = {"groupName": "legacy-db", "ipPermissions": {"items": [permission("tcp", 3306, 3306, v4=("0.0.0.0/0",))]}}
    finding = only(call(params, response))
    assert finding.details["group"] == GROUP and finding.details["rules"][0]["id"] == "sgr-0123456789abcdef0"


def test_by_group_name_without_a_response_is_reported_but_not_acted_on() -> None:
    params = {"groupName": "legacy-db", "ipPermissions": {"items": [permission("tcp", 3306, 3306, v4=("0.0.0.0/0",))]}}
    finding = only(call(params, {"_return": True}))
    assert finding.action is None and "legacy-db" in finding.reason
    assert "does not name the group by id" in finding.reason


def test_without_rule_ids_the_action_matches_the_rule_live() -> None:
    finding = only(call(items(permission("tcp", 22, 22, v4=("0.0.0.0/0",)))))
    assert finding.action and "match" in finding.action and "exactly" in finding.action


def test_a_modified_rule_is_read_from_its_wrapped_request_one_or_many() -> None:
    record = parse_envelope(load_event("modify-security-group-rules-all-traffic.json"))
    finding = only(decide(record, DRY_RUN, rule_ids=("open_security_group",)))
    assert str(finding.severity) == "critical" and "sgr-0f1e2d3c4b5a69788" in (finding.action or "")
    assert "assumed to be ingress" in finding.reason
    many = {
        "ModifySecurityGroupRulesRequest": {
            "GroupId": GROUP,
            "SecurityGroupRule": [
                {
                    "SecurityGroupRuleId": "sgr-0000000000000000a",
                    "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "0.0.0.0/0"},
                    "tag": 1,
                },
                {
                    "SecurityGroupRuleId": "sgr-0000000000000000b",
                    "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": "23", "ToPort": "23", "CidrIpv6": "::/0"},
                    "tag": 2,
                },
            ],
        }
    }
    finding = only(call(many, event_name="ModifySecurityGroupRules"))
    assert [rule["id"] for rule in finding.details["rules"]] == ["sgr-0000000000000000b"]


def test_a_failed_call_is_no_finding() -> None:
    record = {
        **raw("AuthorizeSecurityGroupIngress", items(permission("tcp", 22, 22, v4=("0.0.0.0/0",)))),
        "errorCode": "UnauthorizedOperation",
    }
    assert decide(parse_record(record), DRY_RUN, rule_ids=("open_security_group",)).skipped == "failed call"


def test_garbage_in_the_request_is_no_crash() -> None:
    for params in ({"ipPermissions": "x"}, {"ipPermissions": {"items": [None, 3, {"ipRanges": "x"}]}}, {"cidrIp": 7}):
        assert call(params).findings == []


# ---------------------------------------------------------------- against a moto account


@pytest.fixture
def ec2() -> Any:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def _group(ec2: Any) -> str:
    group: str = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ],
    )
    return group


def _ingress(ec2: Any, group: str) -> dict[str, tuple]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    return {
        r["SecurityGroupRuleId"]: (r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIpv4") or r.get("CidrIpv6"))
        for r in rules
        if not r["IsEgress"]
    }


def _remediate_mode() -> tuple[EvalContext, AwsClients]:
    aws = AwsClients(region="us-east-1")
    settings = Settings(live=True, modes={"open_security_group": Mode.REMEDIATE})
    return EvalContext(settings, LiveState(aws.iam, aws)), aws


def _open(ec2: Any, group: str, port: int, cidr: str = "0.0.0.0/0") -> dict[str, Any]:
    ranges = {"Ipv6Ranges": [{"CidrIpv6": cidr}]} if ":" in cidr else {"IpRanges": [{"CidrIp": cidr}]}
    made = ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **ranges}]
    )["SecurityGroupRules"][0]
    return made


def test_the_offending_rule_is_revoked_by_id_and_every_other_rule_stays(ec2: Any) -> None:
    group = _group(ec2)
    before = _ingress(ec2, group)
    made = _open(ec2, group, 22)
    response = {
        "_return": True,
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupId": group,
                    "securityGroupRuleId": made["SecurityGroupRuleId"],
                    "isEgress": False,
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidrIpv4": "0.0.0.0/0",
                }
            ]
        },
    }
    context, aws = _remediate_mode()
    finding = only(call(items(permission("tcp", 22, 22, v4=("0.0.0.0/0",))) | {"groupId": group}, response, context))
    result = act(finding, aws)
    assert result.outcome == Outcome.VERIFIED, result
    assert _ingress(ec2, group) == before  # the new rule gone, 443 from anywhere and 22 from 10/8 untouched


def test_without_an_id_the_one_exact_live_match_is_revoked(ec2: Any) -> None:
    group = _group(ec2)
    before = _ingress(ec2, group)
    _open(ec2, group, 3389, "::/0")
    context, aws = _remediate_mode()
    params = {"groupId": group, "ipPermissions": {"items": [permission("tcp", "3389", "3389", v6=("::/0",))]}}
    result = act(only(call(params, None, context)), aws)
    assert result.outcome == Outcome.VERIFIED, result
    assert _ingress(ec2, group) == before


def test_without_an_id_and_no_exact_match_nothing_is_touched(ec2: Any) -> None:
    group = _group(ec2)
    _open(ec2, group, 2222)  # open, but not the rule the event reports
    before = _ingress(ec2, group)
    context, aws = _remediate_mode()
    params = {"groupId": group, "cidrIp": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"}
    result = act(only(call(params, None, context)), aws)
    assert result.outcome == Outcome.SKIPPED and "0 ingress rules" in result.detail
    assert _ingress(ec2, group) == before


def test_a_modified_egress_rule_is_no_finding_live_and_an_ingress_one_is_revoked(ec2: Any) -> None:
    group = _group(ec2)
    egress = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    [egress_id] = [r["SecurityGroupRuleId"] for r in egress if r["IsEgress"]]
    context, aws = _remediate_mode()

    def modify(rule_id: str) -> Decision:
        request = {
            "GroupId": group,
            "SecurityGroupRule": {
                "SecurityGroupRuleId": rule_id,
                "SecurityGroupRule": {"IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"},
                "tag": 1,
            },
        }
        return call({"ModifySecurityGroupRulesRequest": request}, None, context, "ModifySecurityGroupRules")

    assert modify(egress_id).findings == []
    private = _open(ec2, group, 8080, "10.1.0.0/16")["SecurityGroupRuleId"]
    ec2.modify_security_group_rules(
        GroupId=group,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": private,
                "SecurityGroupRule": {"IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIpv4": "0.0.0.0/0"},
            }
        ],
    )
    finding = only(modify(private))
    assert str(finding.severity) == "critical"
    assert act(finding, aws).outcome == Outcome.VERIFIED
    assert private not in _ingress(ec2, group) and len(_ingress(ec2, group)) == 2


def test_a_modified_rule_that_cannot_be_read_is_low_and_never_acted_on(ec2: Any) -> None:
    context, _ = _remediate_mode()
    request = {
        "GroupId": GROUP,
        "SecurityGroupRule": {
            "SecurityGroupRuleId": "sgr-0123456789abcdef0",
            "SecurityGroupRule": {"IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"},
        },
    }
    finding = only(call({"ModifySecurityGroupRulesRequest": request}, None, context, "ModifySecurityGroupRules"))
    assert (str(finding.severity), finding.action) == ("low", None)
    assert "Could not read" in finding.reason


def test_notify_mode_publishes_the_rule_to_restore_and_changes_nothing(ec2: Any) -> None:
    group = _group(ec2)
    made = _open(ec2, group, 22)
    before = _ingress(ec2, group)
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    response = {
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupId": group,
                    "securityGroupRuleId": made["SecurityGroupRuleId"],
                    "isEgress": False,
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidrIpv4": "0.0.0.0/0",
                }
            ]
        }
    }
    aws = AwsClients(region="us-east-1")
    record = parse_record(raw("AuthorizeSecurityGroupIngress", {"groupId": group}, response))
    [finding] = decide(
        record, EvalContext(Settings(live=True), LiveState(aws.iam, aws)), ("open_security_group",)
    ).findings
    result = act(finding, aws)
    assert result.outcome == Outcome.NOTIFIED
    publish(aws.sns, topic, finding, record, result)
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    published = json.loads(json.loads(message["Body"])["Message"])
    assert '"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]' in published["reason"]
    assert published["fix_command"] == (
        f"aws ec2 revoke-security-group-ingress --group-id {group} --security-group-rule-ids "
        f"{made['SecurityGroupRuleId']} --region {REGION}"
    )
    assert _ingress(ec2, group) == before


def test_a_group_in_the_exemption_list_by_its_arn_is_reported_exempt_and_left_alone() -> None:
    from datetime import UTC, datetime, timedelta

    from remediator.exemption_list import ExemptionEntry

    class OneEntry:
        def entries(self) -> tuple[ExemptionEntry, ...]:
            expires = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
            pattern = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUP}"
            return (ExemptionEntry(pattern, "open_security_group", "bastion", expires, "security-team"),)

    context = EvalContext(Settings(live=False), AssumedState(), OneEntry())
    finding = only(call(items(permission("tcp", 22, 22, v4=("0.0.0.0/0",))), context=context))
    assert finding.exempt and finding.action is None and "bastion" in finding.reason
