"""The operator's least privilege: examples/operator-role.json and one Graph permission are
enough for configure, verify and offboard, and every right in them is needed.

Two worlds, each run once per test session:

- enough: one tenant whose operator holds exactly the custom role of examples/operator-role.json
  (loaded from that file) on its subscription and the Graph application permission
  Application.ReadWrite.OwnedBy, and nothing else; three accounts (container scope with write,
  whole account read-only, and a missing prefix container). Configure, verify and offboard all
  succeed, and the ARM actions their requests need are exactly the role's actions.
- one right short: one tenant per right, each with its own operator, subscription and account
  (whose prefix container is missing), the operator holding the role without that one right (or
  no Graph permission). One configure and one offboard run over all of them: each account fails
  at the step that needs its missing right, before that step writes anything, with a message
  that names the right and says what to grant.
"""
from __future__ import annotations

import copy
import json
import os
import re
import sys
import uuid
from dataclasses import asdict, dataclass

import pytest
import yaml

from tests.emulator.state import V7_APP_ID
from tests.fidelity.spec_check import arm_problems
from tests.integration.runner import ROOT, Run, run_playbook
from tests.session_cache import once_per_session

ROLE_FILE = os.path.join(ROOT, "examples", "operator-role.json")
PLAYBOOKS = os.path.join(ROOT, "playbooks")
ROLE = "v7labs.azure_storage.storage_integration : "
GRAPH_PERMISSION = "Application.ReadWrite.OwnedBy"
GRAPH = "graph:" + GRAPH_PERMISSION
_NS = uuid.UUID("6f1c2b7e-8a44-4c2e-9d1f-3b5e0c7a9d20")

with open(ROLE_FILE, encoding="utf-8") as _handle:
    OPERATOR_ROLE = json.load(_handle)
ACTIONS = list(OPERATOR_ROLE["Actions"])
RIGHTS = ACTIONS + [GRAPH]


def guid(*parts) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def short(right: str) -> str:
    """A right as a host name part: 'microsoft.storage/storageaccounts/read' -> 'sa-read'."""
    return re.sub(r"[^a-z0-9]+", "", right.lower().replace("microsoft.", "").replace("storageaccounts", "sa")
                  .replace("blobservices", "bs").replace("containers", "ct").replace("roleassignments", "ra")
                  .replace("permissions", "pm").replace("authorization", "au").replace("storage", "st"))[-18:]


# ------------------------------------------------------------------------ the role, as Azure keeps it
def custom_role(az_definition: dict, role_id: str, subscription: str, drop: str | None = None) -> dict:
    """The emulator's (ARM's) shape of an `az role definition create` document, for one
    subscription, optionally without one action."""
    return {
        "id": role_id,
        "roleName": az_definition["Name"],
        "type": "CustomRole",
        "description": az_definition["Description"],
        "permissions": [{
            "actions": [a for a in az_definition["Actions"] if a != drop],
            "notActions": list(az_definition["NotActions"]),
            "dataActions": list(az_definition["DataActions"]),
            "notDataActions": list(az_definition["NotDataActions"]),
        }],
        "assignableScopes": [s.replace("<subscription-id>", subscription) for s in az_definition["AssignableScopes"]],
    }


@dataclass
class Account:
    host: str
    tenant: str
    subscription: str
    client_id: str
    secret: str
    containers: list
    prefix: str
    write: bool
    existing: list


def tenant_doc(name: str, accounts: list[Account], operator_oid: str, drop: str | None) -> dict:
    first = accounts[0]
    role_id = guid(name, "role")
    return {
        "id": first.tenant,
        "display_name": name,
        "identities": [{
            "client_id": first.client_id,
            "object_id": operator_oid,
            "display_name": f"{name}-operator",
            "secret": first.secret,
            "graph_permissions": [] if drop == GRAPH else [GRAPH_PERMISSION],
        }],
        "service_principals": [],
        "subscriptions": [{
            "id": first.subscription,
            "display_name": name,
            "resource_groups": [{"name": "rg-v7", "location": "westeurope", "storage_accounts": [
                {"name": a.host, "kind": "StorageV2", "sku": "Standard_LRS", "containers": a.existing} for a in accounts]}],
        }],
        "custom_roles": [custom_role(OPERATOR_ROLE, role_id, first.subscription, None if drop == GRAPH else drop)],
        "role_assignments": [{"scope": f"/subscriptions/{first.subscription}", "role": role_id, "principal_id": operator_oid}],
    }


def world(tenants: list[dict]) -> dict:
    return {"settings": {"graph_visibility_seconds": 0, "principal_replication_seconds": 0},
            "applications": [{"app_id": V7_APP_ID, "display_name": "darwin-storage",
                              "home_tenant": "5b0e5b2a-0000-4000-8000-0000000000f7"}],
            "tenants": tenants}


def enough_world() -> tuple[dict, list[Account]]:
    tenant, sub = guid("enough", "tenant"), guid("enough", "sub")
    client, secret = guid("enough", "client"), "Em9-least-privilege~enough"
    accounts = [
        Account("lpscoped", tenant, sub, client, secret, ["images"], "images/v7", True, ["images"]),
        Account("lpwhole", tenant, sub, client, secret, [], "media/v7", False, ["media"]),
        Account("lpnewbox", tenant, sub, client, secret, [], "annotations/v7", True, []),
    ]
    return world([tenant_doc("enough", accounts, guid("enough", "oid"), None)]), accounts


def short_world() -> tuple[dict, dict[str, Account]]:
    tenants, accounts = [], {}
    for right in RIGHTS:
        key = short(right)
        account = Account(f"lp{key}"[:24], guid(right, "tenant"), guid(right, "sub"), guid(right, "client"),
                          f"Em9-least-privilege~{key}", ["scans"], "annotations/v7", True, ["scans"])
        accounts[right] = account
        tenants.append(tenant_doc(key, [account], guid(right, "oid"), right))
    return world(tenants), accounts


def inventory(path: str, accounts: list[Account]) -> str:
    hosts = {a.host: {
        "v7_tenant_id": a.tenant, "v7_subscription_id": a.subscription, "v7_resource_group": "rg-v7",
        "v7_containers": a.containers, "v7_prefix": a.prefix, "v7_write": a.write, "v7_team": "least-privilege",
        "v7_azure_auth": {"client_id": a.client_id, "secret": a.secret},
    } for a in accounts}
    doc = {"all": {"children": {"v7_storage_accounts": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle)
    return path


# ------------------------------------------------------------------------ what each request needs
_AUTHZ = {"roleassignments": "roleAssignments", "permissions": "permissions", "roledefinitions": "roleDefinitions"}
_VERBS = {"GET": "read", "PUT": "write", "DELETE": "delete", "PATCH": "write"}


def arm_action(method: str, path: str) -> str:
    """The RBAC action ARM checks for a request of the kinds the collection sends."""
    lowered, verb = path.lower(), _VERBS[method]
    if "/providers/microsoft.authorization/" in lowered:
        kind = lowered.split("/providers/microsoft.authorization/")[1].split("/")[0]
        return f"Microsoft.Authorization/{_AUTHZ[kind]}/{verb}"
    for marker, action in (("/containers", "blobServices/containers"), ("/blobservices", "blobServices")):
        if marker in lowered:
            return f"Microsoft.Storage/storageAccounts/{action}/{verb}"
    return f"Microsoft.Storage/storageAccounts/{verb}"


@pytest.mark.parametrize("method, path, action", [
    ("GET", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
     "Microsoft.Storage/storageAccounts/read"),
    ("PUT", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default",
     "Microsoft.Storage/storageAccounts/blobServices/write"),
    ("GET", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c",
     "Microsoft.Storage/storageAccounts/blobServices/containers/read"),
    ("DELETE", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/"
     "containers/c/providers/Microsoft.Authorization/roleAssignments/x", "Microsoft.Authorization/roleAssignments/delete"),
    ("GET", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/providers/"
     "Microsoft.Authorization/permissions", "Microsoft.Authorization/permissions/read"),
])
def test_each_request_maps_to_its_action(method, path, action):
    assert arm_action(method, path) == action


# ------------------------------------------------------------------------ running
def run_all(emulator, workdir: str, doc: dict, accounts: list[Account], playbooks: list[str]) -> dict:
    emulator.reset()
    emulator.load_state(copy.deepcopy(doc))
    hosts = inventory(os.path.join(workdir, "hosts.yml"), accounts)
    out = {"runs": {}, "logs": {}, "worlds": {}, "spec_problems": []}
    for playbook in playbooks:
        emulator.clear_log()
        run = run_playbook(os.path.join(PLAYBOOKS, f"{playbook}.yml"), env=emulator.env(), inventory=hosts,
                           forks=len(accounts), extra_vars={"v7_activation_dir": os.path.join(workdir, "activation")})
        log = emulator.log()
        out["spec_problems"] += arm_problems(log, emulator.url)
        out["runs"][playbook], out["logs"][playbook], out["worlds"][playbook] = asdict(run), log, emulator.state()
    return out


@pytest.fixture(scope="module")
def enough(emulator_process, tmp_path_factory) -> dict:
    doc, accounts = enough_world()
    return once_per_session(tmp_path_factory, "least_privilege_enough", lambda workdir: run_all(
        emulator_process, str(workdir), doc, accounts, ["configure", "verify", "offboard"]))


@pytest.fixture(scope="module")
def short_of_one(emulator_process, tmp_path_factory) -> dict:
    doc, accounts = short_world()
    return once_per_session(tmp_path_factory, "least_privilege_short", lambda workdir: run_all(
        emulator_process, str(workdir), doc, list(accounts.values()), ["configure", "offboard"]))


def failures(recorded: dict, playbook: str) -> dict[str, tuple[str, str]]:
    """host -> (task, message) of each account that failed in the playbook."""
    return {r["host"]: (r["task"], str(r["result"].get("msg")))
            for r in Run(**recorded["runs"][playbook]).results if r["status"] == "failed"}


def account_writes(log: list[dict], host: str) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in log
            if e["write"] and re.search(rf"/storageAccounts/{host}(/|$)", e["path"], re.IGNORECASE)]


# ------------------------------------------------------------------------ enough
def test_the_role_file_is_what_az_role_definition_create_takes():
    assert set(OPERATOR_ROLE) == {"Name", "IsCustom", "Description", "Actions", "NotActions", "DataActions",
                                  "NotDataActions", "AssignableScopes"}
    assert OPERATOR_ROLE["IsCustom"] is True and OPERATOR_ROLE["DataActions"] == []
    assert OPERATOR_ROLE["AssignableScopes"] == ["/subscriptions/<subscription-id>"]
    assert len(set(ACTIONS)) == len(ACTIONS) and not any("*" in a for a in ACTIONS)


@pytest.mark.parametrize("playbook", ["configure", "verify", "offboard"])
def test_the_role_and_one_graph_permission_are_enough(enough, playbook):
    run = Run(**enough["runs"][playbook])
    assert run.rc == 0, failures(enough, playbook) or run.output[-3000:]
    assert enough["spec_problems"] == []


def test_configure_did_everything_and_offboard_undid_it(enough):
    configured, offboarded = enough["worlds"]["configure"], enough["worlds"]["offboard"]
    v7_roles = [ra for t in configured["tenants"] for ra in t["role_assignments"] if "/storageAccounts/" in ra["scope"]]
    assert len(v7_roles) == 2 * 3 + 3 * 1 - 1  # scoped: 3 roles; whole read-only: 2; new box: 3
    assert not [ra for t in offboarded["tenants"] for ra in t["role_assignments"] if "/storageAccounts/" in ra["scope"]]
    assert [sp for t in offboarded["tenants"] for sp in t["service_principals"]] == []


def test_the_role_holds_exactly_the_actions_the_requests_need(enough):
    used = {arm_action(e["method"], e["path"]) for playbook in ("configure", "verify", "offboard")
            for e in enough["logs"][playbook] if e["kind"] == "arm"}
    assert sorted(a.lower() for a in used) == sorted(a.lower() for a in ACTIONS)


def test_graph_calls_are_what_owned_by_allows(enough):
    graph = {(e["method"], e["path"].split("/v1.0/")[1].split("(")[0].split("/")[0])
             for p in ("configure", "verify", "offboard") for e in enough["logs"][p] if e["kind"] == "graph"}
    assert graph == {("GET", "servicePrincipals"), ("POST", "servicePrincipals"), ("DELETE", "servicePrincipals")}
    created = [sp for t in enough["worlds"]["configure"]["tenants"] for sp in t["service_principals"]]
    assert [sp["owners"] for sp in created] == [[guid("enough", "oid")]]


# ------------------------------------------------------------------------ one right short
# right -> (playbook where it is first needed, task that fails, the account's writes that must not
# have been sent: "any", none of them; "none", no check; else a pattern of the paths of that step)
_PREFLIGHT = ("configure", "Stop before the first write where the account cannot be made ready", "any")
_INFO = ("configure", "Read the account, V7's roles and CORS rules, and the operator's rights", "any")
FIRST_NEEDED = {
    "Microsoft.Storage/storageAccounts/read": _INFO,
    # the preflight reads the CORS rules too, to skip v7_blob_cors where they are right already
    "Microsoft.Storage/storageAccounts/blobServices/read": _INFO,
    "Microsoft.Storage/storageAccounts/blobServices/write": _PREFLIGHT,
    "Microsoft.Storage/storageAccounts/blobServices/containers/read": _INFO,
    "Microsoft.Storage/storageAccounts/blobServices/containers/write": _PREFLIGHT,
    "Microsoft.Authorization/permissions/read": _INFO,
    "Microsoft.Authorization/roleAssignments/read": (
        "configure", "Give V7's service principal its storage roles", r"/roleAssignments/"),
    "Microsoft.Authorization/roleAssignments/write": _PREFLIGHT,
    "Microsoft.Authorization/roleAssignments/delete": (
        "offboard", "Remove V7's storage roles from the account and its containers", "none"),
    GRAPH: ("configure", "Create V7's service principal in a tenant without one (once per tenant)", "any"),
}


def test_every_right_is_covered():
    assert sorted(FIRST_NEEDED) == sorted(RIGHTS)


@pytest.mark.parametrize("right", RIGHTS)
def test_without_one_right_the_step_that_needs_it_fails_before_writing_naming_it(short_of_one, right):
    _unused, accounts = short_world()
    host = accounts[right].host
    playbook, task, unsent = FIRST_NEEDED[right]
    if playbook == "offboard":
        assert host not in failures(short_of_one, "configure")
    failed_task, message = failures(short_of_one, playbook)[host]
    assert failed_task == ROLE + task
    named = right.split(":", 1)[1] if right == GRAPH else right
    assert named in message, message
    assert re.search(r"\b(grant|needs)\b", message), message
    log = short_of_one["logs"][playbook]
    writes = account_writes(log, host)
    if unsent == "any":
        assert writes == []
    elif unsent != "none":
        assert [w for w in writes if re.search(unsent, w[1], re.IGNORECASE)] == []
    if right == GRAPH:
        tenant = accounts[right].tenant
        assert [e for e in log if e["kind"] == "graph" and e["write"] and e["tenant"] == tenant] == []


def test_without_one_right_the_other_accounts_are_not_held_back(short_of_one):
    _unused, accounts = short_world()
    done = {a.host for right, a in accounts.items() if FIRST_NEEDED[right][0] == "offboard"}
    assert done and not done & set(failures(short_of_one, "configure"))
    assert short_of_one["spec_problems"] == []
