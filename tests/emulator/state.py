"""The emulator's world: tenants, identities, directories, subscriptions, storage accounts and
role assignments, seeded from a YAML or JSON document (format in the README) and dumped back
in the same format."""
from __future__ import annotations

import base64
import copy
import hashlib
import time
import uuid

import yaml

from . import roles

# Subscription.state of Microsoft.Resources' subscriptions.json (2022-12-01), an enum ARM does not
# widen (modelAsString false)
SUBSCRIPTION_STATES = ("Enabled", "Warned", "PastDue", "Disabled", "Deleted")
V7_APP_ID = "95e63529-38cc-435c-b247-32a1d62f321d"
DEFAULT_SETTINGS = {
    # seconds a new service principal stays invisible to Graph reads
    "graph_visibility_seconds": 0.0,
    # seconds ARM does not know a new principal (PrincipalNotFound unless principalType is sent)
    "principal_replication_seconds": 0.0,
    # when true, principalType does not help during the replication delay
    "principal_replication_ignores_type": False,
    # storage accounts per page of a storage accounts list (then a nextLink with $skiptoken)
    "storage_account_page_size": 100,
}
DEFAULT_CONTAINER_PAGE = 1000


def _lower(value) -> str:
    return str(value).lower()


def new_blob(data: bytes, content_type: str) -> dict:
    """A block blob as the Blob data plane keeps it (blob_data.py)."""
    now = time.time()
    return {
        "data": data,
        "content_type": content_type,
        "etag": f'"0x{uuid.uuid4().hex[:15].upper()}"',
        "created": now,
        "modified": now,
        "md5": base64.b64encode(hashlib.md5(data).digest()).decode(),
    }


def _dump_blob(blob: dict):
    try:
        return blob["data"].decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(blob["data"]).decode()}


class StateError(ValueError):
    pass


def load_document(path: str | None) -> dict:
    """The seed document in a YAML or JSON file (JSON is YAML too)."""
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


class State:
    def __init__(self, document: dict | None = None):
        self.load(document or {})

    # ---------------------------------------------------------------- loading
    def load(self, doc: dict) -> None:
        doc = copy.deepcopy(doc)
        self.settings = {**DEFAULT_SETTINGS, **(doc.get("settings") or {})}
        self.applications: dict[str, dict] = {}
        apps = doc.get("applications")
        if apps is None:
            apps = [{"app_id": V7_APP_ID, "display_name": "darwin-storage"}]
        for app in apps:
            self.applications[_lower(app["app_id"])] = {
                "app_id": _lower(app["app_id"]),
                "display_name": app.get("display_name", "application"),
                "home_tenant": app.get("home_tenant", "5b0e5b2a-0000-4000-8000-0000000000f7"),
                "multi_tenant": app.get("multi_tenant", True),
                "identifier_uris": list(app.get("identifier_uris") or []),
                # the application object in its home tenant's directory (Graph /applications/{id})
                "object_id": _lower(app.get("object_id") or uuid.uuid5(uuid.NAMESPACE_URL, "application/" + app["app_id"])),
                "created": app.get("created", "2021-01-01T00:00:00Z"),
                "owners": [_lower(o) for o in app.get("owners") or []],
                "sign_in_audience": app.get("sign_in_audience"),
                # the application's client secret, kept by its publisher in its home tenant: with it
                # the app signs in to any tenant that has its service principal (entra.py)
                "secret": app.get("secret"),
            }
        self.tenants: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.role_assignments: dict[str, dict] = {}
        # shared with roles.py, where every RBAC check looks them up
        roles.set_custom_roles({})
        self.custom_roles: dict[str, dict] = roles.CUSTOM_ROLES
        for tenant_doc in doc.get("tenants") or []:
            self._load_tenant(tenant_doc)

    def _load_tenant(self, t: dict) -> None:
        tid = _lower(t["id"])
        tenant = {
            "id": tid,
            "display_name": t.get("display_name", tid),
            "identities": {},
            "service_principals": {},
            "users": {},
        }
        self.tenants[tid] = tenant
        for ident in t.get("identities") or []:
            entry = {
                "client_id": _lower(ident["client_id"]),
                "object_id": _lower(ident.get("object_id") or uuid.uuid4()),
                "display_name": ident.get("display_name", "identity"),
                "secret": ident.get("secret"),
                "federated": list(ident.get("federated") or []),
                "graph_permissions": list(ident.get("graph_permissions") or []),
                "directory_roles": list(ident.get("directory_roles") or []),
            }
            tenant["identities"][entry["client_id"]] = entry
        for sp in t.get("service_principals") or []:
            self.add_service_principal(tid, sp["app_id"], sp.get("object_id"), created=0.0, owners=sp.get("owners"))
        for user in t.get("users") or []:
            oid = _lower(user["object_id"])
            tenant["users"][oid] = {"object_id": oid, "display_name": user.get("display_name", "user")}
        for s in t.get("subscriptions") or []:
            self._load_subscription(tid, s)
        for role in t.get("custom_roles") or []:
            self._load_custom_role(tid, role)
        for ra in t.get("role_assignments") or []:
            guid = roles.resolve(ra["role"], tid)
            if not guid:
                raise StateError(f"unknown role {ra['role']!r} in tenant {tid}")
            self.put_role_assignment(
                scope=ra["scope"],
                name=ra.get("name") or str(uuid.uuid4()),
                role_guid=guid,
                principal_id=_lower(ra["principal_id"]),
                principal_type=ra.get("principal_type", "ServicePrincipal"),
                created_by=None,
            )

    def _load_custom_role(self, tid: str, doc: dict) -> None:
        """A custom role in Azure's shape: id (a GUID), roleName, type CustomRole, description,
        permissions (one entry: actions, notActions, dataActions, notDataActions) and
        assignableScopes. An id given as a full roleDefinitions path is reduced to its GUID."""
        guid = _lower(str(doc.get("id") or doc.get("name") or uuid.uuid4()).rstrip("/").rsplit("/", 1)[-1])
        if guid in roles.BUILTIN_ROLES or guid in self.custom_roles:
            raise StateError(f"role definition id {guid} is used twice (tenant {tid})")
        if doc.get("type", "CustomRole") != "CustomRole":
            raise StateError(f"custom role {doc.get('roleName')!r}: type must be CustomRole")
        permissions = doc.get("permissions") or [{}]
        if len(permissions) != 1:
            raise StateError(f"custom role {doc.get('roleName')!r}: give exactly one permissions entry")
        entry = permissions[0]
        scopes = list(doc.get("assignableScopes") or [])
        if not doc.get("roleName") or not scopes:
            raise StateError(f"custom role {guid}: roleName and assignableScopes are required")
        if roles.resolve(doc["roleName"], tid):
            raise StateError(f"a role named {doc['roleName']!r} already exists in tenant {tid}")
        self.custom_roles[guid] = {
            "tenant_id": tid,
            "roleName": doc["roleName"],
            "description": doc.get("description", ""),
            "actions": list(entry.get("actions") or []),
            "notActions": list(entry.get("notActions") or []),
            "dataActions": list(entry.get("dataActions") or []),
            "notDataActions": list(entry.get("notDataActions") or []),
            "assignableScopes": scopes,
            "createdOn": time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()),
            "updatedOn": time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()),
            "createdBy": None,
            "updatedBy": None,
        }

    def _load_subscription(self, tid: str, s: dict) -> None:
        sid = _lower(s["id"])
        state = s.get("state", "Enabled")
        if state not in SUBSCRIPTION_STATES:
            raise StateError(f"subscription {sid}: state must be one of {', '.join(SUBSCRIPTION_STATES)}")
        sub = {
            "id": sid,
            "tenant_id": tid,
            "display_name": s.get("display_name", sid),
            "state": state,
            "tags": {str(k): str(v) for k, v in (s.get("tags") or {}).items()},
            "resource_groups": {},
        }
        self.subscriptions[sid] = sub
        for rg in s.get("resource_groups") or []:
            group = {"name": rg["name"], "location": rg.get("location", "westeurope"), "accounts": {}}
            sub["resource_groups"][_lower(rg["name"])] = group
            for acct in rg.get("storage_accounts") or []:
                group["accounts"][_lower(acct["name"])] = self._account_from_doc(acct, group)

    @staticmethod
    def _account_from_doc(a: dict, group: dict) -> dict:
        kind = a.get("kind", "StorageV2")
        sku = a.get("sku", "Standard_LRS")
        blob = {}
        if kind != "FileStorage":
            blob = {
                "cors": {"corsRules": copy.deepcopy(a.get("cors_rules") or [])},
                "deleteRetentionPolicy": copy.deepcopy(
                    a.get("delete_retention_policy") or {"allowPermanentDelete": False, "enabled": False}
                ),
            }
            blob["deleteRetentionPolicy"].setdefault("allowPermanentDelete", False)
        containers = dict(State._container_from_doc(c) for c in a.get("containers") or [])
        # the dump's form: container names, and the metadata of those that have any
        for name, metadata in (a.get("container_metadata") or {}).items():
            if _lower(name) in containers:
                containers[_lower(name)]["metadata"] = {str(k): str(v) for k, v in metadata.items()}
        # block blobs, by container: {container: {blob name: text, or {base64: ...}}}
        for container, blobs in (a.get("blobs") or {}).items():
            if _lower(container) not in containers:
                raise StateError(f"blobs of {a['name']}: no container {container!r}")
            for name, content in (blobs or {}).items():
                data = base64.b64decode(content["base64"]) if isinstance(content, dict) else str(content).encode("utf-8")
                containers[_lower(container)]["blobs"][name] = new_blob(data, "application/octet-stream")
        return {
            "name": a["name"],
            "kind": kind,
            "sku": sku,
            "location": a.get("location", group["location"]),
            "tags": dict(a.get("tags") or {}),
            "public_network_access": a.get("public_network_access", "Enabled"),
            "network_acls": copy.deepcopy(
                a.get("network_acls")
                or {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow"}
            ),
            "allow_shared_key_access": a.get("allow_shared_key_access", True),
            "blob": blob,
            "containers": containers,
            "created": time.time(),
        }

    @staticmethod
    def _container_from_doc(doc) -> tuple[str, dict]:
        """A container given by name, or as {name, metadata}."""
        name, metadata = (doc, {}) if isinstance(doc, str) else (doc["name"], doc.get("metadata") or {})
        return _lower(name), {"name": name, "created": time.time(), "metadata": {str(k): str(v) for k, v in metadata.items()},
                              "blobs": {}}

    # ---------------------------------------------------------------- dumping
    def dump(self) -> dict:
        tenants = []
        for tenant in self.tenants.values():
            subs = []
            for sub in self.subscriptions.values():
                if sub["tenant_id"] != tenant["id"]:
                    continue
                groups = []
                for group in sub["resource_groups"].values():
                    accounts = []
                    for acct in group["accounts"].values():
                        entry = {
                            "name": acct["name"],
                            "kind": acct["kind"],
                            "sku": acct["sku"],
                            "location": acct["location"],
                            "public_network_access": acct["public_network_access"],
                            "network_acls": acct["network_acls"],
                            "allow_shared_key_access": acct["allow_shared_key_access"],
                            "containers": sorted(c["name"] for c in acct["containers"].values()),
                        }
                        metadata = {c["name"]: c["metadata"] for c in acct["containers"].values() if c.get("metadata")}
                        if metadata:
                            entry["container_metadata"] = metadata
                        blobs = {c["name"]: {n: _dump_blob(b) for n, b in c["blobs"].items()}
                                 for c in acct["containers"].values() if c.get("blobs")}
                        if blobs:
                            entry["blobs"] = blobs
                        if acct["tags"]:
                            entry["tags"] = acct["tags"]
                        if acct["blob"]:
                            entry["cors_rules"] = acct["blob"]["cors"]["corsRules"]
                            entry["delete_retention_policy"] = acct["blob"]["deleteRetentionPolicy"]
                        accounts.append(entry)
                    groups.append({"name": group["name"], "location": group["location"], "storage_accounts": accounts})
                entry = {"id": sub["id"], "display_name": sub["display_name"]}
                if sub["state"] != "Enabled":
                    entry["state"] = sub["state"]
                if sub["tags"]:
                    entry["tags"] = dict(sub["tags"])
                subs.append({**entry, "resource_groups": groups})
            assignments = [
                {
                    "name": ra["name"],
                    "scope": ra["scope"],
                    "role": ra["role_guid"],
                    "principal_id": ra["principal_id"],
                    "principal_type": ra["principal_type"],
                }
                for ra in self.role_assignments.values()
                if ra["tenant_id"] == tenant["id"]
            ]
            tenants.append(
                {
                    "id": tenant["id"],
                    "display_name": tenant["display_name"],
                    "identities": [
                        {k: v for k, v in ident.items() if v not in (None, [])}
                        for ident in tenant["identities"].values()
                    ],
                    "service_principals": [
                        {"app_id": sp["appId"], "object_id": sp["id"], **({"owners": sp["_owners"]} if sp["_owners"] else {})}
                        for sp in tenant["service_principals"].values()
                    ],
                    "custom_roles": [
                        {
                            "id": guid,
                            "roleName": role["roleName"],
                            "type": "CustomRole",
                            "description": role["description"],
                            "permissions": [
                                {k: list(role[k]) for k in ("actions", "notActions", "dataActions", "notDataActions")}
                            ],
                            "assignableScopes": list(role["assignableScopes"]),
                        }
                        for guid, role in self.custom_roles.items()
                        if role["tenant_id"] == tenant["id"]
                    ],
                    "users": list(tenant["users"].values()),
                    "subscriptions": subs,
                    "role_assignments": assignments,
                }
            )
        return {
            "settings": dict(self.settings),
            "applications": [dict(app) for app in self.applications.values()],
            "tenants": tenants,
        }

    # ---------------------------------------------------------------- directory
    def identity(self, tenant_id: str, client_id: str) -> dict | None:
        tenant = self.tenants.get(_lower(tenant_id))
        return tenant["identities"].get(_lower(client_id)) if tenant else None

    def identity_by_object_id(self, object_id: str) -> dict | None:
        for tenant in self.tenants.values():
            for ident in tenant["identities"].values():
                if ident["object_id"] == _lower(object_id):
                    return ident
        return None

    def add_service_principal(
        self, tenant_id: str, app_id: str, object_id=None, created: float | None = None, owners=None
    ) -> dict:
        app = self.applications.get(
            _lower(app_id), {"display_name": "application", "home_tenant": tenant_id, "identifier_uris": []}
        )
        oid = _lower(object_id or uuid.uuid4())
        stamp = time.time() if created is None else created
        sp = {
            "id": oid,
            "appId": _lower(app_id),
            "displayName": app["display_name"],
            "appDisplayName": app["display_name"],
            "appOwnerOrganizationId": app["home_tenant"],
            "servicePrincipalNames": [_lower(app_id), *app["identifier_uris"]],
            "createdDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp or time.time())),
            "_created": stamp,
            # object ids of the principals that own it (Graph's servicePrincipal owners)
            "_owners": [_lower(o) for o in owners or []],
        }
        self.tenants[_lower(tenant_id)]["service_principals"][oid] = sp
        return sp

    def principal_type(self, tenant_id: str, object_id: str, *, ignore_replication: bool = False) -> str | None:
        """'ServicePrincipal' or 'User' when the directory (as ARM sees it) knows the object."""
        tenant = self.tenants.get(_lower(tenant_id))
        if not tenant:
            return None
        oid = _lower(object_id)
        if any(i["object_id"] == oid for i in tenant["identities"].values()):
            return "ServicePrincipal"
        sp = tenant["service_principals"].get(oid)
        if sp:
            delay = float(self.settings["principal_replication_seconds"])
            if ignore_replication or time.time() - sp["_created"] >= delay:
                return "ServicePrincipal"
            return "replicating"
        if oid in tenant["users"]:
            return "User"
        return None

    # ---------------------------------------------------------------- ARM
    def subscription(self, sid: str) -> dict | None:
        return self.subscriptions.get(_lower(sid))

    def resource_group(self, sid: str, rg: str) -> dict | None:
        sub = self.subscription(sid)
        return sub["resource_groups"].get(_lower(rg)) if sub else None

    def account(self, sid: str, rg: str, name: str) -> dict | None:
        group = self.resource_group(sid, rg)
        return group["accounts"].get(_lower(name)) if group else None

    def put_role_assignment(self, *, scope, name, role_guid, principal_id, principal_type, created_by) -> dict:
        scope = "/" + scope.strip("/")
        sid = scope.split("/")[2] if scope.lower().startswith("/subscriptions/") else None
        sub = self.subscription(sid) if sid else None
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
        ra = {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": _lower(name),
            "scope": scope,
            "role_guid": _lower(role_guid),
            "subscription_id": sid,
            "tenant_id": sub["tenant_id"] if sub else None,
            "principal_id": _lower(principal_id),
            "principal_type": principal_type,
            "created_on": stamp,
            "created_by": created_by,
        }
        self.role_assignments[ra["id"].lower()] = ra
        return ra
