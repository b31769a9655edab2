"""Microsoft Graph v1.0: servicePrincipals (create, get by id or appId, list by appId, delete)."""
from __future__ import annotations

import json
import re
import time
import urllib.parse

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
    if claims["aud"] != emu.graph_audience:
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
