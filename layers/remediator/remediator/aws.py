"""boto3 clients, created on first use so cold starts pay only for the clients an event needs."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sns import SNSClient

# IAM throttles without a published limit: adaptive retries back off client-side too.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=10)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


class AwsClients:
    """The clients a handler, the CLI or a test hands to rules and notification."""

    def __init__(self, session: boto3.Session | None = None, endpoint_url: str | None = None,
                 region: str | None = None) -> None:
        self._session = session or boto3.Session()
        self._endpoint_url = endpoint_url
        self._region = region
        self._regional: dict[tuple[str, str | None], Any] = {}

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

    def regional(self, service: str, region: str | None) -> Any:
        """A client of a regional service in the region an event happened in (Roles Anywhere anchors, the
        Identity Center instance's home region); the clients' own region when the event names none."""
        key = (service, region or self._region)
        if key not in self._regional:
            options = self._options()
            options["region_name"] = region or self._region
            self._regional[key] = self._session.client(service, **options)  # type: ignore[call-overload]
        return self._regional[key]
