"""A generated world of many storage accounts over several tenants: the emulator state document,
the inventory that describes it, and what is wrong with the emulator's state after a run.

Everything here is pure except write_inventory. The same (accounts, tenants, seed) always gives
the same world: ids are derived from indexes, choices from a seeded random generator."""
from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable

import yaml

V7_APP_ID = "95e63529-38cc-435c-b247-32a1d62f321d"
V7_HOME_TENANT = "5b0e5b2a-0000-4000-8000-0000000000f7"
V7_ORIGINS = ("https://darwin.v7labs.com",)
V7_IPS = ["198.51.100.10", "198.51.100.11"]
V7_METHODS = ("GET", "PUT")

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
BLOB_DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
ROLE_NAMES = {
    OWNER: "Owner",
    READER: "Reader",
    BLOB_READER: "Storage Blob Data Reader",
    BLOB_CONTRIBUTOR: "Storage Blob Data Contributor",
    BLOB_DELEGATOR: "Storage Blob Delegator",
}
RESOURCE_GROUP = "rg-scale"
ACCOUNTS_GROUP = "v7_storage_accounts"


@dataclass
class World:
    state: dict
    accounts: list[dict]
    tenants: list[str]
    # per tenant id: the operator identity (client_id, object_id, secret) the inventory signs in with
    operators: dict[str, dict] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- ids
def _guid(kind: int, *numbers: int) -> str:
    """A valid, readable GUID: `kind` names what it is (tenant, subscription, ...)."""
    tail = "".join(f"{n:04x}" for n in numbers)[-12:].rjust(12, "0")
    return f"5ca1e{kind:03x}-{numbers[0] % 0x10000:04x}-4000-8000-{tail}"


def tenant_id(t: int) -> str:
    return _guid(1, t)


def subscription_id(t: int, s: int) -> str:
    return _guid(2, t, s)


def operator_of(t: int) -> dict:
    return {
        "client_id": _guid(3, t),
        "object_id": _guid(4, t),
        # the emulator's own test identity: exists nowhere else
        "secret": f"Scale-operator-Secret.t{t}~emulator",
    }


def customer_user(t: int) -> str:
    return _guid(5, t)


def account_name(i: int) -> str:
    return f"v7scale{i:05d}"


def account_scope(account: dict) -> str:
    return (
        f"/subscriptions/{account['subscription']}/resourceGroups/{account['resource_group']}"
        f"/providers/Microsoft.Storage/storageAccounts/{account['name']}"
    )


def container_scope(account: dict, container: str) -> str:
    return f"{account_scope(account)}/blobServices/default/containers/{container}"


# ---------------------------------------------------------------------------------- building
def _customer_cors_rules(i: int, k: int) -> list[dict]:
    rules = []
    if k % 3 == 1:
        rules.append({
            "allowedOrigins": [f"https://portal{i}.contoso.example"],
            "allowedMethods": ["GET", "HEAD"],
            "allowedHeaders": ["*"],
            "exposedHeaders": ["x-ms-meta-*"],
            "maxAgeInSeconds": 3600,
        })
    if k % 7 == 5:
        rules.append({
            "allowedOrigins": [f"https://upload{i}.fabrikam.example", "https://cdn.fabrikam.example"],
            "allowedMethods": ["PUT", "OPTIONS"],
            "allowedHeaders": ["x-ms-blob-type", "content-type"],
            "exposedHeaders": [],
            "maxAgeInSeconds": 60,
        })
    return rules


def _account(i: int, tenants: int, subscriptions_per_tenant: int, seed: int, customer_setup: bool) -> dict:
    rng = random.Random(f"{seed}/{i}")
    k = i + seed
    t = i % tenants
    s = (i // tenants) % subscriptions_per_tenant
    existing = ["images"] + (["videos"] if rng.random() < 0.5 else [])
    listed = existing[: rng.randint(1, len(existing))] if k % 4 in (0, 3) else []
    prefix_missing = k % 5 == 3
    prefix_container = "v7-generated" if prefix_missing else (listed or existing)[0]
    name = account_name(i)
    account = {
        "index": i,
        "name": name,
        "tenant": tenant_id(t),
        "subscription": subscription_id(t, s),
        "resource_group": RESOURCE_GROUP,
        "containers": listed,
        "existing_containers": existing,
        "prefix": f"{prefix_container}/v7",
        "write": rng.random() < 0.5,
        "team": f"scale-team-{t}-{s}",
        "firewall": k % 5 == 1,
        "customer_cors_rules": _customer_cors_rules(i, k) if customer_setup else [],
        "customer_role_assignments": [],
    }
    if customer_setup and k % 6 in (2, 5):
        # a user of the customer's own, on the account: half of them hold the very role V7 gets
        role = BLOB_READER if (k // 6) % 2 == 0 else READER
        account["customer_role_assignments"].append(
            {"scope": account_scope(account), "role": role, "principal_id": customer_user(t), "principal_type": "User"}
        )
    return account


def account_tags(account: dict) -> dict[str, str]:
    """The Azure tags that the storage_accounts inventory plugin reads: the account's inventory
    variables, as write_inventory writes them by hand."""
    return {
        "v7-team": account["team"],
        "v7-containers": ",".join(account["containers"]),
        "v7-prefix": account["prefix"],
        "v7-write": "true" if account["write"] else "false",
    }


def _account_doc(account: dict) -> dict:
    doc = {
        "name": account["name"],
        "kind": "StorageV2",
        "sku": "Standard_LRS",
        "tags": account_tags(account),
        "containers": list(account["existing_containers"]),
        "cors_rules": [dict(rule) for rule in account["customer_cors_rules"]],
    }
    if account["firewall"]:
        doc["network_acls"] = {
            "defaultAction": "Deny",
            "bypass": "AzureServices",
            "virtualNetworkRules": [],
            "ipRules": [{"value": ip, "action": "Allow"} for ip in V7_IPS],
        }
    return doc


def _state(accounts: list[dict], tenants: int, subscriptions_per_tenant: int) -> dict:
    docs = []
    for t in range(tenants):
        operator = operator_of(t)
        subs = []
        for s in range(subscriptions_per_tenant):
            sid = subscription_id(t, s)
            mine = [_account_doc(a) for a in accounts if a["subscription"] == sid]
            subs.append({
                "id": sid,
                "display_name": f"scale-{t}-{s}",
                "resource_groups": [{"name": RESOURCE_GROUP, "location": "westeurope", "storage_accounts": mine}],
            })
        assignments = [
            {"scope": f"/subscriptions/{sub['id']}", "role": OWNER, "principal_id": operator["object_id"]}
            for sub in subs
        ]
        for account in accounts:
            if account["tenant"] == tenant_id(t):
                assignments += [dict(ra) for ra in account["customer_role_assignments"]]
        docs.append({
            "id": tenant_id(t),
            "display_name": f"scale-tenant-{t}",
            "identities": [{
                "client_id": operator["client_id"],
                "object_id": operator["object_id"],
                "display_name": f"scale-operator-{t}",
                "secret": operator["secret"],
                "graph_permissions": ["Application.ReadWrite.All"],
            }],
            "service_principals": [],
            "users": [{"object_id": customer_user(t), "display_name": f"customer-analyst-{t}"}],
            "subscriptions": subs,
            "role_assignments": assignments,
        })
    return {
        "settings": {"graph_visibility_seconds": 0, "principal_replication_seconds": 0},
        "applications": [{
            "app_id": V7_APP_ID,
            "display_name": "darwin-storage",
            "home_tenant": V7_HOME_TENANT,
            "multi_tenant": True,
        }],
        "tenants": docs,
    }


def build_world(accounts: int, tenants: int = 2, *, subscriptions_per_tenant: int = 2,
                seed: int = 0, customer_setup: bool = True) -> World:
    """`accounts` storage accounts spread round-robin over `tenants` tenants and their subscriptions.

    The mix (rotated by `seed`): per-container or whole-account scope, write on or off, the
    prefix's container present or missing, a firewall that lets V7's IPs in, and, with
    customer_setup, the customer's own CORS rules and role assignments that a run must keep.
    V7 has nothing yet: no service principal in any tenant. Every account can be made ready."""
    if accounts < 0 or tenants < 1 or subscriptions_per_tenant < 1:
        raise ValueError("accounts >= 0, tenants >= 1 and subscriptions_per_tenant >= 1")
    items = [_account(i, tenants, subscriptions_per_tenant, seed, customer_setup) for i in range(accounts)]
    return World(
        state=_state(items, tenants, subscriptions_per_tenant),
        accounts=items,
        tenants=[tenant_id(t) for t in range(tenants)],
        operators={tenant_id(t): operator_of(t) for t in range(tenants)},
    )


def subset(world: World, indexes: Iterable[int]) -> World:
    """The same Azure world, with an inventory of only some of its accounts (by index)."""
    wanted = set(indexes)
    return replace(world, accounts=[a for a in world.accounts if a["index"] in wanted])


def with_settings(world: World, **settings) -> World:
    """The world with other emulator settings (graph_visibility_seconds, ...)."""
    state = dict(world.state, settings={**world.state["settings"], **settings})
    return replace(world, state=state)


# ---------------------------------------------------------------------------------- inventory
def _group(tenant: str) -> str:
    return "tenant_" + tenant.replace("-", "_")


def inventory_documents(world: World) -> dict[str, dict]:
    """File name (relative to the inventory directory) -> YAML document."""
    by_tenant: dict[str, dict] = {}
    files: dict[str, dict] = {}
    for account in world.accounts:
        tenant_group = _group(account["tenant"])
        sub_group = tenant_group + "_sub_" + account["subscription"].replace("-", "_")
        hosts = by_tenant.setdefault(tenant_group, {}).setdefault(sub_group, {})
        hosts[account["name"]] = {
            "v7_containers": list(account["containers"]),
            "v7_prefix": account["prefix"],
            "v7_write": account["write"],
            "v7_team": account["team"],
        }
        files[f"group_vars/{sub_group}.yml"] = {
            "v7_subscription_id": account["subscription"],
            "v7_resource_group": account["resource_group"],
        }
        operator = world.operators[account["tenant"]]
        files[f"group_vars/{tenant_group}.yml"] = {
            "v7_tenant_id": account["tenant"],
            "v7_azure_auth": {"client_id": operator["client_id"], "secret": operator["secret"]},
        }
    children = {
        tenant_group: {"children": {sub: {"hosts": hosts} for sub, hosts in sorted(subs.items())}}
        for tenant_group, subs in sorted(by_tenant.items())
    }
    files["hosts.yml"] = {"all": {"children": {ACCOUNTS_GROUP: {"children": children}}}}
    return files


def write_inventory(world: World, directory: str) -> str:
    """hosts.yml and group_vars/ in `directory`; the path to give ansible-playbook -i."""
    files = inventory_documents(world)
    files[f"group_vars/{ACCOUNTS_GROUP}.yml"] = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "ansible_pipelining": True,
        "v7_origins": list(V7_ORIGINS),
        "v7_ips": list(V7_IPS),
        "v7_activation_dir": os.path.join(os.path.abspath(directory), "activation"),
    }
    for relative, doc in files.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("---\n")
            yaml.safe_dump(doc, handle, sort_keys=False, default_flow_style=False)
    return os.path.join(directory, "hosts.yml")


# ---------------------------------------------------------------------------------- checking
def normal_rule(rule: dict) -> dict:
    """A CORS rule as stored, whatever way the service echoes empty header lists."""
    def strings(key: str) -> tuple:
        return tuple(v for v in (rule.get(key) or []) if v != "")
    return {
        "allowedOrigins": strings("allowedOrigins"),
        "allowedMethods": tuple(m.upper() for m in strings("allowedMethods")),
        "allowedHeaders": strings("allowedHeaders"),
        "exposedHeaders": strings("exposedHeaders"),
        "maxAgeInSeconds": int(rule.get("maxAgeInSeconds") or 0),
    }


def _origin_matches(rule_origin: str, origin: str) -> bool:
    return rule_origin == "*" or rule_origin.rstrip("/").lower() == origin.lower()


def cors_allows(rules: list[dict], origin: str, method: str) -> bool:
    """Azure picks the first rule whose origins and methods match; it must allow every header."""
    for rule in map(normal_rule, rules):
        if method in rule["allowedMethods"] and any(_origin_matches(o, origin) for o in rule["allowedOrigins"]):
            return "*" in rule["allowedHeaders"]
    return False


def v7_rule_count(rules: list[dict], origins: Iterable[str] = V7_ORIGINS) -> int:
    wanted = list(origins)
    return sum(
        1 for rule in map(normal_rule, rules)
        if any(_origin_matches(o, w) for o in rule["allowedOrigins"] if o != "*" for w in wanted)
    )


def wanted_assignments(account: dict) -> set[tuple[str, str]]:
    """(role guid, lower-case scope) V7 must hold on the account after a configure run."""
    prefix_container = account["prefix"].split("/")[0]
    if account["containers"]:
        containers = list(dict.fromkeys([*account["containers"], prefix_container]))
        data_scopes = [container_scope(account, c).lower() for c in containers]
    else:
        data_scopes = [account_scope(account).lower()]
    roles = [BLOB_READER] + ([BLOB_CONTRIBUTOR] if account["write"] else [])
    wanted = {(role, scope) for role in roles for scope in data_scopes}
    wanted.add((BLOB_DELEGATOR, account_scope(account).lower()))
    return wanted


def _accounts_in_state(state: dict) -> dict[str, dict]:
    found = {}
    for tenant in state.get("tenants") or []:
        for sub in tenant.get("subscriptions") or []:
            for group in sub.get("resource_groups") or []:
                for acct in group.get("storage_accounts") or []:
                    key = f"/subscriptions/{sub['id']}/resourcegroups/{group['name']}/providers/" \
                          f"microsoft.storage/storageaccounts/{acct['name']}".lower()
                    found[key] = acct
    return found


def _assignment_key(ra: dict) -> tuple[str, str, str]:
    return (str(ra["principal_id"]).lower(), str(ra["role"]).lower(), "/" + str(ra["scope"]).strip("/").lower())


def _role_name(guid: str) -> str:
    return ROLE_NAMES.get(guid, guid)


def _tenant_problems(world: World, tenant: dict, v7_ids: set[str]) -> list[str]:
    problems = []
    v7 = [sp for sp in tenant.get("service_principals") or [] if str(sp["app_id"]).lower() == V7_APP_ID]
    if len(v7) > 1:
        problems.append(f"tenant {tenant['id']}: {len(v7)} V7 service principals ({', '.join(sp['object_id'] for sp in v7)})")
    if not v7 and any(a["tenant"] == tenant["id"] for a in world.accounts):
        problems.append(f"tenant {tenant['id']}: no V7 service principal")
    counts = Counter(_assignment_key(ra) for ra in tenant.get("role_assignments") or [])
    for (principal, role, scope), n in sorted(counts.items()):
        if n > 1:
            who = "V7" if principal in v7_ids else principal
            problems.append(f"duplicate role assignment: {_role_name(role)} for {who} on {scope} ({n} times)")
    return problems


def _account_problems(account: dict, acct: dict | None, assignments: list[dict], v7_ids: set[str],
                      origins: list[str]) -> list[str]:
    name = account["name"]
    if acct is None:
        return [f"{name}: storage account missing"]
    problems = []
    scope = account_scope(account).lower()
    held = {_assignment_key(ra) for ra in assignments}
    v7_held = {(role, s) for principal, role, s in held if principal in v7_ids and (s == scope or s.startswith(scope + "/"))}
    for role, s in sorted(wanted_assignments(account) - v7_held):
        problems.append(f"{name}: V7 lacks {_role_name(role)} on {s}")
    for role, s in sorted(v7_held - wanted_assignments(account)):
        problems.append(f"{name}: V7 holds {_role_name(role)} on {s}, which it should not")
    rules = acct.get("cors_rules") or []
    for origin in origins:
        for method in V7_METHODS:
            if not cors_allows(rules, origin, method):
                problems.append(f"{name}: CORS does not allow {method} from {origin}")
    if v7_rule_count(rules, origins) > 1:
        problems.append(f"{name}: {v7_rule_count(rules, origins)} CORS rules for V7's origins")
    stored = [normal_rule(r) for r in rules]
    for rule in account["customer_cors_rules"]:
        if normal_rule(rule) not in stored:
            problems.append(f"{name}: the customer's CORS rule for {', '.join(rule['allowedOrigins'])} was lost or changed")
    for ra in account["customer_role_assignments"]:
        if _assignment_key(ra) not in held:
            problems.append(
                f"{name}: the customer's role assignment {_role_name(ra['role'])} for {ra['principal_id']} was lost or changed"
            )
    return problems


def world_problems(world: World, state_after: dict, origins: Iterable[str] = V7_ORIGINS) -> list[str]:
    """What is wrong with the emulator's state after a configure run over world.accounts, in words;
    empty when every account is ready for V7, nothing is duplicated and nothing of the customer's
    is lost."""
    origins = list(origins)
    tenants = {str(t["id"]).lower(): t for t in state_after.get("tenants") or []}
    v7_ids = {
        str(sp["object_id"]).lower()
        for t in tenants.values() for sp in t.get("service_principals") or []
        if str(sp["app_id"]).lower() == V7_APP_ID
    }
    problems = []
    for tid in world.tenants:
        if tid in tenants:
            problems += _tenant_problems(world, tenants[tid], v7_ids)
        else:
            problems.append(f"tenant {tid} missing")
    accounts = _accounts_in_state(state_after)
    for account in world.accounts:
        tenant = tenants.get(account["tenant"], {})
        problems += _account_problems(
            account, accounts.get(account_scope(account).lower()), tenant.get("role_assignments") or [], v7_ids, origins
        )
    return problems
