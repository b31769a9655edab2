"""The storage_integration role through its playbooks, with the example inventory, against the emulator.

examples/inventory/ lists nine storage accounts in two tenants and four subscriptions;
tests/emulator/states/example.yml is the same world in Azure. Each story below runs the real
ansible-playbook several times in a row over that world, once per test session (even with
pytest-xdist), and keeps what the user saw (task results, failures, exit code) and what Azure
received (the emulator's log and its world after each run). The tests then read the story,
mostly one account at a time.

- configure story: verify on the untouched world, configure with --check --diff, configure,
  configure again, verify;
- offboard story, from the world configure left: offboard --check --diff while one Contoso
  account is left out, offboard, offboard again;
- inputs: an inventory of mistakes fails each account with its message before any request.
"""
from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import asdict, dataclass, field

import pytest

from tests.session_cache import once_per_session
import yaml

from tests.emulator.state import load_document
from tests.fidelity.spec_check import arm_problems
from tests.integration.runner import ROOT, Run, run_playbook

EXAMPLE_STATE = load_document(os.path.join(ROOT, "tests", "emulator", "states", "example.yml"))
INVENTORY = os.path.join(ROOT, "examples", "inventory", "hosts.yml")
PLAYBOOKS = os.path.join(ROOT, "playbooks")
ROLE = "v7labs.azure_storage.storage_integration : "  # how task names show

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
V7 = "https://darwin.v7labs.com"
CONTOSO = "11111111-1111-4111-8111-111111111111"
FABRIKAM = "44444444-4444-4444-8444-444444444444"
CONTOSO_SP = "dddddddd-0000-4000-8000-0000000000d1"
SECRETS = ("Em9-operator-Secret.contoso~0001", "Em9-operator-Secret.fabrikam~0001")
ROLE_NAMES = {
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Contributor",
    "db58b8e5-c6ad-4a2a-8342-4190687cbf4a": "Delegator",
}

# in inventory order; Contoso's first account cannot be made ready, so another looks after its principal
ACCOUNTS = ["contosopremium", "contosoreadonly", "contosofresh", "contosomanual", "contosohalf",
            "fabrikamfirewall", "fabrikamlocked", "fabrikamnewbox", "fabrikambadprefix"]
CANNOT_BE_READY = {"contosopremium", "fabrikambadprefix"}
READY = [a for a in ACCOUNTS if a not in CANNOT_BE_READY]

# What stops the two accounts that cannot be made ready: why, and what to do.
WHY_NOT = {
    "contosopremium": ["Storage account contosopremium cannot be set up for V7",
                       "kind StorageV2 with premium sku Premium_LRS holds page blobs only",
                       "general-purpose v2 (StorageV2) with a Standard SKU, BlockBlobStorage or BlobStorage",
                       "Nothing was changed on it"],
    "fabrikambadprefix": ["v7_prefix: 'experiments' is not in the form container-name/folder-name",
                          "for example images/v7", "Nothing was sent to Azure"],
}

# V7's roles after configure, per account: (role, where).
ACCOUNT = "account"
ROLES_AFTER = {
    "contosofresh": {("Reader", "images"), ("Contributor", "images"), ("Delegator", ACCOUNT)},
    "contosomanual": {("Reader", ACCOUNT), ("Contributor", ACCOUNT), ("Delegator", ACCOUNT)},
    "contosohalf": {("Reader", "raw"), ("Reader", "curated"), ("Contributor", "raw"), ("Contributor", "curated"),
                    ("Delegator", ACCOUNT)},
    "contosoreadonly": {("Reader", ACCOUNT), ("Delegator", ACCOUNT)},
    "contosopremium": set(),
    "fabrikamfirewall": {("Reader", "scans"), ("Contributor", "scans"), ("Delegator", ACCOUNT)},
    "fabrikamlocked": {("Reader", "slides"), ("Delegator", ACCOUNT)},
    "fabrikamnewbox": {("Reader", ACCOUNT), ("Contributor", ACCOUNT), ("Delegator", ACCOUNT)},
    "fabrikambadprefix": set(),
}
PORTAL = (["https://portal.contoso.com"], ["GET", "HEAD"])
# The Blob CORS rules after configure, per account: (origins, methods) in order.
CORS_AFTER = {
    "contosofresh": [([V7], ["GET", "PUT"])],
    "contosomanual": [([V7], ["GET"]), ([V7], ["PUT"])],       # the guide's two rules, untouched
    "contosohalf": [PORTAL, ([V7], ["GET"]), ([V7], ["PUT"])],  # the missing method added, nothing dropped
    "contosoreadonly": [([V7], ["GET", "PUT"])],
    "contosopremium": [],
    "fabrikamfirewall": [([V7], ["GET", "PUT"])],
    "fabrikamlocked": [([V7], ["GET", "PUT"])],
    "fabrikamnewbox": [([V7], ["GET", "PUT"])],
    "fabrikambadprefix": [],
}
FIREWALL_WARNING = "V7's IPs 198.51.100.11 are not allowed"

# What verify says each account lacks before anything is configured (None: ready).
MISSING_BEFORE = {
    "contosofresh": ["V7 lacks Storage Blob Delegator on storage account contosofresh",
                     "V7 lacks Storage Blob Data Reader on container images",
                     "V7 lacks Storage Blob Data Contributor on container images",
                     f"the Blob CORS rules do not let {V7} send GET, PUT requests"],
    "contosomanual": None,
    "contosohalf": ["V7 lacks Storage Blob Data Reader on container curated",
                    "V7 lacks Storage Blob Data Contributor on container raw",
                    "V7 lacks Storage Blob Delegator on storage account contosohalf",
                    f"the Blob CORS rules do not let {V7} send PUT requests"],
    "contosoreadonly": ["V7 still holds Storage Blob Data Contributor on storage account contosoreadonly"],
    "contosopremium": ["kind StorageV2 with premium sku Premium_LRS holds page blobs only"],
    "fabrikamfirewall": [f"V7's service principal does not exist in tenant {FABRIKAM}"],
    "fabrikamlocked": [f"V7's service principal does not exist in tenant {FABRIKAM}"],
    "fabrikamnewbox": [f"V7's service principal does not exist in tenant {FABRIKAM}",
                       "container annotations does not exist"],
    "fabrikambadprefix": ["v7_prefix: 'experiments' is not in the form container-name/folder-name"],
}
# configured, but the firewall keeps V7 out (v7_firewall_policy: warn)
BLOCKED = {"fabrikamlocked"}


def entry(account, tenant, prefix, write, subscription, group, why=()):
    return {"storage_account": account, "tenant_id": tenant, "prefix": prefix, "write": write, "read_only": False,
            "origins": [V7],
            "subscription_id": subscription, "resource_group": group, "state": "blocked" if why else "ready",
            "why": list(why), "warnings": []}


DATA, MEDIA = "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
RESEARCH, LABS = "55555555-5555-4555-8555-555555555555", "66666666-6666-4666-8666-666666666666"
LOCKED_WARNING = ("the firewall denies by default and V7's IPs 198.51.100.11 are not allowed: add them to the "
                  "account's firewall (networkAcls.ipRules)")
ACTIVATION = {
    "contoso-vision": {
        "integrations": [entry("contosofresh", CONTOSO, "images/v7-generated", True, DATA, "rg-vision"),
                         entry("contosohalf", CONTOSO, "curated/v7", True, DATA, "rg-vision"),
                         entry("contosomanual", CONTOSO, "media/v7", True, DATA, "rg-vision")],
        "not_ready": [],
    },
    "contoso-media": {
        "integrations": [entry("contosoreadonly", CONTOSO, "footage/v7", False, MEDIA, "rg-media")],
        "not_ready": ["contosopremium"],
    },
    "fabrikam-research": {
        "integrations": [entry("fabrikamfirewall", FABRIKAM, "scans/v7", True, RESEARCH, "rg-research"),
                         entry("fabrikamlocked", FABRIKAM, "slides/v7", False, RESEARCH, "rg-research",
                               [LOCKED_WARNING]),
                         entry("fabrikamnewbox", FABRIKAM, "annotations/v7", True, LABS, "rg-labs")],
        "not_ready": ["fabrikambadprefix"],
    },
}


# ------------------------------------------------------------------------ reading the world
def accounts_of(world: dict) -> dict[str, dict]:
    return {a["name"]: a for t in world["tenants"] for s in t["subscriptions"] for g in s["resource_groups"]
            for a in g["storage_accounts"]}


def v7_principal(world: dict, tenant: str) -> str | None:
    found = [sp["object_id"] for t in world["tenants"] if t["id"] == tenant
             for sp in t["service_principals"] if sp["app_id"] == V7_APP]
    return found[0] if found else None


def v7_roles(world: dict) -> dict[str, set]:
    """V7's three roles per account, held by any principal: (role, 'account' or container name)."""
    found: dict[str, set] = {name: set() for name in accounts_of(world)}
    for tenant in world["tenants"]:
        for ra in tenant["role_assignments"]:
            role = ROLE_NAMES.get(ra["role"])
            if role and "/storageAccounts/" in ra["scope"]:
                account, _slash, rest = ra["scope"].split("/storageAccounts/")[1].partition("/")
                found[account].add((role, rest.rsplit("/", 1)[-1] if rest else ACCOUNT))
    return found


def cors(world: dict, account: str) -> list:
    return [(r["allowedOrigins"], r["allowedMethods"]) for r in accounts_of(world)[account].get("cors_rules", [])]


def touched(entries: list[dict], account: str) -> list[dict]:
    """The requests that concern one storage account (or something in it)."""
    return [e for e in entries if re.search(rf"/storageAccounts/{account}(/|$)", e["path"], re.IGNORECASE)]


# ------------------------------------------------------------------------ running the stories
@dataclass
class Step:
    run: Run
    log: list[dict]
    world: dict

    @property
    def writes(self) -> list[dict]:
        return [e for e in self.log if e["write"]]

    @property
    def failed(self) -> dict[str, str]:
        """Accounts whose run stopped, with the message they stopped with."""
        return {r["host"]: str(r["result"].get("msg")) for r in self.run.results if r["status"] == "failed"}

    def changed(self) -> list[tuple[str, str]]:
        return [(r["host"], r["task"]) for r in self.run.results if r["result"].get("changed")]

    def task(self, name: str, host: str | None = None) -> dict:
        return self.run.task(ROLE + name, host)

    def statuses(self, name: str) -> dict[str, str]:
        return self.run.statuses(ROLE + name)

    def ran(self, name: str) -> dict[str, dict]:
        """The results of a task on the accounts that ran it (not skipped)."""
        return {r["host"]: r["result"] for r in self.run.results if r["task"] == ROLE + name and r["status"] != "skipped"}


@dataclass
class Story:
    steps: dict[str, Step] = field(default_factory=dict)
    activation_dir: str = ""
    spec_problems: list[str] = field(default_factory=list)


def tell(emulator, workdir: str, world: dict, steps) -> Story:
    """Runs each (name, playbook, options) in order, starting from `world`; keeps what each showed."""
    emulator.reset()
    emulator.load_state(copy.deepcopy(world))
    story = Story(activation_dir=os.path.join(workdir, "activation"))
    env = emulator.env()  # no AZURE_CLIENT_ID/AZURE_SECRET: the inventory signs in per tenant
    for name, playbook, options in steps:
        emulator.clear_log()
        extra = {"v7_activation_dir": story.activation_dir, **options.get("extra_vars", {})}
        run = run_playbook(os.path.join(PLAYBOOKS, playbook), env=env, inventory=INVENTORY, forks=10,
                           check=options.get("check", False), diff=options.get("check", False), extra_vars=extra)
        log = emulator.log()
        story.spec_problems += arm_problems(log, emulator.url)
        story.steps[name] = Step(run, log, emulator.state())
    return story


def story_once_per_session(tmp_path_factory, name: str, compute) -> Story:
    """compute(workdir) once per test session: the first worker to get here runs the playbooks,
    the others read what it kept."""
    kept = once_per_session(tmp_path_factory, f"storage_integration_{name}", lambda workdir: asdict(compute(str(workdir))))
    steps = {k: Step(Run(**v["run"]), v["log"], v["world"]) for k, v in kept["steps"].items()}
    return Story(steps, kept["activation_dir"], kept["spec_problems"])


@pytest.fixture(scope="module")
def configured(emulator_process, tmp_path_factory) -> Story:
    return story_once_per_session(tmp_path_factory, "configure", lambda workdir: tell(emulator_process, workdir, EXAMPLE_STATE, [
        ("verify before", "verify.yml", {}),
        ("check", "configure.yml", {"check": True, "extra_vars": {"v7_firewall_policy": "fail"}}),
        ("configure", "configure.yml", {}),
        ("again", "configure.yml", {}),
        ("verify", "verify.yml", {}),
    ]))


@pytest.fixture(scope="module")
def offboarded(emulator_process, tmp_path_factory, configured) -> Story:
    """Starts from the world the configure story left."""
    return story_once_per_session(tmp_path_factory, "offboard", lambda workdir: tell(
        emulator_process, workdir, configured.steps["configure"].world, [
            ("check", "offboard.yml", {"check": True, "extra_vars": {"v7_hosts": "v7_storage_accounts:!contosohalf"}}),
            ("offboard", "offboard.yml", {}),
            ("again", "offboard.yml", {}),
        ]))


def summary(step: Step) -> dict:
    """The verify playbook's summary of every account: ready, blocked, not_ready and accounts."""
    return step.task("Summarise every account")


def states(step: Step) -> dict[str, str]:
    """Each account's state as the role's last step said it: the verdict after the writes, or the
    preflight's for an account that needed none (configure)."""
    return {r["host"]: r["result"]["state"] for r in step.run.results
            if r["task"] in (ROLE + PREFLIGHT, ROLE + FINAL) and r["status"] != "skipped" and "state" in r["result"]}


PREFLIGHT = "Stop before the first write where the account cannot be made ready"
FINAL = "Say whether V7 can use the account, from Azure's answers"
VERIFY_FINAL = "Say whether V7 can use the account"


# ------------------------------------------------------------------------ configure story
def test_every_reply_matches_the_specs_and_no_secret_is_shown(configured, offboarded):
    assert configured.spec_problems == [] and offboarded.spec_problems == []
    for story in (configured, offboarded):
        for step in story.steps.values():
            assert not any(secret in step.run.output for secret in SECRETS)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_verify_before_configure_says_what_each_account_lacks(configured, account):
    step = configured.steps["verify before"]
    assert step.run.rc == 2 and step.writes == []
    wanted = MISSING_BEFORE[account]
    if wanted is None:
        assert account not in step.failed
        assert account in summary(step)["ready"]
    else:
        for fragment in wanted:
            assert fragment in step.failed[account]
        assert account in summary(step)["not_ready"]
        assert any(wanted[0] in why for why in summary(step)["accounts"][account]["why"])


def test_verify_before_configure_changes_nothing_and_sums_up(configured):
    step = configured.steps["verify before"]
    assert step.writes == [] and step.changed() == []
    assert summary(step)["ready"] == ["contosomanual"]
    assert summary(step)["blocked"] == []


def test_check_mode_writes_nothing_and_previews_every_change(configured):
    step = configured.steps["check"]
    assert step.run.rc == 2 and step.writes == []
    assert set(step.failed) == CANNOT_BE_READY | {"fabrikamlocked"}  # v7_firewall_policy: fail
    assert FIREWALL_WARNING in step.failed["fabrikamlocked"]
    assert "Nothing was changed on it" in step.failed["fabrikamlocked"]
    roles = "Give V7's service principal its storage roles"
    assert len(step.task(roles, "contosofresh")["created"]) == 3
    # nothing to change: the account ends at the preflight, and no write step runs for it
    assert step.task(PREFLIGHT, "contosomanual")["changes_needed"] is False
    assert "contosomanual" not in step.statuses(roles)
    assert [a["role_name"] for a in step.task(roles, "contosoreadonly")["removed"]] == ["Storage Blob Data Contributor"]
    # Fabrikam has no principal yet: its roles are previewed all the same, on the prefix's container
    # that the run would create first
    created = step.task(roles, "fabrikamnewbox")["created"]
    assert sorted(a["role_name"] for a in created) == ["Storage Blob Data Contributor", "Storage Blob Data Reader",
                                                       "Storage Blob Delegator"]
    assert {a["principal_id"] for a in created} == {"V7's service principal, to be created"}
    principal = step.ran("Create V7's service principal in a tenant without one (once per tenant)")
    assert list(principal) == ["fabrikamfirewall"] and principal["fabrikamfirewall"]["changed"] is True
    assert step.task("Create the prefix's container", "fabrikamnewbox")["changed"] is True
    cors_diff = step.task("Allow V7's origins in the Blob service's CORS rules", "contosohalf")["diff"]
    assert len(cors_diff["after"]["cors_rules"]) == len(cors_diff["before"]["cors_rules"]) + 1
    assert states(step)["fabrikamnewbox"] == "ready"  # predicted


@pytest.mark.parametrize("account", ACCOUNTS)
def test_configure_gives_each_account_what_v7_needs(configured, account):
    world = configured.steps["configure"].world
    assert v7_roles(world)[account] == ROLES_AFTER[account]
    assert cors(world, account) == CORS_AFTER[account]


@pytest.mark.parametrize("account", sorted(CANNOT_BE_READY))
def test_accounts_that_cannot_be_made_ready_fail_saying_why_and_what_to_do(configured, account):
    step = configured.steps["configure"]
    assert set(step.failed) == CANNOT_BE_READY and step.run.rc == 2
    for fragment in WHY_NOT[account]:
        assert fragment in step.failed[account]
    assert touched(step.writes, account) == []


def test_configure_leaves_the_hand_made_setup_alone_and_creates_what_is_missing(configured):
    step = configured.steps["configure"]
    assert touched(step.writes, "contosomanual") == []
    assert "annotations" in accounts_of(step.world)["fabrikamnewbox"]["containers"]


def test_an_account_the_firewall_keeps_out_is_configured_but_blocked_with_a_warning(configured):
    step = configured.steps["configure"]
    assert states(step) == {**{a: "ready" for a in READY}, "fabrikamlocked": "blocked"}
    assert "fabrikamlocked" not in step.failed
    warnings = step.task(FINAL, "fabrikamlocked")["warnings"]
    assert any(FIREWALL_WARNING in w and "configured for V7 but blocked" in w for w in warnings)
    assert "[WARNING]: Storage account fabrikamlocked is configured for V7 but blocked" in step.run.output


def test_the_service_principal_is_handled_once_per_tenant(configured):
    step = configured.steps["configure"]
    graph = [(e["method"], e["tenant"]) for e in step.log if e["kind"] == "graph"]
    # configure looks the principal up before its preflight, and reads it again where it then creates it
    assert sorted(graph) == sorted([("GET", CONTOSO), ("GET", FABRIKAM), ("GET", FABRIKAM), ("POST", FABRIKAM)])
    assert v7_principal(step.world, CONTOSO) == CONTOSO_SP
    fabrikam_sp = v7_principal(step.world, FABRIKAM)
    holders = {ra["principal_id"] for t in step.world["tenants"] if t["id"] == FABRIKAM
               for ra in t["role_assignments"] if ra["role"] in ROLE_NAMES}
    assert fabrikam_sp and holders == {fabrikam_sp}


def test_the_real_run_makes_exactly_what_check_mode_previewed(configured):
    check, real = configured.steps["check"], configured.steps["configure"]
    roles = "Give V7's service principal its storage roles"
    for account, result in check.ran(roles).items():
        if account in check.failed:
            continue
        preview = sorted((a["role_name"], a["scope"].lower()) for a in result["created"])
        made = sorted((a["role_name"], a["scope"].lower()) for a in real.task(roles, account)["created"])
        assert made == preview, account


def test_configure_again_changes_nothing(configured):
    step = configured.steps["again"]
    assert step.writes == [] and step.changed() == []
    assert set(step.failed) == CANNOT_BE_READY
    assert step.world == configured.steps["configure"].world


def test_verify_and_configure_agree_on_every_account(configured):
    verify, configure = configured.steps["verify"], configured.steps["configure"]
    assert verify.run.rc == 2 and verify.writes == []
    said = {a: v["state"] for a, v in summary(verify)["accounts"].items()}
    assert said == {**states(configure), **{a: "failed" for a in CANNOT_BE_READY}}
    # verify fails the blocked account too; configure only warned
    assert set(verify.failed) == CANNOT_BE_READY | BLOCKED
    assert summary(verify)["blocked"] == ["fabrikamlocked"]
    assert sorted(summary(verify)["ready"]) == sorted(set(READY) - BLOCKED)


@pytest.mark.parametrize("team", sorted(ACTIVATION))
def test_activation_files_say_what_v7_asks_for_per_team(configured, team):
    with open(os.path.join(configured.activation_dir, f"{team}.json"), encoding="utf-8") as handle:
        doc = json.load(handle)
    assert doc["team"] == team
    assert doc["integrations"] == ACTIVATION[team]["integrations"]
    assert doc["not_ready"] == ACTIVATION[team]["not_ready"]
    assert {a: e["state"] for a, e in doc["accounts"].items()} == {
        **{e["storage_account"]: e["state"] for e in ACTIVATION[team]["integrations"]},
        **{a: "failed" for a in ACTIVATION[team]["not_ready"]}}
    with open(os.path.join(configured.activation_dir, f"{team}.md"), encoding="utf-8") as handle:
        markdown = handle.read()
    assert f"Team name: **{team}**" in markdown
    for item in ACTIVATION[team]["integrations"]:
        assert f"| {item['storage_account']} | {item['tenant_id']} | {item['prefix']} |" in markdown
    for account in ACTIVATION[team]["not_ready"]:
        assert f"- {account}: " in markdown
    assert not any(secret in markdown for secret in SECRETS)


def test_activation_files_are_written_once_and_not_in_check_mode(configured):
    # the check run came first and wrote nothing; the files are those of the configure runs
    assert sorted(os.listdir(configured.activation_dir)) == sorted(
        f"{team}.{ext}" for team in ACTIVATION for ext in ("md", "json"))
    write = "Write the activation details of each V7 team"
    assert len(configured.steps["configure"].ran(write)) == 1
    assert next(iter(configured.steps["configure"].ran(write).values()))["changed"] is True
    assert next(iter(configured.steps["again"].ran(write).values()))["changed"] is False
    assert next(iter(configured.steps["check"].ran(write).values()))["changed"] is True  # would write


# ------------------------------------------------------------------------ offboard story
def test_offboard_check_mode_writes_nothing_and_previews_the_principal(offboarded):
    step = offboarded.steps["check"]
    assert step.writes == [] and set(step.failed) == {"fabrikambadprefix"}
    removal = "Remove V7's storage roles from the account and its containers"
    assert len(step.task(removal, "contosofresh")["removed"]) == 3
    assert "contosohalf" not in step.statuses(removal)
    principal = step.ran("Delete V7's service principal where it holds no role assignment any more (once per tenant)")
    by_tenant = {h[:7]: r for h, r in principal.items()}
    # contosohalf is left out of this run and keeps its roles: Contoso's principal stays, naming them
    assert by_tenant["contoso"]["changed"] is False
    assert any("contosohalf" in scope for scope in by_tenant["contoso"]["kept_for"])
    assert by_tenant["fabrika"]["changed"] is True and by_tenant["fabrika"]["kept_for"] == []


def test_offboard_removes_what_v7_was_given_and_nothing_else(configured, offboarded):
    before, step = configured.steps["configure"].world, offboarded.steps["offboard"]
    assert set(step.failed) == {"fabrikambadprefix"}
    assert all(not roles for roles in v7_roles(step.world).values())
    assert cors(step.world, "contosohalf") == [PORTAL]
    assert all(cors(step.world, a) == [] for a in READY if a != "contosohalf")
    assert {a: x["containers"] for a, x in accounts_of(step.world).items()} == \
        {a: x["containers"] for a, x in accounts_of(before).items()}
    # no role assignment of V7's principal is left in either tenant: both go
    assert v7_principal(step.world, CONTOSO) is None and v7_principal(step.world, FABRIKAM) is None
    deletes = [e for e in step.log if e["kind"] == "graph" and e["method"] == "DELETE"]
    assert sorted(e["tenant"] for e in deletes) == sorted([CONTOSO, FABRIKAM])


def test_offboard_again_changes_nothing(offboarded):
    step = offboarded.steps["again"]
    assert step.writes == [] and step.changed() == []
    assert step.world == offboarded.steps["offboard"].world


# ------------------------------------------------------------------------ inputs
def host(**overrides) -> dict:
    return {"v7_tenant_id": CONTOSO, "v7_subscription_id": DATA, "v7_resource_group": "rg-vision",
            "v7_prefix": "images/v7", "v7_team": "contoso-vision", **overrides}


MISTAKES = {
    "Contoso_Images": (host(), ["v7_storage_account: 'Contoso_Images' is not a storage account name",
                                "3 to 24 characters, lowercase letters and digits only"]),
    "tenantname": (host(v7_tenant_id="contoso.onmicrosoft.com"),
                   ["v7_tenant_id: 'contoso.onmicrosoft.com' is not a tenant (directory) ID"]),
    "slashprefix": (host(v7_prefix="/images/v7"), ["v7_prefix: '/images/v7' is not in the form container-name/folder-name"]),
    "badlists": (host(v7_containers=["Images", "ok-name"], v7_ips=["10.0.0.300"], v7_origins=["darwin.v7labs.com"]),
                 ["v7_containers: 'Images' is not a container name", "v7_ips: '10.0.0.300' is not an IPv4 address",
                  "v7_origins: 'darwin.v7labs.com' is not an http(s) origin"]),
    # what the modules refuse, the role refuses too, before any request
    "privateip": (host(v7_ips=["10.0.0.1"]), ["v7_ips: '10.0.0.1' is a private (RFC 1918) address"]),
    "hostbits": (host(v7_ips=["198.51.100.1/24"]), ["v7_ips: '198.51.100.1/24' has host bits set"]),
    "badport": (host(v7_origins=["http://example.com:99999"]), ["v7_origins: 'http://example.com:99999'"]),
    "typo": (host(v7_writ=True), ["v7_writ: not a variable of the storage_integration role; did you mean v7_write?"]),
    "noteam": ({k: v for k, v in host().items() if k != "v7_team"}, ["missing required arguments: v7_team"]),
    "badpolicy": (host(v7_firewall_policy="block"), ["v7_firewall_policy", "warn, fail, ignore"]),
}


@pytest.fixture(scope="module")
def mistakes(emulator_process, tmp_path_factory) -> tuple[Run, list[dict]]:
    workdir = tmp_path_factory.mktemp("mistakes")
    inventory = workdir / "hosts.yml"
    # no ansible_connection: the playbooks run on the controller themselves
    shared = {"v7_azure_auth": {"client_id": "aaaaaaaa-0000-4000-8000-000000000001", "secret": SECRETS[0]}}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"v7_storage_accounts": {
        "vars": shared, "hosts": {name: variables for name, (variables, _message) in MISTAKES.items()}}}}}))
    emulator_process.reset()
    run = run_playbook(os.path.join(PLAYBOOKS, "configure.yml"), env=emulator_process.env(), inventory=str(inventory),
                       forks=10, extra_vars={"v7_activation_dir": str(workdir / "activation")})
    return run, emulator_process.log()


@pytest.mark.parametrize("account", sorted(MISTAKES))
def test_a_mistake_in_the_inventory_stops_its_account_with_a_message(mistakes, account):
    run, log = mistakes
    failed = {r["host"]: str(r["result"].get("msg")) for r in run.results if r["status"] == "failed"}
    assert set(failed) == set(MISTAKES) and log == []
    for fragment in MISTAKES[account][1]:
        assert fragment in failed[account]


def test_an_operator_without_the_rights_is_stopped_before_any_change(emulator, tmp_path):
    world = copy.deepcopy(EXAMPLE_STATE)
    for assignment in world["tenants"][0]["role_assignments"]:
        if assignment["scope"] == f"/subscriptions/{MEDIA}":
            assignment["role"] = "Reader"  # instead of Owner
    emulator.load_state(world)
    run = run_playbook(os.path.join(PLAYBOOKS, "configure.yml"), env=emulator.env(), inventory=INVENTORY, forks=10,
                       extra_vars={"v7_hosts": "contoso_media", "v7_activation_dir": str(tmp_path / "activation")})
    failed = {r["host"]: str(r["result"].get("msg")) for r in run.results if r["status"] == "failed"}
    assert set(failed) == {"contosopremium", "contosoreadonly"} and emulator.writes() == []
    for account in failed:
        assert "the operator lacks Microsoft.Authorization/roleAssignments/write here: needs Owner" in failed[account]
        assert "Nothing was changed on it" in failed[account]
    # only the rights the account's changes need are asked for: contosoreadonly's CORS rules let V7
    # in already, and CORS rules cannot go on the premium account
    assert not any("blobServices/write" in message for message in failed.values())
    assert "cannot be allowed by Blob CORS rules" in failed["contosopremium"]
    assert not (tmp_path / "activation").exists()
