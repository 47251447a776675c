"""Known identity providers and the claim that confines a role's trust to one tenant (data, not code).

A federated trust is only as narrow as its conditions: one GitHub OIDC provider serves every repository on
GitHub, one Cognito principal every identity pool in AWS. Each entry says which condition keys can pin the
tenant, how a value of that claim names it, and where the provider documents the claim. Entries are tried in
order; the last one matches any OIDC provider.

Fields:
  name                    what messages call the provider
  issuer                  IAM glob over the provider as the trust policy names it, lower-case, without the
                          `arn:aws:iam::<account>:oidc-provider/` prefix (`saml-provider/*` for SAML)
  keys                    condition keys that can pin it; `{issuer}` stands for the provider's own host/path
  claim                   how a value names the tenant (see trust.claim_level):
                            github_repo          `repo:<owner>/<repo>...` (or `repository_id:<id>`); other
                                                 first claims of a customised sub template are forgeable
                            gitlab_project       `project_path:<group>/<project>...`
                            terraform_org        `organization:<name>:project:...`
                            eks_service_account  `system:serviceaccount:<namespace>:<name>`
                            exact                any value without a wildcard (an id, an audience)
  issuer_pins_tenant      the provider itself belongs to one tenant (a per-enterprise or per-workspace issuer,
                          one EKS cluster, one SAML IdP): unpinned means "anyone of that tenant", not "anyone"
  tenant_wide_pins        a value that names the tenant but ranges inside it (`project_path:group/*`) pins
  source                  the provider's documentation of the claim
"""

from __future__ import annotations

from typing import Final


class IdentityProvider:
    """One row of IDENTITY_PROVIDERS (a plain slotted class: dataclass creation costs cold-start time)."""

    __slots__ = ("claim", "issuer", "issuer_pins_tenant", "keys", "name", "source", "tenant_wide_pins")

    def __init__(
        self,
        name: str,
        issuer: str,
        keys: tuple[str, ...],
        claim: str,
        source: str,
        *,
        issuer_pins_tenant: bool = False,
        tenant_wide_pins: bool = False,
    ) -> None:
        self.name, self.issuer, self.keys, self.claim, self.source = name, issuer, keys, claim, source
        self.issuer_pins_tenant, self.tenant_wide_pins = issuer_pins_tenant, tenant_wide_pins

    def __repr__(self) -> str:
        return f"IdentityProvider({self.name!r})"


_GITHUB_DOCS = (
    "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
    "configuring-openid-connect-in-amazon-web-services"
)

IDENTITY_PROVIDERS: Final[tuple[IdentityProvider, ...]] = (
    IdentityProvider(
        "GitHub Actions",
        "token.actions.githubusercontent.com",
        ("{issuer}:sub",),
        "github_repo",
        _GITHUB_DOCS,
    ),
    IdentityProvider(
        "GitHub Actions (enterprise issuer)",
        "token.actions.githubusercontent.com/*",
        ("{issuer}:sub",),
        "github_repo",
        "https://docs.github.com/en/enterprise-cloud@latest/actions/security-for-github-actions/"
        "security-hardening-your-deployments/about-security-hardening-with-openid-connect"
        "#switching-to-a-unique-token-url",
        issuer_pins_tenant=True,
    ),
    IdentityProvider(
        "GitLab",
        "gitlab.com",
        ("{issuer}:sub",),
        "gitlab_project",
        "https://docs.gitlab.com/ci/cloud_services/aws/",
        tenant_wide_pins=True,
    ),
    IdentityProvider(
        "HCP Terraform",
        "app.terraform.io",
        ("{issuer}:sub",),
        "terraform_org",
        "https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/"
        "aws-configuration",
    ),
    IdentityProvider(
        "Google",
        "accounts.google.com",
        ("{issuer}:sub", "{issuer}:aud", "{issuer}:oaud"),
        "exact",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html"
        "#condition-keys-wif",
    ),
    IdentityProvider(
        "Amazon Cognito",
        "cognito-identity.amazonaws.com",
        ("{issuer}:aud",),
        "exact",
        "https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html",
    ),
    IdentityProvider(
        "Bitbucket Pipelines",
        "api.bitbucket.org/2.0/workspaces/*/pipelines-config/identity/oidc",
        ("{issuer}:sub", "{issuer}:aud"),
        "exact",
        "https://support.atlassian.com/bitbucket-cloud/docs/deploy-on-aws-using-bitbucket-pipelines-openid-connect/",
        issuer_pins_tenant=True,
    ),
    IdentityProvider(
        "CircleCI",
        "oidc.circleci.com/org/*",
        ("{issuer}:sub", "{issuer}:aud"),
        "exact",
        "https://circleci.com/docs/openid-connect-tokens/",
        issuer_pins_tenant=True,
    ),
    IdentityProvider(
        "Amazon EKS",
        "oidc.eks.*.amazonaws.com/id/*",
        ("{issuer}:sub",),
        "eks_service_account",
        "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
        issuer_pins_tenant=True,
    ),
    IdentityProvider(
        "SAML",
        "saml-provider/*",
        ("saml:aud",),
        "exact",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html",
        issuer_pins_tenant=True,
    ),
    IdentityProvider(
        "OIDC",
        "*",
        ("{issuer}:sub", "{issuer}:aud"),
        "exact",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html",
        issuer_pins_tenant=True,
    ),
)
