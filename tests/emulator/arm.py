"""Azure Resource Manager: the cloud metadata endpoint, token checks, RBAC checks and routing
to the resource providers (Microsoft.Storage, Microsoft.Authorization)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from aiohttp import web

from . import responses, tokens


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, *, storage: bool = False, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.storage, self.headers = status, code, message, storage, headers

    def response(self) -> web.Response:
        return responses.arm_error(self.status, self.code, self.message, storage=self.storage, headers=self.headers)


@dataclass
class Ctx:
    request: web.Request
    emu: object
    caller: object
    api_version: str
    groups: dict
    body: object = None
    query: dict = field(default_factory=dict)

    @property
    def state(self):
        return self.emu.state

    # ------------------------------------------------------------ lookups with ARM's errors
    def subscription(self, sid: str) -> dict:
        sub = self.state.subscription(sid)
        if sub is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sid}' could not be found.")
        if sub["tenant_id"] != self.caller.tenant_id:
            raise ArmError(
                401,
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer 'https://sts.windows.net/{self.caller.tenant_id}/'. "
                f"It must match the tenant 'https://sts.windows.net/{sub['tenant_id']}/' associated with this "
                f"subscription. Please use the authority (URL) 'https://login.windows.net/{sub['tenant_id']}' to "
                "get the token. Note, if the subscription is transferred to another tenant there is no impact to "
                "the services, but information about new tenant could take time to propagate (up to an hour). If "
                "you just transferred your subscription and see this error message, please try back later.",
                headers=_challenge("The access token is from the wrong issuer."),
            )
        from .resources import refuse_writes_when_read_only

        refuse_writes_when_read_only(sub, self.request.method)
        return sub

    def resource_group(self, sid: str, rg: str) -> dict:
        group = self.state.resource_group(sid, rg)
        if group is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return group

    def account(self, sid: str, rg: str, name: str) -> dict:
        self.resource_group(sid, rg)
        acct = self.state.account(sid, rg, name)
        if acct is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group '{rg}' was not found. "
                "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return acct

    # ------------------------------------------------------------ RBAC
    def authorize(self, action: str, scope: str) -> None:
        if not self.allowed(self.caller.object_id, action, scope):
            raise ArmError(
                403,
                "AuthorizationFailed",
                f"The client '{self.caller.app_id}' with object id '{self.caller.object_id}' does not have "
                f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If "
                "access was recently granted, please refresh your credentials.",
            )

    def allowed(self, principal_id: str, action: str, scope: str) -> bool:
        from . import roles

        target = scope.rstrip("/").lower() + "/"
        for ra in self.state.role_assignments.values():
            if ra["principal_id"] != principal_id.lower():
                continue
            ra_scope = ra["scope"].rstrip("/").lower() + "/"
            if target.startswith(ra_scope) and roles.allows(ra["role_guid"], action):
                return True
        return False


def _parse_bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip()


def _challenge(description: str) -> dict:
    return {
        "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", '
        f'error_description="{description}"'
    }


def authenticate(request: web.Request, emu):
    """The caller of an ARM request, or an ArmError as ARM answers a bad or missing token."""
    from .app import Caller

    raw = _parse_bearer(request)
    if raw is None:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=_challenge("The authentication failed because of missing 'Authorization' header."),
        )
    claims = tokens.verify(raw)
    if claims is None:
        raise ArmError(
            401, "InvalidAuthenticationToken", "The access token is invalid.", headers=_challenge("The access token is invalid.")
        )
    if claims["aud"] not in emu.arm_audiences:
        allowed = ",".join(f"'{a}','{a.rstrip('/')}'" for a in emu.arm_audiences)
        raise ArmError(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{claims['aud']}'. It should "
            f"exactly match with one of the allowed audiences {allowed}.",
            headers=_challenge("The access token has been obtained for wrong audience or resource."),
        )
    caller = Caller(tenant_id=claims["tid"], object_id=claims["oid"], app_id=claims["appid"], audience=claims["aud"])
    request["caller"] = caller
    return caller


# ------------------------------------------------------------------ routing
_SUB = r"/subscriptions/(?P<sid>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_ACCT = _RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)"
_SCOPE = r"(?P<scope>(/[^/]+)*?)"
_ROUTES: list[tuple[re.Pattern, dict]] = []


def route(pattern: str, **handlers):
    _ROUTES.append((re.compile("^" + pattern + "$", re.IGNORECASE), handlers))


def _register():
    from . import authorization, resources, storage

    # Microsoft.Resources: what every client reads after sign-in (resources.py), and what
    # azure.azcollection's modules read before their own work
    route(r"/subscriptions", GET=resources.list_subscriptions)
    route(_SUB, GET=resources.get_subscription)
    route(r"/tenants", GET=resources.list_tenants)
    route(_RG, GET=get_resource_group)
    route(_SUB + r"/providers/Microsoft\.Storage/storageAccounts", GET=storage.list_accounts)
    route(_RG + r"/providers/Microsoft\.Storage/storageAccounts", GET=storage.list_accounts)
    route(_ACCT, GET=storage.get_account)
    route(_ACCT + r"/listKeys", POST=storage.list_keys)
    route(_ACCT + r"/blobServices", GET=storage.list_blob_services)
    route(_ACCT + r"/blobServices/(?P<service>[^/]+)", GET=storage.get_blob_service, PUT=storage.put_blob_service)
    route(_ACCT + r"/blobServices/default/containers", GET=storage.list_containers)
    route(
        _ACCT + r"/blobServices/default/containers/(?P<container>[^/]+)",
        GET=storage.get_container,
        PUT=storage.put_container,
        DELETE=storage.delete_container,
    )
    route(_SCOPE + r"/providers/Microsoft\.Authorization/roleAssignments", GET=authorization.list_assignments)
    route(
        _SCOPE + r"/providers/Microsoft\.Authorization/roleAssignments/(?P<name>[^/]+)",
        GET=authorization.get_assignment,
        PUT=authorization.put_assignment,
        DELETE=authorization.delete_assignment,
    )
    route(_SCOPE + r"/providers/Microsoft\.Authorization/permissions", GET=authorization.list_permissions)
    route(_SCOPE + r"/providers/Microsoft\.Authorization/roleDefinitions", GET=authorization.list_definitions)
    route(_SCOPE + r"/providers/Microsoft\.Authorization/roleDefinitions/(?P<guid>[^/]+)", GET=authorization.get_definition)


def get_resource_group(ctx: Ctx) -> web.Response:
    """ResourceGroups_Get (Microsoft.Resources): id, name, type, location, properties.provisioningState."""
    g = ctx.groups
    ctx.subscription(g["sid"])
    ctx.authorize("Microsoft.Resources/subscriptions/resourceGroups/read", f"/subscriptions/{g['sid']}/resourceGroups/{g['rg']}")
    group = ctx.resource_group(g["sid"], g["rg"])
    return responses.arm(
        {
            "id": f"/subscriptions/{g['sid']}/resourceGroups/{group['name']}",
            "name": group["name"],
            "type": "Microsoft.Resources/resourceGroups",
            "location": group["location"],
            "properties": {"provisioningState": "Succeeded"},
        }
    )


async def dispatch(request: web.Request) -> web.Response:
    emu = request.app["emulator"]
    if not _ROUTES:
        _register()
    try:
        caller = authenticate(request, emu)
        api_version = request.query.get("api-version")
        if not api_version:
            raise ArmError(
                400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."
            )
        if not re.match(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha)?$", api_version):
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{api_version}' is invalid. The supported versions are "
                "'2026-09-01,2025-06-01,2025-01-01,2024-01-01,2023-05-01,2022-09-01,2022-05-01,2022-04-01'.",
            )
        # ARM folds empty segments: the SDKs send `Microsoft.Storage//storageAccounts` for an
        # empty parent resource path
        path = re.sub("/{2,}", "/", request.path).rstrip("/") or "/"
        for pattern, handlers in _ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            handler = handlers.get(request.method)
            if handler is None:
                raise ArmError(
                    405,
                    "MethodNotAllowed",
                    f"The requested resource does not support http method '{request.method}'.",
                )
            body = None
            if request.body_exists:
                text = await request.text()
                if text:
                    try:
                        body = json.loads(text)
                    except ValueError:
                        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
            ctx = Ctx(request, emu, caller, api_version, match.groupdict(), body, dict(request.query))
            return handler(ctx)
        raise ArmError(
            404,
            "InvalidResourceType" if "/providers/" in path else "NotFound",
            f"The resource type could not be found for path '{path}'.",
        )
    except ArmError as err:
        return err.response()


# The cloud metadata endpoint answers in three shapes, chosen by api-version, as public Azure does:
#
# - 2022-09-01 and later: ONE object, the cloud asked, in the new shape (resourceManager,
#   authentication.loginEndpoint/audiences, graph, microsoftGraphResourceId, suffixes, ...).
#   azure-cli's `az cloud register --endpoint-resource-manager` reads it as one object
#   (azure-cli src/azure-cli/azure/cli/command_modules/cloud/custom.py,
#   `_populate_from_metadata_endpoint`: `metadata['authentication']['audiences'][0]`).
# - 2019-05-01 up to 2022-09-01: a LIST of clouds, each in the new shape; azure-cli's
#   ARM_CLOUD_METADATA_URL (documented with api-version=2019-05-01) is read as a list
#   (azure-cli src/azure-cli-core/azure/cli/core/cloud.py, `_convert_arm_to_cli`:
#   `for cloud in arm_cloud_metadata_dict: ... cloud['name']`). The emulator is one cloud, so
#   its list has one entry.
# - before 2019-05-01 (2015-01-01, what Azure Stack Hub serves and what older azure-cli asked):
#   one object in the old shape, galleryEndpoint, graphEndpoint, portalEndpoint and
#   authentication {loginEndpoint, audiences}, with no resourceManager (the metadata URL's own
#   origin is ARM) and no microsoftGraphResourceId.
#
# `graph` and `graphEndpoint` name Azure AD Graph (graph.windows.net), a retired service the
# emulator does not serve, as public Azure still names it; Microsoft Graph is
# `microsoftGraphResourceId`, the emulator's own Graph address.
LIST_SINCE, OBJECT_SINCE = "2019-05-01", "2022-09-01"


def cloud_metadata(emu) -> dict:
    """The emulator's cloud in the metadata's new shape."""
    base = emu.base_url
    return {
        "portal": f"{base}/portal",
        "authentication": {
            "loginEndpoint": base,
            "audiences": emu.arm_audiences,
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "name": "AzureEmulator",
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net",
        },
        "batch": "https://batch.core.windows.net/",
        "resourceManager": base + "/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "microsoftGraphResourceId": emu.graph_audience,
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
    }


def legacy_cloud_metadata(emu) -> dict:
    """The emulator's cloud in the old (2015-01-01, Azure Stack Hub) shape."""
    base = emu.base_url
    return {
        "galleryEndpoint": f"{base}/gallery/",
        "graphEndpoint": "https://graph.windows.net/",
        "graphAudience": "https://graph.windows.net/",
        "portalEndpoint": f"{base}/portal/",
        "authentication": {"loginEndpoint": base + "/", "audiences": emu.arm_audiences},
    }


async def metadata_endpoints(request: web.Request) -> web.Response:
    emu = request.app["emulator"]
    version = request.query.get("api-version")
    if not version:
        return responses.arm_error(
            400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."
        )
    if version >= OBJECT_SINCE:
        return responses.arm(cloud_metadata(emu))
    if version >= LIST_SINCE:
        return responses.arm([cloud_metadata(emu)])
    return responses.arm(legacy_cloud_metadata(emu))
