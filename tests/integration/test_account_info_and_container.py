"""v7_storage_account_info and v7_blob_container through the real ansible-playbook, against the emulator.

The playbooks run once per test session (whichever xdist worker gets there first) and the tests
assert on what the user saw and on what the emulator received:

- info: the default world as the operator; a world with a firewall account, a closed account, a
  perimeter account, a premium account and a second resource group, as the operator and as the
  auditor (Reader on rg-data only). Info never writes;
- container: check+diff, for real, and again, over the default world;
- bad names and addresses: the task fails naming the option before any request.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pytest

from tests.session_cache import once_per_session

from tests.conftest import AUDITOR, CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.emulator.state import load_document
from tests.fidelity.spec_check import arm_problems
from tests.integration.runner import Run, auth_env, play, run_playbook

INFO = "v7labs.azure_storage.v7_storage_account_info"
CONTAINER = "v7labs.azure_storage.v7_blob_container"
GROUP = "rg-data"
OTHER_GROUP = "rg-other"
NO_SUCH_SUBSCRIPTION = "33333333-3333-4333-8333-333333333333"
ALL_ALLOWED = {"can_assign_roles": True, "can_write_cors": True, "can_create_containers": True, "can_read": True}
LACKS_ROLE_WRITE = ("the operator lacks Microsoft.Authorization/roleAssignments/write here: needs Owner, User Access "
                    "Administrator or Role Based Access Control Administrator")


def account_id(account: str, group: str = GROUP) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}"


def container_id(account: str, name: str) -> str:
    return f"{account_id(account)}/blobServices/default/containers/{name}"


def env_for(emulator, identity: dict) -> dict:
    # AWX's Azure credential injects the subscription too.
    return {**auth_env(emulator, identity, CONTOSO), "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}


@dataclass
class Recorded:
    runs: dict            # run name -> Run
    logs: dict            # run name -> the emulator's log during that run
    state: dict           # the emulator's world after the last run
    spec_problems: list   # ARM replies that do not match Microsoft's specs

    @classmethod
    def load(cls, data: dict) -> "Recorded":
        return cls({k: Run(**v) for k, v in data["runs"].items()}, data["logs"], data["state"], data["spec_problems"])

    def result(self, run: str, task: str) -> dict:
        return self.runs[run].task(task)

    def status(self, run: str, task: str) -> str:
        return self.runs[run].statuses(task)["localhost"]

    def writes(self, run: str) -> list:
        return [(e["method"], e["path"], e["status"]) for e in self.logs[run] if e["write"]]


def record(emulator, steps) -> dict:
    """Run each (name, world, plays, env, check) in turn; None as world keeps the current one."""
    runs, logs, problems = {}, {}, []
    emulator.reset()
    try:
        for name, world, plays, identity, check in steps:
            if world is not None:
                emulator.reset()
                emulator.load_state(world)
            emulator.clear_log()
            run = run_playbook(plays, env=env_for(emulator, identity), check=check, diff=True)
            runs[name], logs[name] = asdict(run), emulator.log()
            problems += arm_problems(logs[name], emulator.url)
        return {"runs": runs, "logs": logs, "state": emulator.state(), "spec_problems": problems}
    finally:
        emulator.reset()


def stored_containers(state: dict, account: str) -> list:
    for sub in state["tenants"][0]["subscriptions"]:
        for group in sub["resource_groups"]:
            for acct in group["storage_accounts"]:
                if acct["name"] == account:
                    return acct["containers"]
    raise AssertionError(f"no account {account} in the emulator's state")


# ---------------------------------------------------------------- worlds


def default_world() -> dict:
    return load_document(DEFAULT_STATE)


def network_world() -> dict:
    """The default world plus accounts with a firewall, without a public endpoint, behind a
    perimeter, premium; a second resource group; the auditor is Reader on rg-data only."""
    doc = default_world()
    tenant = doc["tenants"][0]
    groups = tenant["subscriptions"][0]["resource_groups"]
    data = next(g for g in groups if g["name"] == GROUP)
    deny = {"bypass": "AzureServices", "virtualNetworkRules": [], "defaultAction": "Deny",
            "ipRules": [{"value": "203.0.113.7", "action": "Allow"}, {"value": "198.51.100.0/24", "action": "Allow"}]}
    data["storage_accounts"] += [
        {"name": "stfirewall", "kind": "StorageV2", "sku": "Standard_LRS", "containers": ["images"],
         "network_acls": deny},
        {"name": "stclosed", "kind": "StorageV2", "sku": "Standard_LRS", "public_network_access": "Disabled"},
        {"name": "stperimeter", "kind": "StorageV2", "sku": "Standard_LRS",
         "public_network_access": "SecuredByPerimeter", "network_acls": {**deny, "ipRules": []}},
        {"name": "stpremium", "kind": "StorageV2", "sku": "Premium_LRS"},
    ]
    groups.append({"name": OTHER_GROUP, "location": "westeurope",
                   "storage_accounts": [{"name": "stother", "kind": "StorageV2", "sku": "Standard_LRS"}]})
    for assignment in tenant["role_assignments"]:
        if assignment["principal_id"] == AUDITOR["object_id"]:
            assignment["scope"] = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
    return doc


V7_SP = "dddddddd-0000-4000-8000-0000000000d1"
V7_RULE = {"allowedOrigins": ["https://darwin.v7labs.com"], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"],
           "exposedHeaders": [""], "maxAgeInSeconds": 0}


def v7_world() -> dict:
    """The default world where V7's service principal exists and holds some roles: on contosoimages
    Reader and Contributor on images and the Delegator (thumbnails lacks Reader); on contosovideos
    everything V7 needs, with its CORS rule beside the customer's. The auditor is Reader."""
    doc = default_world()
    tenant = doc["tenants"][0]
    tenant["service_principals"] = [{"app_id": "95e63529-38cc-435c-b247-32a1d62f321d", "object_id": V7_SP}]
    videos = next(a for a in tenant["subscriptions"][0]["resource_groups"][0]["storage_accounts"]
                  if a["name"] == "contosovideos")
    videos["cors_rules"].append(V7_RULE)
    held = [("contosoimages", "/blobServices/default/containers/images", "Storage Blob Data Reader"),
            ("contosoimages", "/blobServices/default/containers/images", "Storage Blob Data Contributor"),
            ("contosoimages", "", "Storage Blob Delegator"),
            ("contosovideos", "/blobServices/default/containers/videos", "Storage Blob Data Reader"),
            ("contosovideos", "", "Storage Blob Delegator")]
    tenant["role_assignments"] += [{"scope": account_id(account) + below, "role": role, "principal_id": V7_SP}
                                   for account, below, role in held]
    return doc


def roles_of(assignments: list) -> list:
    """(role, scope below the account, or "account") pairs."""
    return [(a["role_name"], a["scope"].split("/blobServices/default/containers/")[1] if "/containers/" in a["scope"]
             else "account") for a in assignments]


# ---------------------------------------------------------------- the info module


@dataclass
class Info:
    run: str                      # default | network | auditor
    account: str
    options: dict = field(default_factory=dict)
    expect: dict = field(default_factory=dict)      # returned values, compared exactly
    problems: list = field(default_factory=list)    # one part of each problem, in order, and no other
    warnings: list = field(default_factory=list)
    check_mode: bool = False


FILE_REASON = ("kind FileStorage (sku Premium_LRS) has no Blob service. V7 needs an account with a Blob service that "
               "supports CORS")
INFO_CASES = {
    "ready": Info(
        "default", "contosoimages", {"containers": ["images", "thumbnails"], "v7_ips": ["192.0.2.10"]},
        expect={"exists": True, "ready": True, "blob_cors_supported": True, "blob_cors_reason": None,
                # with the firewall off, any V7 IP gets through
                "public_endpoint": True, "firewall": {"enabled": False, "v7_ips_allowed": True, "missing_v7_ips": []},
                "containers": {"images": True, "thumbnails": True}, "missing_containers": [], "operator": ALL_ALLOWED,
                "account": {"name": "contosoimages", "id": account_id("contosoimages"), "kind": "StorageV2",
                            "sku": "Standard_LRS", "location": "westeurope", "public_network_access": "Enabled",
                            "network_default_action": "Allow", "ip_rules": [], "bypass": "AzureServices",
                            "allow_shared_key_access": True,
                            "blob_endpoint": "https://contosoimages.blob.core.windows.net/"}}),
    "ready, in check mode": Info(
        "default", "contosoimages", {"containers": ["images"]}, check_mode=True,
        expect={"exists": True, "ready": True, "containers": {"images": True}, "operator": ALL_ALLOWED}),
    "a container is missing": Info(
        "default", "contosoimages", {"containers": ["images", "photos"]},
        expect={"ready": False, "containers": {"images": True, "photos": False}, "missing_containers": ["photos"]},
        problems=["container photos does not exist: create it (v7labs.azure_storage.v7_blob_container)"]),
    "FileStorage": Info(
        "default", "contosofiles",
        expect={"exists": True, "ready": False, "blob_cors_supported": False, "public_endpoint": True},
        problems=["V7's origins (https://darwin.v7labs.com) cannot be allowed by Blob CORS rules: " + FILE_REASON]),
    "a missing account": Info(
        "default", "stnosuch", {"containers": ["images"], "v7_ips": ["203.0.113.7"]},
        expect={"exists": False, "ready": False, "account": None, "blob_cors_supported": None,
                "blob_cors_reason": None, "public_endpoint": None,
                "firewall": {"enabled": None, "v7_ips_allowed": None, "missing_v7_ips": []},
                "containers": {}, "missing_containers": [], "operator": dict.fromkeys(ALL_ALLOWED)},
        problems=["The storage account stnosuch was not found in resource group rg-data"]),
    "firewall: V7's IPs allowed": Info(
        "network", "stfirewall", {"v7_ips": ["203.0.113.7", "198.51.100.16/28"], "containers": ["images"]},
        expect={"ready": True, "public_endpoint": True,
                "firewall": {"enabled": True, "v7_ips_allowed": True, "missing_v7_ips": []}}),
    "firewall: a V7 IP missing": Info(
        "network", "stfirewall", {"v7_ips": ["203.0.113.7", "192.0.2.10", "198.51.100.0/23"]},
        expect={"ready": False,
                "firewall": {"enabled": True, "v7_ips_allowed": False,
                             "missing_v7_ips": ["192.0.2.10", "198.51.100.0/23"]}},
        problems=["the firewall denies by default and V7's IPs 192.0.2.10, 198.51.100.0/23 are not allowed: add "
                  "them to the account's firewall (networkAcls.ipRules)"]),
    "firewall: no V7 IPs given": Info(
        "network", "stfirewall",
        expect={"ready": False, "firewall": {"enabled": True, "v7_ips_allowed": None, "missing_v7_ips": []}},
        problems=["the firewall is on (defaultAction Deny) and no V7 IPs were given: ask V7 support for their "
                  "server IPs"]),
    "public network access disabled": Info(
        "network", "stclosed", {"v7_ips": ["203.0.113.7"]},
        expect={"ready": False, "public_endpoint": False},
        problems=["public network access is Disabled: V7 needs a public endpoint; set publicNetworkAccess to Enabled"]),
    "secured by a perimeter": Info(
        "network", "stperimeter", {"v7_ips": ["203.0.113.7"]},
        expect={"ready": True, "public_endpoint": True},
        warnings=["Storage account stperimeter: public network access is SecuredByPerimeter",
                  "make sure they allow V7's server IPs (203.0.113.7)"]),
    "premium general-purpose": Info(
        "network", "stpremium",
        expect={"ready": False, "blob_cors_supported": False},
        problems=["cannot be allowed by Blob CORS rules: kind StorageV2 with premium sku Premium_LRS holds page blobs "
                  "only"]),
    "the auditor may only read": Info(
        "auditor", "contosoimages", {"containers": ["images"]},
        expect={"exists": True, "ready": False, "containers": {"images": True},
                "operator": {"can_assign_roles": False, "can_write_cors": False, "can_create_containers": False,
                             "can_read": True}},
        problems=[LACKS_ROLE_WRITE,
                  "the operator lacks Microsoft.Storage/storageAccounts/blobServices/write here: needs Owner, "
                  "Contributor or Storage Account Contributor"],
        warnings=["lacks Microsoft.Storage/storageAccounts/blobServices/containers/write here",
                  "(not needed now: every container given exists)"]),
    # V7's roles and CORS rules (v7_principal_id, v7_roles_on, v7_write), and operator_rights: needed
    "V7's roles on containers, and CORS rules without V7's": Info(
        "v7", "contosoimages", {"containers": ["images", "thumbnails"], "v7_principal_id": V7_SP},
        expect={"ready": True, "operator": ALL_ALLOWED}),
    "V7's roles on the account": Info(
        "v7", "contosoimages", {"containers": ["images"], "v7_principal_id": V7_SP, "v7_roles_on": "account",
                                "v7_write": True},
        expect={"ready": True}),
    "V7 has all it needs; operator_rights needed reads no rights": Info(
        "needed", "contosovideos", {"containers": ["videos"], "v7_principal_id": V7_SP, "operator_rights": "needed"},
        expect={"ready": True, "operator": dict.fromkeys(ALL_ALLOWED)}),
    "a Reader where V7 lacks roles and CORS, operator_rights needed": Info(
        "needed", "contosoimages", {"containers": ["images", "thumbnails"], "v7_principal_id": V7_SP,
                                    "operator_rights": "needed"},
        expect={"ready": False, "operator": {"can_assign_roles": False, "can_write_cors": False,
                                             "can_create_containers": False, "can_read": True}},
        # no warning about creating containers: none is missing
        problems=[LACKS_ROLE_WRITE, "the operator lacks Microsoft.Storage/storageAccounts/blobServices/write here"]),
}


@dataclass
class Failure:
    run: str
    task: dict
    messages: list
    status: int
    code: str


def info_task(name: str, account: str, group: str = GROUP, **options) -> dict:
    return {"name": name, INFO: {"resource_group": group, "storage_account": account, **options}, "ignore_errors": True}


def container_task(name: str, account: str, container: str, group: str = GROUP, **keywords) -> dict:
    return {"name": name, CONTAINER: {"resource_group": group, "storage_account": account, "name": container},
            "ignore_errors": True, **keywords}


INFO_FAILURES = {
    "a missing resource group": Failure(
        "default", info_task("a missing resource group", "contosoimages", "rg-nosuch"),
        [f"The resource group rg-nosuch was not found in subscription {SUBSCRIPTION}: check resource_group and "
         "subscription_id."], 404, "ResourceGroupNotFound"),
    "an unknown subscription": Failure(
        "default", info_task("an unknown subscription", "contosoimages", subscription_id=NO_SUCH_SUBSCRIPTION),
        [f"The subscription {NO_SUCH_SUBSCRIPTION} was not found, or the signed-in identity cannot see it: "
         "check subscription_id."], 404, "SubscriptionNotFound"),
    "the auditor has no role on the resource group": Failure(
        "auditor", info_task("the auditor has no role on the resource group", "stother", OTHER_GROUP),
        ["Failed to read storage account stother in resource group rg-other: AuthorizationFailed",
         "'Microsoft.Storage/storageAccounts/read'", "grant it Reader, or any role that can read it"], 403, "AuthorizationFailed"),
    "the auditor cannot create a container": Failure(
        "auditor", container_task("the auditor cannot create a container", "contosoimages", "auditor-made"),
        ["Failed to create container auditor-made in storage account contosoimages: AuthorizationFailed",
         "'Microsoft.Storage/storageAccounts/blobServices/containers/write'"], 403, "AuthorizationFailed"),
}
# v7_blob_container's failures happen before anything could be written; they run once, for real.
CONTAINER_FAILURES = {
    "container: a missing account": Failure(
        "default", container_task("container: a missing account", "stnosuch", "photos"),
        [f"The storage account stnosuch was not found in resource group rg-data (subscription {SUBSCRIPTION}): "
         "check storage_account, resource_group and subscription_id. Nothing was changed."], 404, "ResourceNotFound"),
    "container: a missing resource group": Failure(
        "default", container_task("container: a missing resource group", "contosoimages", "photos", "rg-nosuch"),
        [f"The resource group rg-nosuch was not found in subscription {SUBSCRIPTION}: check resource_group and "
         "subscription_id. Nothing was changed."], 404, "ResourceGroupNotFound"),
    "container: FileStorage": Failure(
        "default", container_task("container: FileStorage", "contosofiles", "photos"),
        ["Storage account contosofiles cannot be used by V7: kind FileStorage (sku Premium_LRS) has no Blob service",
         "Nothing was changed."], None, "FeatureNotSupportedForAccount"),
}
AUDITOR_PREVIEW = container_task("the auditor previews a container", "contosoimages", "auditor-made",
                                 check_mode=True, diff=True)


def info_tasks(run: str) -> list:
    tasks = [dict(info_task(name, case.account, **case.options), check_mode=case.check_mode)
             for name, case in INFO_CASES.items() if case.run == run]
    tasks += [failure.task for failure in {**INFO_FAILURES, **CONTAINER_FAILURES}.values() if failure.run == run]
    return tasks + ([AUDITOR_PREVIEW] if run == "auditor" else [])


@pytest.fixture(scope="module")
def info(emulator_process, tmp_path_factory) -> Recorded:
    network = network_world()
    steps = [("default", default_world(), play(*info_tasks("default")), OPERATOR, False),
             ("network", network, play(*info_tasks("network")), OPERATOR, False),
             ("auditor", network, play(*info_tasks("auditor")), AUDITOR, False),
             ("v7", v7_world(), play(*info_tasks("v7")), OPERATOR, False),
             ("needed", None, play(*info_tasks("needed")), AUDITOR, False)]
    return Recorded.load(once_per_session(tmp_path_factory, "account_info_and_container_info", lambda _workdir: record(emulator_process, steps)))


@pytest.mark.parametrize("name", INFO_CASES)
def test_info(info, name):
    case = INFO_CASES[name]
    result = info.result(case.run, name)
    assert info.status(case.run, name) == "ok", result.get("msg")
    assert result["changed"] is False
    for key in ("exists", "account", "blob_cors_supported", "blob_cors_reason", "public_endpoint", "firewall",
                "containers", "missing_containers", "operator", "ready", "problems"):
        assert key in result, key
    for key, value in case.expect.items():
        assert result[key] == value, key
    assert len(result["problems"]) == len(case.problems), result["problems"]
    for actual, wanted in zip(result["problems"], case.problems):
        assert wanted in actual
    assert result["ready"] is (not case.problems)
    warnings = result.get("warnings", [])
    for wanted in case.warnings:
        assert any(wanted in w for w in warnings), warnings
    if not case.warnings:
        assert not warnings


def test_cors_reason(info):
    assert info.result("default", "FileStorage")["blob_cors_reason"].startswith(FILE_REASON)
    assert "premium sku Premium_LRS" in info.result("network", "premium general-purpose")["blob_cors_reason"]


def test_firewall_facts(info):
    account = info.result("network", "firewall: V7's IPs allowed")["account"]
    assert (account["network_default_action"], account["ip_rules"]) == ("Deny", ["203.0.113.7", "198.51.100.0/24"])
    assert info.result("network", "public network access disabled")["account"]["public_network_access"] == "Disabled"


@pytest.mark.parametrize("name", [*INFO_FAILURES, *CONTAINER_FAILURES])
def test_failures(info, name):
    failure = {**INFO_FAILURES, **CONTAINER_FAILURES}[name]
    result = info.result(failure.run, name)
    assert info.status(failure.run, name) == "failed"
    assert result["changed"] is False
    for message in failure.messages:
        assert message in result["msg"]
    assert (result.get("status"), result.get("error_code")) == (failure.status, failure.code)
    assert "Traceback" not in result["msg"]


def test_info_never_writes(info):
    assert info.runs["default"].rc == info.runs["network"].rc == 0, info.runs["default"].output
    assert info.writes("default") == info.writes("network") == []
    # the auditor's only write is the container PUT that Azure refused; its preview sent none
    assert info.writes("auditor") == [("PUT", container_id("contosoimages", "auditor-made"), 403)]
    preview = info.result("auditor", AUDITOR_PREVIEW["name"])
    assert (info.status("auditor", AUDITOR_PREVIEW["name"]), preview["changed"]) == ("ok", True)


def test_info_reads_the_callers_permissions_at_the_account(info):
    paths = [e["path"].lower() for e in info.logs["default"] if e["method"] == "GET"]
    wanted = (f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{GROUP}/providers/microsoft.storage//storageaccounts/"
              f"contosoimages/providers/microsoft.authorization/permissions")
    assert wanted in paths
    # not for an account that does not exist
    assert not any("stnosuch/providers" in p for p in paths)


def test_v7_roles_on_containers(info):
    result = info.result("v7", "V7's roles on containers, and CORS rules without V7's")
    roles = result["v7_roles"]
    assert roles_of(roles["assignments"]) == [
        ("Storage Blob Data Contributor", "images"), ("Storage Blob Data Reader", "images"),
        ("Storage Blob Delegator", "account")]
    assert roles_of(roles["to_create"]) == [("Storage Blob Data Reader", "thumbnails")]
    # without v7_write, Contributor goes, as v7_storage_roles would remove it
    assert roles_of(roles["to_remove"]) == [("Storage Blob Data Contributor", "images")]
    assert {a["principal_id"] for a in roles["assignments"] + roles["to_create"]} == {V7_SP}
    cors = result["blob_cors"]
    assert (cors["rules"], cors["up_to_date"], cors["removed"]) == ([], False, [])
    assert [(r["allowed_origins"], r["allowed_methods"]) for r in cors["added"]] == [(["https://darwin.v7labs.com"],
                                                                                     ["GET", "PUT"])]


def test_v7_roles_on_the_account(info):
    roles = info.result("v7", "V7's roles on the account")["v7_roles"]
    # the roles on container images are not where v7_roles_on says they belong: left out, not removed
    assert roles_of(roles["assignments"]) == [("Storage Blob Delegator", "account")]
    # in the order v7_storage_roles creates them: by scope, then role id
    assert roles_of(roles["to_create"]) == [("Storage Blob Data Reader", "account"),
                                            ("Storage Blob Data Contributor", "account")]
    assert roles["to_remove"] == []


def test_nothing_to_change_costs_no_rights_request(info):
    result = info.result("needed", "V7 has all it needs; operator_rights needed reads no rights")
    assert roles_of(result["v7_roles"]["to_create"] + result["v7_roles"]["to_remove"]) == []
    assert result["blob_cors"]["up_to_date"] is True
    assert len(result["blob_cors"]["rules"]) == 2
    paths = [e["path"].lower() for e in info.logs["needed"] if e["method"] == "GET"]
    assert not any("contosovideos/providers/microsoft.authorization/permissions" in p for p in paths)
    assert any("contosoimages/providers/microsoft.authorization/permissions" in p for p in paths)
    # the account, its container, V7's role assignments, the Blob service: one request each
    videos = [p for p in paths if "/storageaccounts/contosovideos" in p]
    assert len(videos) == 4, videos


def test_without_v7_principal_id_no_roles_are_read(info):
    result = info.result("default", "ready")
    assert result["v7_roles"] is None
    assert result["blob_cors"]["up_to_date"] is False
    assert info.result("default", "FileStorage")["blob_cors"] is None
    assert not any("roleassignments" in e["path"].lower() for e in info.logs["default"])


def test_info_replies_match_the_specs(info):
    assert info.spec_problems == []


# ---------------------------------------------------------------- the container module


CONTAINER_TASKS = [
    container_task("create", "contosoimages", "photos"),
    container_task("existing", "contosoimages", "images"),
]
PHOTOS = {"name": "photos", "id": container_id("contosoimages", "photos")}
IMAGES = {"name": "images", "id": container_id("contosoimages", "images")}
STEPS = ("check", "apply", "again")


@pytest.fixture(scope="module")
def containers(emulator_process, tmp_path_factory) -> Recorded:
    plays = play(*CONTAINER_TASKS)
    world = default_world()
    steps = [("check", world, plays, OPERATOR, True), ("apply", None, plays, OPERATOR, False),
             ("again", None, plays, OPERATOR, False)]
    return Recorded.load(once_per_session(tmp_path_factory, "account_info_and_container_containers", lambda _workdir: record(emulator_process, steps)))


@pytest.mark.parametrize("step, changed, before", [
    ("check", True, None),
    ("apply", True, None),
    ("again", False, PHOTOS),
])
def test_create_container(containers, step, changed, before):
    result = containers.result(step, "create")
    assert containers.status(step, "create") == "ok", result.get("msg")
    assert result["changed"] is changed
    assert result["container"] == PHOTOS
    assert result["diff"] == {"before": {"container": before}, "after": {"container": PHOTOS}}


@pytest.mark.parametrize("step", STEPS)
def test_existing_container_is_left_alone(containers, step):
    result = containers.result(step, "existing")
    assert (containers.status(step, "existing"), result["changed"]) == ("ok", False)
    assert result["container"] == IMAGES
    assert result["diff"] == {"before": {"container": IMAGES}, "after": {"container": IMAGES}}


@pytest.mark.parametrize("step, writes", [
    ("check", []),
    ("apply", [("PUT", container_id("contosoimages", "photos"), 201)]),
    ("again", []),
])
def test_container_writes(containers, step, writes):
    assert containers.runs[step].rc == 0, containers.runs[step].output
    assert containers.writes(step) == writes


def test_container_put_body_and_result(containers):
    [put] = [e for e in containers.logs["apply"] if e["write"]]
    assert put["request_body"] == {}
    assert stored_containers(containers.state, "contosoimages") == ["images", "photos", "thumbnails"]
    assert "--- before\n+++ after" in containers.runs["check"].stdout


def test_container_replies_match_the_specs(containers):
    assert containers.spec_problems == []


# ---------------------------------------------------------------- bad input: no request at all


BAD_INPUT = {
    "info: a storage account name with capitals and an underscore": (
        info_task("", "Contoso_Images"), ["storage_account: 'Contoso_Images' is not a storage account name"]),
    "info: bad V7 IPs, container and origin, all named at once": (
        info_task("", "contosoimages", containers=["images", "Photos"], v7_origins=["darwin.v7labs.com"],
                  v7_ips=["203.0.113.7/24", "10.0.0.1", "2001:db8::1", "darwin.v7labs.com", "203.0.113.7"]),
        ["v7_ips: '203.0.113.7/24' has host bits set; the range is 203.0.113.0/24",
         "v7_ips: '10.0.0.1' is a private (RFC 1918) address", "v7_ips: '2001:db8::1' is IPv6",
         "v7_ips: 'darwin.v7labs.com' is not an IPv4 address or CIDR range",
         "containers: 'Photos' is not a container name", "v7_origins: 'darwin.v7labs.com'"]),
    "container: an underscore": (container_task("", "contosoimages", "bad_name"),
                                 ["name: 'bad_name' is not a container name (3 to 63 characters"]),
    "container: two hyphens in a row": (container_task("", "contosoimages", "v7--data"), ["name: 'v7--data'"]),
    "container: a bad account name": (container_task("", "st-images", "v7data"),
                                      ["storage_account: 'st-images' is not a storage account name"]),
    "container: state absent without the marker": (
        {**container_task("", "contosoimages", "v7data"),
         CONTAINER: {"resource_group": GROUP, "storage_account": "contosoimages", "name": "v7data", "state": "absent"}},
        ["metadata: state=absent needs the marker"]),
}


@pytest.fixture(scope="module")
def bad_input(emulator_process, tmp_path_factory) -> Recorded:
    plays = play(*({**task, "name": name} for name, (task, _unused0) in BAD_INPUT.items()))
    steps = [("bad", default_world(), plays, OPERATOR, False)]
    return Recorded.load(once_per_session(tmp_path_factory, "account_info_and_container_bad_input", lambda _workdir: record(emulator_process, steps)))


@pytest.mark.parametrize("name", BAD_INPUT)
def test_bad_input_fails_naming_the_option(bad_input, name):
    result = bad_input.result("bad", name)
    assert bad_input.status("bad", name) == "failed"
    for message in BAD_INPUT[name][1]:
        assert message in result["msg"]


def test_bad_input_sends_no_request_at_all(bad_input):
    assert len(bad_input.runs["bad"].results) == len(BAD_INPUT)
    assert [(e["kind"], e["method"], e["path"]) for e in bad_input.logs["bad"]] == []
