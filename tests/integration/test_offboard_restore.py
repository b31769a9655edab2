"""Offboarding returns every account to exactly its state before onboarding.

A world of accounts V7 had no access to, over two tenants: fresh ones, ones with CORS rules of
their own (one rule lists the customer's origins with the very methods V7 needs), ones with
role assignments of their own (a user's and another application's, at account and container
scope), ones whose prefix container is missing; write on and off; container scopes and
whole-account scope. The emulator's world is kept before anything runs; then configure,
offboard, and the world is compared with the one kept, account by account and tenant by tenant
(service principals, role assignments outside the accounts).

- by default the only difference is the prefix container configure created (it may hold files
  V7 wrote), and the run names it;
- with v7_offboard_remove_created_containers the world is exactly the one kept.

Each story runs once per test session. The comparison itself is shown to catch differences.
"""
from __future__ import annotations

import copy
import os
import sys
from dataclasses import asdict

import pytest
import yaml

from tests.emulator.state import V7_APP_ID
from tests.fidelity.spec_check import arm_problems
from tests.integration.runner import ROOT, Run, run_playbook
from tests.session_cache import once_per_session

PLAYBOOKS = os.path.join(ROOT, "playbooks")
ROLE = "v7labs.azure_storage.storage_integration : "
V7 = "https://darwin.v7labs.com"
MARKER = {"createdby": "v7labs.azure_storage"}
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"

NORTHWIND, TAILSPIN = "7a000000-0000-4000-8000-000000000001", "7b000000-0000-4000-8000-000000000001"
NW_SUB, TS_SUB = "7a000000-0000-4000-8000-000000000051", "7b000000-0000-4000-8000-000000000051"
NW_OPERATOR = {"client_id": "7a000000-0000-4000-8000-0000000000c1", "object_id": "7a000000-0000-4000-8000-0000000000a1",
               "secret": "Em9-restore-Secret.northwind~01"}
TS_OPERATOR = {"client_id": "7b000000-0000-4000-8000-0000000000c1", "object_id": "7b000000-0000-4000-8000-0000000000a1",
               "secret": "Em9-restore-Secret.tailspin~01"}
NW_USER, NW_APP = "7a000000-0000-4000-8000-0000000000e1", "7a000000-0000-4000-8000-0000000000e2"
TS_USER = "7b000000-0000-4000-8000-0000000000e1"


def account_scope(sub: str, account: str, container: str | None = None) -> str:
    scope = f"/subscriptions/{sub}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/{account}"
    return scope + (f"/blobServices/default/containers/{container}" if container else "")


def rule(origins, methods, headers=("*",), exposed=("",), max_age=0) -> dict:
    return {"allowedOrigins": list(origins), "allowedMethods": list(methods), "allowedHeaders": list(headers),
            "exposedHeaders": list(exposed), "maxAgeInSeconds": max_age}


# account -> inventory variables and what is in Azure before
ACCOUNTS = {
    # tenant Northwind
    "nwfresh": dict(tenant=NORTHWIND, sub=NW_SUB, containers=["images"], prefix="images/v7", write=True,
                    existing=["images", "archive"]),
    "nwcors": dict(tenant=NORTHWIND, sub=NW_SUB, containers=[], prefix="media/v7", write=False, existing=["media"],
                   cors=[rule(["https://portal.northwind.example", "https://app.northwind.example"], ["GET", "PUT"]),
                         rule(["https://*.northwind.example"], ["GET", "HEAD", "OPTIONS"], ["x-ms-meta-*"],
                              ["x-ms-request-id"], 600),
                         rule(["*"], ["HEAD"], exposed=[])]),
    "nwroles": dict(tenant=NORTHWIND, sub=NW_SUB, containers=["data"], prefix="data/v7", write=True, existing=["data"],
                    roles=[(READER, None, NW_USER, "User"), (CONTRIBUTOR, "data", NW_USER, "User"),
                           (DELEGATOR, None, NW_APP, "ServicePrincipal")]),
    "nwnewbox": dict(tenant=NORTHWIND, sub=NW_SUB, containers=[], prefix="annotations/v7", write=True,
                     existing=["raw"]),
    # tenant Tailspin
    "tsmixed": dict(tenant=TAILSPIN, sub=TS_SUB, containers=[], prefix="scans/v7", write=True, existing=["scans"],
                    cors=[rule(["https://lab.tailspin.example"], ["GET", "PUT"], ["content-type"])],
                    roles=[(READER, "scans", TS_USER, "User")]),
    "tsnewbox": dict(tenant=TAILSPIN, sub=TS_SUB, containers=["raw"], prefix="frames/v7", write=False,
                     existing=["raw"]),
}
CREATED = {"nwnewbox": "annotations", "tsnewbox": "frames"}  # the prefix containers configure creates


def tenant(tid: str, name: str, sub: str, operator: dict, users: list[str], extra_sps: list[str]) -> dict:
    mine = {a: spec for a, spec in ACCOUNTS.items() if spec["tenant"] == tid}
    assignments = [{"scope": f"/subscriptions/{sub}", "role": OWNER, "principal_id": operator["object_id"],
                    "name": f"{tid[:8]}-0000-4000-8000-00000000000a"}]
    for account, spec in mine.items():
        for index, (role, container, principal, kind) in enumerate(spec.get("roles", [])):
            assignments.append({"scope": account_scope(sub, account, container), "role": role, "principal_id": principal,
                                "principal_type": kind, "name": f"{tid[:8]}-0000-4000-8000-0000000001{index}{len(account):x}"})
    return {
        "id": tid, "display_name": name,
        "identities": [{**{k: operator[k] for k in ("client_id", "object_id", "secret")},
                        "display_name": f"{name}-operator", "graph_permissions": ["Application.ReadWrite.All"]}],
        "service_principals": [{"app_id": app, "object_id": oid} for app, oid in extra_sps],
        "users": [{"object_id": u, "display_name": "Storage Admin"} for u in users],
        "subscriptions": [{"id": sub, "display_name": name, "resource_groups": [{
            "name": "rg-data", "location": "westeurope",
            "storage_accounts": [{"name": a, "kind": "StorageV2", "sku": "Standard_LRS", "containers": spec["existing"],
                                  "cors_rules": spec.get("cors", [])} for a, spec in mine.items()]}]}],
        "role_assignments": assignments,
    }


OTHER_APP = "7a000000-0000-4000-8000-0000000000f9"
WORLD = {
    "settings": {"graph_visibility_seconds": 0, "principal_replication_seconds": 0},
    "applications": [{"app_id": V7_APP_ID, "display_name": "darwin-storage", "home_tenant": "5b0e5b2a-0000-4000-8000-0000000000f7"},
                     {"app_id": OTHER_APP, "display_name": "northwind-backup", "home_tenant": NORTHWIND}],
    "tenants": [tenant(NORTHWIND, "northwind", NW_SUB, NW_OPERATOR, [NW_USER], [(OTHER_APP, NW_APP)]),
                tenant(TAILSPIN, "tailspin", TS_SUB, TS_OPERATOR, [TS_USER], [])],
}


def write_inventory(path: str) -> str:
    auth = {NORTHWIND: NW_OPERATOR, TAILSPIN: TS_OPERATOR}
    hosts = {a: {"v7_tenant_id": s["tenant"], "v7_subscription_id": s["sub"], "v7_resource_group": "rg-data",
                 "v7_containers": s["containers"], "v7_prefix": s["prefix"], "v7_write": s["write"], "v7_team": "restore",
                 "v7_azure_auth": {"client_id": auth[s["tenant"]]["client_id"], "secret": auth[s["tenant"]]["secret"]}}
             for a, s in ACCOUNTS.items()}
    doc = {"all": {"children": {"v7_storage_accounts": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle)
    return path


# ------------------------------------------------------------------------ comparing worlds
def _headers(values) -> list:
    # Azure stores an empty header list and [""] alike (GET shows both as [""])
    return [v for v in values if v != ""]


def _rule(item: dict) -> dict:
    return {**item, "allowedHeaders": _headers(item["allowedHeaders"]), "exposedHeaders": _headers(item["exposedHeaders"])}


def accounts_of(world: dict) -> dict[str, dict]:
    """account name -> its settings as Azure keeps them (CORS rules normalised), its containers with
    their metadata, and the role assignments at or under it."""
    found = {}
    for t in world["tenants"]:
        for sub in t["subscriptions"]:
            for group in sub["resource_groups"]:
                for acct in group["storage_accounts"]:
                    entry = {k: v for k, v in acct.items() if k not in ("cors_rules", "container_metadata", "containers")}
                    entry["cors_rules"] = [_rule(r) for r in acct.get("cors_rules", [])]
                    entry["containers"] = {c: acct.get("container_metadata", {}).get(c, {}) for c in acct["containers"]}
                    scope = account_scope(sub["id"], acct["name"]).lower().replace("rg-data", group["name"].lower())
                    entry["role_assignments"] = sorted(
                        (ra["scope"].lower(), ra["role"], ra["principal_id"], ra["principal_type"], ra["name"])
                        for ra in t["role_assignments"] if (ra["scope"].lower() + "/").startswith(scope + "/"))
                    found[acct["name"]] = entry
    return found


def tenants_of(world: dict) -> dict[str, dict]:
    """tenant id -> its service principals, identities, custom roles and the role assignments
    outside any storage account."""
    return {t["id"]: {
        "service_principals": sorted((sp["app_id"], sp["object_id"]) for sp in t["service_principals"]),
        "identities": t["identities"],
        "custom_roles": t.get("custom_roles", []),
        "role_assignments": sorted((ra["scope"].lower(), ra["role"], ra["principal_id"], ra["name"])
                                   for ra in t["role_assignments"] if "/storageaccounts/" not in ra["scope"].lower()),
    } for t in world["tenants"]}


def differences(before: dict, after: dict) -> list[str]:
    """Every way `after` is not `before`, one line per account or tenant property."""
    found = []
    for kind, read in (("account", accounts_of), ("tenant", tenants_of)):
        old, new = read(before), read(after)
        for name in sorted(set(old) | set(new)):
            if name not in old or name not in new:
                found.append(f"{kind} {name}: {'added' if name not in old else 'removed'}")
                continue
            for key in sorted(set(old[name]) | set(new[name])):
                if old[name].get(key) != new[name].get(key):
                    found.append(f"{kind} {name}: {key}: {old[name].get(key)!r} -> {new[name].get(key)!r}")
    return found


def _inject(world: dict, how) -> dict:
    changed = copy.deepcopy(world)
    how(changed)
    return changed


def _accounts(world: dict):
    return [a for t in world["tenants"] for s in t["subscriptions"] for g in s["resource_groups"] for a in g["storage_accounts"]]


@pytest.mark.parametrize("how, expected", [
    (lambda w: _accounts(w)[1]["cors_rules"].append(rule([V7], ["GET"])), "account nwcors: cors_rules"),
    (lambda w: _accounts(w)[1]["cors_rules"][0]["allowedOrigins"].pop(), "account nwcors: cors_rules"),
    (lambda w: _accounts(w)[0]["containers"].append("v7"), "account nwfresh: containers"),
    (lambda w: _accounts(w)[0].update(container_metadata={"images": MARKER}), "account nwfresh: containers"),
    (lambda w: w["tenants"][0]["role_assignments"].append(
        {"scope": account_scope(NW_SUB, "nwroles"), "role": READER, "principal_id": NW_USER, "principal_type": "User",
         "name": "extra"}), "account nwroles: role_assignments"),
    (lambda w: w["tenants"][0]["role_assignments"].pop(1), "account nwroles: role_assignments"),
    (lambda w: w["tenants"][1]["service_principals"].append({"app_id": V7_APP_ID, "object_id": "x"}),
     f"tenant {TAILSPIN}: service_principals"),
    (lambda w: w["tenants"][1]["role_assignments"].append(
        {"scope": f"/subscriptions/{TS_SUB}", "role": READER, "principal_id": "x", "principal_type": "User",
         "name": "y"}), f"tenant {TAILSPIN}: role_assignments"),
])
def test_the_comparison_reports_a_difference(how, expected):
    world = _seeded()
    found = differences(world, _inject(world, how))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_comparison_takes_an_empty_header_list_as_azure_does():
    world = _seeded()
    assert differences(world, _inject(world, lambda w: _accounts(w)[1]["cors_rules"][2].update(exposedHeaders=[""]))) == []


def _seeded() -> dict:
    """The world as the emulator dumps it right after loading WORLD, without running one."""
    from tests.emulator.state import State

    return State(copy.deepcopy(WORLD)).dump()


# ------------------------------------------------------------------------ the stories
def tell(emulator, workdir: str, offboard_vars: dict) -> dict:
    emulator.reset()
    emulator.load_state(copy.deepcopy(WORLD))
    hosts = write_inventory(os.path.join(workdir, "hosts.yml"))
    story = {"before": emulator.state(), "runs": {}, "worlds": {}, "spec_problems": []}
    for name, playbook, extra in (("configure", "configure", {}), ("offboard", "offboard", offboard_vars)):
        emulator.clear_log()
        run = run_playbook(os.path.join(PLAYBOOKS, f"{playbook}.yml"), env=emulator.env(), inventory=hosts,
                           forks=len(ACCOUNTS), extra_vars={"v7_activation_dir": os.path.join(workdir, "act"), **extra})
        story["spec_problems"] += arm_problems(emulator.log(), emulator.url)
        story["runs"][name], story["worlds"][name] = asdict(run), emulator.state()
    return story


@pytest.fixture(scope="module")
def kept(emulator_process, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "offboard_restore_default",
                            lambda workdir: tell(emulator_process, str(workdir), {}))


@pytest.fixture(scope="module")
def removed(emulator_process, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "offboard_restore_remove", lambda workdir: tell(
        emulator_process, str(workdir), {"v7_offboard_remove_created_containers": True}))


def run_of(story: dict, name: str) -> Run:
    return Run(**story["runs"][name])


@pytest.mark.parametrize("story", ["kept", "removed"])
def test_configure_gave_v7_access_and_both_runs_succeeded(request, story):
    told = request.getfixturevalue(story)
    assert [run_of(told, n).rc for n in ("configure", "offboard")] == [0, 0], run_of(told, "configure").output[-3000:]
    assert told["spec_problems"] == []
    configured = differences(told["before"], told["worlds"]["configure"])
    for account in ACCOUNTS:
        assert any(line.startswith(f"account {account}: role_assignments") for line in configured), account
    assert {t: any(line.startswith(f"tenant {t}: service_principals") for line in configured)
            for t in (NORTHWIND, TAILSPIN)} == {NORTHWIND: True, TAILSPIN: True}


def test_configure_marks_the_containers_it_creates(kept):
    after = accounts_of(kept["worlds"]["configure"])
    assert {a: after[a]["containers"][c] for a, c in CREATED.items()} == {a: MARKER for a in CREATED}
    assert all(meta == {} for a, entry in after.items() for c, meta in entry["containers"].items()
               if CREATED.get(a) != c)


@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_by_default_offboard_restores_each_account_but_the_container_it_created(kept, account):
    before, after = accounts_of(kept["before"]), accounts_of(kept["worlds"]["offboard"])
    if account in CREATED:
        extra = CREATED[account]
        assert after[account]["containers"] == {**before[account]["containers"], extra: MARKER}
        after[account]["containers"].pop(extra)
    assert after[account] == before[account]


def test_by_default_only_the_created_containers_differ_and_the_run_names_them(kept):
    assert differences(kept["before"], kept["worlds"]["offboard"]) == [
        f"account {a}: containers: {accounts_of(kept['before'])[a]['containers']!r} -> "
        f"{accounts_of(kept['worlds']['offboard'])[a]['containers']!r}" for a in sorted(CREATED)]
    run = run_of(kept, "offboard")
    said = {r["host"]: r["result"]["msg"] for r in run.results
            if r["task"] == ROLE + "Say that the prefix's container stays" and r["status"] != "skipped"}
    assert sorted(said) == sorted(CREATED)
    for account, container in CREATED.items():
        assert f"Container {container} of storage account {account} stays" in said[account]
        assert "v7_offboard_remove_created_containers" in said[account]


@pytest.mark.parametrize("tenant_id", [NORTHWIND, TAILSPIN])
def test_offboard_restores_each_tenant(kept, removed, tenant_id):
    for story in (kept, removed):
        assert tenants_of(story["worlds"]["offboard"])[tenant_id] == tenants_of(story["before"])[tenant_id]


def test_opting_in_restores_the_world_exactly(removed):
    assert differences(removed["before"], removed["worlds"]["offboard"]) == []
    deleted = {r["host"] for r in run_of(removed, "offboard").results
               if r["task"] == ROLE + "The prefix's container, when the configure run created it"
               and r["result"].get("changed")}
    assert deleted == set(CREATED)
