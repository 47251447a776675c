"""boto3 clients, created on first use so cold starts pay only for the clients an event needs."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient

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

    @cached_property
    def sts(self) -> STSClient:
        """Who is calling (`remediator exempt` records it with each entry)."""
        return self._session.client("sts", **self._options())

    @cached_property
    def cloudformation(self) -> CloudFormationClient:
        """The stack's outputs (`remediator exempt` finds the exemption table there)."""
        return self._session.client("cloudformation", **self._options())
