"""What is already exposed, whatever events we saw: public buckets, security groups open to the internet,
instances without a role or with IMDSv1, and internet-facing load balancers with no DDoS posture.

Events only catch changes made while the stack runs; this catches what was there before, or changed while we
were blind. Notify only: each is a `Finding` of the rule whose concern it is (`s3_public`, `open_security_group`,
`ec2_without_role`, `ddos_posture`), counted and named in the sweep's summary, never acted on. Reads are paginated
and bounded (MAX_PER_CHECK resources per check); a read AWS refuses is a low finding that says what could not be
checked, never a crash.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from remediator.aws import AwsClients, error_code
from remediator.findings import Finding, Mode, Resource, Severity
from remediator.rules.ec2_without_role import META as EC2_WITHOUT_ROLE_META
from remediator.rules.open_security_group import META as OPEN_SECURITY_GROUP_META
from remediator.rules.open_security_group import port_range_allowed
from remediator.rules.s3_public import META as S3_PUBLIC_META

# Rule ids of the concerns these checks report (load balancers: the sweep's own concern, no event rule).
S3_PUBLIC = S3_PUBLIC_META.id
OPEN_SECURITY_GROUP = OPEN_SECURITY_GROUP_META.id
EC2_WITHOUT_ROLE = EC2_WITHOUT_ROLE_META.id
DDOS_POSTURE = "ddos_posture"

MAX_PER_CHECK = 500
DEFAULT_PORTS = ((80, 80), (443, 443))  # the web: open to the internet by design
EVERYONE = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
# Condition keys that pin a `*` principal to known accounts, networks or principals (AWS's own test for "public").
NARROWING = frozenset(
    key.lower()
    for key in (
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:userid",
        "s3:DataAccessPointAccount",
        "s3:DataAccessPointArn",
    )
)
NO_SUCH = frozenset({"NoSuchBucketPolicy", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucket"})


def _finding(
    rule: str, severity: Severity, kind: str, name: str, account: str, reason: str, arn: str | None = None
) -> Finding:
    return Finding(
        rule=rule, severity=severity, reason=reason, resource=Resource(kind, name, account, arn), mode=Mode.NOTIFY
    )


def _unchecked(rule: str, what: str, account: str, error: ClientError) -> Finding:
    return _finding(rule, Severity.LOW, "account", what, account, f"could not check {what} ({error_code(error)}).")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- S3


def _narrowed(condition: Any) -> bool:
    """A positive (not IfExists, not negated) condition with a concrete value on a key that pins the caller."""
    if not isinstance(condition, dict):
        return False
    for operator, pairs in condition.items():
        name = str(operator).lower()
        if name.endswith("ifexists") or "not" in name or not isinstance(pairs, dict):
            continue
        for key, values in pairs.items():
            if str(key).lower() not in NARROWING:
                continue
            texts = [str(v) for v in _list(values)]
            if key.lower() == "aws:sourceip" and not all(_narrow_network(t) for t in texts):
                continue
            if texts and not any("*" in t for t in texts):
                return True
    return False


def _narrow_network(text: str) -> bool:
    """An address range smaller than a /8 narrows; 0.0.0.0/1 and the like do not."""
    try:
        return ipaddress.ip_network(text, strict=False).prefixlen >= 8
    except ValueError:
        return False


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _list(principal.get("AWS"))


def public_statements(policy: dict[str, Any]) -> list[str]:
    """Sids (or positions) of Allow statements open to everyone with no narrowing condition."""
    statements = _list(policy.get("Statement") or [])
    return [
        str(s.get("Sid") or f"statement {n + 1}")
        for n, s in enumerate(statements)
        if isinstance(s, dict)
        and s.get("Effect") == "Allow"
        and _everyone(s.get("Principal"))
        and not _narrowed(s.get("Condition"))
    ]


def _block(read: Callable[[], dict[str, Any]]) -> dict[str, bool]:
    try:
        return {k: bool(v) for k, v in read().get("PublicAccessBlockConfiguration", {}).items()}
    except ClientError as error:
        if error_code(error) in NO_SUCH:
            return {}
        raise


def _bucket_exposure(s3: Any, bucket: str, account_block: dict[str, bool]) -> list[str]:
    block = _block(lambda: s3.get_public_access_block(Bucket=bucket))
    effective = {
        k: block.get(k, False) or account_block.get(k, False) for k in ("RestrictPublicBuckets", "IgnorePublicAcls")
    }
    exposed = []
    if not effective["RestrictPublicBuckets"]:
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as error:
            if error_code(error) not in NO_SUCH:
                raise
        else:
            if sids := public_statements(policy):
                exposed.append(f"its policy lets anyone in ({', '.join(sids)})")
    if not effective["IgnorePublicAcls"]:
        grants = s3.get_bucket_acl(Bucket=bucket).get("Grants", [])
        groups = sorted(
            {g["Grantee"]["URI"].rsplit("/", 1)[-1] for g in grants if g.get("Grantee", {}).get("URI") in EVERYONE}
        )
        if groups:
            exposed.append(f"its ACL grants {' and '.join(groups)}")
    return exposed


def _account_block(aws: AwsClients, account: str) -> tuple[dict[str, bool], Finding | None]:
    """The account's public access block, or none and a low finding saying it could not be read."""
    if not account.isdigit():
        return {}, None
    try:
        return _block(lambda: aws.client("s3control").get_public_access_block(AccountId=account)), None
    except (ClientError, BotoCoreError) as error:
        code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
        reason = f"could not read the account's S3 public access block ({code}): buckets are judged by their own."
        return {}, _finding(S3_PUBLIC, Severity.LOW, "account", "public access block", account, reason)


def public_buckets(aws: AwsClients, account: str) -> list[Finding]:
    s3 = aws.client("s3")
    account_block, unread = _account_block(aws, account)
    try:
        buckets = [b["Name"] for page in s3.get_paginator("list_buckets").paginate() for b in page["Buckets"]]
    except ClientError as error:
        return [_unchecked(S3_PUBLIC, "the account's buckets", account, error)]
    found = [unread] if unread else []
    for bucket in buckets[:MAX_PER_CHECK]:
        try:
            exposed = _bucket_exposure(s3, bucket, account_block)
        except ClientError as error:
            found.append(_unchecked(S3_PUBLIC, f"bucket {bucket}", account, error))
            continue
        if exposed:
            reason = f"bucket {bucket} is public: {'; '.join(exposed)}, and no public access block neutralises it."
            found.append(
                _finding(S3_PUBLIC, Severity.HIGH, "bucket", bucket, account, reason, f"arn:aws:s3:::{bucket}")
            )
    return found


# ---------------------------------------------------------------- EC2


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page[key]


def _open_ports(permission: dict[str, Any], allowed: tuple[tuple[int, int], ...]) -> str | None:
    """The ports a rule opens to any address (`/0`), outside the allow-list; None when it opens none."""
    to_all = any(r.get("CidrIp", "").endswith("/0") for r in permission.get("IpRanges", [])) or any(
        r.get("CidrIpv6", "").endswith("/0") for r in permission.get("Ipv6Ranges", [])
    )
    protocol = str(permission.get("IpProtocol"))
    if not to_all or protocol in ("1", "58", "icmp", "icmpv6"):  # ICMP has no ports
        return None
    if protocol in ("-1", "all"):
        return "all ports"
    low, high = permission.get("FromPort", 0), permission.get("ToPort", 65535)
    if port_range_allowed(low, high, allowed):
        return None
    return f"{permission.get('IpProtocol')} {low}" if low == high else f"{permission.get('IpProtocol')} {low}-{high}"


def open_security_groups(
    ec2: Any, account: str, region: str, allowed: tuple[tuple[int, int], ...] = DEFAULT_PORTS
) -> list[Finding]:
    found = []
    try:
        for group in islice(_pages(ec2, "describe_security_groups", "SecurityGroups"), MAX_PER_CHECK):
            ports = [p for p in (_open_ports(rule, allowed) for rule in group.get("IpPermissions", [])) if p]
            if ports:
                name = group["GroupId"]
                reason = (
                    f"security group {name} ({group.get('GroupName', '')}) in {region} is open to the internet on "
                    f"{', '.join(ports)}."
                )
                arn = f"arn:aws:ec2:{region}:{account}:security-group/{name}"
                found.append(_finding(OPEN_SECURITY_GROUP, Severity.HIGH, "security-group", name, account, reason, arn))
    except ClientError as error:
        return [_unchecked(OPEN_SECURITY_GROUP, f"the security groups in {region}", account, error)]
    return found


LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def exposed_instances(ec2: Any, account: str, region: str) -> list[Finding]:
    found = []
    try:
        reservations = _pages(
            ec2, "describe_instances", "Reservations", Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}]
        )
        instances = (i for r in reservations for i in r["Instances"])
        for instance in islice(instances, MAX_PER_CHECK):
            has_role = bool(instance.get("IamInstanceProfile"))
            imdsv1 = (instance.get("MetadataOptions") or {}).get("HttpTokens") == "optional"
            if has_role and not imdsv1:
                continue
            name = instance["InstanceId"]
            problems = ([] if has_role else ["has no role"]) + (["allows IMDSv1"] if imdsv1 else [])
            severity = Severity.HIGH if has_role and imdsv1 else Severity.MEDIUM
            reason = f"instance {name} in {region} {' and '.join(problems)}."
            arn = f"arn:aws:ec2:{region}:{account}:instance/{name}"
            found.append(_finding(EC2_WITHOUT_ROLE, severity, "instance", name, account, reason, arn))
    except ClientError as error:
        return [_unchecked(EC2_WITHOUT_ROLE, f"the instances in {region}", account, error)]
    return found


# ---------------------------------------------------------------- load balancers (practice 8: DDoS posture)


def _targets(elbv2: Any, balancer: str) -> tuple[list[str], list[str]]:
    """(instance ids, other targets: IP addresses) behind a load balancer."""
    instances: list[str] = []
    others: list[str] = []
    for group in _pages(elbv2, "describe_target_groups", "TargetGroups", LoadBalancerArn=balancer):
        if group.get("TargetType") == "lambda":
            continue  # Lambda scales by itself
        for health in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]:
            target = str(health["Target"]["Id"])
            (instances if target.startswith("i-") else others).append(target)
    return instances, others


def _in_auto_scaling(autoscaling: Any, instances: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(instances), 50):  # DescribeAutoScalingInstances takes 50 ids at a time
        answer = autoscaling.describe_auto_scaling_instances(InstanceIds=instances[start : start + 50])
        found |= {i["InstanceId"] for i in answer["AutoScalingInstances"]}
    return found


def ddos_posture(aws: AwsClients, account: str, region: str) -> list[Finding]:
    elbv2 = aws.regional("elbv2", region)
    found = []
    try:
        for balancer in islice(_pages(elbv2, "describe_load_balancers", "LoadBalancers"), MAX_PER_CHECK):
            if balancer.get("Scheme") != "internet-facing":
                continue
            arn, name = balancer["LoadBalancerArn"], balancer.get("LoadBalancerName", "?")
            instances, others = _targets(elbv2, arn)
            fixed = sorted(set(instances) - _in_auto_scaling(aws.regional("autoscaling", region), instances)) + others
            if not fixed:
                continue
            waf = balancer.get("Type") == "application" and bool(
                aws.regional("wafv2", region).get_web_acl_for_resource(ResourceArn=arn).get("WebACL")
            )
            if waf:
                continue
            shown = ", ".join(fixed[:5]) + (f" and {len(fixed) - 5} more" if len(fixed) > 5 else "")
            reason = (
                f"internet-facing load balancer {name} in {region} has targets outside any Auto Scaling group "
                f"({shown}) and no WAF web ACL: a flood of requests meets fixed capacity and no filter."
            )
            found.append(_finding(DDOS_POSTURE, Severity.MEDIUM, "load-balancer", name, account, reason, arn))
    except ClientError as error:
        return [_unchecked(DDOS_POSTURE, f"the load balancers in {region}", account, error)]
    return found


def exposure_findings(
    aws: AwsClients, account: str, allowed_ports: tuple[tuple[int, int], ...] = DEFAULT_PORTS
) -> list[Finding]:
    """Every exposure check, in the sweep's own region (buckets: all of the account's); security groups open to
    the internet only on `allowed_ports` (the PublicIngressPorts parameter) are not reported."""
    ec2 = aws.regional("ec2", None)
    region = str(ec2.meta.region_name)
    return [
        *public_buckets(aws, account),
        *open_security_groups(ec2, account, region, allowed_ports),
        *exposed_instances(ec2, account, region),
        *ddos_posture(aws, account, region),
    ]
