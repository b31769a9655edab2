"""tests/scale/world.py: the generated world is deterministic and covers the mix, its inventory
loads in Ansible, and world_problems finds each kind of problem on a hand-broken state."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from tests.scale import world as W

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
V7_SP = "0000aaaa-0000-4000-8000-00000000c0de"


def configured(world: W.World) -> dict:
    """The state a correct configure run leaves: what world_problems must find nothing wrong with."""
    state = copy.deepcopy(world.state)
    for t, tenant in enumerate(state["tenants"]):
        sp_id = V7_SP[:-1] + str(t)
        tenant["service_principals"].append({"app_id": W.V7_APP_ID, "object_id": sp_id})
        for account in world.accounts:
            if account["tenant"] != tenant["id"]:
                continue
            for role, scope in sorted(W.wanted_assignments(account)):
                tenant["role_assignments"].append({"scope": scope, "role": role, "principal_id": sp_id})
        for sub in tenant["subscriptions"]:
            for acct in sub["resource_groups"][0]["storage_accounts"]:
                acct["cors_rules"].append({
                    "allowedOrigins": list(W.V7_ORIGINS), "allowedMethods": ["GET", "PUT"],
                    "allowedHeaders": ["*"], "exposedHeaders": [""], "maxAgeInSeconds": 0,
                })
    return state


def account_doc(state: dict, name: str) -> dict:
    for tenant in state["tenants"]:
        for sub in tenant["subscriptions"]:
            for acct in sub["resource_groups"][0]["storage_accounts"]:
                if acct["name"] == name:
                    return acct
    raise KeyError(name)


def tenant_doc(state: dict, tenant_id: str) -> dict:
    return next(t for t in state["tenants"] if t["id"] == tenant_id)


@pytest.mark.parametrize("accounts, tenants, seed", [(12, 2, 0), (100, 2, 0), (30, 3, 7), (1, 1, 0)])
def test_build_world_is_deterministic(accounts, tenants, seed):
    first, second = W.build_world(accounts, tenants, seed=seed), W.build_world(accounts, tenants, seed=seed)
    assert json.dumps(first.state, sort_keys=True) == json.dumps(second.state, sort_keys=True)
    assert first.accounts == second.accounts
    assert len(first.accounts) == accounts and len(first.tenants) == tenants
    assert len({a["name"] for a in first.accounts}) == accounts


def test_another_seed_gives_another_mix():
    assert W.build_world(30, seed=0).accounts != W.build_world(30, seed=1).accounts


@pytest.mark.parametrize("feature", [
    lambda a: not a["containers"],
    lambda a: bool(a["containers"]),
    lambda a: a["write"],
    lambda a: not a["write"],
    lambda a: a["prefix"].split("/")[0] not in a["existing_containers"],
    lambda a: a["customer_cors_rules"],
    lambda a: a["customer_role_assignments"],
    lambda a: a["customer_role_assignments"] and a["customer_role_assignments"][0]["role"] == W.BLOB_READER,
    lambda a: a["firewall"],
    lambda a: not (a["customer_cors_rules"] or a["customer_role_assignments"]),
])
@pytest.mark.parametrize("tenant", [0, 1])
def test_twelve_accounts_cover_the_mix_in_each_tenant(feature, tenant):
    world = W.build_world(12)
    assert any(feature(a) for a in world.accounts if a["tenant"] == world.tenants[tenant])


def test_without_customer_setup_the_customer_has_nothing():
    world = W.build_world(12, customer_setup=False)
    assert not any(a["customer_cors_rules"] or a["customer_role_assignments"] for a in world.accounts)


def test_the_emulator_loads_the_world():
    from tests.emulator.state import State

    world = W.build_world(12)
    dumped = State(world.state).dump()
    assert W.world_problems(W.subset(world, []), dumped) == []
    assert len([p for p in W.world_problems(world, dumped) if "no V7 service principal" in p]) == 2


def test_write_inventory_loads_with_ansible_inventory(tmp_path):
    world = W.build_world(12)
    path = W.write_inventory(world, str(tmp_path))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".venv", "collections")}
    out = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", path, "--list"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    inventory = json.loads(out.stdout)
    hostvars = inventory["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(a["name"] for a in world.accounts)
    for account in world.accounts:
        host = hostvars[account["name"]]
        assert host["v7_tenant_id"] == account["tenant"]
        assert host["v7_subscription_id"] == account["subscription"]
        assert host["v7_resource_group"] == account["resource_group"]
        assert host["v7_prefix"] == account["prefix"]
        assert host["v7_write"] == account["write"]
        assert host["v7_containers"] == account["containers"]
        assert host["v7_azure_auth"]["client_id"] == world.operators[account["tenant"]]["client_id"]
        assert host["v7_activation_dir"].startswith(str(tmp_path))
        assert host["ansible_connection"] == "local"


def test_a_correct_state_has_no_problem():
    world = W.build_world(12)
    assert W.world_problems(world, configured(world)) == []


def _first(world, predicate):
    return next(a for a in world.accounts if predicate(a))


def _drop_v7_role(state, world, role):
    account = _first(world, lambda a: True)
    tenant = tenant_doc(state, account["tenant"])
    tenant["role_assignments"] = [
        ra for ra in tenant["role_assignments"]
        if not (ra["role"] == role and ra["scope"].lower() == W.account_scope(account).lower())
    ]


def _duplicate_v7_role(state, world):
    tenant = tenant_doc(state, world.tenants[0])
    v7 = next(ra for ra in tenant["role_assignments"] if ra["role"] == W.BLOB_DELEGATOR)
    tenant["role_assignments"].append(dict(v7, name="another-name"))


def _second_principal(state, world):
    tenant_doc(state, world.tenants[1])["service_principals"].append(
        {"app_id": W.V7_APP_ID, "object_id": "0000bbbb-0000-4000-8000-000000000001"})


def _cors_put_missing(state, world):
    rule = account_doc(state, _first(world, lambda a: True)["name"])["cors_rules"][-1]
    rule["allowedMethods"] = ["GET"]


def _cors_masked(state, world):
    # a customer rule placed first that matches V7's origin without allowing its headers
    account_doc(state, _first(world, lambda a: True)["name"])["cors_rules"].insert(0, {
        "allowedOrigins": ["*"], "allowedMethods": ["GET"], "allowedHeaders": ["x-ms-version"],
        "exposedHeaders": [""], "maxAgeInSeconds": 0})


def _cors_twice(state, world):
    rules = account_doc(state, _first(world, lambda a: True)["name"])["cors_rules"]
    rules.append(dict(rules[-1]))


def _customer_rule_lost(state, world):
    account_doc(state, _first(world, lambda a: a["customer_cors_rules"])["name"])["cors_rules"].pop(0)


def _customer_rule_changed(state, world):
    account_doc(state, _first(world, lambda a: a["customer_cors_rules"])["name"])["cors_rules"][0]["maxAgeInSeconds"] = 1


def _customer_role_lost(state, world):
    account = _first(world, lambda a: a["customer_role_assignments"])
    tenant = tenant_doc(state, account["tenant"])
    tenant["role_assignments"] = [ra for ra in tenant["role_assignments"] if ra["principal_id"] != W.customer_user(
        world.tenants.index(account["tenant"]))]


def _extra_contributor(state, world):
    account = _first(world, lambda a: not a["write"])
    tenant = tenant_doc(state, account["tenant"])
    sp = tenant["service_principals"][0]["object_id"]
    tenant["role_assignments"].append({"scope": W.account_scope(account), "role": W.BLOB_CONTRIBUTOR, "principal_id": sp})


def _account_gone(state, world):
    sub = tenant_doc(state, world.tenants[0])["subscriptions"][0]["resource_groups"][0]
    sub["storage_accounts"].pop(0)


@pytest.mark.parametrize("break_it, expected", [
    (lambda s, w: _drop_v7_role(s, w, W.BLOB_DELEGATOR), "V7 lacks Storage Blob Delegator on"),
    (_duplicate_v7_role, "duplicate role assignment: Storage Blob Delegator for V7"),
    (_second_principal, "2 V7 service principals"),
    (lambda s, w: tenant_doc(s, w.tenants[0]).update(service_principals=[]), "no V7 service principal"),
    (_cors_put_missing, "CORS does not allow PUT from https://darwin.v7labs.com"),
    (_cors_masked, "CORS does not allow GET from https://darwin.v7labs.com"),
    (_cors_twice, "2 CORS rules for V7's origins"),
    (_customer_rule_lost, "the customer's CORS rule for https://portal"),
    (_customer_rule_changed, "the customer's CORS rule for https://portal"),
    (_customer_role_lost, "the customer's role assignment"),
    (_extra_contributor, "V7 holds Storage Blob Data Contributor on"),
    (_account_gone, "storage account missing"),
])
def test_world_problems_finds_each_kind_of_problem(break_it, expected):
    world = W.build_world(12)
    state = configured(world)
    break_it(state, world)
    problems = W.world_problems(world, state)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("echo", [[""], []])
def test_a_customer_rule_echoed_with_empty_headers_is_not_changed(echo):
    world = W.build_world(12)
    state = configured(world)
    account = _first(world, lambda a: any(r["exposedHeaders"] == [] for r in a["customer_cors_rules"]))
    for rule in account_doc(state, account["name"])["cors_rules"]:
        if rule["exposedHeaders"] in ([], [""]):
            rule["exposedHeaders"] = list(echo)
    assert W.world_problems(world, state) == []


@pytest.mark.parametrize("rules, method, allowed", [
    ([], "GET", False),
    ([{"allowedOrigins": ["*"], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"]}], "PUT", True),
    ([{"allowedOrigins": ["https://darwin.v7labs.com/"], "allowedMethods": ["GET"], "allowedHeaders": ["*"]}], "GET", True),
    ([{"allowedOrigins": ["https://DARWIN.v7labs.com"], "allowedMethods": ["PUT"], "allowedHeaders": ["*"]}], "GET", False),
    ([{"allowedOrigins": ["https://darwin.v7labs.com"], "allowedMethods": ["GET"], "allowedHeaders": ["x-a"]},
      {"allowedOrigins": ["https://darwin.v7labs.com"], "allowedMethods": ["GET"], "allowedHeaders": ["*"]}], "GET", False),
])
def test_cors_allows_reads_the_first_matching_rule(rules, method, allowed):
    assert W.cors_allows(rules, "https://darwin.v7labs.com", method) is allowed


@pytest.mark.parametrize("stdout, failed", [
    ("PLAY RECAP ***\na : ok=3 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0\n", []),
    ("PLAY RECAP ***\na : ok=3 changed=1 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0\n"
     "b : ok=3 changed=0 unreachable=1 failed=0 skipped=1 rescued=0 ignored=0\n", ["a", "b"]),
    ("no recap: the run was killed", []),
])
def test_failed_hosts_from_the_recap(stdout, failed):
    from tests.scale.run import failed_hosts

    assert failed_hosts(stdout) == failed
