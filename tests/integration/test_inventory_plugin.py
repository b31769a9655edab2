"""The v7labs.azure_storage.storage_accounts inventory plugin, through the real ansible-inventory and
ansible-playbook, against the emulator: what the user sees, and what Azure received (the
emulator's request log; every ARM reply is checked against Microsoft's specs by the fixture).

The example world (tests/emulator/states/example.yml) tags each account with the values that the
hand-written examples/inventory/ gives it; examples/inventory-azure/ finds them by those tags."""
from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from tests.emulator.state import load_document
from tests.integration.runner import COLLECTIONS, ROOT, run_playbook
from tests.integration.test_secrets import leaks
from tests.scale import world as scale

EXAMPLE_STATE = load_document(os.path.join(ROOT, "tests", "emulator", "states", "example.yml"))
HAND_WRITTEN = os.path.join(ROOT, "examples", "inventory", "hosts.yml")
FROM_AZURE = os.path.join(ROOT, "examples", "inventory-azure", "v7.storage_accounts.yml")
AWX_SOURCE = os.path.join(ROOT, "examples", "awx", "inventory", "v7.storage_accounts.yml")
CONFIGURE = os.path.join(ROOT, "playbooks", "configure.yml")
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")

CONTOSO, FABRIKAM = "11111111-1111-4111-8111-111111111111", "44444444-4444-4444-8444-444444444444"
CONTOSO_OPERATOR = {"tenant": CONTOSO, "client_id": "aaaaaaaa-0000-4000-8000-000000000001",
                    "secret": "Em9-operator-Secret.contoso~0001"}
FABRIKAM_OPERATOR = {"tenant": FABRIKAM, "client_id": "bbbbbbbb-0000-4000-8000-000000000001",
                     "secret": "Em9-operator-Secret.fabrikam~0001"}
SECRETS = (CONTOSO_OPERATOR["secret"], FABRIKAM_OPERATOR["secret"])
ACCOUNTS = ["contosofresh", "contosohalf", "contosomanual", "contosopremium", "contosoreadonly",
            "fabrikambadprefix", "fabrikamfirewall", "fabrikamlocked", "fabrikamnewbox"]
ROLE_VARS = ("v7_storage_account", "v7_tenant_id", "v7_subscription_id", "v7_resource_group", "v7_team",
             "v7_containers", "v7_prefix", "v7_write")
SKIPTOKEN = re.compile(r"(?i)(^|&)(%24|\$)skiptoken=")


def plain(value):
    """ansible-inventory's JSON with the unsafe markers of inventory plugins' strings taken off."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def base_env(emulator, home: str) -> dict:
    return {"PATH": os.environ.get("PATH", ""), "HOME": home, "LANG": "C.UTF-8",
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "ANSIBLE_NOCOLOR": "1",
            # what AWX sets for an inventory update: a source that fails to parse fails the update
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", **emulator.env()}


class Inventory:
    def __init__(self, proc: subprocess.CompletedProcess, seconds: float):
        self.rc, self.stdout, self.stderr, self.seconds = proc.returncode, proc.stdout, proc.stderr, seconds
        self.data = plain(json.loads(proc.stdout)) if proc.returncode == 0 else {}

    @property
    def hostvars(self) -> dict:
        return self.data.get("_meta", {}).get("hostvars", {})

    def hosts(self, group: str) -> set[str]:
        entry = self.data.get(group, {})
        found = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            found |= self.hosts(child)
        return found


def ansible_inventory(emulator, tmp_path, config: dict | str, env: dict | None = None, args=()) -> Inventory:
    """ansible-inventory --list on a plugin configuration (a dict written to a file, or a path)."""
    path = config
    if isinstance(config, dict):
        path = str(tmp_path / "v7.storage_accounts.yml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)
    started = time.monotonic()
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", path, "--list", *args], capture_output=True, text=True,
                          env={**base_env(emulator, str(tmp_path)), **(env or {})}, cwd=str(tmp_path),
                          timeout=300, check=False)
    return Inventory(proc, time.monotonic() - started)


def example_config() -> dict:
    with open(FROM_AZURE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def hand_written_hostvars(tmp_path) -> dict:
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", HAND_WRITTEN, "--list"], capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
                               "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS}, check=True)
    return plain(json.loads(proc.stdout))["_meta"]["hostvars"]


def world_with(extra_accounts: list[dict], subscription: str = "66666666-6666-4666-8666-666666666666") -> dict:
    """The example world, plus accounts in a new resource group of one subscription."""
    doc = copy.deepcopy(EXAMPLE_STATE)
    for tenant in doc["tenants"]:
        for sub in tenant["subscriptions"]:
            if sub["id"] == subscription:
                sub["resource_groups"].append({"name": "rg-extra", "location": "eastus", "storage_accounts": extra_accounts})
    return doc


# ------------------------------------------------------------------------ listing
def test_the_example_world_listed_by_tag_gives_what_the_hand_written_inventory_gives(emulator, tmp_path):
    emulator.load_state(world_with([
        {"name": "fabrikamuntagged", "containers": ["logs"]},                        # no v7-team: left out
        {"name": "fabrikamshares", "kind": "FileStorage", "tags": {"V7-Team": "fabrikam-research"}},
    ]))
    emulator.faults(storage_account_page_size=2)  # every subscription of 3 accounts or more pages
    emulator.clear_log()
    config = example_config()
    found = ansible_inventory(emulator, tmp_path, config)  # in tmp_path: no group_vars of the example

    assert found.rc == 0, found.stderr
    assert found.hosts("v7_storage_accounts") == set(ACCOUNTS) | {"fabrikamshares"}
    expected = hand_written_hostvars(tmp_path)
    for host in ACCOUNTS:
        got = found.hostvars[host]
        assert got["ansible_connection"] == "local"
        for name in ROLE_VARS:
            # an absent tag sets nothing: the role's default ([] and false) is what the hand-written
            # inventory's group_vars give
            assert got.get(name, {"v7_containers": [], "v7_write": False}.get(name)) == \
                expected[host].get(name, host if name == "v7_storage_account" else None), (host, name)
    # the bad prefix tag: passed on, with the reason, naming the tag, for the role's input check
    assert found.hostvars["fabrikambadprefix"]["v7_prefix"] == "experiments"
    assert found.hostvars["fabrikambadprefix"]["v7_tag_problems"]["v7_prefix"].startswith(
        "v7_prefix: the storage account's tag v7-prefix is wrong: 'experiments' is not in the form")
    assert "storage account fabrikambadprefix: v7_prefix: the storage account's tag v7-prefix" in \
        " ".join(found.stderr.split())
    # grouped by tenant and subscription, as the role groups tenants; and the config's own groups
    assert found.hosts("v7_tenant_11111111_1111_4111_8111_111111111111") == {a for a in ACCOUNTS if a.startswith("contoso")}
    assert found.hosts("v7_subscription_33333333_3333_4333_8333_333333333333") == {"contosopremium", "contosoreadonly"}
    assert found.hosts("fabrikam") == {a for a in ACCOUNTS if a.startswith("fabrikam")} | {"fabrikamshares"}
    assert not leaks(found.stdout + found.stderr, SECRETS)

    # what Azure received: per tenant one subscriptions list, per subscription the pages of its accounts
    arm = [e for e in emulator.log(kind="arm") if e["method"] == "GET"]
    assert [e["path"] for e in arm if e["path"] == "/subscriptions"] == ["/subscriptions"] * 2
    pages = [e for e in arm if e["path"].endswith("/providers/Microsoft.Storage/storageAccounts")]
    per_subscription = {"22222222": 3, "33333333": 2, "55555555": 2, "66666666": 4}
    assert len(pages) == sum(math.ceil(n / 2) for n in per_subscription.values()) == len(arm) - 2
    assert sum(1 for e in pages if SKIPTOKEN.search(e["query"])) == sum(math.ceil(n / 2) - 1 for n in per_subscription.values())
    assert all(e["status"] == 200 for e in arm)
    assert not [e for e in emulator.log() if e["write"]]


def test_filters_on_tags_resource_groups_names_and_kinds(emulator, tmp_path):
    emulator.load_state(world_with([{"name": "fabrikamshares", "kind": "FileStorage", "tags": {"v7-team": "x"}},
                                    {"name": "fabrikamtest1", "tags": {"v7-team": "fabrikam-research"}}]))
    config = {**example_config(), "tags": {"v7-team": ["contoso-vision", "fabrikam-research"]},
              "exclude_names": ["*half"], "exclude_resource_groups": ["RG-EXTRA"], "kinds": ["StorageV2"]}
    found = ansible_inventory(emulator, tmp_path, config)
    assert found.rc == 0, found.stderr
    assert found.hosts("v7_storage_accounts") == {"contosofresh", "contosomanual", "fabrikambadprefix",
                                                  "fabrikamfirewall", "fabrikamnewbox"}
    config = {**example_config(), "include_resource_groups": ["rg-ex*"], "include_names": ["fabrikam*"]}
    assert ansible_inventory(emulator, tmp_path, config).hosts("v7_storage_accounts") == {"fabrikamshares", "fabrikamtest1"}


def test_one_tenant_from_the_environment_as_awx_injects_it(emulator, tmp_path):
    """AWX's Azure credential as the inventory source's credential: AZURE_* in the environment."""
    env = {"AZURE_CLIENT_ID": FABRIKAM_OPERATOR["client_id"], "AZURE_SECRET": FABRIKAM_OPERATOR["secret"],
           "AZURE_TENANT": FABRIKAM, "AZURE_SUBSCRIPTION_ID": "55555555-5555-4555-8555-555555555555"}
    emulator.load_state(copy.deepcopy(EXAMPLE_STATE))
    found = ansible_inventory(emulator, tmp_path, AWX_SOURCE, env)
    assert found.rc == 0, found.stderr
    # AZURE_SUBSCRIPTION_ID does not narrow the search: both of Fabrikam's subscriptions are listed
    assert found.hosts("v7_storage_accounts") == {a for a in ACCOUNTS if a.startswith("fabrikam")}
    # the source's compose gives every account what the hand-written inventory's group_vars give
    expected = hand_written_hostvars(tmp_path)["fabrikamnewbox"]
    for name in ("v7_origins", "v7_ips", "v7_firewall_policy", "v7_team", "v7_prefix", "v7_write", "v7_resource_group"):
        assert found.hostvars["fabrikamnewbox"][name] == expected[name], name
    assert not leaks(found.stdout + found.stderr, SECRETS)


# ------------------------------------------------------------------------ the role on it
def _normal_writes(log: list[dict], world: dict) -> list[tuple]:
    """The writes a run sent, with what differs from run to run (new assignment names, the object
    id of a service principal created in the run) named by what it is."""
    principals = {sp["object_id"]: f"<V7 in {t['id']}>" for t in world["tenants"] for sp in t["service_principals"]}
    found = []
    for entry in (e for e in log if e["write"]):
        path = re.sub(r"(?i)(/roleAssignments/)[0-9a-f-]{36}", r"\1<name>", entry["path"])
        body = json.dumps(entry.get("request_body"), sort_keys=True)
        for object_id, name in principals.items():
            body = body.replace(object_id, name)
        found.append((entry["method"], path, body, entry["status"]))
    return sorted(found)


def _configure(emulator, inventory: str, workdir) -> tuple:
    emulator.reset()
    emulator.load_state(copy.deepcopy(EXAMPLE_STATE))
    emulator.clear_log()
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=inventory, forks=10,
                       extra_vars={"v7_activation_dir": str(workdir)})
    world = emulator.state()
    return run, _normal_writes(emulator.log(), world)


def test_configure_on_the_plugin_inventory_sends_the_writes_of_the_hand_written_one(emulator, tmp_path):
    by_hand, writes_by_hand = _configure(emulator, HAND_WRITTEN, tmp_path / "by-hand")
    from_tags, writes_from_tags = _configure(emulator, FROM_AZURE, tmp_path / "from-tags")

    assert len(writes_by_hand) > 20  # the example world needs roles, CORS, a container and a principal
    assert writes_from_tags == writes_by_hand
    failed = {r["host"]: str(r["result"].get("msg")) for r in from_tags.results if r["status"] == "failed"}
    assert set(failed) == {r["host"] for r in by_hand.results if r["status"] == "failed"} == \
        {"contosopremium", "fabrikambadprefix"}
    # the malformed tag fails its account in the role's input check, naming the tag, before any request
    assert "the storage account's tag v7-prefix is wrong: 'experiments'" in failed["fabrikambadprefix"]
    assert "Nothing was sent to Azure" in failed["fabrikambadprefix"]
    assert from_tags.rc == by_hand.rc != 0
    with open(tmp_path / "from-tags" / "contoso-vision.json", encoding="utf-8") as got, \
            open(tmp_path / "by-hand" / "contoso-vision.json", encoding="utf-8") as wanted:
        assert json.load(got) == json.load(wanted)


# ------------------------------------------------------------------------ at scale, and cached
def test_500_accounts_over_4_subscriptions_in_a_bounded_number_of_requests(emulator, tmp_path):
    world = scale.build_world(500, tenants=2, subscriptions_per_tenant=2)
    emulator.load_state(world.state)
    emulator.clear_log()
    config = {"plugin": "v7labs.azure_storage.storage_accounts",
              "tenants": [{"tenant": t, "client_id": op["client_id"], "secret": op["secret"]}
                          for t, op in world.operators.items()]}
    found = ansible_inventory(emulator, tmp_path, config)
    assert found.rc == 0, found.stderr

    assert len(found.hosts("v7_storage_accounts")) == 500
    written = scale.inventory_documents(world)
    by_hand = {host: vars_ for tenant in written["hosts.yml"]["all"]["children"]["v7_storage_accounts"]["children"].values()
               for sub in tenant["children"].values() for host, vars_ in sub["hosts"].items()}
    for account in world.accounts:
        got = found.hostvars[account["name"]]
        assert {k: got[k] for k in by_hand[account["name"]]} == by_hand[account["name"]]
        assert (got["v7_tenant_id"], got["v7_subscription_id"]) == (account["tenant"], account["subscription"])

    log = emulator.log(bodies=False)
    arm = [e for e in log if e["kind"] == "arm"]
    page = 100  # the emulator's storage_account_page_size
    # per tenant: GET /subscriptions; per subscription (125 accounts): 2 pages
    assert len(arm) == 2 + 4 * math.ceil(125 / page) == 10
    # and per tenant: the cloud metadata once in all, Entra's OpenID configuration and one token
    assert len(log) <= 10 + 1 + 2 * 2
    print(f"\n500 accounts over 4 subscriptions in 2 tenants: {len(log)} requests ({len(arm)} to ARM), "
          f"ansible-inventory --list took {found.seconds:.1f} s")


def test_a_cache_hit_makes_no_request_and_keeps_no_secret(emulator, tmp_path):
    cache_dir = tmp_path / "cache"
    config = {**example_config(), "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(cache_dir), "cache_timeout": 3600}
    emulator.load_state(copy.deepcopy(EXAMPLE_STATE))
    emulator.clear_log()
    first = ansible_inventory(emulator, tmp_path, config)
    assert first.rc == 0, first.stderr
    assert len(emulator.log()) > 0

    emulator.clear_log()
    second = ansible_inventory(emulator, tmp_path, config)
    assert second.rc == 0, second.stderr
    assert emulator.log() == []
    assert second.data == first.data

    cached = "".join((cache_dir / name).read_text(encoding="utf-8") for name in os.listdir(cache_dir))
    assert "contosofresh" in cached
    assert not leaks(cached, SECRETS)

    # --flush-cache asks Azure again
    third = ansible_inventory(emulator, tmp_path, config, args=["--flush-cache"])
    assert third.rc == 0 and third.data == first.data
    assert any(e["path"] == "/subscriptions" for e in emulator.log(kind="arm"))


# ------------------------------------------------------------------------ bad configuration
FOREIGN_SUB = "55555555-5555-4555-8555-555555555555"  # Fabrikam's


@pytest.mark.parametrize(("change", "env", "says"), [
    ({"subscription": [FOREIGN_SUB]}, {},
     ["subscription: not an option of v7labs.azure_storage.storage_accounts; did you mean subscriptions?"]),
    ({"kinds": ["Blob"]}, {}, ["kinds: 'Blob' is not a kind of storage account"]),
    ({"tenants": [{"tenant": CONTOSO, "client_id": CONTOSO_OPERATOR["client_id"], "client_secret": "x"}]}, {},
     ["tenants[0].client_secret: not an option", "did you mean secret?"]),
    ({"tenants": [], "subscriptions": ["contoso-data"]}, {},
     ["subscriptions: 'contoso-data' is not a subscription ID"]),
    # no credentials anywhere: neither options nor AZURE_*, no Azure CLI login, no managed identity
    ({"tenants": []}, {},
     ["CredentialUnavailable", "set client_id, secret and tenant (AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT)"]),
    ({"tenants": [], "auth_source": "env"}, {},
     ["auth_source=env needs credentials", "the client_id option or AZURE_CLIENT_ID"]),
    # a subscription of another tenant: the identity cannot read it
    ({"tenants": [dict(CONTOSO_OPERATOR, subscriptions=[FOREIGN_SUB])]}, {},
     [f"tenants[0].subscriptions: the identity cannot read subscription {FOREIGN_SUB} in tenant {CONTOSO}",
      "it can read: 22222222-2222-4222-8222-222222222222, 33333333-3333-4333-8333-333333333333"]),
    ({"tenants": [], "subscriptions": [FOREIGN_SUB]},
     {"AZURE_CLIENT_ID": CONTOSO_OPERATOR["client_id"], "AZURE_SECRET": CONTOSO_OPERATOR["secret"],
      "AZURE_TENANT": CONTOSO},
     [f"subscriptions: the identity cannot read subscription {FOREIGN_SUB}"]),
    # a wrong secret: sign-in refused, and the secret is never shown
    ({"tenants": [dict(CONTOSO_OPERATOR, secret="Wrong-Secret-Value~123")]}, {},
     ["tenants[0]: Failed to list the subscriptions", "Sign-in was refused: check client_id"]),
])
def test_bad_configuration_gives_a_clear_error_naming_the_option(emulator, tmp_path, change, env, says):
    config = {**example_config(), **change}
    emulator.load_state(copy.deepcopy(EXAMPLE_STATE))
    emulator.clear_log()
    found = ansible_inventory(emulator, tmp_path, config, env)
    assert found.rc != 0
    text = " ".join(found.stderr.split())
    for words in says:
        assert words in text, found.stderr
    assert not leaks(found.stdout + found.stderr, SECRETS + ("Wrong-Secret-Value~123",))
    assert not [e for e in emulator.log() if e["write"]]


def test_a_playbook_on_an_account_with_malformed_tags_fails_it_naming_the_tags(emulator, tmp_path):
    emulator.load_state(world_with([{"name": "fabrikammessy", "containers": ["images"], "tags": {
        "v7-team": "fabrikam-research", "v7-containers": "images,,Raw", "v7-prefix": "images/v7", "v7-write": "maybe"}}]))
    shutil.copy(FROM_AZURE, tmp_path / "v7.storage_accounts.yml")
    for name in ("v7_storage_accounts.yml", "fabrikam.yml"):
        os.makedirs(tmp_path / "group_vars", exist_ok=True)
        shutil.copy(os.path.join(ROOT, "examples", "inventory-azure", "group_vars", name), tmp_path / "group_vars" / name)
    emulator.clear_log()
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=str(tmp_path / "v7.storage_accounts.yml"),
                       extra_vars={"v7_activation_dir": str(tmp_path / "activation")}, args=["--limit", "fabrikammessy"])
    task = "v7labs.azure_storage.storage_integration : Check the account's inventory variables"
    assert run.statuses(task) == {"fabrikammessy": "failed"}
    result = run.task(task, "fabrikammessy")
    message = " ".join(str(result["msg"]).split())
    assert "v7_containers: the storage account's tag v7-containers is wrong: '' is not a container name" in message
    assert "'Raw' is not a container name" in message
    assert "v7_write: the storage account's tag v7-write is wrong: 'maybe' is not true or false" in message
    # found in Azure by reading only; then nothing was sent about the account
    assert not [e for e in emulator.log() if e["write"] or "fabrikammessy" in e["path"]]
