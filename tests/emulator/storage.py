"""Microsoft.Storage: storage accounts (read), blobServices/default and blob containers."""
from __future__ import annotations

import base64
import copy
import hashlib
import re
import time
import urllib.parse
from datetime import datetime, timezone

from . import responses
from .arm import ArmError, Ctx

CORS_METHODS = {"DELETE", "GET", "HEAD", "MERGE", "POST", "OPTIONS", "PUT", "PATCH", "CONNECT", "TRACE"}
CORS_RULE_KEYS = ("allowedOrigins", "allowedMethods", "maxAgeInSeconds", "exposedHeaders", "allowedHeaders")
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
READ, WRITE = "read", "write"


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _account_id(sid: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sid}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


def _account_body(sub: dict, group: dict, acct: dict) -> dict:
    name = acct["name"]
    endpoints = {svc: f"https://{name}.{svc}.core.windows.net/" for svc in ("blob", "queue", "table", "file", "web", "dfs")}
    if acct["kind"] == "FileStorage":
        endpoints = {"file": endpoints["file"]}
    elif acct["kind"] == "BlockBlobStorage":
        endpoints = {k: endpoints[k] for k in ("blob", "dfs", "web")}
    tier = "Premium" if acct["sku"].startswith("Premium") else "Standard"
    properties = {
        "keyCreationTime": {"key1": _stamp(acct["created"]), "key2": _stamp(acct["created"])},
        "allowCrossTenantReplication": False,
        "privateEndpointConnections": [],
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": acct["allow_shared_key_access"],
        "networkAcls": copy.deepcopy(acct["network_acls"]),
        "publicNetworkAccess": acct["public_network_access"],
        "supportsHttpsTrafficOnly": True,
        "encryption": {
            "requireInfrastructureEncryption": False,
            "services": {
                "file": {"keyType": "Account", "enabled": True, "lastEnabledTime": _stamp(acct["created"])},
                "blob": {"keyType": "Account", "enabled": True, "lastEnabledTime": _stamp(acct["created"])},
            },
            "keySource": "Microsoft.Storage",
        },
        "provisioningState": "Succeeded",
        "creationTime": _stamp(acct["created"]),
        "primaryEndpoints": endpoints,
        "primaryLocation": acct["location"],
        "statusOfPrimary": "available",
    }
    if acct["kind"] in ("StorageV2", "BlobStorage"):
        properties["accessTier"] = "Hot"
    body = {
        "sku": {"name": acct["sku"], "tier": tier},
        "kind": acct["kind"],
        "id": _account_id(sub["id"], group["name"], name),
        "name": name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": acct["location"],
        "tags": dict(acct["tags"]),
        "properties": properties,
    }
    return body


def _scope_of(ctx: Ctx, level: str) -> str:
    g = ctx.groups
    scope = f"/subscriptions/{g['sid']}"
    if level in ("rg", "account") and g.get("rg"):
        scope += f"/resourceGroups/{g['rg']}"
    if level == "account":
        scope += f"/providers/Microsoft.Storage/storageAccounts/{g['account']}"
    return scope


def _load_account(ctx: Ctx, action: str) -> dict:
    g = ctx.groups
    ctx.subscription(g["sid"])
    ctx.authorize(action, _scope_of(ctx, "account"))
    return ctx.account(g["sid"], g["rg"], g["account"])


# ------------------------------------------------------------------ storage accounts
def _skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(f"storageAccounts:{offset}".encode()).decode().rstrip("=")


def _skiptoken_offset(token: str) -> int | None:
    try:
        kind, _colon, offset = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
        return int(offset) if kind == "storageAccounts" and int(offset) >= 0 else None
    except (ValueError, UnicodeError):
        return None


def list_accounts(ctx: Ctx):
    """StorageAccounts_List and _ListByResourceGroup, paged as ARM pages them: at most
    `storage_account_page_size` accounts (a setting; Azure's own page size is not documented, and
    public reports show a nextLink on subscriptions of 20 accounts as of 2,000), then a `nextLink`
    that repeats the api-version and adds an opaque `$skiptoken` (sent as `%24skiptoken`)."""
    g = ctx.groups
    sub = ctx.subscription(g["sid"])
    level = "rg" if g.get("rg") else "sub"
    ctx.authorize("Microsoft.Storage/storageAccounts/read", _scope_of(ctx, level))
    groups = [ctx.resource_group(g["sid"], g["rg"])] if g.get("rg") else list(sub["resource_groups"].values())
    accounts = [(group, acct) for group in groups for acct in group["accounts"].values()]
    token = next((v for k, v in ctx.query.items() if k.lower() == "$skiptoken"), None)
    start = 0 if token is None else _skiptoken_offset(token)
    if start is None:
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is invalid.")
    size = max(1, int(ctx.state.settings["storage_account_page_size"]))
    body = {"value": [_account_body(sub, group, acct) for group, acct in accounts[start:start + size]]}
    if start + size < len(accounts):
        query = urllib.parse.urlencode({"api-version": ctx.api_version, "$skiptoken": _skiptoken(start + size)})
        body["nextLink"] = f"{ctx.emu.base_url}{ctx.request.path}?{query}"
    return responses.arm(body, storage=True)


def get_account(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/read")
    g = ctx.groups
    return responses.arm(
        _account_body(ctx.subscription(g["sid"]), ctx.resource_group(g["sid"], g["rg"]), acct), storage=True
    )


def _account_key(acct: dict, key_name: str) -> str:
    """A stable, made-up 64-byte key per account (base64, as Azure's keys are); no real secret."""
    digest = hashlib.sha512(f"emulator/{acct['name']}/{key_name}".encode()).digest()
    return base64.b64encode(digest).decode()


def list_keys(ctx: Ctx):
    """StorageAccounts_ListKeys: a management-plane action, allowed even where shared-key access
    is disabled (the keys then only fail on the data plane). `permissions` is spelled as the spec's
    enum has it ("Full"); the live service sends "FULL"."""
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/listkeys/action")
    keys = [
        {"creationTime": _stamp(acct["created"]), "keyName": name, "value": _account_key(acct, name), "permissions": "Full"}
        for name in ("key1", "key2")
    ]
    return responses.arm({"keys": keys}, storage=True)


# ------------------------------------------------------------------ blob service
def _blob_service_id(ctx: Ctx, acct: dict) -> str:
    g = ctx.groups
    return _account_id(g["sid"], g["rg"], acct["name"]) + "/blobServices/default"


def _require_blob(acct: dict) -> None:
    if not acct["blob"]:
        raise ArmError(400, "FeatureNotSupportedForAccount", "Blob is not supported for the account.", storage=True)


def _blob_body(ctx: Ctx, acct: dict, properties: dict, *, with_sku: bool) -> dict:
    body = {}
    if with_sku:
        body["sku"] = {"name": acct["sku"], "tier": "Premium" if acct["sku"].startswith("Premium") else "Standard"}
    body.update(
        {
            "id": _blob_service_id(ctx, acct),
            "name": "default",
            "type": "Microsoft.Storage/storageAccounts/blobServices",
            "properties": properties,
        }
    )
    return body


def _stored_view(properties: dict) -> dict:
    """What GET shows: an empty exposedHeaders list is stored as [""] by the service."""
    view = copy.deepcopy(properties)
    for rule in view.get("cors", {}).get("corsRules", []):
        if rule.get("exposedHeaders") == []:
            rule["exposedHeaders"] = [""]
        if rule.get("allowedHeaders") == []:
            rule["allowedHeaders"] = [""]
    return view


def list_blob_services(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/read")
    _require_blob(acct)
    return responses.arm({"value": [_blob_body(ctx, acct, _stored_view(acct["blob"]), with_sku=True)]}, storage=True)


def _check_service_name(ctx: Ctx) -> None:
    if ctx.groups["service"].lower() != "default":
        raise ArmError(
            400,
            "InvalidValuesForRequestParameters",
            "Values for request parameters are invalid: blobServicesName.",
            storage=True,
        )


def get_blob_service(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/read")
    _check_service_name(ctx)
    _require_blob(acct)
    return responses.arm(_blob_body(ctx, acct, _stored_view(acct["blob"]), with_sku=True), storage=True)


def _invalid(detail: str) -> ArmError:
    return ArmError(400, "InvalidValuesForRequestParameters", f"Values for request parameters are invalid: {detail}", storage=True)


def _validate_cors(cors) -> list:
    if not isinstance(cors, dict) or not isinstance(cors.get("corsRules", []), list):
        raise _invalid("cors.")
    rules = cors.get("corsRules", [])
    if len(rules) > 5:
        raise ArmError(
            400,
            "InvalidXmlDocument",
            "XML specified is not syntactically valid. The number of CORS rules should not exceed 5.",
            storage=True,
        )
    for index, rule in enumerate(rules):
        missing = [key for key in CORS_RULE_KEYS if key not in rule]
        if missing:
            raise _invalid(f"cors.corsRules[{index}].{missing[0]}.")
        if not rule["allowedOrigins"] or not rule["allowedMethods"]:
            raise _invalid(f"cors.corsRules[{index}].")
        bad = [m for m in rule["allowedMethods"] if str(m).upper() not in CORS_METHODS]
        if bad:
            raise _invalid(f"cors.corsRules[{index}].allowedMethods.")
        if not isinstance(rule["maxAgeInSeconds"], int) or not 0 <= rule["maxAgeInSeconds"] <= 2147483647:
            raise _invalid(f"cors.corsRules[{index}].maxAgeInSeconds.")
        for key in ("allowedOrigins", "allowedHeaders", "exposedHeaders"):
            values = [v for v in rule[key] if v != ""]
            if len(values) > 64 or any(len(v) > 256 for v in values):
                raise _invalid(f"cors.corsRules[{index}].{key}.")
            if key != "allowedOrigins" and sum(1 for v in values if v.endswith("*") and v != "*") > 2:
                raise _invalid(f"cors.corsRules[{index}].{key}.")
    return rules


def put_blob_service(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/write")
    _check_service_name(ctx)
    _require_blob(acct)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise _invalid("properties.")
    if "cors" in properties:
        rules = _validate_cors(properties["cors"])
        if rules and acct["sku"].startswith("Premium") and acct["kind"] != "BlockBlobStorage":
            raise ArmError(400, "FeatureNotSupportedForAccount", "Cors is not supported for the account.", storage=True)
    if "deleteRetentionPolicy" in properties:
        policy = properties["deleteRetentionPolicy"]
        days = policy.get("days")
        if days is not None and not (isinstance(days, int) and 1 <= days <= 365):
            raise _invalid("deleteRetentionPolicy.days.")
    # merge per top-level property: what is sent replaces, what is not sent stays
    for key, value in properties.items():
        acct["blob"][key] = copy.deepcopy(value)
    if "deleteRetentionPolicy" in properties:
        acct["blob"]["deleteRetentionPolicy"].setdefault("allowPermanentDelete", False)
    return responses.arm(_blob_body(ctx, acct, copy.deepcopy(properties), with_sku=False), storage=True)


# ------------------------------------------------------------------ containers
def _container_body(ctx: Ctx, acct: dict, container: dict, *, full: bool = True) -> dict:
    body = {
        "id": _blob_service_id(ctx, acct) + f"/containers/{container['name']}",
        "name": container["name"],
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
        "etag": '"0x%X"' % int(container["created"] * 1e7),
    }
    if full:
        body["properties"] = {
            "deleted": False,
            "remainingRetentionDays": 0,
            "defaultEncryptionScope": "$account-encryption-key",
            "denyEncryptionScopeOverride": False,
            "publicAccess": "None",
            "leaseStatus": "Unlocked",
            "leaseState": "Available",
            "lastModifiedTime": _stamp(container["created"]).split(".")[0] + "Z",
            "hasImmutabilityPolicy": False,
            "hasLegalHold": False,
        }
        if container.get("metadata"):
            body["properties"]["metadata"] = dict(container["metadata"])
    return body


def _container_not_found(name: str) -> ArmError:
    return ArmError(404, "ContainerNotFound", "The specified container does not exist.", storage=True)


def list_containers(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/containers/read")
    _require_blob(acct)
    names = sorted(acct["containers"])
    prefix = ctx.query.get("$filter", "")
    match = re.match(r"^name\s+ge\s+'([^']*)'$", prefix.strip()) if prefix else None
    if match:
        names = [n for n in names if n >= match.group(1).lower()]
    try:
        page = int(ctx.query.get("$maxpagesize", 1000))
    except ValueError:
        raise _invalid("$maxpagesize.")
    start = int(ctx.query.get("$skipToken", 0) or 0)
    chunk = names[start:start + page]
    body = {"value": [_container_body(ctx, acct, acct["containers"][n]) for n in chunk]}
    if start + page < len(names):
        query = {k: v for k, v in ctx.query.items() if k != "$skipToken"}
        query["$skipToken"] = str(start + page)
        body["nextLink"] = f"{ctx.emu.base_url}{ctx.request.path}?{urllib.parse.urlencode(query)}"
    return responses.arm(body, storage=True)


def get_container(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/containers/read")
    _require_blob(acct)
    container = acct["containers"].get(ctx.groups["container"].lower())
    if container is None:
        raise _container_not_found(ctx.groups["container"])
    return responses.arm(_container_body(ctx, acct, container), storage=True)


def put_container(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/containers/write")
    _require_blob(acct)
    name = ctx.groups["container"]
    if not _CONTAINER_NAME.match(name):
        raise ArmError(
            400,
            "ContainerOperationFailure",
            "The specifed resource name contains invalid characters.",
            storage=True,
        )
    existing = acct["containers"].get(name)
    if existing is not None:
        return responses.arm(_container_body(ctx, acct, existing, full=False), 200, storage=True)
    sent = (ctx.body or {}).get("properties") if isinstance(ctx.body, dict) else None
    metadata = (sent or {}).get("metadata") or {}
    container = {"name": name, "created": time.time(), "metadata": {str(k): str(v) for k, v in metadata.items()},
                 "blobs": {}}
    acct["containers"][name] = container
    return responses.arm(_container_body(ctx, acct, container, full=False), 201, storage=True)


def delete_container(ctx: Ctx):
    acct = _load_account(ctx, "Microsoft.Storage/storageAccounts/blobServices/containers/delete")
    _require_blob(acct)
    if acct["containers"].pop(ctx.groups["container"].lower(), None) is None:
        return responses.arm(None, 204, storage=True)
    return responses.arm(None, 200, storage=True)
