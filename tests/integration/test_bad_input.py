"""Every bad input of tests/integration/bad_inputs.yml, through the real modules and the real
configure playbook against the emulator: each fails with a message that names the field (or the
missing right) and says what to do, and Azure sees no write for it (for input errors, no request).

The cases run in four ansible-playbook runs, split by what Azure may see: module cases refused
before any request, module cases that need Azure's answer, and the same two for the role. A run
whose cases all stop before any request must leave the emulator's log empty; the others may only
read (an identity without rights makes one write attempt, which Azure refuses).

docs/bad-input.md is written from the same cases and the messages they produced
(tests/integration/bad_input_doc.py); the last test fails when it is out of date.
"""
from __future__ import annotations

import copy
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest
import yaml

from tests.conftest import AUDITOR, CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.emulator import EmulatorProcess
from tests.fidelity.spec_check import arm_problems
from tests.integration.runner import ROOT, Run, auth_env, play, run_playbook
from tests.session_cache import once_per_session

CASES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_inputs.yml")
DOC_FILE = os.path.join(ROOT, "docs", "bad-input.md")
CONFIGURE = os.path.join(ROOT, "playbooks", "configure.yml")
MODULES = ("v7_service_principal", "v7_storage_roles", "v7_blob_cors", "v7_storage_account_info", "v7_blob_container")
REQUESTS = ("none", "reads", "refused_write")
FORKS = 8
IDENTITIES = {"operator": OPERATOR, "auditor": AUDITOR}
# an account whose Blob service already has Azure's maximum of five CORS rules, none of them V7's
FULL_ACCOUNT = {
    "name": "contosofull", "kind": "StorageV2", "sku": "Standard_LRS", "containers": ["images"],
    "cors_rules": [{"allowedOrigins": [f"https://app{i}.contoso.com"], "allowedMethods": ["GET"],
                    "allowedHeaders": ["*"], "exposedHeaders": [""], "maxAgeInSeconds": 0} for i in range(5)],
}
_VOLATILE = [  # parts of Entra's error text that change on every request
    (re.compile(r"Trace ID: [0-9a-f-]+"), "Trace ID: <id>"),
    (re.compile(r"Correlation ID: [0-9a-f-]+"), "Correlation ID: <id>"),
    (re.compile(r"Timestamp: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]+Z"), "Timestamp: <time>"),
]


# ---------------------------------------------------------------- the table
def load_table(path: str = CASES_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def secrets_of(table: dict) -> list[str]:
    """Every secret a run may be given: the identities' and those written in the cases."""
    found = [OPERATOR["secret"], AUDITOR["secret"]]
    for case in table["cases"]:
        text = yaml.safe_dump(case.get("input", {}))
        found += re.findall(r"[A-Za-z]+~Secret\.value-[0-9]+", text)
    return sorted(set(found))


def substitute(value: Any, emulator_url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{emulator}", emulator_url)
    if isinstance(value, list):
        return [substitute(v, emulator_url) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, emulator_url) for k, v in value.items()}
    return value


def module_host(case: dict, base: dict, emulator_url: str) -> dict:
    """The inventory host that runs one module case: the module, its options, its environment."""
    args = {**base, **substitute(case.get("input", {}), emulator_url)}
    identity = case.get("identity")
    if identity:
        args.update(client_id=IDENTITIES[identity]["client_id"], secret=IDENTITIES[identity]["secret"])
    return {"case_module": case["where"], "case_args": args, "case_environment": case.get("environment", {})}


def module_play() -> list[dict]:
    """One task per module; each host (case) runs the one its case names."""
    tasks = [{"name": module, f"v7labs.azure_storage.{module}": "{{ case_args }}",
              "environment": "{{ case_environment }}", "when": f"case_module == '{module}'"} for module in MODULES]
    return play(*tasks, hosts="all")


def role_host(case: dict, base: dict, emulator_url: str) -> dict:
    identity = IDENTITIES[case.get("identity", "operator")]
    given = substitute(case.get("input", {}), emulator_url)
    auth = {"client_id": identity["client_id"], "secret": identity["secret"], **given.pop("v7_azure_auth", {})}
    host = {**base, **given, "v7_azure_auth": auth}
    return {k: v for k, v in host.items() if k not in case.get("remove", [])}


def world() -> dict:
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    doc["tenants"][0]["subscriptions"][0]["resource_groups"][0]["storage_accounts"].append(copy.deepcopy(FULL_ACCOUNT))
    return doc


def normalise(message: str, emulator_url: str) -> str:
    message = message.replace(emulator_url, "https://<emulator>/")
    for pattern, replacement in _VOLATILE:
        message = pattern.sub(replacement, message)
    return message


# ---------------------------------------------------------------- running it
def _failure(run: Run, case: dict) -> dict:
    """The failed task of a case: its module task, or the task its role host stopped at."""
    failed = [r for r in run.results if r["host"] == case["id"] and r["status"] == "failed"]
    if not failed:
        return {"failed": False, "task": None, "msg": "", "error_code": None}
    result = failed[-1]["result"]
    return {"failed": True, "task": failed[-1]["task"], "msg": str(result.get("msg", "")),
            "error_code": result.get("error_code")}


def _said(run: Run, case: dict, emulator_url: str) -> dict:
    failure = _failure(run, case)
    return {**failure, "msg": normalise(failure["msg"], emulator_url)}


def run_group(emulator, workdir: str, name: str, cases: list[dict], table: dict) -> dict:
    """One ansible-playbook run for cases of one kind; what each case said and what Azure saw."""
    emulator.reset()
    emulator.load_state(world())
    before = emulator.state()
    url = emulator.url if emulator.url.endswith("/") else emulator.url + "/"
    inventory = os.path.join(workdir, f"{name}.yml")
    shared = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    if cases[0]["where"] == "role":
        hosts = {c["id"]: role_host(c, table["bases"]["role"], url) for c in cases}
        playbook, env = CONFIGURE, emulator.env()
    else:
        hosts = {c["id"]: module_host(c, table["bases"][c["where"]], url) for c in cases}
        playbook, env = module_play(), auth_env(emulator, OPERATOR, CONTOSO, SUBSCRIPTION)
    with open(inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"children": {"v7_storage_accounts": {"vars": shared, "hosts": hosts}}}}, handle)
    run = run_playbook(playbook, env=env, inventory=inventory, forks=FORKS,
                       extra_vars={"v7_activation_dir": os.path.join(workdir, f"{name}-activation")})
    log = emulator.log()
    return {
        "rc": run.rc,
        "output": run.output,
        "results": {c["id"]: _said(run, c, url) for c in cases},
        "requests": [{k: e.get(k) for k in ("kind", "method", "path", "status", "caller", "write")} for e in log],
        "spec_problems": arm_problems(log, emulator.url),
        "world_unchanged": emulator.state() == before,
        "activation_written": os.path.exists(os.path.join(workdir, f"{name}-activation")),
    }


def groups(table: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for case in table["cases"]:
        side = "role" if case["where"] == "role" else "modules"
        kind = "offline" if case["requests"] == "none" else "azure"
        out.setdefault(f"{side}-{kind}", []).append(case)
    return out


def collect(emulator, workdir: str, table: dict | None = None) -> dict:
    """Runs every case; {group name: run_group(...)}. The groups run at the same time, each against
    its own emulator (the given one and more started here), so that each log is its group's alone."""
    table = table or load_table()
    named = groups(table)
    with ExitStack() as stack, ThreadPoolExecutor(len(named)) as pool:
        more = [pool.submit(_start_emulator, os.path.join(workdir, f"emulator-{i}")) for i in range(len(named) - 1)]
        emulators = [emulator] + [stack.enter_context(f.result()) for f in more]
        runs = {name: pool.submit(run_group, emu, workdir, name, cases, table)
                for (name, cases), emu in zip(named.items(), emulators)}
        return {name: future.result() for name, future in runs.items()}


def _start_emulator(workdir: str) -> EmulatorProcess:
    os.makedirs(workdir, exist_ok=True)
    return EmulatorProcess(DEFAULT_STATE, workdir=workdir)


def messages_with_status(collected: dict) -> dict[str, dict]:
    return {case_id: r for run in collected.values() for case_id, r in run["results"].items()}


def messages(collected: dict) -> dict[str, str]:
    return {case_id: r["msg"] for run in collected.values() for case_id, r in run["results"].items()}


# ---------------------------------------------------------------- tests
TABLE = load_table()
CASES = {c["id"]: c for c in TABLE["cases"]}


@pytest.fixture(scope="module")
def collected(emulator_process, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "bad_input_table", lambda workdir: collect(emulator_process, str(workdir)))


def test_the_table_is_complete_and_well_formed():
    assert len(CASES) == len(TABLE["cases"]) >= 40, "case ids must be unique"
    assert {c["where"] for c in CASES.values()} == {*MODULES, "role"}
    for case in CASES.values():
        assert set(case) <= {"id", "where", "input", "identity", "environment", "remove", "field", "expect", "requests"}
        assert case["requests"] in REQUESTS and case["expect"] and case["field"], case["id"]
        assert case.get("identity", "operator") in IDENTITIES, case["id"]
    for where in (*MODULES, "role"):
        assert any(c["requests"] == "none" for c in CASES.values() if c["where"] == where), where
    # a caller without rights, for every module that writes and for the role
    auditor = {c["where"] for c in CASES.values() if c.get("identity") == "auditor"}
    assert auditor == {*MODULES, "role"} - {"v7_storage_account_info"}


@pytest.mark.parametrize("case_id", CASES)
def test_each_bad_input_fails_naming_the_field_and_what_to_do(collected, case_id):
    case = CASES[case_id]
    result = messages_with_status(collected)[case_id]
    assert result["failed"], f"{case_id} did not fail"
    assert case["field"] in result["msg"], result["msg"]
    for phrase in case["expect"]:
        assert phrase in result["msg"], result["msg"]


@pytest.mark.parametrize("name", ["modules-offline", "role-offline"])
def test_input_errors_send_no_request_at_all(collected, name):
    assert collected[name]["requests"] == []


def test_module_cases_that_need_azure_write_nothing(collected):
    run = collected["modules-azure"]
    writes = [e for e in run["requests"] if e["write"]]
    refused = [c for c in CASES.values() if c["requests"] == "refused_write"]
    # one attempt per identity without rights, refused; everything else only read
    assert len(writes) == len(refused)
    assert {(e["caller"], e["status"]) for e in writes} == {(AUDITOR["object_id"], 403)}
    assert run["world_unchanged"] and run["spec_problems"] == []


def test_role_cases_that_need_azure_write_nothing(collected):
    run = collected["role-azure"]
    assert [e for e in run["requests"] if e["write"]] == []
    assert run["world_unchanged"] and run["spec_problems"] == []
    assert not run["activation_written"]
    # every account stopped: the run fails, and each host says why on its own
    assert run["rc"] != 0


def test_role_hosts_stop_before_any_change(collected):
    for name in ("role-offline", "role-azure"):
        for case_id, result in collected[name]["results"].items():
            assert result["task"] and "Ensure V7's service principal" not in result["task"], case_id


def test_no_secret_and_no_token_is_shown(collected):
    from tests.integration.test_secrets import leaks

    for name, run in collected.items():
        assert leaks(run["output"], secrets_of(TABLE)) == [], name


def test_docs_list_every_case_with_the_message_it_produces(collected):
    from tests.integration.bad_input_doc import render

    with open(DOC_FILE, encoding="utf-8") as handle:
        committed = handle.read()
    assert committed == render(TABLE, messages(collected)), (
        "docs/bad-input.md is out of date: run `.venv/bin/python -m tests.integration.bad_input_doc`")
