"""The Azure modules run inside Ansible's worker through their action plugins
(plugins/plugin_utils/azure_action.py), and as module processes where that is not the controller's
own work (async here; another connection or become in real use). Both ways must give the user the
same result and send Azure the same requests."""
from __future__ import annotations

from tests.conftest import CONTOSO, OPERATOR
from tests.integration.runner import auth_env, play, run_playbook

MODULE = "v7labs.azure_storage.v7_service_principal"
MODULE_PROCESS = "AnsiballZ_v7_service_principal.py"


def requests_between(emulator, first: int, last: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in emulator.log(bodies=False) if first < e["seq"] < last]


def mark(emulator, name: str) -> dict:
    return {"name": name, "ansible.builtin.uri": {"url": emulator.control_url + "/log?bodies=0",
                                                  "ca_path": emulator.ca_bundle},
            "register": name}


def test_in_the_worker_and_as_a_module_process_the_same_result_and_requests(emulator):
    run = run_playbook(
        play(
            {"name": "create", MODULE: {}, "register": "create"},
            mark(emulator, "m1"),
            {"name": "in the worker", MODULE: {}, "register": "in_worker"},
            mark(emulator, "m2"),
            # async tasks are run by a module process (the action cannot run them itself)
            {"name": "as a module process", MODULE: {}, "async": 60, "poll": 1, "register": "as_module"},
            mark(emulator, "m3"),
        ),
        env=auth_env(emulator, OPERATOR, CONTOSO),
        verbosity=3,
    )
    assert run.rc == 0, run.output
    assert run.task("create")["changed"] is True
    in_worker, as_module = run.task("in the worker"), run.task("as a module process")
    keys = ("changed", "object_id", "app_id", "display_name", "state")
    assert {k: in_worker.get(k) for k in keys} == {k: as_module.get(k) for k in keys}
    assert in_worker["changed"] is False and in_worker["object_id"]
    assert in_worker["invocation"]["module_args"]["app_id"] == as_module["invocation"]["module_args"]["app_id"]
    # only the async task started a module process
    assert MODULE_PROCESS in run.output.split("TASK [as a module process]")[1]
    assert MODULE_PROCESS not in run.output.split("TASK [as a module process]")[0]
    assert "ansible_job_id" in as_module or as_module.get("finished") == 1

    seqs = [max(e["seq"] for e in run.task(m)["json"]) for m in ("m1", "m2", "m3")]
    from_worker = [r for r in requests_between(emulator, seqs[0], seqs[1]) if "/log" not in r[1]]
    from_module = [r for r in requests_between(emulator, seqs[1], seqs[2]) if "/log" not in r[1]]
    assert from_worker and from_worker == from_module


def test_the_tasks_environment_reaches_the_module_in_the_worker(emulator):
    env = auth_env(emulator, OPERATOR, CONTOSO)
    secret = env.pop("AZURE_SECRET")
    run = run_playbook(
        play(
            {"name": "with the secret in the task's environment", MODULE: {}, "check_mode": True,
             "environment": {"AZURE_SECRET": "{{ lookup('ansible.builtin.env', 'SECRET_FOR_THE_TASK') }}"}},
            {"name": "without it", MODULE: {}, "check_mode": True, "ignore_errors": True},
        ),
        env={**env, "SECRET_FOR_THE_TASK": secret},
    )
    assert run.rc == 0, run.output
    assert run.statuses("with the secret in the task's environment") == {"localhost": "ok"}
    # the next task does not inherit it: each task's environment is its own, as for a module process
    assert run.statuses("without it") == {"localhost": "failed"}
    assert secret not in run.output


def test_argument_errors_read_as_a_module_process_gives_them(emulator):
    run = run_playbook(
        play({"name": "typo", MODULE: {"stat": "present"}, "ignore_errors": True},
             {"name": "wrong type", MODULE: {"visibility_timeout": "soon"}, "ignore_errors": True}),
        env=auth_env(emulator, OPERATOR, CONTOSO),
    )
    assert run.rc == 0, run.output
    typo = run.task("typo")
    assert run.statuses("typo") == run.statuses("wrong type") == {"localhost": "failed"}
    assert typo["msg"].startswith(f"Unsupported parameters for ({MODULE}) module: stat.")
    assert "visibility_timeout" in run.task("wrong type")["msg"]
    assert emulator.writes() == []


def test_the_switch_runs_every_module_as_a_module_process(emulator):
    env = {**auth_env(emulator, OPERATOR, CONTOSO), "V7LABS_AZURE_STORAGE_MODULE_PROCESS": "true"}
    run = run_playbook(play({"name": "look up", MODULE: {}, "check_mode": True}), env=env, verbosity=3)
    assert run.rc == 0, run.output
    assert MODULE_PROCESS in run.output
