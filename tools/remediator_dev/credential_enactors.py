"""Enactors for other_credentials and identity_center: the moto account as if the event's call had succeeded.

Each makes what the event reports (the key, the certificate, the permission set with its policy, the
assignment, the Roles Anywhere anchor or profile), rewrites the event with the ids moto made, and returns an
observer that re-reads it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

Observer = Callable[[], str]
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _user(iam: Any, detail: dict[str, Any]) -> str | None:
    params = detail.get("requestParameters") or {}
    user = params.get("userName") or (detail.get("userIdentity") or {}).get("userName")
    if isinstance(user, str):
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=user)
        return user
    return None


def _ssh_state(iam: Any, user: str, key_id: str) -> Observer:
    def observe() -> str:
        keys = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
        status = next((k["Status"] for k in keys if k["SSHPublicKeyId"] == key_id), "gone")
        return f"SSH key {key_id} of {user}: {status}"

    return observe


def enact_upload_ssh_public_key(iam: Any, detail: dict[str, Any]) -> Observer | None:
    user, body = _user(iam, detail), (detail.get("requestParameters") or {}).get("sSHPublicKeyBody")
    if not user or not isinstance(body, str):
        return None
    key_id = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]["SSHPublicKeyId"]
    response = (detail.get("responseElements") or {}).get("sSHPublicKey")
    if isinstance(response, dict):
        response["sSHPublicKeyId"] = key_id
    return _ssh_state(iam, user, key_id)


def enact_update_ssh_public_key(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """An SSH key set Inactive earlier, then the status the event sets."""
    user, params = _user(iam, detail), detail.get("requestParameters") or {}
    if not user:
        return None
    body = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7demokeyforthereplay demo@example"
    key_id = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]["SSHPublicKeyId"]
    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status=params.get("status", "Active"))
    params["sSHPublicKeyId"] = key_id
    return _ssh_state(iam, user, key_id)


def self_signed_certificate(common_name: str) -> str:
    """IAM parses an uploaded signing certificate: the demo makes a real one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def enact_upload_signing_certificate(iam: Any, detail: dict[str, Any]) -> Observer | None:
    user = _user(iam, detail)
    if not user:
        return None
    certificate = iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed_certificate(user))
    certificate_id = certificate["Certificate"]["CertificateId"]
    response = (detail.get("responseElements") or {}).get("certificate")
    if isinstance(response, dict):
        response["certificateId"] = certificate_id

    def observe() -> str:
        certificates = iam.list_signing_certificates(UserName=user)["Certificates"]
        status = next((c["Status"] for c in certificates if c["CertificateId"] == certificate_id), "gone")
        return f"signing certificate {certificate_id[:12]}... of {user}: {status}"

    return observe


def enact_update_signing_certificate(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A certificate set Inactive earlier, then the status the event sets."""
    user, params = _user(iam, detail), detail.get("requestParameters") or {}
    if not user:
        return None
    certificate = iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed_certificate(user))
    certificate_id = certificate["Certificate"]["CertificateId"]
    iam.update_signing_certificate(UserName=user, CertificateId=certificate_id, Status=params.get("status", "Active"))
    params["certificateId"] = certificate_id

    def observe() -> str:
        certificates = iam.list_signing_certificates(UserName=user)["Certificates"]
        status = next((c["Status"] for c in certificates if c["CertificateId"] == certificate_id), "gone")
        return f"signing certificate {certificate_id[:12]}... of {user}: {status}"

    return observe


def enact_update_service_specific_credential(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A credential set Inactive earlier, then the status the event sets."""
    user, params = _user(iam, detail), detail.get("requestParameters") or {}
    if not user:
        return None
    credential = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    credential_id = credential["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    iam.update_service_specific_credential(
        UserName=user, ServiceSpecificCredentialId=credential_id, Status=params.get("status", "Active")
    )
    params["serviceSpecificCredentialId"] = credential_id
    return _credential_state(iam, user, credential_id)


def _credential_state(iam: Any, user: str, credential_id: str) -> Observer:
    def observe() -> str:
        listing = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
        status = next((c["Status"] for c in listing if c["ServiceSpecificCredentialId"] == credential_id), "gone")
        return f"service-specific credential {credential_id} of {user}: {status}"

    return observe


def enact_create_service_specific_credential(iam: Any, detail: dict[str, Any]) -> Observer | None:
    user, params = _user(iam, detail), detail.get("requestParameters") or {}
    if not user:
        return None
    credential = iam.create_service_specific_credential(
        UserName=user, ServiceName=params.get("serviceName", "codecommit.amazonaws.com")
    )["ServiceSpecificCredential"]
    credential_id = credential["ServiceSpecificCredentialId"]
    response = (detail.get("responseElements") or {}).get("serviceSpecificCredential")
    if isinstance(response, dict):
        response["serviceSpecificCredentialId"] = credential_id
    return _credential_state(iam, user, credential_id)


def enact_get_federation_token(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The calling user; the observer shows whether their sessions are now cut off."""
    user = _user(iam, detail)
    if not user:
        return None

    def observe() -> str:
        return f"inline policies of user {user}: {iam.list_user_policies(UserName=user)['PolicyNames']}"

    return observe


def enact_roles_anywhere(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The anchor or profile the event created, enabled, on the demo server's Roles Anywhere (moto has none)."""
    from remediator_dev.moto_shims import ROLES_ANYWHERE

    kind, key = (
        ("trustanchor", "trustAnchor") if "TrustAnchor" in str(detail.get("eventName")) else ("profile", "profile")
    )
    response = (detail.get("responseElements") or {}).get(key) or {}
    ident = response.get(f"{key}Id") or (detail.get("requestParameters") or {}).get(f"{key}Id")
    if not isinstance(ident, str):
        return None
    item = ROLES_ANYWHERE[kind].setdefault(ident, {"name": response.get("name", ident)})
    item["enabled"] = True

    def observe() -> str:
        noun = "trust anchor" if kind == "trustanchor" else "profile"
        return f"Roles Anywhere {noun} {item['name']}: {'enabled' if item['enabled'] else 'disabled'}"

    return observe


# ---------------------------------------------------------------- Identity Center


def _permission_set(detail: dict[str, Any], *managed: str) -> tuple[Any, dict[str, str]]:
    """A fresh permission set in moto's instance (in the event's region), the event pointed at it."""
    sso = boto3.client("sso-admin", region_name=detail.get("awsRegion"))
    params = detail.setdefault("requestParameters", {})
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    name = f"{str(params.get('permissionSetArn', 'ps')).rsplit('/', 1)[-1]}-{detail.get('eventID', '')[:8]}"
    arn = sso.create_permission_set(InstanceArn=instance, Name=name[:32])["PermissionSet"]["PermissionSetArn"]
    key = {"InstanceArn": instance, "PermissionSetArn": arn}
    for policy in managed:
        sso.attach_managed_policy_to_permission_set(**key, ManagedPolicyArn=policy)
    params.update({"instanceArn": instance, "permissionSetArn": arn})
    return sso, key


def _policies_of(sso: Any, key: dict[str, str]) -> Observer:
    def observe() -> str:
        managed = [p["Name"] for p in sso.list_managed_policies_in_permission_set(**key)["AttachedManagedPolicies"]]
        customer = [
            p["Name"]
            for p in sso.list_customer_managed_policy_references_in_permission_set(**key)[
                "CustomerManagedPolicyReferences"
            ]
        ]
        inline = "an inline policy" if sso.get_inline_policy_for_permission_set(**key)["InlinePolicy"] else "none"
        return f"permission set policies: managed {managed}, customer managed {customer}, inline: {inline}"

    return observe


def enact_create_account_assignment(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A permission set holding AdministratorAccess, assigned as the event says."""
    params = detail.get("requestParameters") or {}
    sso, key = _permission_set(detail, ADMINISTRATOR_ACCESS)
    account, kind, principal = params.get("targetId"), params.get("principalType"), params.get("principalId")
    sso.create_account_assignment(
        **key, TargetId=account, TargetType="AWS_ACCOUNT", PrincipalType=kind, PrincipalId=principal
    )

    def observe() -> str:
        listing = sso.list_account_assignments(**key, AccountId=account)["AccountAssignments"]
        return f"assignments of the permission set in {account}: {[a['PrincipalId'][:8] for a in listing]}"

    return observe


def enact_attach_managed_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    policy = (detail.get("requestParameters") or {}).get("managedPolicyArn")
    sso, key = _permission_set(detail, policy) if isinstance(policy, str) else _permission_set(detail)
    return _policies_of(sso, key)


def enact_attach_customer_managed_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The referenced policy in this account (admin-equivalent), then the reference on a permission set."""
    reference = (detail.get("requestParameters") or {}).get("customerManagedPolicyReference") or {}
    name, path = reference.get("name"), reference.get("path") or "/"
    if not isinstance(name, str):
        return None
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=ADMIN)
    sso, key = _permission_set(detail)
    sso.attach_customer_managed_policy_reference_to_permission_set(
        **key, CustomerManagedPolicyReference={"Name": name, "Path": path}
    )
    return _policies_of(sso, key)


def enact_put_inline_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    document = (detail.get("requestParameters") or {}).get("inlinePolicy")
    if not isinstance(document, str):
        return None
    sso, key = _permission_set(detail)
    sso.put_inline_policy_to_permission_set(**key, InlinePolicy=document)
    return _policies_of(sso, key)


def enact_put_permissions_boundary(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A permission set holding AdministratorAccess, then the boundary the event puts (moto_shims keeps it)."""
    boundary = (detail.get("requestParameters") or {}).get("permissionsBoundary") or {}
    sso, key = _permission_set(detail, ADMINISTRATOR_ACCESS)
    arn = boundary.get("managedPolicyArn")
    if isinstance(arn, str):
        sso.put_permissions_boundary_to_permission_set(**key, PermissionsBoundary={"ManagedPolicyArn": arn})
    return _policies_of(sso, key)


def enact_admin_permission_set(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Boundary removed, or provisioned: a permission set that holds AdministratorAccess, without a boundary."""
    sso, key = _permission_set(detail, ADMINISTRATOR_ACCESS)
    return _policies_of(sso, key)


ENACTORS: dict[str, Callable[[Any, dict[str, Any]], Observer | None]] = {
    "UploadSSHPublicKey": enact_upload_ssh_public_key,
    "UpdateSSHPublicKey": enact_update_ssh_public_key,
    "UploadSigningCertificate": enact_upload_signing_certificate,
    "UpdateSigningCertificate": enact_update_signing_certificate,
    "UpdateServiceSpecificCredential": enact_update_service_specific_credential,
    "CreateServiceSpecificCredential": enact_create_service_specific_credential,
    "GetFederationToken": enact_get_federation_token,
    **dict.fromkeys(("CreateTrustAnchor", "EnableTrustAnchor", "CreateProfile", "EnableProfile"), enact_roles_anywhere),
    "CreateAccountAssignment": enact_create_account_assignment,
    "AttachManagedPolicyToPermissionSet": enact_attach_managed_policy,
    "AttachCustomerManagedPolicyReferenceToPermissionSet": enact_attach_customer_managed_policy,
    "PutInlinePolicyToPermissionSet": enact_put_inline_policy,
    "PutPermissionsBoundaryToPermissionSet": enact_put_permissions_boundary,
    "DeletePermissionsBoundaryFromPermissionSet": enact_admin_permission_set,
    "ProvisionPermissionSet": enact_admin_permission_set,
}
