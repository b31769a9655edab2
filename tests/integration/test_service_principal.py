"""v7_service_principal through real ansible-playbook against the emulator.

Each test is one playbook where it can be. Between tasks the playbook reads the emulator's request
log through its control API (which is not logged itself), so each task's requests can be told
apart: that is how the tests prove, for example, that check mode sent no write.
"""
from __future__ import annotations

import re
import sys
import threading
import uuid
from contextlib import contextmanager
from typing import Callable

from tests.conftest import AUDITOR, CONTOSO, OPERATOR
from tests.integration.runner import auth_env, play, run_playbook

MODULE = "v7labs.azure_storage.v7_service_principal"
V7_APP_ID = "95e63529-38cc-435c-b247-32a1d62f321d"
SINGLE_TENANT_APP_ID = "0b1c2d3e-0000-4000-8000-00000000a11e"
BY_APP_ID = f"/graph/v1.0/servicePrincipals(appId='{V7_APP_ID}')"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")
GRAPH_HINT = ("Application.ReadWrite.All", "Cloud Application Administrator", "Application Administrator")


# ---------------------------------------------------------------- helpers
def sp_task(name: str, **args) -> dict:
    return {"name": name, MODULE: args, "register": re.sub(r"\W", "_", name)}


def log_mark(emulator, name: str) -> dict:
    """A task that reads the emulator's request log, so the test can split it between tasks."""
    return {"name": name, "ansible.builtin.uri": {"url": emulator.control_url + "/log?bodies=0", "ca_path": emulator.ca_bundle}}


def set_emulator(emulator, name: str, **settings) -> dict:
    """A task that changes the emulator's settings (faults, Graph visibility) mid-playbook."""
    return {
        "name": name,
        "ansible.builtin.uri": {
            "url": emulator.control_url + "/faults",
            "method": "PUT",
            "body_format": "json",
            "body": settings,
            "ca_path": emulator.ca_bundle,
        },
    }


@contextmanager
def visible_once(emulator, ready: Callable[[list[dict]], bool]):
    """Graph hides new principals until `ready(graph log)` holds, then shows them.

    The emulator's settings are changed from the test, not on a timer, so the outcome does not
    depend on how fast a loaded machine runs the playbook."""
    emulator.faults(graph_visibility_seconds=3600)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if ready(emulator.log(kind="graph", bodies=False)):
                emulator.faults(graph_visibility_seconds=0)
                return
            done.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(10)


def last_seq(emulator) -> int:
    entries = emulator.log(bodies=False)
    return entries[-1]["seq"] if entries else 0


def split_log(emulator, run, start: int, marks: list[str]) -> list[list[dict]]:
    """The emulator's log since `start`, cut at each mark task: len(marks) + 1 slices."""
    log = emulator.log(since=start)
    bounds, previous = [], start
    for mark in marks:
        entries = run.task(mark)["json"]
        previous = entries[-1]["seq"] if entries else previous
        bounds.append(previous)
    slices, low = [], start
    for high in bounds + [float("inf")]:
        slices.append([e for e in log if low < e["seq"] <= high])
        low = high
    return slices


def graph_calls(entries: list[dict]) -> list[tuple[str, str, int]]:
    return [(e["method"], e["path"], e["status"]) for e in entries if e["kind"] == "graph"]


def writes(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["write"]]


def principals(emulator) -> list[dict]:
    (tenant,) = [t for t in emulator.state()["tenants"] if t["id"] == CONTOSO]
    return tenant["service_principals"]


def assert_no_leak(run, *secrets: str) -> None:
    """No secret and nothing JWT-shaped on the screen or in Ansible's log file."""
    with open(run.log_file, encoding="utf-8") as handle:
        logged = handle.read()
    assert logged.strip(), "ANSIBLE_LOG_PATH was not written: the grep below would prove nothing"
    for where, text in (("output", run.output), ("ANSIBLE_LOG_PATH", logged)):
        for secret in secrets:
            assert secret not in text, f"a secret appears in the {where}"
        assert not JWT.search(text), f"a token appears in the {where}: {JWT.search(text).group(0)[:12]}..."


def view(state: str, object_id: str | None, display_name: str | None) -> dict:
    return {"state": state, "app_id": V7_APP_ID, "object_id": object_id, "display_name": display_name}


def returned(result: dict) -> tuple:
    return result["object_id"], result["app_id"], result["display_name"], result["tenant_id"]


# ---------------------------------------------------------------- tests
def test_lifecycle_check_apply_again_then_absent_twice(emulator):
    start = last_seq(emulator)
    steps = ["check", "apply", "check again", "again", "absent check", "absent", "absent again"]
    args = {
        "check": {},
        "apply": {},
        "check again": {},
        "again": {},
        "absent check": {"state": "absent"},
        "absent": {"state": "absent"},
        "absent again": {"state": "absent"},
    }
    tasks = []
    for step in steps:
        task = {**sp_task(step, **args[step]), "diff": True}
        if "check" in step:
            task["check_mode"] = True
        tasks += [task, log_mark(emulator, f"after {step}")]
    run = run_playbook(play(*tasks[:-1]), env=auth_env(emulator, OPERATOR, CONTOSO))
    assert run.rc == 0, run.output
    logs = dict(zip(steps, split_log(emulator, run, start, [f"after {s}" for s in steps[:-1]])))
    r = {step: run.task(step) for step in steps}

    # check mode: predicts the creation, reads only
    assert r["check"]["changed"] is True
    assert returned(r["check"]) == (None, V7_APP_ID, None, CONTOSO)
    assert r["check"]["diff"] == {"before": view("absent", None, None), "after": view("present", None, None)}
    assert writes(logs["check"]) == []
    assert graph_calls(logs["check"]) == [("GET", BY_APP_ID, 404)]

    # the real run: one POST of only the appId; the principal Graph made is the one returned
    (post,) = writes(emulator.log(since=start, kind="graph"))[:1]
    assert (post["method"], post["request_body"]) == ("POST", {"appId": V7_APP_ID})
    object_id = post["response_body"]["id"]
    assert r["apply"]["changed"] is True
    assert returned(r["apply"]) == (object_id, V7_APP_ID, "darwin-storage", CONTOSO)
    assert r["apply"]["diff"] == {"before": view("absent", None, None), "after": view("present", object_id, "darwin-storage")}
    assert graph_calls(logs["apply"]) == [("GET", BY_APP_ID, 404), ("POST", "/graph/v1.0/servicePrincipals", 201)]

    # check again and run again: nothing to do, everything still returned, nothing written
    for step in ("check again", "again"):
        assert r[step]["changed"] is False
        assert returned(r[step]) == (object_id, V7_APP_ID, "darwin-storage", CONTOSO)
        assert r[step]["diff"]["before"] == r[step]["diff"]["after"] == view("present", object_id, "darwin-storage")
        assert writes(logs[step]) == []
        assert graph_calls(logs[step]) == [("GET", BY_APP_ID, 200)]

    # absent in check mode: names what would be deleted, deletes nothing
    assert r["absent check"]["changed"] is True
    assert returned(r["absent check"]) == (object_id, V7_APP_ID, "darwin-storage", CONTOSO)
    assert r["absent check"]["diff"] == {"before": view("present", object_id, "darwin-storage"), "after": view("absent", None, None)}
    assert writes(logs["absent check"]) == []

    # absent: one DELETE by object id, and the principal is gone
    assert r["absent"]["changed"] is True
    assert returned(r["absent"]) == (object_id, V7_APP_ID, "darwin-storage", CONTOSO)
    assert r["absent"]["diff"] == r["absent check"]["diff"]
    assert graph_calls(logs["absent"]) == [("GET", BY_APP_ID, 200), ("DELETE", f"/graph/v1.0/servicePrincipals/{object_id}", 204)]
    assert principals(emulator) == []

    # absent again: nothing to do
    assert r["absent again"]["changed"] is False
    assert returned(r["absent again"]) == (None, V7_APP_ID, None, CONTOSO)
    assert r["absent again"]["diff"]["before"] == r["absent again"]["diff"]["after"] == view("absent", None, None)
    assert graph_calls(logs["absent again"]) == [("GET", BY_APP_ID, 404)]


def test_principal_not_yet_visible_is_read_back_within_the_bound(emulator):
    """Graph lags behind its own writes: a principal created a moment ago reads as 404 and
    creating it again gives 409 Request_MultipleObjectsWithSameKeyValue. The module reads again
    until it sees the principal, and gives up with a clear message after visibility_timeout."""
    start = last_seq(emulator)

    def read_back_seen_404(graph: list[dict]) -> bool:
        """The second task got its 409 and then at least one 404 while reading back."""
        calls = [(e["method"], e["status"]) for e in graph if e["seq"] > start]
        return ("POST", 409) in calls and ("GET", 404) in calls[calls.index(("POST", 409)) :]

    with visible_once(emulator, read_back_seen_404):
        run = run_playbook(
            play(
                sp_task("create"),
                log_mark(emulator, "after create"),
                {**sp_task("right after"), "diff": True},
                log_mark(emulator, "after right after"),
                set_emulator(emulator, "hide new principals again", graph_visibility_seconds=3600),
                {**sp_task("bounded", visibility_timeout=1), "ignore_errors": True},
            ),
            env=auth_env(emulator, OPERATOR, CONTOSO),
        )
    assert run.rc == 0, run.output
    create_log, right_after_log, bounded_log = split_log(emulator, run, start, ["after create", "after right after"])
    (created,) = principals(emulator)
    object_id = created["object_id"]

    assert run.task("create")["changed"] is True
    assert run.task("create")["object_id"] == object_id
    assert graph_calls(create_log) == [("GET", BY_APP_ID, 404), ("POST", "/graph/v1.0/servicePrincipals", 201)]

    right_after = run.task("right after")
    assert right_after["changed"] is False
    assert returned(right_after) == (object_id, V7_APP_ID, "darwin-storage", CONTOSO)
    assert right_after["diff"]["before"] == right_after["diff"]["after"] == view("present", object_id, "darwin-storage")
    calls = graph_calls(right_after_log)
    assert calls[:3] == [("GET", BY_APP_ID, 404), ("POST", "/graph/v1.0/servicePrincipals", 409), ("GET", BY_APP_ID, 404)]
    assert calls[-1] == ("GET", BY_APP_ID, 200)
    assert all(call == ("GET", BY_APP_ID, 404) for call in calls[3:-1])

    bounded = run.task("bounded")
    assert run.statuses("bounded") == {"localhost": "failed"}, bounded
    assert f"service principal of app_id {V7_APP_ID} exists" in bounded["msg"]
    assert "after 1 s" in bounded["msg"] and "visibility_timeout" in bounded["msg"]
    assert bounded["error_code"] == "Request_ResourceNotFound"
    bounded_graph = graph_calls(bounded_log)
    assert bounded_graph[:2] == [("GET", BY_APP_ID, 404), ("POST", "/graph/v1.0/servicePrincipals", 409)]
    assert set(bounded_graph[2:]) == {("GET", BY_APP_ID, 404)} and len(bounded_graph) <= 4
    assert principals(emulator) == [created]


def test_failures_are_clear_and_write_nothing_they_should_not(emulator):
    auditor = {"client_id": AUDITOR["client_id"], "secret": AUDITOR["secret"]}
    unknown_app = str(uuid.uuid4())
    wrong_secret = "Wrong~Secret.value-" + uuid.uuid4().hex
    failing = {"ignore_errors": True}
    start = last_seq(emulator)
    run = run_playbook(
        play(
            {**sp_task("auditor creates", **auditor), **failing},
            {**sp_task("auditor previews", **auditor), "check_mode": True},
            {**sp_task("single-tenant app", app_id=SINGLE_TENANT_APP_ID), **failing},
            {**sp_task("unknown app", app_id=unknown_app), **failing},
            {**sp_task("not a guid", app_id="darwin-storage"), **failing},
            {**sp_task("wrong secret", secret=wrong_secret), **failing},
            log_mark(emulator, "before the operator creates"),
            sp_task("operator creates"),
            {**sp_task("auditor deletes", state="absent", **auditor), **failing},
        ),
        env=auth_env(emulator, OPERATOR, CONTOSO),
    )
    assert run.rc == 0, run.output
    before_create, _unused0 = split_log(emulator, run, start, ["before the operator creates"])
    results = {r["task"]: r for r in run.results}
    expected_failures = {"auditor creates", "single-tenant app", "unknown app", "not a guid", "wrong secret", "auditor deletes"}
    assert {name for name, r in results.items() if r["status"] == "failed"} == expected_failures

    for name, action in (("auditor creates", "create"), ("auditor deletes", "delete")):
        result = run.task(name)
        assert result["msg"].startswith(f"Failed to {action} the service principal")
        assert "Authorization_RequestDenied" in result["msg"]
        assert all(words in result["msg"] for words in GRAPH_HINT)
        assert (result["status"], result["error_code"]) == (403, "Authorization_RequestDenied")

    # a read-only identity can still preview
    preview = run.task("auditor previews")
    assert preview["changed"] is True and returned(preview) == (None, V7_APP_ID, None, CONTOSO)

    for name, app_id in (("single-tenant app", SINGLE_TENANT_APP_ID), ("unknown app", unknown_app)):
        result = run.task(name)
        assert (result["status"], result["error_code"]) == (400, "Request_BadRequest")
        assert f"app_id {app_id}" in result["msg"]
        assert "not a multi-tenant application" in result["msg"]
        assert V7_APP_ID in result["msg"]

    assert "app_id: 'darwin-storage' is not a GUID" in run.task("not a guid")["msg"]

    wrong = run.task("wrong secret")
    assert wrong["error_code"] == "AADSTS7000215"
    assert "Invalid client secret" in wrong["msg"]
    assert all(name in wrong["msg"] for name in ("client_id", "AZURE_SECRET", "tenant"))

    # the only writes before the operator's were the refused creates
    assert [(e["method"], e["status"]) for e in writes(before_create)] == [("POST", 403), ("POST", 400), ("POST", 400)]
    (principal,) = principals(emulator)
    assert principal["object_id"] == run.task("operator creates")["object_id"]
    assert_no_leak(run, OPERATOR["secret"], AUDITOR["secret"], wrong_secret)


def test_throttling_is_retried_exactly_api_retries_times(emulator):
    """429s are retried after Retry-After, api_retries times (beyond azure-core's own limit of 3
    status retries), then reported; flaky 503s within the limit go unnoticed."""
    emulator.faults(rate_429=1.0, retry_after=1)
    start = last_seq(emulator)
    run = run_playbook(
        play(
            {**sp_task("throttled", api_retries=4), "ignore_errors": True},
            log_mark(emulator, "after throttled"),
            # with this seed the first GET and the first POST get 503, their retries get through
            set_emulator(emulator, "flaky Graph", rate_503=0.5, seed=2),
            sp_task("flaky"),
        ),
        env=auth_env(emulator, OPERATOR, CONTOSO),
    )
    assert run.rc == 0, run.output
    throttled_log, flaky_log = split_log(emulator, run, start, ["after throttled"])

    throttled = run.task("throttled")
    assert run.statuses("throttled") == {"localhost": "failed"}
    assert (throttled["status"], throttled["error_code"]) == (429, "TooManyRequests")
    assert "api_retries" in throttled["msg"]
    assert graph_calls(throttled_log) == [("GET", BY_APP_ID, 429)] * 5

    flaky = run.task("flaky")
    assert flaky["changed"] is True and flaky["object_id"] == principals(emulator)[0]["object_id"]
    assert graph_calls(flaky_log) == [
        ("GET", BY_APP_ID, 503),
        ("GET", BY_APP_ID, 404),
        ("POST", "/graph/v1.0/servicePrincipals", 503),
        ("POST", "/graph/v1.0/servicePrincipals", 201),
    ]


def test_twenty_forks_create_one_principal(emulator, tmp_path):
    """Twenty hosts run the module at once. Graph hides the new principal until every host has
    tried to create it, so one create succeeds and nineteen get 409 and must read it back."""
    inventory = tmp_path / "hosts.ini"
    hosts = [f"account{i:02d}" for i in range(20)]
    inventory.write_text(
        "[accounts]\n"
        + "".join(f"{h} ansible_connection=local ansible_python_interpreter={sys.executable}\n" for h in hosts)
    )

    def all_posted(graph: list[dict]) -> bool:
        return sum(e["method"] == "POST" for e in graph) == len(hosts)

    with visible_once(emulator, all_posted):
        run = run_playbook(
            play({**sp_task("principal"), "diff": True}, hosts="accounts"),
            env=auth_env(emulator, OPERATOR, CONTOSO),
            inventory=str(inventory),
            forks=20,
        )
    assert run.rc == 0, run.output
    assert run.statuses("principal") == {h: "ok" for h in hosts}
    (principal,) = principals(emulator)
    results = [run.task("principal", host=h) for h in hosts]
    assert {returned(r) for r in results} == {(principal["object_id"], V7_APP_ID, "darwin-storage", CONTOSO)}
    (creator,) = [r for r in results if r["changed"]]
    assert creator["diff"]["before"]["state"] == "absent"
    assert all(r["diff"]["before"] == r["diff"]["after"] for r in results if r is not creator)

    posts = [e["status"] for e in emulator.log(kind="graph") if e["method"] == "POST"]
    assert sorted(posts) == [201] + [409] * 19


def test_verbose_run_never_prints_a_secret_or_a_token(emulator):
    """-vvv prints module arguments and results; neither the secret (given in the task or in the
    environment) nor any token may be among them, on success or on failure."""
    wrong_secret = "Wrong~Secret.value-" + uuid.uuid4().hex
    env = auth_env(emulator, OPERATOR, CONTOSO)
    run = run_playbook(
        play(
            {**sp_task("check"), "check_mode": True},
            sp_task("create"),
            sp_task("secret in the task", secret=OPERATOR["secret"], client_id=OPERATOR["client_id"], tenant=CONTOSO),
            {**sp_task("wrong secret", secret=wrong_secret), "ignore_errors": True},
            {**sp_task("forbidden", client_id=AUDITOR["client_id"], secret=AUDITOR["secret"], state="absent"), "ignore_errors": True},
        ),
        env=env,
        verbosity=3,
        diff=True,
    )
    assert run.rc == 0, run.output
    assert '"invocation": {' in run.output  # -vvv really was in effect: module arguments are shown
    assert run.task("secret in the task")["changed"] is False
    assert run.statuses("wrong secret") == run.statuses("forbidden") == {"localhost": "failed"}
    assert_no_leak(run, OPERATOR["secret"], AUDITOR["secret"], wrong_secret)

    # and with a wrong secret in the environment only
    bad_env = {**env, "AZURE_SECRET": wrong_secret}
    failed = run_playbook(play(sp_task("wrong secret in the environment")), env=bad_env, verbosity=3)
    assert failed.rc != 0
    assert failed.task("wrong secret in the environment")["error_code"] == "AADSTS7000215"
    assert_no_leak(failed, wrong_secret, OPERATOR["secret"])
