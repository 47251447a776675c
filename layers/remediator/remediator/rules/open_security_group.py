"""open_security_group: a port opened to the whole internet that is not meant to be.

Practice 9: allow only what you mean. An ingress rule from any `/0` range (`0.0.0.0/0`, `::/0`, and `10.0.0.0/0`
too: the prefix, not the address, decides) on a port outside PublicIngressPorts (default 80,443) is reported:
all ports (protocol -1, or a whole range) and remote administration (22, 3389: CIS 5.2/5.3) are critical, any
other port high. ICMP has no ports and is left alone. Remediate revokes exactly the offending rules by their rule
ids (from the response, or, when the event carries none, the one live rule that matches cidr, protocol and ports
exactly; no single match: notify only), never another rule, and re-reads the group. The message carries each
revoked rule and the command that puts it back.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.rules.base import (
    EvalContext,
    RuleMeta,
    RuleSetting,
    Trigger,
    keep_mode,
    partition_of,
    resolves_nothing,
)
from remediator.state import StateUnreadable

META = RuleMeta(
    id="open_security_group",
    title="Security group port opened to the whole internet",
    practice="Allow only what you mean: no port but the public ones open to 0.0.0.0/0 or ::/0",
    severity=Severity.HIGH,
    triggers=(
        Trigger(
            sources=("aws.ec2",),
            event_sources=("ec2.amazonaws.com",),
            event_names=("AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"),
        ),
    ),
    resource_path="requestParameters.groupId || requestParameters.ModifySecurityGroupRulesRequest.GroupId",
    remediation="revoke exactly the offending ingress rules by their rule ids, then re-read the group; the "
    "message carries each rule and the command that restores it",
    undo="aws ec2 authorize-security-group-ingress --group-id {group} --ip-permissions {rules}",
    remediation_actions=("ec2:RevokeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules"),
    state_actions=("ec2:DescribeSecurityGroupRules",),
    settings=(
        RuleSetting(
            parameter="PublicIngressPorts",
            variable="PUBLIC_INGRESS_PORTS",
            default="80,443",
            minimum=0,
            maximum=65535,
            description="Ports (and ranges, 8000-8080) that may be open to the whole internet: "
            "open_security_group reports any other port opened to a /0 range. Empty: none may.",
            pattern=r"^$|^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$",
        ),
    ),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html",
        "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing

GROUP = re.compile(r"sg-[0-9a-f]{8,17}")
RULE = re.compile(r"sgr-[0-9a-f]{8,17}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
NO_PORTS = ("icmp", "icmpv6")  # types and codes, not ports: nothing to allow-list
ADMIN_PORTS = (22, 3389)


@dataclass(frozen=True)
class OpenRule:
    """One ingress rule from anywhere: what revoking it takes (its id) and what restoring it takes."""

    cidr: str
    protocol: str  # tcp, udp, -1 (all), or a protocol number
    from_port: int | None
    to_port: int | None
    rule_id: str | None = None

    @property
    def all_ports(self) -> bool:
        return self.protocol == "-1" or self.from_port in (None, -1) or (self.from_port, self.to_port) == (0, 65535)

    @property
    def ports(self) -> str:
        if self.protocol == "-1":
            return "all traffic"
        span = (
            "all ports"
            if self.all_ports
            else (
                f"port {self.from_port}" if self.from_port == self.to_port else f"ports {self.from_port}-{self.to_port}"
            )
        )
        return f"{self.protocol} {span}"

    def describe(self) -> str:
        return f"{self.rule_id + ': ' if self.rule_id else ''}{self.ports} from {self.cidr}"

    def permission(self) -> dict[str, Any]:
        """The rule as authorize-security-group-ingress takes it back."""
        ranges = (
            {"Ipv6Ranges": [{"CidrIpv6": self.cidr}]} if ":" in self.cidr else {"IpRanges": [{"CidrIp": self.cidr}]}
        )
        ports = {} if self.protocol == "-1" else {"FromPort": self.from_port, "ToPort": self.to_port}
        return {"IpProtocol": self.protocol, **ports, **ranges}

    def as_details(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "cidr": self.cidr,
            "protocol": self.protocol,
            "from": self.from_port,
            "to": self.to_port,
        }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _port(value: Any) -> int | None:
    """Ports arrive as numbers or as strings ("443")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,5}", value.strip()):
        return int(value)
    return None


def _protocol(value: Any) -> str:
    text = str(value if value is not None else "-1").strip().lower()
    return PROTOCOLS.get(text, text)


def _items(value: Any) -> list[Any]:
    """CloudTrail's `{"items": [...]}` lists, and the XML-as-JSON one-or-many of ModifySecurityGroupRules."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]


def world(cidr: str | None) -> bool:
    """Any /0 covers every address, whatever address is written before it."""
    return isinstance(cidr, str) and cidr.strip().partition("/")[2] == "0"


def _canonical(cidr: str) -> str:
    try:
        return str(ipaddress.ip_network(cidr.strip(), strict=False))
    except ValueError:
        return cidr.strip()


def _rule(cidr: Any, protocol: Any, from_port: Any, to_port: Any, rule_id: Any = None) -> OpenRule | None:
    if not isinstance(cidr, str) or not world(cidr):
        return None
    sgr = rule_id if isinstance(rule_id, str) and RULE.fullmatch(rule_id) else None
    return OpenRule(cidr.strip(), _protocol(protocol), _port(from_port), _port(to_port), sgr)


def _from_request(params: dict[str, Any]) -> list[OpenRule]:
    rules = []
    for permission in _items(params.get("ipPermissions")):
        key = (permission.get("ipProtocol"), permission.get("fromPort"), permission.get("toPort"))
        rules += [_rule(r.get("cidrIp"), *key) for r in _items(permission.get("ipRanges"))]
        rules += [_rule(r.get("cidrIpv6"), *key) for r in _items(permission.get("ipv6Ranges"))]
    if params.get("cidrIp"):  # the older top-level form
        rules.append(
            _rule(params.get("cidrIp"), params.get("ipProtocol"), params.get("fromPort"), params.get("toPort"))
        )
    return [rule for rule in rules if rule is not None]


def _from_response(response: dict[str, Any]) -> tuple[list[OpenRule], str | None] | None:
    """The rules the call created, with their ids and group (a call by group name carries no id in the request)."""
    items = _items(response.get("securityGroupRuleSet"))
    if not items:
        return None
    rules = [
        _rule(
            i.get("cidrIpv4") or i.get("cidrIpv6"),
            i.get("ipProtocol"),
            i.get("fromPort"),
            i.get("toPort"),
            i.get("securityGroupRuleId"),
        )
        for i in items
        if not _truthy(i.get("isEgress"))
    ]
    group = next((g for i in items if (g := _text(i.get("groupId")))), None)
    return [rule for rule in rules if rule is not None], group


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _from_modify(params: dict[str, Any]) -> tuple[list[OpenRule], str | None]:
    request = params.get("ModifySecurityGroupRulesRequest")
    request = request if isinstance(request, dict) else {}
    rules = []
    for entry in _items(request.get("SecurityGroupRule")):
        new = entry.get("SecurityGroupRule")
        if isinstance(new, dict):
            rules.append(
                _rule(
                    new.get("CidrIpv4") or new.get("CidrIpv6"),
                    new.get("IpProtocol"),
                    new.get("FromPort"),
                    new.get("ToPort"),
                    entry.get("SecurityGroupRuleId"),
                )
            )
    return [rule for rule in rules if rule is not None], _text(request.get("GroupId"))


# ---------------------------------------------------------------- which rules are not meant


def _allowed(rule: OpenRule, allowed: tuple[tuple[int, int], ...]) -> bool:
    """Every port of the rule is in an allowed range (ICMP has none: nothing to allow-list)."""
    if rule.protocol in NO_PORTS:
        return True
    if rule.protocol not in ("tcp", "udp") or rule.all_ports:
        low, high = 0, 65535
    else:
        low, high = rule.from_port or 0, rule.to_port if rule.to_port is not None else rule.from_port or 0
    return port_range_allowed(low, high, allowed)


def port_range_allowed(low: int, high: int, allowed: tuple[tuple[int, int], ...]) -> bool:
    """Every port from `low` to `high` lies in the allowed ranges (the sweep's exposure check asks the same)."""
    port = low
    for first, last in sorted(allowed):
        if first <= port <= last:
            port = last + 1
        if port > high:
            return True
    return port > high


def _severity(rules: list[OpenRule]) -> Severity:
    for rule in rules:
        if rule.all_ports or rule.protocol not in ("tcp", "udp"):
            return Severity.CRITICAL
        low, high = rule.from_port or 0, rule.to_port if rule.to_port is not None else rule.from_port or 0
        if any(low <= port <= high for port in ADMIN_PORTS):
            return Severity.CRITICAL
    return Severity.HIGH


def _ingress_only(
    rules: list[OpenRule], record: CloudTrailRecord, context: EvalContext
) -> tuple[list[OpenRule], list[str]]:
    """A modified rule may be an egress rule (the event does not say): read it; unreadable rules are listed."""
    if context.assumed:
        return rules, []
    kept, unreadable = [], []
    for rule in rules:
        if rule.rule_id is None:
            kept.append(rule)
            continue
        try:
            live = context.state.security_group_rule(rule.rule_id, record.awsRegion)
        except StateUnreadable as error:
            unreadable.append(str(error))
            kept.append(rule)
            continue
        if not _truthy(live.get("IsEgress")):
            kept.append(rule)
    return kept, unreadable


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    params = record.params
    unreadable: list[str] = []
    if record.eventName == "ModifySecurityGroupRules":
        rules, group = _from_modify(params)
    else:
        created = _from_response(record.response)
        rules, group = created if created else (_from_request(params), None)
        group = group or _text(params.get("groupId"))
    allowed = context.settings.public_ingress_ports
    rules = [rule for rule in rules if not _allowed(rule, allowed)]
    if rules and record.eventName == "ModifySecurityGroupRules":
        rules, unreadable = _ingress_only(rules, record, context)
    if not rules:
        return None
    group_id = group if group and GROUP.fullmatch(group) else None
    shown = group or _text(params.get("groupName")) or "(group not named in the event)"
    region = record.awsRegion if record.awsRegion and REGION.fullmatch(record.awsRegion) else None
    account = record.account
    known = group_id and region and account
    arn = f"arn:{partition_of(record)}:ec2:{region}:{account}:security-group/{group_id}" if known else None
    severity = Severity.LOW if unreadable else _severity(rules)
    described = "; ".join(rule.describe() for rule in rules)
    caller = record.identity
    where = ", ".join(p for p in (region, record.sourceIPAddress and f"from {record.sourceIPAddress}") if p)
    reason = (
        f"{caller.display_name}{f' ({where})' if where else ''} opened security group {shown} to the whole internet "
        f"on what is not meant to be public ({described}; public ports: "
        f"{_ports_text(allowed)})."
    )
    if record.eventName == "ModifySecurityGroupRules" and context.assumed:
        reason += " Dry run: the modified rules are assumed to be ingress rules."
    if unreadable:
        reason += f" Could not read {'; '.join(unreadable)}, so whether it is an ingress rule is unknown."
    permissions = shlex.quote(json.dumps([rule.permission() for rule in rules], separators=(",", ":")))
    region_flag = f" --region {region}" if region else ""
    restore = (
        f"aws ec2 authorize-security-group-ingress --group-id {shlex.quote(group_id or shown)} "
        f"--ip-permissions {permissions}{region_flag}"
    )
    reason += f" To restore: {restore}"
    action: str | None = None
    if group_id and not unreadable:
        ids = [rule.rule_id for rule in rules if rule.rule_id]
        action = (
            f"revoke ingress rule{'s' if len(ids) > 1 else ''} {', '.join(ids)} of security group {group_id}"
            if len(ids) == len(rules)
            else f"revoke the ingress rules of security group {group_id} that match {described} exactly (read "
            "live; notify only unless exactly one rule matches each)"
        )
    elif not group_id:
        reason += " The event does not name the group by id, so nothing is changed automatically."
    exemption = exemption_for(context, record, "security-group", group_id, arn, rule=META.id)
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=Resource("security-group", shown, account, arn),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=restore if action else None,
        details={"group": group_id, "region": region, "rules": [rule.as_details() for rule in rules]},
    )


def _ports_text(allowed: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in allowed) or "none"


# ---------------------------------------------------------------- remediate: revoke exactly those rules


def _same(live: dict[str, Any], rule: dict[str, Any]) -> bool:
    cidr = live.get("CidrIpv4") or live.get("CidrIpv6")
    if _truthy(live.get("IsEgress")) or not isinstance(cidr, str) or _canonical(cidr) != _canonical(rule["cidr"]):
        return False
    if _protocol(live.get("IpProtocol")) != rule["protocol"]:
        return False
    return rule["protocol"] == "-1" or (live.get("FromPort"), live.get("ToPort")) == (rule["from"], rule["to"])


def _group_rules(ec2: Any, group: str) -> list[dict[str, Any]]:
    pages = ec2.get_paginator("describe_security_group_rules").paginate(
        Filters=[{"Name": "group-id", "Values": [group]}]
    )
    return [rule for page in pages for rule in page["SecurityGroupRules"]]


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Revoke the offending rules by id (matched live when the event had none), then re-read the group."""
    group, rules = finding.details["group"], finding.details["rules"]
    ec2 = aws.regional("ec2", finding.details.get("region"))
    try:
        ids = [rule["id"] for rule in rules if rule.get("id")]
        if len(ids) < len(rules):
            live = _group_rules(ec2, group)
            for rule in (r for r in rules if not r.get("id")):
                matches = [found["SecurityGroupRuleId"] for found in live if _same(found, rule)]
                if len(matches) != 1:
                    return ActionResult(
                        Outcome.SKIPPED,
                        f"nothing changed: {len(matches)} ingress rules of {group} match {rule['protocol']} "
                        f"{rule['from']}-{rule['to']} from {rule['cidr']} exactly, so which one to revoke is not "
                        "certain; notify only.",
                    )
                ids.append(matches[0])
        ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=ids)
        left = {rule["SecurityGroupRuleId"] for rule in _group_rules(ec2, group)} & set(ids)
    except ClientError as error:
        code = error_code(error)
        if code in ("InvalidGroup.NotFound", "InvalidSecurityGroupRuleId.NotFound"):
            return ActionResult(
                Outcome.SKIPPED, f"security group {group} or its rule no longer exists.", f"{code}: {error}"
            )
        return ActionResult(Outcome.FAILED, f"could not revoke {', '.join(ids)} of {group}.", f"{code}: {error}")
    if left:
        return ActionResult(
            Outcome.FAILED, f"rules {', '.join(sorted(left))} of {group} are still there after revoking."
        )
    return ActionResult(
        Outcome.VERIFIED,
        f"revoked ingress rule{'s' if len(ids) > 1 else ''} {', '.join(ids)} of {group}; no other rule touched "
        "(verified by re-reading the group's rules).",
    )
