"""What moto does not model and the demo needs: permission-set boundaries, service-specific credentials and
Roles Anywhere.

moto's Identity Center has no Put/Get/DeletePermissionsBoundary calls, and its IAM no service-specific
credentials, so the demo (and the tests that replay its events) would fail with "not implemented". Installed
once, these calls keep their state on moto's own backends: a permission set without a boundary answers
ResourceNotFoundException and an unknown credential NoSuchEntity, as AWS does. moto has no Roles Anywhere at
all: the demo's server answers its calls from `ROLES_ANYWHERE` (anchors and profiles by id, enabled or not),
which the enactors fill.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any


def _kept(backend: Any, name: str) -> dict[str, Any]:
    """State kept on moto's own backend object, so it goes when moto resets the account."""
    if not hasattr(backend, name):
        setattr(backend, name, {})
    kept: dict[str, Any] = getattr(backend, name)
    return kept


# Roles Anywhere as the demo's server answers it: {"trustanchor" | "profile": {id: {"name": ..., "enabled": ...}}}
ROLES_ANYWHERE: dict[str, dict[str, dict[str, Any]]] = {"trustanchor": {}, "profile": {}}


def install() -> None:
    install_permission_set_boundaries()
    install_service_specific_credentials()
    install_roles_anywhere()


def install_permission_set_boundaries() -> None:
    """Give moto's Identity Center responses the three boundary calls (idempotent)."""
    from moto.ssoadmin.exceptions import ResourceNotFoundException
    from moto.ssoadmin.responses import SSOAdminResponse

    def put(self: Any) -> str:
        _kept(self.ssoadmin_backend, "shim_boundaries")[self._get_param("PermissionSetArn")] = self._get_param(
            "PermissionsBoundary"
        )
        return "{}"

    def get(self: Any) -> str:
        boundary = _kept(self.ssoadmin_backend, "shim_boundaries").get(self._get_param("PermissionSetArn"))
        if boundary is None:
            raise ResourceNotFoundException("The permission set has no permissions boundary")
        return json.dumps({"PermissionsBoundary": boundary})

    def delete(self: Any) -> str:
        _kept(self.ssoadmin_backend, "shim_boundaries").pop(self._get_param("PermissionSetArn"), None)
        return "{}"

    SSOAdminResponse.put_permissions_boundary_to_permission_set = put  # type: ignore[attr-defined]
    SSOAdminResponse.get_permissions_boundary_for_permission_set = get  # type: ignore[attr-defined]
    SSOAdminResponse.delete_permissions_boundary_from_permission_set = delete  # type: ignore[attr-defined]


def install_service_specific_credentials() -> None:
    """Create, list and update service-specific credentials in moto's IAM (idempotent)."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.iam.exceptions import NotFoundException
    from moto.iam.responses import IamResponse

    def create(self: Any) -> Any:
        user, service = self._get_param("UserName"), self._get_param("ServiceName")
        self.backend.get_user(user)  # NoSuchEntity for an unknown user
        ident = "ACCA" + secrets.token_hex(8).upper()
        created = {
            "UserName": user,
            "ServiceName": service,
            "ServiceUserName": f"{user}-at-demo",
            "ServiceSpecificCredentialId": ident,
            "Status": "Active",
            "CreateDate": datetime.now(UTC),
        }
        _kept(self.backend, "shim_credentials")[ident] = created
        return ActionResult({"ServiceSpecificCredential": {**created, "ServicePassword": "demo"}})

    def listing(self: Any) -> Any:
        user = self._get_param("UserName")
        return ActionResult(
            {
                "ServiceSpecificCredentials": [
                    credential
                    for credential in _kept(self.backend, "shim_credentials").values()
                    if credential["UserName"] == user
                ]
            }
        )

    def update(self: Any) -> Any:
        credential = _kept(self.backend, "shim_credentials").get(self._get_param("ServiceSpecificCredentialId"))
        if credential is None or credential["UserName"] != self._get_param("UserName"):
            raise NotFoundException("The service-specific credential cannot be found.")
        credential["Status"] = self._get_param("Status")
        return EmptyResult()

    IamResponse.create_service_specific_credential = create  # type: ignore[attr-defined]
    IamResponse.list_service_specific_credentials = listing  # type: ignore[attr-defined]
    IamResponse.update_service_specific_credential = update  # type: ignore[attr-defined]


def install_roles_anywhere() -> None:
    """Serve Get/Disable of trust anchors and profiles on the moto server (REST-JSON: GET /trustanchor/<id>,
    POST /trustanchor/<id>/disable, the same under /profile/); other Roles Anywhere calls answer 404."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication, "roles_anywhere", False):
        return
    original = DomainDispatcherApplication.__call__

    def serve(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        kind = parts[0] if parts else ""
        item = ROLES_ANYWHERE.get(kind, {}).get(parts[1]) if len(parts) > 1 else None
        if item is None or len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("disable", "enable")):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [json.dumps({"message": "not found"}).encode()]
        if len(parts) == 3:
            item["enabled"] = parts[2] == "enable"
        key = "trustAnchor" if kind == "trustanchor" else "profile"
        body = {key: {f"{key}Id": parts[1], "name": item["name"], "enabled": item["enabled"]}}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def dispatch(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if "/rolesanywhere/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
            return serve(environ, start_response)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]
    DomainDispatcherApplication.roles_anywhere = True  # type: ignore[attr-defined]
