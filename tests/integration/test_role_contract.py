"""What the storage_integration role promises its users, each against the emulator through the
real playbooks: every account decided before its first write, nothing silent, partial runs that
keep the activation details, a principal kept while in use, an operator without Graph rights.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil

import yaml

from tests.integration.runner import Run, run_playbook
from tests.integration import test_role
from tests.integration.test_role import (
    CONTOSO, CONTOSO_SP, DATA, EXAMPLE_STATE, INVENTORY, PLAYBOOKS, ROLE, SECRETS, touched, v7_principal, v7_roles)

# the example inventory's configure story (test_role.py), run once per session and shared
configured = test_role.configured

CONFIGURE = os.path.join(PLAYBOOKS, "configure.yml")
VERIFY = os.path.join(PLAYBOOKS, "verify.yml")
OFFBOARD = os.path.join(PLAYBOOKS, "offboard.yml")
V7 = "https://darwin.v7labs.com"
RULE = {"allowedHeaders": ["*"], "exposedHeaders": [""], "maxAgeInSeconds": 0}
GOOD_IP = "198.51.100.10"

# One account per condition that must stop it before its first write, beside one good account.
STOPPERS = {
    "stopfilestorage": ({"kind": "FileStorage", "sku": "Premium_LRS", "containers": []},
                        {}, ["kind FileStorage", "has no Blob service"]),
    "stopprivate": ({"public_network_access": "Disabled"}, {"v7_firewall_policy": "fail"},
                    ["public network access is Disabled"]),
    "stopfirewall": ({"network_acls": {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
                                       "ipRules": [{"value": "203.0.113.9", "action": "Allow"}]}},
                     {"v7_firewall_policy": "fail"}, [f"V7's IPs {GOOD_IP} are not allowed"]),
    "stopfivecors": ({"cors_rules": [dict(RULE, allowedOrigins=[f"https://app{i}.contoso.com"], allowedMethods=["GET"])
                                     for i in range(5)]},
                     {}, ["Azure allows at most 5 CORS rules per service"]),
    "stopcontainer": ({}, {"v7_containers": ["not-there"]}, ["container not-there does not exist"]),
    "stopnowhere": (None, {}, ["The storage account stopnowhere was not found in resource group rg-vision",
                               "check v7_storage_account, v7_resource_group and v7_subscription_id"]),
}


def account(name: str, **overrides) -> dict:
    return {"name": name, "kind": "StorageV2", "sku": "Standard_LRS", "containers": ["images"], **overrides}


def contoso_world(*accounts: dict) -> dict:
    """The example world, with these accounts added to Contoso's rg-vision."""
    world = copy.deepcopy(EXAMPLE_STATE)
    group = world["tenants"][0]["subscriptions"][0]["resource_groups"][0]
    group["storage_accounts"] += list(accounts)
    return world


def inventory(tmp_path, hosts: dict, group: str = "v7_storage_accounts", **shared) -> str:
    common = {"v7_tenant_id": CONTOSO, "v7_subscription_id": DATA, "v7_resource_group": "rg-vision",
              "v7_team": "contract", "v7_prefix": "images/v7", "v7_ips": [GOOD_IP],
              "v7_activation_dir": str(tmp_path / "activation"),
              "v7_azure_auth": {"client_id": "aaaaaaaa-0000-4000-8000-000000000001", "secret": SECRETS[0]}, **shared}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {group: {"vars": common, "hosts": hosts}}}}))
    return str(path)


def failed(run: Run) -> dict[str, str]:
    return {r["host"]: str(r["result"].get("msg")) for r in run.results if r["status"] == "failed"}


def recap(run: Run) -> dict[str, dict[str, int]]:
    found = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", run.stdout, re.MULTILINE):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


# ---------------------------------------------------------------- all or nothing
def test_everything_that_stops_an_account_is_decided_before_its_first_write(emulator, tmp_path):
    world = contoso_world(account("goodone"), *(account(name, **changes)
                                                for name, (changes, _vars, _why) in STOPPERS.items() if changes is not None))
    emulator.load_state(world)
    hosts = {"goodone": {}, **{name: host_vars for name, (_changes, host_vars, _why) in STOPPERS.items()}}
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=inventory(tmp_path, hosts), forks=8)
    stopped = failed(run)
    assert set(stopped) == set(STOPPERS), run.output
    writes = emulator.writes()
    for name, (_changes, _vars, why) in STOPPERS.items():
        assert touched(writes, name) == [], name
        for fragment in why:
            assert fragment in stopped[name], (name, stopped[name])
        assert "Nothing was changed on it" in stopped[name] or "Nothing was changed" in stopped[name]
    # the run did its work on the good account, so the stops were not for want of trying
    assert touched(writes, "goodone")
    assert ("Delegator", "account") in v7_roles(emulator.state())["goodone"]


def test_a_blocked_account_is_configured_reported_and_failed_by_verify_unless_ignored(emulator, tmp_path):
    locked = {"network_acls": {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
                               "ipRules": [{"value": "203.0.113.9", "action": "Allow"}]}}
    emulator.load_state(contoso_world(account("lockedone", **locked)))
    path = inventory(tmp_path, {"lockedone": {}})
    configure = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert configure.rc == 0 and emulator.writes()
    assert configure.task(ROLE + "Say whether V7 can use the account, from Azure's answers")["state"] == "blocked"
    assert "[WARNING]: Storage account lockedone is configured for V7 but blocked" in configure.output
    with open(tmp_path / "activation" / "contract.json", encoding="utf-8") as handle:
        assert json.load(handle)["accounts"]["lockedone"]["state"] == "blocked"
    verify = run_playbook(VERIFY, env=emulator.env(), inventory=path)
    assert verify.rc == 2 and "lockedone" in failed(verify)
    assert verify.task(ROLE + "Summarise every account")["blocked"] == ["lockedone"]
    ignored = run_playbook(VERIFY, env=emulator.env(), inventory=path, extra_vars={"v7_firewall_policy": "ignore"})
    assert ignored.rc == 0, ignored.output
    assert ignored.task(ROLE + "Summarise every account")["ready"] == ["lockedone"]


# ---------------------------------------------------------------- nothing silent
def test_an_inventory_without_the_group_fails_saying_which_group(emulator, tmp_path):
    path = inventory(tmp_path, {"contosofresh": {}}, group="storage")
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert run.rc != 0 and emulator.log() == []
    assert "No inventory host matches 'v7_storage_accounts'" in run.output
    assert "in the group v7_storage_accounts" in run.output


def test_a_tag_that_selects_no_step_fails(emulator, tmp_path):
    emulator.load_state(copy.deepcopy(EXAMPLE_STATE))
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=INVENTORY, args=["--tags", "cors"],
                       extra_vars={"v7_activation_dir": str(tmp_path / "activation")})
    assert run.rc == 2 and emulator.log() == []
    assert "--tags cors selects none of the storage_integration role's steps" in run.output
    assert "v7_cors" in run.output


def test_tags_select_steps_and_v7_cors_changes_only_cors(emulator, tmp_path):
    emulator.load_state(copy.deepcopy(EXAMPLE_STATE))
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=INVENTORY, args=["--tags", "v7_cors"], forks=10,
                       extra_vars={"v7_activation_dir": str(tmp_path / "activation")})
    writes = emulator.writes()
    assert writes and all(e["method"] == "PUT" and e["path"].rstrip("/").endswith("/blobServices/default")
                          for e in writes), [(e["method"], e["path"]) for e in writes]
    assert not [e for e in emulator.log() if e["kind"] == "graph" and e["method"] != "GET"]
    assert not (tmp_path / "activation").exists()
    assert ROLE + "Give V7's service principal its storage roles" not in {r["task"] for r in run.results}


# ---------------------------------------------------------------- partial runs
def test_a_limited_run_keeps_the_other_accounts_activation_details(emulator, configured, tmp_path):
    # from the world and the activation files the example inventory's configure run left
    emulator.load_state(copy.deepcopy(configured.steps["configure"].world))
    activation = tmp_path / "activation"
    shutil.copytree(configured.activation_dir, activation)
    extra = {"v7_activation_dir": str(activation)}
    before = {p.name: p.read_text() for p in activation.iterdir()}
    limited = run_playbook(CONFIGURE, env=emulator.env(), inventory=INVENTORY, args=["--limit", "contosofresh"],
                           extra_vars=extra)
    assert limited.rc == 0, limited.output
    after = {p.name: p.read_text() for p in activation.iterdir()}
    assert after == before
    doc = json.loads(after["contoso-vision.json"])
    assert sorted(doc["accounts"]) == ["contosofresh", "contosohalf", "contosomanual"]
    # a run over one tenant keeps the other tenant's teams, and a failed account keeps its line
    run_playbook(CONFIGURE, env=emulator.env(), inventory=INVENTORY, args=["--limit", "fabrikam"], extra_vars=extra)
    assert {p.name: p.read_text() for p in activation.iterdir()} == before


# ---------------------------------------------------------------- V7's service principal
def test_offboarding_keeps_the_principal_while_an_account_outside_the_run_uses_it(emulator, configured, tmp_path):
    emulator.load_state(copy.deepcopy(configured.steps["configure"].world))
    extra = {"v7_activation_dir": str(tmp_path / "activation")}
    run = run_playbook(OFFBOARD, env=emulator.env(), inventory=INVENTORY, args=["--limit", "contoso:!contosohalf"],
                       extra_vars=extra)
    assert run.rc == 0, run.output
    world = emulator.state()
    assert v7_principal(world, CONTOSO) == CONTOSO_SP
    assert v7_roles(world)["contosohalf"] and not v7_roles(world)["contosofresh"]
    assert "V7's service principal dddddddd-0000-4000-8000-0000000000d1 stays in the tenant" in run.output
    assert "storageAccounts/contosohalf" in run.output


def test_an_operator_without_graph_rights_configures_and_verifies_with_the_principal_object_id(emulator, tmp_path):
    world = copy.deepcopy(EXAMPLE_STATE)
    world["tenants"][0]["identities"][0]["graph_permissions"] = []
    emulator.load_state(world)
    path = inventory(tmp_path, {"contosofresh": {"v7_containers": ["images"], "v7_write": True}},
                     v7_principal_object_id=CONTOSO_SP)
    configure = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert configure.rc == 0, configure.output
    verify = run_playbook(VERIFY, env=emulator.env(), inventory=path)
    assert verify.rc == 0, verify.output
    assert [e for e in emulator.log() if e["kind"] == "graph"] == []
    assert v7_roles(emulator.state())["contosofresh"] == {("Reader", "images"), ("Contributor", "images"),
                                                          ("Delegator", "account")}
    # without it, the same operator is told what Graph refused
    emulator.load_state(world)
    without = run_playbook(CONFIGURE, env=emulator.env(),
                           inventory=inventory(tmp_path, {"contosofresh": {"v7_containers": ["images"]}}))
    assert without.rc == 2
    assert "Authorization_RequestDenied" in failed(without)["contosofresh"] or \
        "Graph" in failed(without)["contosofresh"], failed(without)


# ---------------------------------------------------------------- cost
def test_the_no_op_run_goes_through_at_most_twelve_tasks_per_account(emulator, configured):
    again = configured.steps["again"]
    counts = recap(again.run)
    assert len(counts) == 10 and again.writes == []  # nine accounts and the inventory check on localhost
    for host, seen in counts.items():
        if host == "localhost":
            continue
        assert seen["ok"] + seen["changed"] + seen["skipped"] + seen["failed"] <= 12, (host, seen)
    listed = run_playbook(CONFIGURE, env=emulator.env(), inventory=INVENTORY, args=["--list-tasks"])
    role_tasks = [line for line in listed.stdout.splitlines()
                  if line.strip().startswith("v7labs.azure_storage.storage_integration :")]
    assert 0 < len(role_tasks) <= 12, role_tasks
