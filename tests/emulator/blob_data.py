"""The Blob data plane as a browser and V7's signing service use it: CORS (preflight and the
headers of real responses), Get User Delegation Key, user delegation SAS, Get Blob and Put Blob.

Sources (Microsoft's REST reference, learn.microsoft.com/rest/api/storageservices/…):

- CORS: "Cross-Origin Resource Sharing (CORS) support for Azure Storage" (…/cross-origin-resource-
  sharing--cors--support-for-the-azure-storage-services) and "Preflight Blob Request"
  (…/preflight-blob-request). Rules are evaluated in the order they were set; the first rule whose
  AllowedOrigins holds the request's origin (an exact, case-sensitive match, or `*`) and whose
  AllowedMethods holds the method is selected and *no further rule is evaluated*; the headers the
  request names must then all be allowed by that rule (a name, or a prefix ending in `*`), else the
  request fails, even when a later rule would allow them (the page's own example: rule 2 `*` with
  PUT,GET and narrow headers, then a GET with x-ms-client-request-id fails although rule 3 allows
  it). A preflight that matches gets 200 with Access-Control-Allow-Origin (the request's origin),
  -Methods (the requested method), -Headers (the requested headers), -Max-Age and
  -Allow-Credentials: true; one with no CORS rules or no matching rule gets 403 (code
  CorsPreflightFailure, message "CORS not enabled or no matching rule found for this request.", as
  Azurite's StorageErrorFactory spells Azure's); one without Origin or Access-Control-Request-Method
  gets 400. A preflight needs no authorization and is evaluated against the service, whatever the
  path. On a real request with an Origin that a rule matches, the response carries
  Access-Control-Allow-Origin (`*` when the rule allows every origin, else the origin),
  Access-Control-Expose-Headers (the response's headers that the rule's ExposedHeaders name or
  prefix, and the literal names) and, for an exact origin, Access-Control-Allow-Credentials; Vary:
  Origin is set on GET and HEAD when the origin matched exactly or when rules exist but none
  matched, never for a `*` match nor for other methods.
- Get User Delegation Key (…/get-user-delegation-key): `POST /?restype=service&comp=userdelegationkey`
  with `<KeyInfo><Start/><Expiry/></KeyInfo>`, Microsoft Entra (OAuth) authorization only; the
  caller needs `Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action`,
  which RBAC checks at the storage account or above ("Assign permissions with RBAC" in
  …/create-user-delegation-sas: the key is an account-level action, so a role scoped to a container
  does not give it). The expiry is at most seven days from now. Reply: `<UserDelegationKey>` with
  SignedOid, SignedTid, SignedStart, SignedExpiry, SignedService (b), SignedVersion, Value.
- User delegation SAS (…/create-user-delegation-sas): fields sv, sr (b, c), sp, st, se, skoid,
  sktid, skt, ske, sks, skv, saoid, suoid, scid, sip, spr, ses, rscc…rsct, sig; the signature is
  HMAC-SHA256 with the user delegation key over the string-to-sign of the version `sv` (built as
  azure-storage-blob 12.x builds it, `_shared_access_signature.py`: skdutid and sduoid from
  2025-07-05; the signed request headers and query parameters from 2026-04-06, the first service
  version of the SDK's list that sends them). The rights the SAS gives are the intersection of its
  permissions with the RBAC data actions the key's owner (skoid) holds on the container
  ("…the permissions granted to the client … are the intersection of the permissions granted to
  the security principal that requested the user delegation key and the permissions granted on
  the resource in the signedPermissions field"). A SAS that is malformed, signed wrongly or out of
  its time window: 403 AuthenticationFailed; permissions that do not cover the operation, in the
  SAS or in RBAC: 403 AuthorizationPermissionMismatch ("This request is not authorized to perform
  this operation using this permission.").
- Get Blob (…/get-blob) and Put Blob (…/put-blob), block blobs only: Put Blob needs
  `x-ms-blob-type: BlockBlob` (400 MissingRequiredHeader without it) and answers 201 with ETag,
  Last-Modified, Content-MD5 and x-ms-request-server-encrypted; Get Blob answers 200 with the
  content, its Content-Type, x-ms-blob-type, x-ms-creation-time and Accept-Ranges; 404
  ContainerNotFound / BlobNotFound. Requests with neither Authorization nor a SAS are anonymous;
  the emulator's accounts report allowBlobPublicAccess false, so Azure answers 409
  PublicAccessNotPermitted ("Public access is not permitted on this storage account.").
- Bearer tokens (…/authorize-with-azure-active-directory): audience https://storage.azure.com/ or
  the account's endpoint, issued by the account's tenant; otherwise 401 InvalidAuthenticationInfo
  with a WWW-Authenticate Bearer challenge. Data operations check RBAC data actions on the
  container (…/blobs/read, …/blobs/write, …/blobs/add/action for a new blob).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import unquote

from aiohttp import web

from . import entra, roles, tokens
from .responses import blob_error, blob_headers
from .state import new_blob

STORAGE_RESOURCE = "https://storage.azure.com"
DELEGATION_KEY_ACTION = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
BLOB_ADD = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
MAX_KEY_LIFETIME = timedelta(days=7)
MAX_BLOB_BYTES = 4 * 1024 * 1024   # "small blobs": the emulator's request size limit
PERMISSION_MISMATCH = "This request is not authorized to perform this operation using this permission."


# ------------------------------------------------------------------ where a request lands
@dataclass
class Place:
    """The account a Blob request names by its Host, with the ARM scope RBAC checks it against."""
    subscription: dict
    group: dict
    account: dict

    @property
    def tenant_id(self) -> str:
        return self.subscription["tenant_id"]

    @property
    def scope(self) -> str:
        return (f"/subscriptions/{self.subscription['id']}/resourceGroups/{self.group['name']}"
                f"/providers/Microsoft.Storage/storageAccounts/{self.account['name']}")

    def container_scope(self, container: str) -> str:
        return f"{self.scope}/blobServices/default/containers/{container}"


def locate(state, name: str) -> Place | None:
    for sub in state.subscriptions.values():
        for group in sub["resource_groups"].values():
            acct = group["accounts"].get(name)
            if acct is not None:
                return Place(sub, group, acct)
    return None


def granted(state, principal_id: str, scope: str, action: str, *, data: bool = False) -> bool:
    """RBAC: whether a role assignment of the principal at the scope or above grants the action
    (a data action when `data`)."""
    target = scope.rstrip("/").lower() + "/"
    check = roles.allows_data if data else roles.allows
    return any(
        ra["principal_id"] == principal_id.lower()
        and target.startswith(ra["scope"].rstrip("/").lower() + "/")
        and check(ra["role_guid"], action)
        for ra in state.role_assignments.values()
    )


# ------------------------------------------------------------------ CORS
def _rules(acct: dict) -> list[dict]:
    return list(((acct.get("blob") or {}).get("cors") or {}).get("corsRules") or [])


def _names(values) -> list[str]:
    return [v.strip() for v in values or [] if v and v.strip()]


def select_rule(rules: list[dict], origin: str, method: str) -> dict | None:
    """The first rule whose origins hold the origin (exactly, or `*`) and whose methods hold the
    method; no later rule is looked at."""
    for rule in rules:
        origins = _names(rule.get("allowedOrigins"))
        if ("*" in origins or origin in origins) and method in _names(rule.get("allowedMethods")):
            return rule
    return None


def header_allowed(patterns: list[str], header: str) -> bool:
    header = header.lower()
    for pattern in (p.lower() for p in patterns):
        if pattern == "*" or pattern == header or (pattern.endswith("*") and header.startswith(pattern[:-1])):
            return True
    return False


def preflight(request: web.Request, acct: dict) -> web.Response:
    """Preflight Blob Request: OPTIONS on any path of the account, no authorization."""
    origin = request.headers.get("Origin")
    method = request.headers.get("Access-Control-Request-Method")
    if not origin or not method:
        return blob_error(request, 400, "InvalidHeaderValue", "A required CORS header is not present.")
    asked = _names((request.headers.get("Access-Control-Request-Headers") or "").split(","))
    rule = select_rule(_rules(acct), origin, method)
    if rule is None or not all(header_allowed(_names(rule.get("allowedHeaders")), h) for h in asked):
        return blob_error(request, 403, "CorsPreflightFailure",
                          "CORS not enabled or no matching rule found for this request.")
    headers = blob_headers(request, str(uuid.uuid4()))
    del headers["Content-Type"]
    headers.update({
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": method,
        "Access-Control-Max-Age": str(int(rule.get("maxAgeInSeconds") or 0)),
        "Access-Control-Allow-Credentials": "true",
        "Content-Length": "0",
    })
    if asked:
        headers["Access-Control-Allow-Headers"] = ",".join(asked)
    return web.Response(status=200, headers=headers)


def _exposed(rule: dict, response_headers) -> str:
    patterns = _names(rule.get("exposedHeaders"))
    shown = [name for name in dict.fromkeys(response_headers.keys())
             if any(p == name.lower() or (p.endswith("*") and name.lower().startswith(p[:-1].lower()))
                    for p in (q.lower() for q in patterns))]
    literal = [p for p in patterns if not p.endswith("*") and p.lower() not in (s.lower() for s in shown)]
    return ",".join(shown + literal)


def add_cors_headers(request: web.Request, acct: dict, response: web.StreamResponse) -> None:
    """The CORS headers of a real (not preflight) response, from the rules as they are now."""
    rules = _rules(acct)
    if not rules:
        return
    cacheable = request.method in ("GET", "HEAD")
    origin = request.headers.get("Origin")
    rule = select_rule(rules, origin, request.method) if origin else None
    if rule is None:
        if cacheable:
            response.headers["Vary"] = "Origin"
        return
    exact = origin in _names(rule.get("allowedOrigins"))
    exposed = _exposed(rule, response.headers)
    response.headers["Access-Control-Allow-Origin"] = origin if exact else "*"
    if exposed:
        response.headers["Access-Control-Expose-Headers"] = exposed
    if exact:
        response.headers["Access-Control-Allow-Credentials"] = "true"
        if cacheable:
            response.headers["Vary"] = "Origin"


# ------------------------------------------------------------------ who is calling
@dataclass
class Caller:
    kind: str                 # "key" (Shared Key), "bearer" (Entra token) or "sas" (user delegation SAS)
    object_id: str | None = None
    permissions: str = ""     # the SAS's sp


class Refused(Exception):
    def __init__(self, response: web.Response):
        super().__init__(response.status)
        self.response = response


def _authentication_failed(request: web.Request, detail: str) -> Refused:
    return Refused(blob_error(
        request, 403, "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
        "correctly including the signature.", detail))


def bearer_caller(request: web.Request, place: Place, emu_base_url: str) -> Caller:
    """An Entra access token for Azure Storage, issued by the account's tenant."""
    token = request.headers.get("Authorization", "")[len("Bearer "):].strip()
    claims = tokens.verify(token)
    detail = None
    if claims is None:
        detail = "Signature validation failed or the token has expired."
    elif not entra.is_storage_audience(str(claims.get("aud"))):
        detail = "Audience validation failed. Audience did not match."
    elif claims.get("tid") != place.tenant_id:
        detail = "Issuer validation failed. Issuer did not match."
    if detail:
        response = blob_error(
            request, 401, "InvalidAuthenticationInfo",
            "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
            detail)
        response.headers["WWW-Authenticate"] = (
            f"Bearer authorization_uri={emu_base_url}/{place.tenant_id}/oauth2/authorize resource_id={STORAGE_RESOURCE}")
        raise Refused(response)
    return Caller("bearer", object_id=claims["oid"])


def delegation_key_value(acct_key: str, oid: str, tid: str, start: str, expiry: str, service: str, version: str) -> str:
    """The user delegation key: derived from the account's key and the key's signed fields, so the
    service can recompute it from a SAS (and rotating the account's key revokes it)."""
    fields = "\n".join((oid, tid, start, expiry, service, version)).encode("utf-8")
    return base64.b64encode(hmac.new(base64.b64decode(acct_key), fields, hashlib.sha256).digest()).decode()


def _parse_time(value: str) -> datetime | None:
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def sas_string_to_sign(query: dict[str, str], account: str, path: str) -> str:
    """The user delegation SAS string-to-sign of version `sv` (2020-12-06 and later)."""
    version = query.get("sv", "")
    resource = f"/blob/{account}{path}"

    def field(name: str) -> str:
        return query.get(name, "")

    parts = [field("sp"), field("st"), field("se"), resource,
             field("skoid"), field("sktid"), field("skt"), field("ske"), field("sks"), field("skv"),
             field("saoid"), field("suoid"), field("scid")]
    if version >= "2025-07-05":
        parts += [field("skdutid"), field("sduoid")]
    parts += [field("sip"), field("spr"), version, field("sr"), field("snapshot"), field("ses")]
    if version >= "2026-04-06":
        # signed request headers and query parameters, none here: an empty line each
        parts += ["", ""]
    parts += [field("rscc"), field("rscd"), field("rsce"), field("rscl"), field("rsct")]
    return "\n".join(parts)


SAS_REQUIRED = ("sv", "sr", "sp", "se", "skoid", "sktid", "skt", "ske", "sks", "skv", "sig")


def sas_caller(request: web.Request, place: Place, account_keys: list[str], container: str, blob: str) -> Caller:
    """A user delegation SAS, checked as the service checks it; the caller is the key's owner."""
    query = dict(request.query.items())
    missing = [name for name in SAS_REQUIRED if not query.get(name)]
    if missing:
        raise _authentication_failed(request, f"The SAS is missing the field {missing[0]}; only user delegation "
                                              "SAS (signed with a user delegation key) are served here.")
    if query["sv"] < "2020-12-06":
        raise _authentication_failed(request, f"The signed version {query['sv']} is not served here (2020-12-06 or later).")
    if query["sks"] != "b":
        raise _authentication_failed(request, "The signed key service is not valid for the Blob service.")
    if query["sktid"] != place.tenant_id:
        raise _authentication_failed(request, "The signed key tenant is not the storage account's tenant.")
    resource = {"b": f"/{container}/{blob}", "c": f"/{container}"}.get(query["sr"])
    if resource is None or (query["sr"] == "b" and not blob):
        raise _authentication_failed(request, "The signed resource is not valid for this request.")
    now = datetime.now(timezone.utc)
    start, expiry = _parse_time(query.get("st") or query["skt"]), _parse_time(query["se"])
    key_start, key_expiry = _parse_time(query["skt"]), _parse_time(query["ske"])
    if None in (start, expiry, key_start, key_expiry):
        raise _authentication_failed(request, "A signed time is not in the ISO 8601 format.")
    if not (start <= now + timedelta(minutes=15) and now < expiry) or not (key_start <= now < key_expiry):
        raise _authentication_failed(
            request, f"Signature not valid in the specified time frame: Start [{format_datetime(start, usegmt=True)}] - "
                     f"Expiry [{format_datetime(expiry, usegmt=True)}] - Current [{format_datetime(now, usegmt=True)}]")
    if query.get("spr") and "https" not in query["spr"].split(","):
        raise _authentication_failed(request, "The signed protocol is not valid.")
    if query.get("sip") and not _ip_in(request.remote, query["sip"]):
        raise Refused(blob_error(request, 403, "AuthorizationSourceIPMismatch",
                                 "This request is not authorized to perform this operation using this source IP "
                                 f"{request.remote}."))
    string_to_sign = sas_string_to_sign(query, place.account["name"], resource)
    signature = query["sig"]
    for account_key in account_keys:
        key = delegation_key_value(account_key, query["skoid"], query["sktid"], query["skt"], query["ske"],
                                   query["sks"], query["skv"])
        expected = base64.b64encode(
            hmac.new(base64.b64decode(key), string_to_sign.encode("utf-8"), hashlib.sha256).digest()).decode()
        if hmac.compare_digest(signature, expected):
            return Caller("sas", object_id=query["skoid"], permissions=query["sp"])
    shown = string_to_sign.replace("\n", "\\n")
    raise _authentication_failed(request, f"Signature did not match. String to sign used was {shown}")


def _ip_in(remote: str | None, ranges: str) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
        low, _dash, high = ranges.partition("-")
        return ipaddress.ip_address(low) <= address <= ipaddress.ip_address(high or low)
    except ValueError:
        return False


def authorize(request: web.Request, state, place: Place, caller: Caller, container: str,
              sas_letters: str, data_actions: tuple[str, ...]) -> None:
    """The operation needs one of the SAS letters (for a SAS) and one of the data actions on the
    container (RBAC, for a token or a SAS's key owner); Shared Key passes both."""
    if caller.kind == "key":
        return
    if caller.kind == "sas" and not any(letter in caller.permissions for letter in sas_letters):
        raise Refused(blob_error(request, 403, "AuthorizationPermissionMismatch", PERMISSION_MISMATCH))
    scope = place.container_scope(container)
    if not any(granted(state, caller.object_id, scope, action, data=True) for action in data_actions):
        raise Refused(blob_error(request, 403, "AuthorizationPermissionMismatch", PERMISSION_MISMATCH))


# ------------------------------------------------------------------ operations
def _stamp(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, timezone.utc), usegmt=True)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def user_delegation_key(request: web.Request, state, place: Place, caller: Caller,
                              account_key: str) -> web.Response:
    """Get User Delegation Key, for an Entra caller with the action at the account or above."""
    if caller.kind != "bearer":
        raise _authentication_failed(request, "Only Microsoft Entra (OAuth) authorization can get a user delegation key.")
    if not granted(state, caller.object_id, place.scope, DELEGATION_KEY_ACTION):
        raise Refused(blob_error(request, 403, "AuthorizationPermissionMismatch", PERMISSION_MISMATCH))
    try:
        info = ET.fromstring(await request.read())
        start_text = (info.findtext("Start") or _iso(datetime.now(timezone.utc))).strip()
        expiry_text = (info.findtext("Expiry") or "").strip()
    except ET.ParseError:
        return blob_error(request, 400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
    start, expiry = _parse_time(start_text), _parse_time(expiry_text)
    now = datetime.now(timezone.utc)
    if start is None:
        return blob_error(request, 400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format.",
                          details={"XmlNodeName": "Start", "XmlNodeValue": start_text})
    if expiry is None or expiry <= start or expiry > now + MAX_KEY_LIFETIME:
        return blob_error(request, 400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format.",
                          details={"XmlNodeName": "Expiry", "XmlNodeValue": expiry_text})
    version = request.headers.get("x-ms-version", "2020-12-06")
    signed = (caller.object_id, place.tenant_id, _iso(start), _iso(expiry), "b", version)
    value = delegation_key_value(account_key, *signed)
    body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><UserDelegationKey>"
            f"<SignedOid>{signed[0]}</SignedOid><SignedTid>{signed[1]}</SignedTid>"
            f"<SignedStart>{signed[2]}</SignedStart><SignedExpiry>{signed[3]}</SignedExpiry>"
            f"<SignedService>b</SignedService><SignedVersion>{version}</SignedVersion>"
            f"<Value>{value}</Value></UserDelegationKey>")
    return web.Response(status=200, body=body.encode("utf-8"), headers=blob_headers(request, str(uuid.uuid4())))


_BLOB_PATH = re.compile(r"^/(?P<container>[^/]+)(?:/(?P<blob>.+))?$")


def split_path(path: str) -> tuple[str, str]:
    match = _BLOB_PATH.match(path)
    return (match["container"], unquote(match["blob"] or "")) if match else ("", "")


def _container(request: web.Request, acct: dict, name: str) -> dict:
    container = acct["containers"].get(name.lower())
    if container is None:
        raise Refused(blob_error(request, 404, "ContainerNotFound", "The specified container does not exist."))
    return container


def get_blob(request: web.Request, state, place: Place, caller: Caller, container_name: str, name: str) -> web.Response:
    authorize(request, state, place, caller, container_name, "r", (BLOB_READ,))
    blob = _container(request, place.account, container_name)["blobs"].get(name)
    if blob is None:
        return blob_error(request, 404, "BlobNotFound", "The specified blob does not exist.")
    headers = blob_headers(request, str(uuid.uuid4()))
    headers.update({
        "Content-Type": blob["content_type"],
        "Content-MD5": blob["md5"],
        "ETag": blob["etag"],
        "Last-Modified": _stamp(blob["modified"]),
        "Accept-Ranges": "bytes",
        "x-ms-blob-type": "BlockBlob",
        "x-ms-creation-time": _stamp(blob["created"]),
        "x-ms-lease-status": "unlocked",
        "x-ms-lease-state": "available",
        "x-ms-server-encrypted": "true",
    })
    wanted = _RANGE.match(request.headers.get("x-ms-range") or request.headers.get("Range") or "")
    if not wanted:
        return web.Response(status=200, body=blob["data"], headers=headers)
    # a range (what azure-storage-blob asks for its first chunk): 206 with Content-Range, or 416
    size = len(blob["data"])
    first = int(wanted["first"])
    last = min(int(wanted["last"]) if wanted["last"] else size - 1, size - 1)
    if first >= size:
        return blob_error(request, 416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
    del headers["Content-MD5"]
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return web.Response(status=206, body=blob["data"][first:last + 1], headers=headers)


_RANGE = re.compile(r"^bytes=(?P<first>\d+)-(?P<last>\d*)$")


async def put_blob(request: web.Request, state, place: Place, caller: Caller, container_name: str,
                   name: str) -> web.Response:
    container = _container(request, place.account, container_name)
    exists = name in container["blobs"]
    # a new blob may be created with c (SAS) or blobs/add/action (RBAC); replacing one needs write
    authorize(request, state, place, caller, container_name, "w" if exists else "cw",
              (BLOB_WRITE,) if exists else (BLOB_WRITE, BLOB_ADD))
    blob_type = request.headers.get("x-ms-blob-type")
    if blob_type is None:
        return blob_error(request, 400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.",
                          details={"HeaderName": "x-ms-blob-type"})
    if blob_type != "BlockBlob":
        return blob_error(request, 400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.",
                          details={"HeaderName": "x-ms-blob-type", "HeaderValue": blob_type})
    data = await request.read()
    if len(data) > MAX_BLOB_BYTES:
        return blob_error(request, 413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
    content_type = request.headers.get("x-ms-blob-content-type") or request.headers.get("Content-Type") or "application/octet-stream"
    blob = new_blob(data, content_type)
    if exists:
        blob["created"] = container["blobs"][name]["created"]
    container["blobs"][name] = blob
    headers = blob_headers(request, str(uuid.uuid4()))
    del headers["Content-Type"]
    headers.update({
        "ETag": blob["etag"],
        "Last-Modified": _stamp(blob["modified"]),
        "Content-MD5": blob["md5"],
        "x-ms-request-server-encrypted": "true",
        "Content-Length": "0",
    })
    return web.Response(status=201, headers=headers)


def anonymous(request: web.Request) -> Refused:
    return Refused(blob_error(request, 409, "PublicAccessNotPermitted", "Public access is not permitted on this storage account."))
