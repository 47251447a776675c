"""boto3 clients, created on first use so cold starts pay only for the clients an event needs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_guardduty import GuardDutyClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient

# IAM throttles without a published limit: adaptive retries back off client-side too.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=10)


# Throttled even after the adaptive retries: a remediation step raises (Lambda retries; the sweep stops acting).
THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _without_account_host(request: Any, **_: Any) -> None:
    """S3 Control puts the account id in the host name (`123456789012.<endpoint>`); a local endpoint has no such
    names, and the id travels in the x-amz-account-id header as well."""
    request.url = re.sub(r"//\d{12}\.", "//", request.url, count=1)


class AwsClients:
    """The clients a handler, the CLI or a test hands to rules and notification."""

    def __init__(
        self, session: boto3.Session | None = None, endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        self._session = session or boto3.Session()
        self._endpoint_url = endpoint_url
        if endpoint_url:  # a local endpoint (moto) has no per-account host names for S3 Control
            self._session.events.register("before-send.s3-control", _without_account_host)
        self._region = region
        self._regional: dict[tuple[str, str | None], Any] = {}
        # Answers worth keeping as long as the clients (a Lambda container's life): the account's trail buckets.
        self.cache: dict[str, Any] = {}

    @property
    def region_name(self) -> str | None:
        return self._region or self._session.region_name

    def with_credentials(self, credentials: Mapping[str, Any]) -> AwsClients:
        """The same endpoint and region on other credentials (STS AssumeRole's `Credentials`: a member account's
        role, organization mode). The new session shares this one's loaded service models: a client per member
        account then costs no second parse of botocore's data."""
        import botocore.session

        core = botocore.session.get_session()
        core.register_component("data_loader", self._session._session.get_component("data_loader"))
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region_name,
            botocore_session=core,
        )
        return AwsClients(session=session, endpoint_url=self._endpoint_url, region=self._region)

    def client(self, service: str) -> Any:
        """A client for a service the typed properties do not cover, with the same endpoint and retries."""
        return self._session.client(service, **self._options())  # type: ignore[call-overload]

    def _options(self) -> dict[str, Any]:
        return {"endpoint_url": self._endpoint_url, "region_name": self._region, "config": CLIENT_CONFIG}

    @cached_property
    def iam(self) -> IAMClient:
        return self._session.client("iam", **self._options())

    @cached_property
    def sns(self) -> SNSClient:
        return self._session.client("sns", **self._options())

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self._session.client("dynamodb", **self._options())

    # The sweep's coverage self-check: are our rules enabled, are our DLQs empty? (CloudTrail: below, per region)
    @cached_property
    def events(self) -> EventBridgeClient:
        return self._session.client("events", **self._options())

    @cached_property
    def sqs(self) -> Any:
        return self._session.client("sqs", **self._options())

    @cached_property
    def securityhub(self) -> Any:
        """Only when the stack enables Security Hub (ENABLE_SECURITY_HUB)."""
        return self._session.client("securityhub", **self._options())

    def _regional_options(self, region: str | None) -> dict[str, Any]:
        return {**self._options(), "region_name": region or self._region}

    def cloudtrail(self, region: str | None = None) -> CloudTrailClient:
        """CloudTrail in `region` (the region an event happened in; None: our own), one client per region."""
        key = ("cloudtrail", region)
        if key not in self._regional:
            self._regional[key] = self._session.client("cloudtrail", **self._regional_options(region))
        client: CloudTrailClient = self._regional[key]
        return client

    def guardduty(self, region: str | None = None) -> GuardDutyClient:
        key = ("guardduty", region)
        if key not in self._regional:
            self._regional[key] = self._session.client("guardduty", **self._regional_options(region))
        client: GuardDutyClient = self._regional[key]
        return client

    def config(self, region: str | None = None) -> ConfigServiceClient:
        key = ("config", region)
        if key not in self._regional:
            self._regional[key] = self._session.client("config", **self._regional_options(region))
        client: ConfigServiceClient = self._regional[key]
        return client

    @cached_property
    def sts(self) -> STSClient:
        """Who is calling (`remediator exempt` records it with each entry)."""
        return self._session.client("sts", **self._options())

    @cached_property
    def cloudformation(self) -> CloudFormationClient:
        """The stack's outputs (`remediator exempt` finds the exemption table there)."""
        return self._session.client("cloudformation", **self._options())

    def regional(self, service: str, region: str | None) -> Any:
        """A client of a regional service in the region an event happened in (Roles Anywhere anchors, the
        Identity Center instance's home region); the clients' own region when the event names none."""
        key = (service, region or self._region)
        if key not in self._regional:
            options = self._options()
            options["region_name"] = region or self._region
            self._regional[key] = self._session.client(service, **options)  # type: ignore[call-overload]
        return self._regional[key]
