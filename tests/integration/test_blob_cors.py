"""v7_blob_cors through the real ansible-playbook, against the emulator.

Every converging case runs three times over one world of seeded storage accounts: with
``--check --diff``, for real with ``--diff``, and again. The emulator's request log says what
Azure received: nothing in check mode, one PUT carrying only ``cors`` per account that needed a
change, and nothing the second time.
"""
from __future__ import annotations

import copy
import sys
from dataclasses import asdict, dataclass, field

import pytest

from tests.session_cache import once_per_session
import yaml

from tests.conftest import AUDITOR, CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.emulator.state import load_document
from tests.integration.runner import Run, auth_env, play, run_playbook

MODULE = "v7labs.azure_storage.v7_blob_cors"
GROUP = "rg-data"
V7 = "https://darwin.v7labs.com"
IRL = "https://darwin.irl.v7labs.com"
OTHER_SUBSCRIPTION = "33333333-3333-4333-8333-333333333333"
SOFT_DELETE = {"enabled": True, "days": 7, "allowPermanentDelete": False}


def rule(origins, methods, headers=("*",), exposed=("",), max_age=0) -> dict:
    """A rule as ARM's GET returns it; an empty exposed-header list reads as [""]."""
    return {"allowedOrigins": list(origins), "allowedMethods": list(methods), "allowedHeaders": list(headers),
            "exposedHeaders": list(exposed), "maxAgeInSeconds": max_age}


def sent(arm: dict) -> dict:
    """The same rule as the module writes it back: no empty header names."""
    return {**arm, "allowedHeaders": [h for h in arm["allowedHeaders"] if h],
            "exposedHeaders": [h for h in arm["exposedHeaders"] if h]}


def shown(arm: dict) -> dict:
    """The same rule as the module returns it (cors_rules, added, removed, diff)."""
    put = sent(arm)
    return {"allowed_origins": put["allowedOrigins"], "allowed_methods": put["allowedMethods"],
            "allowed_headers": put["allowedHeaders"], "exposed_headers": put["exposedHeaders"],
            "max_age_in_seconds": put["maxAgeInSeconds"]}


# What `az storage cors add --methods GET|PUT --origins https://darwin.v7labs.com
# --allowed-headers '*' --services b` leaves behind: az's defaults are max age 0 and no exposed
# headers, which the service stores as an empty <ExposedHeaders/> and ARM returns as [""].
GUIDE_GET = rule([V7], ["GET"])
GUIDE_PUT = rule([V7], ["PUT"])
# The rule the module adds with its defaults.
OURS = rule([V7], ["GET", "PUT"])
IRL_RULE = rule([IRL], ["GET", "PUT"])
HOURLY = rule([V7], ["GET", "PUT"], max_age=3600)

# contosovideos' customer rule in the default world.
PORTAL = rule(["https://portal.contoso.com"], ["GET", "HEAD"], max_age=3600)
CONTOSO_META = rule(["https://www.contoso.com"], ["GET", "HEAD"], ["x-ms-meta-*"], ["x-ms-meta-*"], 200)
FABRIKAM = rule(["http://*.contoso.com", "http://www.fabrikam.com"], ["PUT", "GET"], ["x-ms-meta-data*"], max_age=200)
APP = rule(["https://app.example.org"], ["DELETE"], max_age=60)
LOCAL = rule(["http://localhost:5173"], ["GET", "PUT", "POST"], exposed=["*"], max_age=3600)
EXTRA = rule(["https://extra.example.org"], ["GET"])
UNRELATED = [CONTOSO_META, FABRIKAM, APP, LOCAL]
SHARED = rule(["https://app.contoso.com", V7], ["GET", "HEAD"], ["x-ms-meta-*"])
WILDCARD = rule(["*"], ["GET"], ["x-ms-meta-*"])


@dataclass
class Case:
    account: str
    seed: list | None              # None: the account as the default world has it
    options: dict
    after: list                    # the rules in ARM's GET shape
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    warning: str | None = None
    kind: str = "StorageV2"
    sku: str = "Standard_LRS"
    before: list | None = None     # when seed is None

    @property
    def initial(self) -> list:
        return self.seed if self.seed is not None else self.before


CASES = {
    "fresh account": Case(
        "contosoimages", None, {}, [OURS], added=[OURS], before=[]),
    "the default world's customer rule is kept": Case(
        "contosovideos", None, {}, [PORTAL, OURS], added=[OURS], before=[PORTAL]),
    "set up by hand with the guide's commands": Case(
        "stguide", [GUIDE_GET, GUIDE_PUT], {}, [GUIDE_GET, GUIDE_PUT]),
    "four unrelated rules end with five": Case(
        "stfour", UNRELATED, {}, UNRELATED + [OURS], added=[OURS]),
    "a second origin": Case(
        "stsecond", [GUIDE_GET, GUIDE_PUT], {"origins": [V7, IRL]}, [GUIDE_GET, GUIDE_PUT, IRL_RULE], added=[IRL_RULE]),
    "absent with a rule shared with another origin": Case(
        "stshared", [CONTOSO_META, SHARED, GUIDE_GET, GUIDE_PUT], {"state": "absent"},
        [CONTOSO_META, {**SHARED, "allowedOrigins": ["https://app.contoso.com"]}],
        added=[{**SHARED, "allowedOrigins": ["https://app.contoso.com"]}], removed=[SHARED, GUIDE_GET, GUIDE_PUT]),
    "absent keeps a wildcard rule and says it still lets V7 in": Case(
        "stwildcard", [WILDCARD, OURS], {"state": "absent"}, [WILDCARD], removed=[OURS],
        warning="CORS rule #0 (*) of storage account stwildcard is not V7's and was kept, but it still lets "
                "https://darwin.v7labs.com in"),
    "purge keeps the guide's rules and drops the others": Case(
        "stpurge", [CONTOSO_META, GUIDE_GET, FABRIKAM, GUIDE_PUT], {"purge": True}, [GUIDE_GET, GUIDE_PUT],
        removed=[CONTOSO_META, FABRIKAM]),
    "purge on unrelated rules leaves only V7's": Case(
        "stpurgeall", [APP, LOCAL], {"purge": True}, [OURS], added=[OURS], removed=[APP, LOCAL]),
    "absent with purge removes every rule": Case(
        "stwipe", [CONTOSO_META, GUIDE_GET, GUIDE_PUT], {"state": "absent", "purge": True}, [],
        removed=[CONTOSO_META, GUIDE_GET, GUIDE_PUT]),
    "a max age that is set goes in front of the guide's rules": Case(
        "stmaxage", [GUIDE_GET, GUIDE_PUT], {"max_age_seconds": 3600},
        [HOURLY, GUIDE_GET, GUIDE_PUT], added=[HOURLY]),
    "premium block blob account": Case(
        "stblockblob", [], {}, [OURS], added=[OURS], kind="BlockBlobStorage", sku="Premium_LRS"),
}


@dataclass
class Failure:
    account: str
    seed: list | None
    messages: list
    options: dict = field(default_factory=dict)
    kind: str = "StorageV2"
    sku: str = "Standard_LRS"


FAILURES = {
    "five unrelated rules": Failure(
        "stfive", UNRELATED + [EXTRA],
        ["Cannot set the Blob CORS rules of storage account stfive: Azure allows at most 5 CORS rules per service "
         "and this would need 6",
         "#0 (https://www.contoso.com)", "#4 (https://extra.example.org)",
         "#5 (https://darwin.v7labs.com) [to be added]", "Nothing was changed", "purge: true"]),
    "FileStorage account of the default world": Failure(
        "contosofiles", None,
        ["Storage account contosofiles cannot be used by V7: kind FileStorage", "has no Blob service"]),
    "premium page blob account": Failure(
        "stpremium", [], ["Storage account stpremium cannot be used by V7", "premium sku Premium_LRS"],
        sku="Premium_LRS"),
    "missing account": Failure(
        "stnosuch", None,
        [f"The storage account stnosuch was not found in resource group rg-data (subscription {SUBSCRIPTION}): "
         "check storage_account, resource_group and subscription_id. Nothing was changed."]),
    "missing resource group": Failure(
        "contosoimages", None,
        [f"The resource group rg-nosuch was not found in subscription {SUBSCRIPTION}: check resource_group and "
         "subscription_id. Nothing was changed."],
        options={"resource_group": "rg-nosuch"}),
    "missing subscription": Failure(
        "contosoimages", None,
        [f"The subscription {OTHER_SUBSCRIPTION} was not found, or the signed-in identity cannot see it: "
         "check subscription_id. Nothing was changed."],
        options={"subscription_id": OTHER_SUBSCRIPTION}),
}


# ---------------------------------------------------------------- the world and the runs


def use_world(emulator, doc: dict) -> None:
    """Start from this world with no faults and an empty log (reset() goes back to the default one)."""
    emulator.reset()
    emulator.load_state(doc)
    emulator.clear_log()


def seeded_world() -> dict:
    doc = load_document(DEFAULT_STATE)
    group = next(g for g in doc["tenants"][0]["subscriptions"][0]["resource_groups"] if g["name"] == GROUP)
    for account in group["storage_accounts"]:
        if account["kind"] != "FileStorage":
            account["delete_retention_policy"] = dict(SOFT_DELETE)
    for item in [*CASES.values(), *FAILURES.values()]:
        if item.seed is not None:
            group["storage_accounts"].append({
                "name": item.account, "kind": item.kind, "sku": item.sku, "containers": ["data"],
                "cors_rules": copy.deepcopy(item.seed), "delete_retention_policy": dict(SOFT_DELETE)})
    return doc


def operator_env(emulator, identity: dict | None = None) -> dict:
    return auth_env(emulator, identity or OPERATOR, CONTOSO, SUBSCRIPTION)


def cors_task(name: str, account: str, options: dict, **keywords) -> dict:
    args = {"resource_group": GROUP, "storage_account": account, **options}
    return {"name": name, MODULE: args, "ignore_errors": True, **keywords}


def account_path(account: str, group: str = GROUP, subscription: str = SUBSCRIPTION) -> str:
    return (f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/"
            f"storageAccounts/{account}")


def writes_to(log: list, account: str, group: str = GROUP, subscription: str = SUBSCRIPTION) -> list:
    path = account_path(account, group, subscription).lower()
    return [e for e in log if e["write"] and (e["path"].lower() + "/").startswith(path + "/")]


def stored(state: dict, account: str) -> dict:
    for sub in state["tenants"][0]["subscriptions"]:
        for group in sub["resource_groups"]:
            for acct in group["storage_accounts"]:
                if acct["name"] == account:
                    return acct
    raise AssertionError(f"no account {account} in the emulator's state")


HOSTS = {name: f"case{i:02d}" for i, name in enumerate([*CASES, *FAILURES])}
OPTIONS = ("subscription_id", "origins", "methods", "allowed_headers", "exposed_headers", "max_age_seconds",
           "state", "purge")


def write_inventory(path, items: dict) -> str:
    """One storage account per inventory host, as the collection's roles use it."""
    hosts = {}
    for name, item in items.items():
        hosts[HOSTS[name]] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "cors_group": item.options.get("resource_group", GROUP),
            "cors_account": item.account,
            "cors_options": {k: v for k, v in item.options.items() if k != "resource_group"},
        }
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return str(path)


CONVERGE = {
    "name": "converge",
    MODULE: {"resource_group": "{{ cors_group }}", "storage_account": "{{ cors_account }}",
             **{option: f"{{{{ cors_options.{option} | default(omit) }}}}" for option in OPTIONS}},
    "ignore_errors": True,
}


@dataclass
class Converged:
    runs: dict          # "check" / "apply" / "again" -> Run
    logs: dict          # same keys -> the emulator's log during that run
    state: dict         # the emulator's world after the three runs

    def result(self, step: str, name: str) -> dict:
        return self.runs[step].task("converge", host=HOSTS[name])

    def status(self, step: str, name: str) -> str:
        return self.runs[step].statuses("converge")[HOSTS[name]]

    def ok(self, step: str, name: str) -> dict:
        result = self.result(step, name)
        assert self.status(step, name) == "ok", result.get("msg")
        return result


@pytest.fixture(scope="module")
def converged(emulator_process, tmp_path_factory) -> Converged:
    def compute() -> dict:
        emu = emulator_process
        inventory = write_inventory(tmp_path_factory.mktemp("cors") / "inventory.yml", {**CASES, **FAILURES})
        runs, logs = {}, {}
        use_world(emu, seeded_world())
        try:
            for step, check in (("check", True), ("apply", False), ("again", False)):
                emu.clear_log()
                run = run_playbook(play(CONVERGE, hosts="all"), env=operator_env(emu), check=check, diff=True,
                                   inventory=inventory, forks=4)
                runs[step], logs[step] = asdict(run), emu.log()
            return {"runs": runs, "logs": logs, "state": emu.state()}
        finally:
            emu.reset()

    data = once_per_session(tmp_path_factory, "blob_cors_converged", lambda _workdir: compute())
    return Converged({step: Run(**run) for step, run in data["runs"].items()}, data["logs"], data["state"])


def ok(run: Run, name: str) -> dict:
    result = run.task(name)
    assert run.statuses(name) == {"localhost": "ok"}, result.get("msg")
    return result


# ---------------------------------------------------------------- converging cases


def test_the_default_world_is_the_one_these_cases_describe():
    group = seeded_world()["tenants"][0]["subscriptions"][0]["resource_groups"][0]
    accounts = {a["name"]: a for a in group["storage_accounts"]}
    assert accounts["contosoimages"].get("cors_rules", []) == CASES["fresh account"].initial == []
    assert accounts["contosovideos"]["cors_rules"] == [PORTAL]
    assert CASES["the default world's customer rule is kept"].initial == [PORTAL]
    assert accounts["contosofiles"]["kind"] == "FileStorage"
    assert "stnosuch" not in accounts


@pytest.mark.parametrize("name", CASES)
def test_check_mode_predicts_the_change(converged, name):
    case = CASES[name]
    result = converged.ok("check", name)
    changed = case.after != case.initial
    assert result["changed"] is changed
    assert result["cors_rules"] == [shown(r) for r in case.after]
    assert result["added"] == [shown(r) for r in case.added]
    assert result["removed"] == [shown(r) for r in case.removed]
    assert result["diff"] == {"before": {"cors_rules": [shown(r) for r in case.initial]},
                              "after": {"cors_rules": [shown(r) for r in case.after]}}


def test_check_mode_writes_nothing(converged):
    assert converged.runs["check"].rc == 0, converged.runs["check"].output
    assert len(converged.runs["check"].results) == len(HOSTS)
    assert [e for e in converged.logs["check"] if e["write"]] == []
    # and it did read every converging account
    read = {e["path"].lower() for e in converged.logs["check"] if e["method"] == "GET"}
    for case in CASES.values():
        assert account_path(case.account).lower() + "/blobservices/default" in read


@pytest.mark.parametrize("name", CASES)
def test_real_run_writes_only_cors_once(converged, name):
    case = CASES[name]
    result = converged.ok("apply", name)
    changed = case.after != case.initial
    assert result["changed"] is changed
    assert result["cors_rules"] == [shown(r) for r in case.after]
    assert result["added"] == [shown(r) for r in case.added]
    assert result["removed"] == [shown(r) for r in case.removed]
    assert result["diff"]["after"] == {"cors_rules": [shown(r) for r in case.after]}
    writes = writes_to(converged.logs["apply"], case.account)
    if not changed:
        assert writes == []
        return
    assert [(w["method"], w["path"].rsplit("/", 2)[-2:], w["status"]) for w in writes] == [
        ("PUT", ["blobServices", "default"], 200)]
    assert writes[0]["request_body"] == {"properties": {"cors": {"corsRules": [sent(r) for r in case.after]}}}


@pytest.mark.parametrize("name", CASES)
def test_stored_rules_and_other_properties(converged, name):
    case = CASES[name]
    account = stored(converged.state, case.account)
    assert [sent(r) for r in account["cors_rules"]] == [sent(r) for r in case.after]
    assert account["delete_retention_policy"] == SOFT_DELETE


@pytest.mark.parametrize("name", CASES)
def test_second_run_changes_nothing(converged, name):
    case = CASES[name]
    result = converged.ok("again", name)
    assert result["changed"] is False
    assert result["cors_rules"] == [shown(r) for r in case.after]
    assert (result["added"], result["removed"]) == ([], [])
    assert result["diff"]["before"] == result["diff"]["after"]
    assert writes_to(converged.logs["again"], case.account) == []


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.warning])
def test_warnings(converged, name):
    for step in ("check", "apply", "again"):
        warnings = converged.ok(step, name).get("warnings", [])
        assert any(CASES[name].warning in w for w in warnings), warnings


def test_warnings_only_where_due(converged):
    for name, case in CASES.items():
        if not case.warning:
            assert not converged.ok("apply", name).get("warnings"), name


def test_diff_output_shows_the_added_rule(converged):
    out = converged.runs["check"].stdout
    assert "--- before\n+++ after" in out
    assert '+                "https://darwin.irl.v7labs.com"' in out
    # absent: the shared rule loses V7's origin
    assert '-                "https://darwin.v7labs.com"' in out


# ---------------------------------------------------------------- failing cases


@pytest.mark.parametrize("step", ["check", "apply", "again"])
@pytest.mark.parametrize("name", FAILURES)
def test_failures_are_clear_and_write_nothing(converged, name, step):
    failure = FAILURES[name]
    result = converged.result(step, name)
    assert converged.status(step, name) == "failed"
    assert result["changed"] is False
    for message in failure.messages:
        assert message in result["msg"]
    assert "Traceback" not in result["msg"]
    where = (failure.options.get("resource_group", GROUP), failure.options.get("subscription_id", SUBSCRIPTION))
    assert writes_to(converged.logs[step], failure.account, *where) == []
    if failure.seed is not None:
        assert stored(converged.state, failure.account)["cors_rules"] == failure.seed


def test_not_found_keeps_arm_status_and_code(converged):
    assert converged.result("apply", "missing account")["error_code"] == "ResourceNotFound"
    assert converged.result("apply", "missing resource group")["error_code"] == "ResourceGroupNotFound"
    assert converged.result("apply", "missing subscription")["error_code"] == "SubscriptionNotFound"


# ---------------------------------------------------------------- one account through its life


LIFE = [
    ("V7 allowed", {}, [PORTAL, OURS]),
    ("IRL allowed too", {"origins": [V7, IRL]}, [PORTAL, OURS, IRL_RULE]),
    ("IRL taken out", {"origins": [IRL], "state": "absent"}, [PORTAL, OURS]),
    ("V7 taken out", {"state": "absent"}, [PORTAL]),
]


def test_contosovideos_customer_rule_survives_every_step(emulator):
    tasks = []
    for step, options, _unused0 in LIFE:
        tasks += [cors_task(f"{step}: check", "contosovideos", options, check_mode=True, diff=True),
                  cors_task(f"{step}: apply", "contosovideos", options, diff=True),
                  cors_task(f"{step}: again", "contosovideos", options, diff=True)]
    run = run_playbook(play(*tasks), env=operator_env(emulator))
    assert run.rc == 0, run.output

    before = [PORTAL]
    for step, _unused0, after in LIFE:
        check, apply, again = (ok(run, f"{step}: {kind}") for kind in ("check", "apply", "again"))
        assert check["changed"] is apply["changed"] is True, step
        assert check["cors_rules"] == apply["cors_rules"] == again["cors_rules"] == [shown(r) for r in after], step
        assert check["diff"] == apply["diff"] == {"before": {"cors_rules": [shown(r) for r in before]},
                                                  "after": {"cors_rules": [shown(r) for r in after]}}, step
        assert again["changed"] is False, step
        before = after
    # One PUT per step, in order, each with the customer rule first and untouched: a write made
    # in check mode would show up here as an extra PUT (or as an "apply" that changed nothing).
    bodies = [w["request_body"] for w in writes_to(emulator.log(), "contosovideos")]
    assert bodies == [{"properties": {"cors": {"corsRules": [sent(r) for r in after]}}} for _unused0, _unused1, after in LIFE]
    assert [sent(r) for r in stored(emulator.state(), "contosovideos")["cors_rules"]] == [sent(PORTAL)]


def test_reader_can_preview_but_not_write(emulator):
    tasks = [cors_task("preview", "contosoimages", {}, check_mode=True), cors_task("apply", "contosoimages", {})]
    run = run_playbook(play(*tasks), env=operator_env(emulator, AUDITOR))
    assert ok(run, "preview")["changed"] is True
    assert run.statuses("apply") == {"localhost": "failed"}
    msg = run.task("apply")["msg"]
    assert "Failed to write the Blob service CORS rules of storage account contosoimages" in msg
    assert "AuthorizationFailed" in msg and "Microsoft.Storage/storageAccounts/blobServices/write" in msg
    assert run.task("apply")["status"] == 403
    puts = writes_to(emulator.log(), "contosoimages")
    assert [(w["method"], w["status"]) for w in puts] == [("PUT", 403)]
    assert stored(emulator.state(), "contosoimages")["cors_rules"] == []


# ---------------------------------------------------------------- bad input


LONG_HOST = "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + ".example.org"
BAD_INPUT = {
    "an origin with a path": ({"origins": ["https://darwin.v7labs.com/app"]},
                              ["origins: 'https://darwin.v7labs.com/app' is not '*' or an http(s) origin"]),
    "an origin without a scheme": ({"origins": ["darwin.v7labs.com"]}, ["origins: 'darwin.v7labs.com'"]),
    "no origins": ({"origins": []}, ["origins: give at least one origin"]),
    "star with other origins": ({"origins": ["*", V7]}, ["origins: '*' already allows every origin"]),
    "an origin over 256 characters": ({"origins": [f"https://{'x' * 250}.com"]},
                                      ["256 characters per origin"]),
    "65 origins": ({"origins": [f"https://h{i}.example.org" for i in range(65)]},
                   ["origins: 65 origins, Azure allows at most 64 per rule"]),
    "origins over 2 KB together": ({"origins": [f"https://{i}{LONG_HOST}" for i in range(12)]},
                                   ["origins, methods, allowed_headers and exposed_headers together make a rule of",
                                    "Azure allows at most 2048"]),
    "an unknown method": ({"methods": ["GET", "FETCH"]}, ["methods: FETCH not among Azure's CORS methods"]),
    "no methods": ({"methods": []}, ["methods: give at least one method"]),
    "max age below 0": ({"max_age_seconds": -1}, ["max_age_seconds: -1 is outside 0..2147483647"]),
    "max age over 32 bits": ({"max_age_seconds": 2147483648}, ["max_age_seconds: 2147483648 is outside"]),
    "three prefixed allowed headers": ({"allowed_headers": ["x-a*", "x-b*", "x-c*"]},
                                       ["allowed_headers: 3 prefixed headers"]),
    "a comma in a header": ({"exposed_headers": ["x-a,x-b"]}, ["exposed_headers: 'x-a,x-b'"]),
    "several options at once": ({"origins": ["ftp://x.example"], "methods": ["FETCH"], "max_age_seconds": -5},
                                ["origins:", "methods:", "max_age_seconds:"]),
    "an unknown state": ({"state": "gone"}, ["state", "present, absent"]),
}


@pytest.fixture(scope="module")
def bad_input(emulator_process, tmp_path_factory) -> tuple[Run, list]:
    def compute() -> dict:
        emulator_process.reset()
        tasks = [cors_task(name, f"stbad{i}", options) for i, (name, (options, _unused0)) in enumerate(BAD_INPUT.items())]
        run = run_playbook(play(*tasks), env=operator_env(emulator_process))
        return {"run": asdict(run), "log": emulator_process.log()}

    data = once_per_session(tmp_path_factory, "blob_cors_bad_input", lambda _workdir: compute())
    return Run(**data["run"]), data["log"]


@pytest.mark.parametrize("name", BAD_INPUT)
def test_bad_input_fails_naming_the_option(bad_input, name):
    run, log = bad_input
    result = run.task(name)
    assert run.statuses(name) == {"localhost": "failed"}
    for message in BAD_INPUT[name][1]:
        assert message in result["msg"]
    account = f"stbad{list(BAD_INPUT).index(name)}"
    assert [e for e in log if account in e["path"].split("/")] == []


def test_bad_input_sends_no_request_at_all(bad_input):
    run, log = bad_input
    assert len(run.results) == len(BAD_INPUT)
    assert [(e["kind"], e["method"], e["path"]) for e in log] == []
