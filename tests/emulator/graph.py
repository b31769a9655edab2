"""Microsoft Graph v1.0: servicePrincipals (create, get by id or appId, list by appId or by
servicePrincipalNames, delete), applications (list by `$filter`, get, create, delete) and
directoryObjects/getByIds.

What Azure's own clients call besides what the collection calls:

- `az ad sp create --id <appId>` (V7's guide) first looks the id up as an application of the
  caller's tenant: `GET /applications?$filter=appId eq '<id>'` (200 `{"value": []}` for an app of
  another tenant, such as V7's), then, the list being empty, `GET /applications/<id>` as an object
  id (404 Request_ResourceNotFound, which it passes over), and only then POSTs `/servicePrincipals`
  with `{"appId": <id>, "accountEnabled": true}` (azure-cli `command_modules/role/custom.py`,
  `_create_service_principal`). In the recording
  tests/fidelity/reference/recordings/azure-cli_test_service_principal_scenario.yaml, #2-#3 are
  `az ad sp create`'s own calls for an app of the caller's tenant (the list finds it, so no get by
  id); #16-#19 (CommandName `ad app show`) are the same two look-ups, twice: list by appId, get by id,
  for an app that no longer exists: the 200 with an empty list and the 404 that `az ad sp create`
  meets for V7's app.
- `az ad app create` / `az ad app delete` and the sp look-ups of the same recording (#0-#1,
  #4-#15).
- `az role assignment list` resolves who holds each assignment with
  `POST /directoryObjects/getByIds {"ids": [...]}` (azure-cli `command_modules/role/custom.py`,
  `_get_object_stubs`), a read sent as POST; it answers the objects found, each with
  `@odata.type`, and leaves out ids it does not know (Graph's directoryobject-getbyids reference).
"""
from __future__ import annotations

import json
import re
import time
import urllib.parse
import uuid

from aiohttp import web

from . import responses, tokens

READ_PERMISSIONS = {
    "application.read.all",
    "application.readwrite.all",
    "application.readwrite.ownedby",
    "directory.read.all",
    "directory.readwrite.all",
}
WRITE_PERMISSIONS = {"application.readwrite.all", "directory.readwrite.all"}
# Application.ReadWrite.OwnedBy is the least privileged application permission for POST and DELETE
# /servicePrincipals; it reads every service principal, creates them (the caller then owns what it
# created: "Manage apps that this app creates or owns") and deletes only those it owns
# (learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals,
# .../serviceprincipal-delete, and the permissions reference's Application.ReadWrite.OwnedBy).
OWNED_BY = "application.readwrite.ownedby"
READ_ROLES = {"global administrator", "global reader", "directory readers", "application administrator", "cloud application administrator"}
WRITE_ROLES = {"global administrator", "application administrator", "cloud application administrator"}

_BY_ID = re.compile(r"^servicePrincipals/(?P<id>[^/()]+)$", re.IGNORECASE)
_BY_APP_ID = re.compile(r"^servicePrincipals\(appId='(?P<app_id>[^']*)'\)$", re.IGNORECASE)
_FILTER_APP_ID = re.compile(r"^\s*appId\s+eq\s+'(?P<v>[^']*)'\s*$", re.IGNORECASE)
_FILTER_SPN = re.compile(r"^\s*servicePrincipalNames/any\(c:c\s+eq\s+'(?P<v>[^']*)'\)\s*$", re.IGNORECASE)
_APP_BY_ID = re.compile(r"^applications/(?P<id>[^/()]+)$", re.IGNORECASE)
_APP_FILTERS = (
    ("appId", re.compile(r"^\s*appId\s+eq\s+'(?P<v>[^']*)'\s*$", re.IGNORECASE)),
    ("displayName", re.compile(r"^\s*displayName\s+eq\s+'(?P<v>[^']*)'\s*$", re.IGNORECASE)),
    ("startswith", re.compile(r"^\s*startswith\(\s*displayName\s*,\s*'(?P<v>[^']*)'\s*\)\s*$", re.IGNORECASE)),
    ("identifierUri", re.compile(r"^\s*identifierUris/any\((?P<x>\w+):(?P=x)\s+eq\s+'(?P<v>[^']*)'\)\s*$", re.IGNORECASE)),
)
# what application objects are created with when the request does not say (Graph v1.0 application
# resource; the recorded POST above sent no signInAudience and got this one back)
DEFAULT_SIGN_IN_AUDIENCE = "AzureADandPersonalMicrosoftAccount"


def _odata_context(emu, suffix: str) -> str:
    return f"{emu.graph_audience}v1.0/$metadata#{suffix}"


def _sp_body(emu, sp: dict, *, entity: bool) -> dict:
    body = {}
    if entity:
        body["@odata.context"] = _odata_context(emu, "servicePrincipals/$entity")
    body.update(
        {
            "id": sp["id"],
            "deletedDateTime": None,
            "accountEnabled": True,
            "alternativeNames": [],
            "appDisplayName": sp["appDisplayName"],
            "appDescription": None,
            "appId": sp["appId"],
            "applicationTemplateId": None,
            "appOwnerOrganizationId": sp["appOwnerOrganizationId"],
            "appRoleAssignmentRequired": False,
            "createdDateTime": sp["createdDateTime"],
            "description": None,
            "disabledByMicrosoftStatus": None,
            "displayName": sp["displayName"],
            "homepage": None,
            "loginUrl": None,
            "logoutUrl": None,
            "notes": None,
            "notificationEmailAddresses": [],
            "preferredSingleSignOnMode": None,
            "preferredTokenSigningKeyThumbprint": None,
            "replyUrls": [],
            "servicePrincipalNames": list(sp["servicePrincipalNames"]),
            "servicePrincipalType": "Application",
            "signInAudience": "AzureADMultipleOrgs",
            "tags": [],
            "tokenEncryptionKeyId": None,
            "samlSingleSignOnSettings": None,
            "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
            "addIns": [],
            "appRoles": [],
            "info": {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None, "termsOfServiceUrl": None},
            "keyCredentials": [],
            "oauth2PermissionScopes": [],
            "passwordCredentials": [],
            "resourceSpecificApplicationPermissions": [],
        }
    )
    return body


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def _authenticate(request: web.Request, emu):
    from .app import Caller

    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header.lower().startswith("bearer ") else ""
    challenge = {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        'client_id="00000003-0000-0000-c000-000000000000"'
    }
    if not raw:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
    claims = tokens.verify(raw)
    if claims is None:
        raise GraphError(401, "InvalidAuthenticationToken", "CompactToken parsing failed with error code: 80049217", challenge)
    if claims["aud"] not in emu.graph_audiences:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", challenge)
    caller = Caller(tenant_id=claims["tid"], object_id=claims["oid"], app_id=claims["appid"], audience=claims["aud"])
    request["caller"] = caller
    return caller


def _require(emu, caller, permissions: set, directory_roles: set, owned: dict | None = None) -> bool:
    """Passes when the caller holds one of the permissions or roles; returns True when only
    Application.ReadWrite.OwnedBy let it through (for `owned`, the object it acts on, which it
    must then own)."""
    ident = emu.state.identity_by_object_id(caller.object_id) or {}
    granted = {p.lower() for p in ident.get("graph_permissions", [])}
    held = {r.lower() for r in ident.get("directory_roles", [])}
    if granted & permissions or held & directory_roles:
        return False
    if OWNED_BY in granted and (owned is None or caller.object_id.lower() in owned["_owners"]):
        return True
    raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _visible(emu, sp: dict) -> bool:
    return time.time() - sp["_created"] >= float(emu.state.settings["graph_visibility_seconds"])


def _directory(emu, caller) -> dict:
    return emu.state.tenants[caller.tenant_id]["service_principals"]


def _not_found(key: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def _find(emu, caller, *, object_id: str | None = None, app_id: str | None = None) -> dict | None:
    for sp in _directory(emu, caller).values():
        if (object_id and sp["id"] == object_id.lower()) or (app_id and sp["appId"] == app_id.lower()):
            return sp if _visible(emu, sp) else None
    return None


async def dispatch(request: web.Request) -> web.Response:
    emu = request.app["emulator"]
    tail = request.match_info["tail"]
    try:
        if not tail.startswith("v1.0/"):
            raise GraphError(400, "BadRequest", f"Invalid version: {tail.split('/', 1)[0]}")
        caller = _authenticate(request, emu)
        resource = urllib.parse.unquote(tail[len("v1.0/"):]).rstrip("/")
        if resource.lower() == "serviceprincipals":
            if request.method == "GET":
                return _list(request, emu, caller)
            if request.method == "POST":
                return await _create(request, emu, caller)
        by_id, by_app = _BY_ID.match(resource), _BY_APP_ID.match(resource)
        if by_id or by_app:
            key = by_id.group("id") if by_id else by_app.group("app_id")
            if request.method == "GET":
                _require(emu, caller, READ_PERMISSIONS, READ_ROLES)
                sp = _find(emu, caller, object_id=key) if by_id else _find(emu, caller, app_id=key)
                if sp is None:
                    raise _not_found(key)
                return responses.graph(_sp_body(emu, sp, entity=True))
            if request.method == "DELETE":
                _require(emu, caller, WRITE_PERMISSIONS | {OWNED_BY}, WRITE_ROLES)
                sp = _find(emu, caller, object_id=key) if by_id else _find(emu, caller, app_id=key)
                if sp is None:
                    raise _not_found(key)
                _require(emu, caller, WRITE_PERMISSIONS, WRITE_ROLES, owned=sp)
                del _directory(emu, caller)[sp["id"]]
                return responses.graph(None, 204)
        if resource.lower() == "applications":
            if request.method == "GET":
                return _list_applications(request, emu, caller)
            if request.method == "POST":
                return await _create_application(request, emu, caller)
        app_by_id = _APP_BY_ID.match(resource)
        if app_by_id:
            key = app_by_id.group("id").lower()
            if request.method == "GET":
                _require(emu, caller, READ_PERMISSIONS, READ_ROLES)
                app = _find_application(emu, caller, key)
                if app is None:
                    raise _not_found(app_by_id.group("id"))
                return responses.graph(_app_body(emu, app, entity=True))
            if request.method == "DELETE":
                _require(emu, caller, WRITE_PERMISSIONS | {OWNED_BY}, WRITE_ROLES)
                app = _find_application(emu, caller, key)
                if app is None:
                    raise _not_found(app_by_id.group("id"))
                _require(emu, caller, WRITE_PERMISSIONS, WRITE_ROLES, owned={"_owners": app["owners"]})
                # deleting an application also deletes its service principal in its home tenant
                directory = _directory(emu, caller)
                for oid in [oid for oid, sp in directory.items() if sp["appId"] == app["app_id"]]:
                    del directory[oid]
                del emu.state.applications[app["app_id"]]
                return responses.graph(None, 204)
        if resource.lower() == "directoryobjects/getbyids" and request.method == "POST":
            return await _get_by_ids(request, emu, caller)
        segment = resource.split("/")[-1] or resource
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    except GraphError as err:
        return responses.graph_error(request, err.status, err.code, err.message, headers=err.headers)


def _list(request, emu, caller) -> web.Response:
    _require(emu, caller, READ_PERMISSIONS, READ_ROLES)
    text = request.query.get("$filter")
    items = [sp for sp in _directory(emu, caller).values() if _visible(emu, sp)]
    if text:
        by_app, by_name = _FILTER_APP_ID.match(text), _FILTER_SPN.match(text)
        if by_app:
            items = [sp for sp in items if sp["appId"] == by_app.group("v").lower()]
        elif by_name:
            wanted = by_name.group("v").lower()
            items = [sp for sp in items if wanted in (n.lower() for n in sp["servicePrincipalNames"])]
        else:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for property 'appId' of resource 'ServicePrincipal'.",
            )
    return responses.graph(
        {
            "@odata.context": _odata_context(emu, "servicePrincipals"),
            "value": [_sp_body(emu, sp, entity=False) for sp in items],
        }
    )


async def _create(request, emu, caller) -> web.Response:
    owned_by = _require(emu, caller, WRITE_PERMISSIONS, WRITE_ROLES, owned={"_owners": [caller.object_id.lower()]})
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    app_id = str(body.get("appId") or "").lower()
    if not app_id:
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'appId' of resource 'ServicePrincipal'.")
    app = emu.state.applications.get(app_id)
    if app is None or (not app["multi_tenant"] and app["home_tenant"] != caller.tenant_id):
        raise GraphError(
            400,
            "Request_BadRequest",
            f"The appId '{app_id}' of the service principal does not reference a valid application object.",
        )
    for sp in _directory(emu, caller).values():
        if sp["appId"] == app_id:
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                f"The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use.",
            )
    sp = emu.state.add_service_principal(caller.tenant_id, app_id, owners=[caller.object_id] if owned_by else None)
    location = f"{emu.graph_audience}v2/{caller.tenant_id}/directoryObjects/{sp['id']}/Microsoft.DirectoryServices.ServicePrincipal"
    return responses.graph(_sp_body(emu, sp, entity=True), 201, headers={"Location": location})


# ------------------------------------------------------------------ applications
def _find_application(emu, caller, object_id: str) -> dict | None:
    """An application object of the caller's tenant, by its object id (Graph does not take an
    appId here: `GET /applications/<appId>` is 404, as recorded)."""
    for app in emu.state.applications.values():
        if app["home_tenant"] == caller.tenant_id and app["object_id"] == object_id.lower():
            return app
    return None


def _app_body(emu, app: dict, *, entity: bool) -> dict:
    """The application resource with the keys Graph v1.0 sent in the recording (#1, #2)."""
    from .resources import default_domain

    body = {"@odata.context": _odata_context(emu, "applications/$entity")} if entity else {}
    tenant = emu.state.tenants.get(app["home_tenant"])
    body.update(
        {
            "id": app["object_id"],
            "deletedDateTime": None,
            "appId": app["app_id"],
            "applicationTemplateId": None,
            "disabledByMicrosoftStatus": None,
            "createdDateTime": app["created"],
            "displayName": app["display_name"],
            "description": None,
            "groupMembershipClaims": None,
            "identifierUris": list(app["identifier_uris"]),
            "isDeviceOnlyAuthSupported": None,
            "isFallbackPublicClient": None,
            "notes": None,
            "publisherDomain": default_domain(tenant) if tenant else None,
            "serviceManagementReference": None,
            "signInAudience": app.get("sign_in_audience")
            or ("AzureADMultipleOrgs" if app["multi_tenant"] else "AzureADMyOrg"),
            "tags": [],
            "tokenEncryptionKeyId": None,
            "defaultRedirectUri": None,
            "certification": None,
            "optionalClaims": None,
            "addIns": [],
            "api": {
                "acceptMappedClaims": None,
                "knownClientApplications": [],
                "requestedAccessTokenVersion": 2,
                "oauth2PermissionScopes": [],
                "preAuthorizedApplications": [],
            },
            "appRoles": [],
            "info": {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None, "termsOfServiceUrl": None},
            "keyCredentials": [],
            "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
            "passwordCredentials": [],
            "publicClient": {"redirectUris": []},
            "requiredResourceAccess": [],
            "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
            "web": {
                "homePageUrl": None,
                "logoutUrl": None,
                "redirectUris": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
            },
            "spa": {"redirectUris": []},
        }
    )
    return body


def _list_applications(request, emu, caller) -> web.Response:
    """Applications registered in the caller's tenant; a multi-tenant app registered elsewhere
    (V7's) is not among them even where its service principal exists."""
    _require(emu, caller, READ_PERMISSIONS, READ_ROLES)
    items = [app for app in emu.state.applications.values() if app["home_tenant"] == caller.tenant_id]
    text = request.query.get("$filter")
    if text:
        for kind, pattern in _APP_FILTERS:
            match = pattern.match(text)
            if match:
                wanted = match.group("v")
                break
        else:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for property 'appId' of resource 'Application'.",
            )
        if kind == "appId":
            items = [a for a in items if a["app_id"] == wanted.lower()]
        elif kind == "displayName":
            items = [a for a in items if a["display_name"] == wanted]
        elif kind == "startswith":
            items = [a for a in items if a["display_name"].lower().startswith(wanted.lower())]
        else:
            items = [a for a in items if wanted in a["identifier_uris"]]
    return responses.graph(
        {"@odata.context": _odata_context(emu, "applications"), "value": [_app_body(emu, a, entity=False) for a in items]}
    )


async def _create_application(request, emu, caller) -> web.Response:
    owned_by = _require(emu, caller, WRITE_PERMISSIONS, WRITE_ROLES, owned={"_owners": [caller.object_id.lower()]})
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    if not isinstance(body, dict) or not body.get("displayName"):
        raise GraphError(400, "Request_BadRequest", "Property displayName is required.")
    audience = body.get("signInAudience") or DEFAULT_SIGN_IN_AUDIENCE
    app_id = str(uuid.uuid4())
    app = {
        "app_id": app_id,
        "display_name": str(body["displayName"]),
        "home_tenant": caller.tenant_id,
        "multi_tenant": audience != "AzureADMyOrg",
        "sign_in_audience": audience,
        "identifier_uris": [str(u) for u in body.get("identifierUris") or []],
        "object_id": str(uuid.uuid4()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "owners": [caller.object_id.lower()] if owned_by else [],
    }
    emu.state.applications[app_id] = app
    location = f"{emu.graph_audience}v2/{caller.tenant_id}/directoryObjects/{app['object_id']}/Microsoft.DirectoryServices.Application"
    return responses.graph(_app_body(emu, app, entity=True), 201, headers={"Location": location})


# ------------------------------------------------------------------ directoryObjects
_TYPES = {"serviceprincipal": "servicePrincipal", "user": "user", "group": "group", "application": "application", "device": "device"}


def _user_body(emu, tenant: dict, user: dict) -> dict:
    from .resources import default_domain

    nickname = re.sub(r"[^a-z0-9]", "", user["display_name"].lower()) or user["object_id"][:8]
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": user["object_id"],
        "businessPhones": [],
        "displayName": user["display_name"],
        "givenName": None,
        "jobTitle": None,
        "mail": None,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": None,
        "userPrincipalName": f"{nickname}@{default_domain(tenant)}",
    }


async def _get_by_ids(request, emu, caller) -> web.Response:
    """POST /directoryObjects/getByIds: the directory objects of the caller's tenant among `ids`
    (optionally only of `types`), each with its `@odata.type`; unknown ids are left out."""
    _require(emu, caller, READ_PERMISSIONS, READ_ROLES)
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        body = None
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'ids' of resource 'DirectoryObject'.")
    if len(ids) > 1000:
        raise GraphError(400, "Request_BadRequest", "The number of ids should not exceed 1000.")
    types = {_TYPES.get(str(t).lower(), str(t)) for t in body.get("types") or []} or set(_TYPES.values())
    tenant = emu.state.tenants[caller.tenant_id]
    identities = {i["object_id"]: i for i in tenant["identities"].values()}
    found = []
    for raw in ids:
        oid = str(raw).lower()
        sp = tenant["service_principals"].get(oid)
        if sp is not None and _visible(emu, sp) and "servicePrincipal" in types:
            found.append({"@odata.type": "#microsoft.graph.servicePrincipal", **_sp_body(emu, sp, entity=False)})
        elif oid in identities and "servicePrincipal" in types:
            ident = identities[oid]
            stand_in = {
                "id": oid,
                "appId": ident["client_id"],
                "displayName": ident["display_name"],
                "appDisplayName": ident["display_name"],
                "appOwnerOrganizationId": tenant["id"],
                "servicePrincipalNames": [ident["client_id"]],
                "createdDateTime": "2021-01-01T00:00:00Z",
            }
            found.append({"@odata.type": "#microsoft.graph.servicePrincipal", **_sp_body(emu, stand_in, entity=False)})
        elif oid in tenant["users"] and "user" in types:
            found.append(_user_body(emu, tenant, tenant["users"][oid]))
    return responses.graph({"@odata.context": _odata_context(emu, "directoryObjects"), "value": found})
