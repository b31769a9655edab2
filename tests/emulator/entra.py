"""Microsoft Entra: OpenID discovery, instance discovery and the v2.0 token endpoint
(client credentials with a secret or a client assertion)."""
from __future__ import annotations

import re

from aiohttp import web

from . import responses, tokens

_ENTRA_PATH = re.compile(
    r"^/(common/discovery/instance|[^/]+/v2\.0/\.well-known/openid-configuration|[^/]+/oauth2/v2\.0/token)$"
)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def is_entra_path(path: str) -> bool:
    return bool(_ENTRA_PATH.match(path))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/common/discovery/instance", instance_discovery)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)


def _tenant_not_found(tenant: str) -> web.Response:
    return responses.entra_error(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
    )


async def instance_discovery(request: web.Request) -> web.Response:
    emu = request.app["emulator"]
    endpoint = request.query.get("authorization_endpoint", "")
    tenant = endpoint.rstrip("/").split("/")[-3] if endpoint.count("/") >= 5 else "common"
    host = emu.base_url.split("://", 1)[1]
    return responses.entra(
        {
            "tenant_discovery_endpoint": f"{emu.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


async def openid_configuration(request: web.Request) -> web.Response:
    emu = request.app["emulator"]
    tenant = request.match_info["tenant"].lower()
    if tenant not in emu.state.tenants:
        return _tenant_not_found(tenant)
    base = f"{emu.base_url}/{tenant}"
    return responses.entra(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{emu.graph_audience}oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "emulator",
            "msgraph_host": emu.graph_audience.split("://", 1)[1].rstrip("/"),
        }
    )


def _application_in(emu, tenant: dict, client_id: str) -> dict | None:
    """A multi-tenant application signing in to a tenant that has its service principal (V7's app
    in a customer's tenant, after `az ad sp create --id <app id>`): the token's `oid` is that
    service principal's object id in this tenant, and the credential is the application's own,
    kept in its home tenant. Without the service principal, Entra answers AADSTS700016, as for an
    unknown client ("...has not been installed by the administrator of the tenant...")."""
    app = emu.state.applications.get(client_id)
    if app is None or not app.get("secret"):
        return None
    if not app["multi_tenant"] and app["home_tenant"] != tenant["id"]:
        return None
    principal = next((sp for sp in tenant["service_principals"].values() if sp["appId"] == client_id), None)
    if principal is None:
        return None
    return {"object_id": principal["id"], "secret": app["secret"], "federated": []}


# Azure Storage's resource ids: https://storage.azure.com/ for every account (what azure-storage-blob
# asks a token for), or one account's own service endpoint (learn.microsoft.com/azure/storage/
# blobs/authorize-access-azure-active-directory, "Microsoft Entra ID scope for Azure Storage")
STORAGE_AUDIENCE = "https://storage.azure.com/"
_ACCOUNT_AUDIENCE = re.compile(r"^https://[a-z0-9]{3,24}\.blob\.core\.windows\.net/$")


def is_storage_audience(audience: str) -> bool:
    return audience == STORAGE_AUDIENCE or bool(_ACCOUNT_AUDIENCE.match(audience))


def _audience_for(emu, scope: str) -> str | None:
    resource = scope[: -len("/.default")] if scope.endswith("/.default") else None
    if resource is None:
        return None
    wanted = resource.rstrip("/") + "/"
    known = emu.arm_audiences + emu.graph_audiences
    return wanted if wanted in known or is_storage_audience(wanted) else None


def _check_assertion(identity: dict, assertion: str) -> tuple[bool, str]:
    claims = tokens.unverified_claims(assertion) or {}
    iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    for fed in identity["federated"]:
        if fed.get("issuer") == iss and fed.get("subject") == sub and EXCHANGE_AUDIENCE in auds:
            return True, ""
    return False, (
        "No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
    )


async def token(request: web.Request) -> web.Response:
    emu = request.app["emulator"]
    tenant_id = request.match_info["tenant"].lower()
    form = await request.post()
    client_id = (form.get("client_id") or "").lower()
    request["client_id"] = client_id
    request["tenant_id"] = tenant_id
    if form.get("grant_type") != "client_credentials":
        return responses.entra_error(
            400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )
    tenant = emu.state.tenants.get(tenant_id)
    if tenant is None:
        return _tenant_not_found(tenant_id)
    identity = tenant["identities"].get(client_id) or _application_in(emu, tenant, client_id)
    if identity is None:
        return responses.entra_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant['display_name']}'. "
            "This can happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        )
    if form.get("client_secret") is not None:
        if not identity["secret"] or form["client_secret"] != identity["secret"]:
            return responses.entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
    elif form.get("client_assertion") is not None:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return responses.entra_error(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion_type'."
            )
        ok, message = _check_assertion(identity, form["client_assertion"])
        if not ok:
            return responses.entra_error(400, "invalid_client", 70021, message)
    else:
        return responses.entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    scope = form.get("scope") or ""
    audience = _audience_for(emu, scope)
    if audience is None:
        return responses.entra_error(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {scope.removesuffix('/.default')} was not found in the tenant named "
            f"{tenant['display_name']}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might have sent your "
            "authentication request to the wrong tenant.",
        )
    access_token = tokens.issue(
        tenant_id=tenant_id,
        object_id=identity["object_id"],
        app_id=client_id,
        audience=audience,
        issuer_base=emu.base_url,
    )
    return responses.entra(
        {"token_type": "Bearer", "expires_in": tokens.LIFETIME, "ext_expires_in": tokens.LIFETIME, "access_token": access_token}
    )
