"""v7_storage_roles through real ansible-playbook against the emulator.

Most steps run as one playbook of three tasks, as community.crypto's integration tests do:
check+diff, the real run, and the same again. Between the tasks the playbook reads the emulator's
request log (its control API is not logged itself), so each task's requests can be told apart.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
import yaml
from azure.identity import ClientSecretCredential

from tests.conftest import AUDITOR, CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.integration.runner import auth_env, play, run_playbook

MODULE = "v7labs.azure_storage.v7_storage_roles"
V7_APP_ID = "95e63529-38cc-435c-b247-32a1d62f321d"
ROLE_API = "2022-04-01"
ARM_SCOPE = "https://management.core.windows.net/.default"

READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
AZURE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # the general "Reader" role a customer might add
ROLE_NAMES = {
    READER: "Storage Blob Data Reader",
    CONTRIBUTOR: "Storage Blob Data Contributor",
    DELEGATOR: "Storage Blob Delegator",
}

RG = "rg-data"
ACCOUNT = "contosoimages"
SUB_SCOPE = f"/subscriptions/{SUBSCRIPTION}"
RG_SCOPE = f"{SUB_SCOPE}/resourceGroups/{RG}"


def account_scope(account: str = ACCOUNT) -> str:
    return f"{RG_SCOPE}/providers/Microsoft.Storage/storageAccounts/{account}"


def container_scope(container: str, account: str = ACCOUNT) -> str:
    return f"{account_scope(account)}/blobServices/default/containers/{container}"


ACCT = account_scope()
IMAGES = container_scope("images")
THUMBNAILS = container_scope("thumbnails")


# ---------------------------------------------------------------- talking to the emulator directly
class Direct:
    """Raw calls with a real token for the operator, for seeding what a person would do by hand."""

    def __init__(self, emulator, scope: str, base: str):
        self.base = base.rstrip("/")
        self.scope = scope
        self.verify = emulator.ca_bundle
        self.credential = ClientSecretCredential(
            CONTOSO,
            OPERATOR["client_id"],
            OPERATOR["secret"],
            authority=emulator.url.rstrip("/"),
            disable_instance_discovery=True,
            connection_verify=emulator.ca_bundle,
        )

    def call(self, method: str, path: str, body=None, **params) -> requests.Response:
        token = self.credential.get_token(self.scope).token
        return requests.request(
            method,
            self.base + path,
            json=body,
            params=params,
            timeout=30,
            verify=self.verify,
            headers={"Authorization": f"Bearer {token}"},
        )


def new_principal(emulator) -> str:
    """V7's service principal, created as `az ad sp create --id <app id>` does."""
    graph = Direct(emulator, emulator.graph_url + ".default", emulator.graph_url + "v1.0")
    reply = graph.call("POST", "/servicePrincipals", {"appId": V7_APP_ID})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def arm_client(emulator) -> Direct:
    arm = Direct(emulator, ARM_SCOPE, emulator.url)
    arm.credential.get_token(ARM_SCOPE)  # signed in now, so later calls go straight to ARM
    return arm


def put_assignment(arm: Direct, scope: str, role: str, principal: str, name: str) -> int:
    body = {
        "properties": {
            "roleDefinitionId": f"{SUB_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }
    }
    path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    return arm.call("PUT", path, body, **{"api-version": ROLE_API}).status_code


def assign_by_hand(emulator, scope: str, role: str, principal: str) -> str:
    """A role assignment with a random name, as `az role assignment create` makes it; its name."""
    name = str(uuid.uuid4())
    assert put_assignment(arm_client(emulator), scope, role, principal, name) == 201
    return name


def held(emulator, principal: str) -> dict[tuple[str, str], str]:
    """{(scope, role GUID): assignment name} that the principal holds in the emulator's world."""
    tenant = emulator.state()["tenants"][0]
    return {
        (a["scope"].lower(), a["role"]): a["name"]
        for a in tenant["role_assignments"]
        if a["principal_id"] == principal.lower()
    }


def pairs(*items: tuple[str, str]) -> set[tuple[str, str]]:
    return {(scope.lower(), role) for scope, role in items}


def last_seq(emulator) -> int:
    entries = emulator.log(bodies=False)
    return entries[-1]["seq"] if entries else 0


def role_writes(entries: list[dict], method: str) -> list[dict]:
    return [e for e in entries if e["method"] == method and "/roleAssignments/" in e["path"]]


def written_name(entry: dict) -> str:
    return entry["path"].rsplit("/", 1)[-1]


def written_scope(entry: dict) -> str:
    return entry["path"].split("/providers/Microsoft.Authorization/")[0].lower()


def written_role(entry: dict) -> str:
    return entry["request_body"]["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]


def env_for(emulator, identity: dict | None = None) -> dict:
    return {**auth_env(emulator, identity or OPERATOR, CONTOSO), "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}


def roles_task(name: str, **args) -> dict:
    return {
        "name": name,
        MODULE: {"resource_group": RG, "storage_account": ACCOUNT, **args},
        "register": re.sub(r"\W+", "_", name),
    }


def log_mark(emulator, name: str) -> dict:
    """A task that reads the emulator's request log, so the test can split it between tasks."""
    return {
        "name": name,
        "ansible.builtin.uri": {"url": emulator.control_url + "/log?bodies=0", "ca_path": emulator.ca_bundle},
    }


def mark_seq(run, name: str, default: int) -> int:
    entries = run.task(name)["json"]
    return entries[-1]["seq"] if entries else default


@dataclass
class Step:
    check: dict
    apply: dict
    again: dict
    check_log: list[dict]
    apply_log: list[dict]
    again_log: list[dict]


def converge(emulator, **args) -> Step:
    """check+diff, the real run, then the same again, in one playbook; each with its own requests."""
    start = last_seq(emulator)
    run = run_playbook(
        play(
            {**roles_task("check", **args), "check_mode": True, "diff": True},
            log_mark(emulator, "after check"),
            {**roles_task("apply", **args), "diff": True},
            log_mark(emulator, "after apply"),
            {**roles_task("again", **args), "diff": True},
        ),
        env=env_for(emulator),
    )
    assert run.rc == 0, run.output
    after_check = mark_seq(run, "after check", start)
    after_apply = mark_seq(run, "after apply", after_check)
    log = emulator.log(since=start)
    return Step(
        check=run.task("check"),
        apply=run.task("apply"),
        again=run.task("again"),
        check_log=[e for e in log if e["seq"] <= after_check],
        apply_log=[e for e in log if after_check < e["seq"] <= after_apply],
        again_log=[e for e in log if e["seq"] > after_apply],
    )


def assert_step_sound(step: Step) -> None:
    """The check run wrote nothing, every assignment written named its principal a ServicePrincipal,
    and the second real run neither changed nor wrote anything."""
    assert [e for e in step.check_log if e["write"]] == []
    assert all(
        e["request_body"]["properties"]["principalType"] == "ServicePrincipal"
        for e in role_writes(step.apply_log, "PUT")
    )
    assert step.again["changed"] is False
    assert [e for e in step.again_log if e["write"]] == []
    assert step.again["created"] == [] and step.again["removed"] == []
    assert step.check["changed"] == step.apply["changed"]


def returned_pairs(assignments: list[dict]) -> set[tuple[str, str]]:
    return {(a["scope"].lower(), a["role_definition_id"].rsplit("/", 1)[-1].lower()) for a in assignments}


def diff_lines(result: dict, side: str) -> list[str]:
    return result["diff"][side].splitlines()


# ---------------------------------------------------------------- tests
@pytest.fixture(autouse=True)
def default_world_loaded(emulator):
    """The emulator's reset returns to the last world loaded by any test on this emulator, so each
    test here starts from the default world, and leaves it loaded for the tests that follow."""
    emulator.load_state(default_world())
    yield
    emulator.load_state(default_world())


def test_fresh_account_container_scope_write_on_then_off_then_absent_twice(emulator):
    principal = new_principal(emulator)
    wanted = dict(principal_id=principal, containers=["images", "thumbnails"], write=True)

    first = converge(emulator, **wanted)
    assert_step_sound(first)
    full = pairs(
        (IMAGES, READER), (IMAGES, CONTRIBUTOR), (THUMBNAILS, READER), (THUMBNAILS, CONTRIBUTOR), (ACCT, DELEGATOR)
    )
    assert first.check["changed"] is True
    assert diff_lines(first.check, "before") == []
    assert diff_lines(first.check, "after") == [
        "Storage Blob Data Contributor @ container images",
        "Storage Blob Data Contributor @ container thumbnails",
        "Storage Blob Data Reader @ container images",
        "Storage Blob Data Reader @ container thumbnails",
        "Storage Blob Delegator @ account contosoimages",
    ]
    assert first.check["diff"]["after"] == first.apply["diff"]["after"]
    assert returned_pairs(first.check["created"]) == full

    puts = role_writes(first.apply_log, "PUT")
    assert {(written_scope(e), written_role(e)) for e in puts} == full
    assert len(puts) == 5 and all(e["status"] == 201 for e in puts)
    assert all(e["request_body"]["properties"]["principalType"] == "ServicePrincipal" for e in puts)
    assert all(e["request_body"]["properties"]["principalId"] == principal for e in puts)
    # the names check mode predicted are the names written
    assert {written_name(e) for e in puts} == {a["name"] for a in first.check["created"]}
    assert held(emulator, principal) == {(written_scope(e), written_role(e)): written_name(e) for e in puts}

    assert first.apply["changed"] is True
    for result in (first.apply, first.again):
        assert returned_pairs(result["assignments"]) == full
        for item in result["assignments"]:
            assert item["id"] == f"{item['scope']}/providers/Microsoft.Authorization/roleAssignments/{item['name']}"
            assert item["role_name"] == ROLE_NAMES[item["role_definition_id"].rsplit("/", 1)[-1]]
            assert item["principal_id"] == principal
    assert diff_lines(first.again, "before") == diff_lines(first.again, "after") == diff_lines(first.check, "after")
    names_first = held(emulator, principal)

    write_off = converge(emulator, **{**wanted, "write": False})
    assert_step_sound(write_off)
    assert write_off.apply["changed"] is True
    assert diff_lines(write_off.check, "before") == diff_lines(first.check, "after")
    assert diff_lines(write_off.check, "after") == [
        "Storage Blob Data Reader @ container images",
        "Storage Blob Data Reader @ container thumbnails",
        "Storage Blob Delegator @ account contosoimages",
    ]
    deleted = role_writes(write_off.apply_log, "DELETE")
    assert sorted(written_name(e) for e in deleted) == sorted(
        names_first[key] for key in pairs((IMAGES, CONTRIBUTOR), (THUMBNAILS, CONTRIBUTOR))
    )
    assert role_writes(write_off.apply_log, "PUT") == []
    assert set(held(emulator, principal)) == pairs((IMAGES, READER), (THUMBNAILS, READER), (ACCT, DELEGATOR))
    assert returned_pairs(write_off.apply["removed"]) == pairs((IMAGES, CONTRIBUTOR), (THUMBNAILS, CONTRIBUTOR))

    gone = converge(emulator, **{**wanted, "state": "absent"})
    assert_step_sound(gone)  # absent, then absent again
    assert gone.apply["changed"] is True
    assert diff_lines(gone.check, "after") == [] and diff_lines(gone.again, "before") == []
    assert len(role_writes(gone.apply_log, "DELETE")) == 3
    assert held(emulator, principal) == {}
    assert gone.again["assignments"] == []

    # the same (scope, role, principal) gets the same name on every run
    back = converge(emulator, **wanted)
    assert_step_sound(back)
    assert held(emulator, principal) == names_first


def test_account_scope_then_narrowed_to_one_container(emulator):
    principal = new_principal(emulator)

    wide = converge(emulator, principal_id=principal, write=True)
    assert_step_sound(wide)
    assert set(held(emulator, principal)) == pairs((ACCT, READER), (ACCT, CONTRIBUTOR), (ACCT, DELEGATOR))
    assert diff_lines(wide.apply, "after") == [
        "Storage Blob Data Contributor @ account contosoimages",
        "Storage Blob Data Reader @ account contosoimages",
        "Storage Blob Delegator @ account contosoimages",
    ]
    delegator_name = held(emulator, principal)[(ACCT.lower(), DELEGATOR)]

    narrow = converge(emulator, principal_id=principal, write=True, containers=["images"])
    assert_step_sound(narrow)
    assert set(held(emulator, principal)) == pairs((IMAGES, READER), (IMAGES, CONTRIBUTOR), (ACCT, DELEGATOR))
    assert held(emulator, principal)[(ACCT.lower(), DELEGATOR)] == delegator_name
    writes = [e for e in narrow.apply_log if e["write"]]
    assert [e["method"] for e in writes] == ["PUT", "PUT", "DELETE", "DELETE"], "V7 must never be left without access"
    assert {written_scope(e) for e in writes[:2]} == {IMAGES.lower()}
    assert {written_scope(e) for e in writes[2:]} == {ACCT.lower()}
    assert returned_pairs(narrow.check["removed"]) == pairs((ACCT, READER), (ACCT, CONTRIBUTOR))


def test_assignments_made_by_hand_are_recognised_and_others_are_left_alone(emulator):
    principal = new_principal(emulator)
    by_hand = {
        (IMAGES.lower(), READER): assign_by_hand(emulator, IMAGES, READER, principal),
        (ACCT.lower(), DELEGATOR): assign_by_hand(emulator, ACCT, DELEGATOR, principal),
    }
    # not this task's business: a role the customer gave the same principal, inherited ones, and
    # V7's role on a container that is not listed
    others = {
        (ACCT.lower(), AZURE_READER): assign_by_hand(emulator, ACCT, AZURE_READER, principal),
        (SUB_SCOPE.lower(), CONTRIBUTOR): assign_by_hand(emulator, SUB_SCOPE, CONTRIBUTOR, principal),
        (RG_SCOPE.lower(), READER): assign_by_hand(emulator, RG_SCOPE, READER, principal),
        (THUMBNAILS.lower(), READER): assign_by_hand(emulator, THUMBNAILS, READER, principal),
    }

    same = converge(emulator, principal_id=principal, containers=["images"])
    assert_step_sound(same)
    assert same.check["changed"] is False and same.apply["changed"] is False
    assert [e for e in same.apply_log if e["write"]] == []
    assert {a["name"] for a in same.apply["assignments"]} == set(by_hand.values())
    assert (
        same.apply["diff"]["before"]
        == same.apply["diff"]["after"]
        == ("Storage Blob Data Reader @ container images\nStorage Blob Delegator @ account contosoimages\n")
    )
    for result in (same.check, same.apply, same.again):
        assert any("Storage Blob Data Reader @ container thumbnails" in w for w in result["warnings"]), result

    # Contributor inherited from the subscription does not count as Contributor on the container
    write = converge(emulator, principal_id=principal, containers=["images"], write=True)
    assert_step_sound(write)
    puts = role_writes(write.apply_log, "PUT")
    assert [(written_scope(e), written_role(e)) for e in puts] == [(IMAGES.lower(), CONTRIBUTOR)]
    assert role_writes(write.apply_log, "DELETE") == []
    assert held(emulator, principal).items() >= {**by_hand, **others}.items()

    gone = converge(emulator, principal_id=principal, containers=["images"], state="absent")
    assert_step_sound(gone)
    assert sorted(written_name(e) for e in role_writes(gone.apply_log, "DELETE")) == sorted(
        [*by_hand.values(), written_name(puts[0])]
    )
    assert held(emulator, principal) == others


def test_assignments_made_while_the_module_runs_count_as_present(emulator):
    """Between the module's listing and its PUTs, a person assigns Contributor by hand (random name:
    ARM answers the module 409 RoleAssignmentExists) and a concurrent run of the same task assigns
    Reader (the same deterministic name: ARM answers 200). Both are present, neither is 'created'."""
    principal = new_principal(emulator)
    args = dict(principal_id=principal, containers=["images", "thumbnails"], write=True)
    predicted = run_playbook(play({**roles_task("plan", **args), "check_mode": True}), env=env_for(emulator))
    reader_name = next(
        a["name"]
        for a in predicted.task("plan")["created"]
        if a["scope"] == THUMBNAILS and a["role_definition_id"].endswith(READER)
    )
    hand_name = str(uuid.uuid4())
    arm = arm_client(emulator)

    start = last_seq(emulator)
    emulator.faults(latency_ms=400)
    with ThreadPoolExecutor(3) as pool:
        running = pool.submit(run_playbook, play(roles_task("roles", **args)), env=env_for(emulator))
        deadline = time.monotonic() + 120
        while not any(
            e["method"] == "GET" and e["path"].endswith("/roleAssignments")
            for e in emulator.log(since=start, bodies=False)
        ):
            assert time.monotonic() < deadline and not running.done(), "the module never listed role assignments"
            time.sleep(0.02)
        # The module's PUTs go one by one, sorted: Delegator @ account, Reader and Contributor
        # @ images, then @ thumbnails; these two are handled while it is still on the first ones.
        others = [
            pool.submit(put_assignment, arm, THUMBNAILS, READER, principal, reader_name),
            pool.submit(put_assignment, arm, THUMBNAILS, CONTRIBUTOR, principal, hand_name),
        ]
        assert [f.result() for f in others] == [201, 201]
        run = running.result()
    emulator.faults()
    assert run.rc == 0, run.output
    result = run.task("roles")
    puts = role_writes(emulator.log(since=start), "PUT")
    statuses: dict[tuple[str, str], list[int]] = {}
    for e in puts:
        statuses.setdefault((written_scope(e), written_role(e), written_name(e)), []).append(e["status"])
    assert sorted(
        (scope, role, codes) for (scope, role, name), codes in statuses.items() if name != reader_name
    ) == sorted(
        [
            (ACCT.lower(), DELEGATOR, [201]),
            (IMAGES.lower(), READER, [201]),
            (IMAGES.lower(), CONTRIBUTOR, [201]),
            (THUMBNAILS.lower(), CONTRIBUTOR, [201]),  # by hand
            (THUMBNAILS.lower(), CONTRIBUTOR, [409]),  # the module's, under its own name
        ]
    )
    assert statuses[(THUMBNAILS.lower(), READER, reader_name)] == [201, 200]  # the concurrent run's, then the module's
    assert statuses[(THUMBNAILS.lower(), CONTRIBUTOR, hand_name)] == [201]
    assert [e["response_body"]["error"]["code"] for e in puts if e["status"] == 409] == ["RoleAssignmentExists"]

    assert result["changed"] is True
    assert returned_pairs(result["created"]) == pairs((ACCT, DELEGATOR), (IMAGES, READER), (IMAGES, CONTRIBUTOR))
    names = {(a["scope"].lower(), a["role_definition_id"].rsplit("/", 1)[-1]): a["name"] for a in result["assignments"]}
    assert names[(THUMBNAILS.lower(), READER)] == reader_name and names[(THUMBNAILS.lower(), CONTRIBUTOR)] == hand_name
    assert held(emulator, principal) == names, "no twins"
    again = run_playbook(play(roles_task("roles", **args)), env=env_for(emulator))
    assert again.rc == 0 and again.task("roles")["changed"] is False


def test_principal_type_avoids_most_of_the_replication_delay(emulator):
    emulator.faults(principal_replication_seconds=300)
    run = run_playbook(
        play(
            {"name": "principal", "v7labs.azure_storage.v7_service_principal": {}, "register": "v7_sp"},
            roles_task("roles", principal_id="{{ v7_sp.object_id }}", containers=["images"], replication_timeout=0),
        ),
        env=env_for(emulator),
    )
    assert run.rc == 0, run.output
    puts = role_writes(emulator.log(), "PUT")
    assert [e["status"] for e in puts] == [201, 201]


def test_principal_just_created_is_retried_until_replicated(emulator):
    # long enough that the roles step meets the delay even on a busy machine
    emulator.faults(principal_replication_seconds=20, principal_replication_ignores_type=True)
    run = run_playbook(
        play(
            {"name": "principal", "v7labs.azure_storage.v7_service_principal": {}, "register": "v7_sp"},
            roles_task("roles", principal_id="{{ v7_sp.object_id }}", containers=["images"], replication_timeout=90),
        ),
        env=env_for(emulator),
    )
    assert run.rc == 0, run.output
    assert run.task("principal")["changed"] is True
    result = run.task("roles")
    assert result["changed"] is True
    principal = run.task("principal")["object_id"]
    assert set(held(emulator, principal)) == pairs((IMAGES, READER), (ACCT, DELEGATOR))

    puts = role_writes(emulator.log(), "PUT")
    statuses = [e["status"] for e in puts]
    # the first assignment meets the delay: 400s, then 201; the second one goes straight through
    assert statuses[-2:] == [201, 201] and set(statuses[:-2]) == {400} and len(statuses) >= 3, statuses
    assert {e["response_body"]["error"]["code"] for e in puts[:-2]} == {"PrincipalNotFound"}
    assert len({e["path"] for e in puts[:-1]}) == 1, "the same assignment is retried under the same name"


def test_principal_not_found_beyond_replication_timeout_fails_and_says_why(emulator):
    emulator.faults(principal_replication_seconds=600, principal_replication_ignores_type=True)
    run = run_playbook(
        play(
            {"name": "principal", "v7labs.azure_storage.v7_service_principal": {}, "register": "v7_sp"},
            roles_task("roles", principal_id="{{ v7_sp.object_id }}", containers=["images"], replication_timeout=3),
        ),
        env=env_for(emulator),
    )
    assert run.rc != 0
    result = run.task("roles")
    principal = run.task("principal")["object_id"]
    assert run.statuses("roles") == {"localhost": "failed"} and result["changed"] is False
    assert result["error_code"] == "PrincipalNotFound"
    msg = result["msg"]
    for text in (
        "PrincipalNotFound",
        principal,
        "replication",
        "waited 3 s",
        "replication_timeout",
        "Nothing was changed",
    ):
        assert text in msg, msg
    puts = role_writes(emulator.log(), "PUT")
    assert len(puts) >= 2 and {e["status"] for e in puts} == {400}
    assert held(emulator, principal) == {}


def test_missing_account_resource_group_and_containers_are_named_before_any_write(emulator):
    principal = new_principal(emulator)
    start = last_seq(emulator)
    failing = {
        "no account": dict(storage_account="nosuchaccount"),
        "no group": dict(resource_group="rg-nosuch"),
        "no containers": dict(containers=["missing-one", "images", "missing-two"]),
        "no blob service": dict(storage_account="contosofiles"),
        "absent, no subscription": dict(state="absent", subscription_id="33333333-3333-4333-8333-333333333333"),
    }
    nothing_to_remove = {
        "absent, no account": dict(state="absent", storage_account="nosuchaccount", containers=["images"]),
        "absent, no group": dict(state="absent", resource_group="rg-nosuch"),
    }
    run = run_playbook(
        play(
            *[
                {**roles_task(name, principal_id=principal, write=True, **args), "ignore_errors": True}
                for name, args in {**failing, **nothing_to_remove}.items()
            ]
        ),
        env=env_for(emulator),
    )
    for name in failing:
        assert run.statuses(name) == {"localhost": "failed"}, name
        assert run.task(name)["changed"] is False
    for name in nothing_to_remove:
        assert run.statuses(name) == {"localhost": "ok"}, name
        assert run.task(name)["changed"] is False and run.task(name)["assignments"] == []
    messages = {name: run.task(name)["msg"] for name in failing}
    assert messages["no account"] == (
        f"The storage account nosuchaccount was not found in resource group {RG} (subscription {SUBSCRIPTION}): "
        "check storage_account, resource_group and subscription_id. Nothing was changed."
    )
    assert messages["no group"] == (
        f"The resource group rg-nosuch was not found in subscription {SUBSCRIPTION}: "
        "check resource_group and subscription_id. Nothing was changed."
    )
    assert (
        "Containers not found in storage account contosoimages: missing-one, missing-two. Create them" in messages["no containers"]
    )
    assert "images," not in messages["no containers"] and "Nothing was changed" in messages["no containers"]
    assert run.task("no containers")["error_code"] == "ContainerNotFound"
    assert "Storage account contosofiles cannot be used by V7: kind FileStorage" in messages["no blob service"]
    assert run.task("absent, no subscription")["error_code"] == "SubscriptionNotFound"
    assert "subscription_id" in messages["absent, no subscription"]
    assert [e for e in emulator.log(since=start) if e["write"]] == []
    assert held(emulator, principal) == {}


def test_caller_without_role_assignment_rights_is_told_which_role_it_needs(emulator):
    principal = new_principal(emulator)
    delegator = assign_by_hand(emulator, ACCT, DELEGATOR, principal)
    start = last_seq(emulator)
    run = run_playbook(
        play(
            {**roles_task("present", principal_id=principal, containers=["images"]), "ignore_errors": True},
            {**roles_task("absent", principal_id=principal, state="absent"), "ignore_errors": True},
        ),
        env=env_for(emulator, AUDITOR),
    )
    assert run.statuses("present") == run.statuses("absent") == {"localhost": "failed"}
    for name, action in (("present", "write"), ("absent", "delete")):
        result = run.task(name)
        assert result["error_code"] == "AuthorizationFailed" and result["status"] == 403
        assert result["changed"] is False
        msg = result["msg"]
        assert "Owner, User Access Administrator or Role Based Access Control Administrator" in msg, msg
        assert f"Microsoft.Authorization/roleAssignments/{action}" in msg, msg
        assert "Nothing was changed." in msg, msg
    writes = [e for e in emulator.log(since=start) if e["write"]]
    # one refused attempt each; the module stops at the first refusal
    assert [(e["method"], e["status"], e["caller"]) for e in writes] == [
        ("PUT", 403, AUDITOR["object_id"]),
        ("DELETE", 403, AUDITOR["object_id"]),
    ]
    assert held(emulator, principal) == {(ACCT.lower(), DELEGATOR): delegator}


CONTAINER_ADMIN = {
    "client_id": "aaaaaaaa-0000-4000-8000-000000000003",
    "object_id": "aaaaaaaa-0000-4000-8000-0000000000a3",
    "secret": "Em9-container-admin-Secret.contoso~0003",
}


def world_with_container_admin() -> dict:
    """The default world plus an identity that may assign roles on the images container only."""
    doc = default_world()
    tenant = doc["tenants"][0]
    tenant["identities"].append({**CONTAINER_ADMIN, "display_name": "images-admin"})
    tenant["role_assignments"] += [
        {"scope": SUB_SCOPE, "role": "Reader", "principal_id": CONTAINER_ADMIN["object_id"]},
        {"scope": IMAGES, "role": "User Access Administrator", "principal_id": CONTAINER_ADMIN["object_id"]},
    ]
    return doc


def test_failure_part_way_says_what_was_done(emulator):
    emulator.load_state(world_with_container_admin())
    principal = new_principal(emulator)
    account_reader = assign_by_hand(emulator, ACCT, READER, principal)
    start = last_seq(emulator)
    # narrowing to the container: the new assignment is allowed, removing the account-wide one is not
    run = run_playbook(
        play(roles_task("roles", principal_id=principal, containers=["images"], delegator=False)),
        env=env_for(emulator, CONTAINER_ADMIN),
    )
    assert run.statuses("roles") == {"localhost": "failed"}
    result = run.task("roles")
    assert result["changed"] is True and result["error_code"] == "AuthorizationFailed"
    assert returned_pairs(result["created"]) == pairs((IMAGES, READER)) and result["removed"] == []
    assert "Microsoft.Authorization/roleAssignments/delete" in result["msg"]
    assert result["msg"].endswith(
        "Done before this: assigned Storage Blob Data Reader @ container images; re-running the task does the rest."
    ), result["msg"]
    writes = [(e["method"], e["status"]) for e in emulator.log(since=start) if e["write"]]
    assert writes == [("PUT", 201), ("DELETE", 403)]
    assert held(emulator, principal) == {
        (ACCT.lower(), READER): account_reader,
        (IMAGES.lower(), READER): result["created"][0]["name"],
    }


def test_malformed_principal_id_fails_before_any_request(emulator):
    values = {
        "not a GUID": "not-a-guid",
        "a digit short": "5f3c8a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5",
        "V7's app id": V7_APP_ID,
    }
    messages = {
        "not a GUID": "must be the object id (a GUID)",
        "a digit short": "must be the object id (a GUID)",
        "V7's app id": "is V7's application (client) id",
    }
    run = run_playbook(
        play(*[{**roles_task(name, principal_id=value), "ignore_errors": True} for name, value in values.items()]),
        env=env_for(emulator),
    )
    for name, says in messages.items():
        assert run.statuses(name) == {"localhost": "failed"}, name
        assert says in run.task(name)["msg"], run.task(name)["msg"]
    assert emulator.log() == []


def default_world() -> dict:
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def twenty_accounts_world() -> dict:
    doc = default_world()
    group = doc["tenants"][0]["subscriptions"][0]["resource_groups"][0]
    group["storage_accounts"] = [
        {"name": f"v7fleet{i:02d}", "kind": "StorageV2", "sku": "Standard_LRS", "containers": ["darwin"]}
        for i in range(20)
    ]
    return doc


def test_twenty_accounts_at_once_with_forks(emulator, tmp_path):
    emulator.load_state(twenty_accounts_world())
    hosts = [f"v7fleet{i:02d}" for i in range(20)]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {host: {"storage_account": host} for host in hosts},
                    "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                }
            }
        ),
        encoding="utf-8",
    )
    tasks = play(
        {"name": "principal", "v7labs.azure_storage.v7_service_principal": {}, "register": "v7_sp", "run_once": True},
        {
            "name": "roles",
            MODULE: {
                "principal_id": "{{ v7_sp.object_id }}",
                "resource_group": RG,
                "storage_account": "{{ storage_account }}",
                "containers": ["darwin"],
                "write": True,
            },
        },
        hosts="all",
    )

    first = run_playbook(tasks, env=env_for(emulator), forks=10, inventory=str(inventory))
    assert first.rc == 0, first.output
    assert first.statuses("roles") == {host: "ok" for host in hosts}
    assert all(first.task("roles", host)["changed"] for host in hosts)
    principal = first.task("principal")["object_id"]
    assignments = held(emulator, principal)
    assert len(assignments) == 20 * 3
    for host in hosts:
        assert {key for key in assignments if f"/storageaccounts/{host}" in key[0]} == pairs(
            (container_scope("darwin", host), READER),
            (container_scope("darwin", host), CONTRIBUTOR),
            (account_scope(host), DELEGATOR),
        )

    start = last_seq(emulator)
    second = run_playbook(tasks, env=env_for(emulator), forks=10, inventory=str(inventory))
    assert second.rc == 0, second.output
    assert second.statuses("roles") == {host: "ok" for host in hosts}
    assert not any(second.task("roles", host)["changed"] for host in hosts)
    assert [e for e in emulator.log(since=start) if e["write"]] == []
    assert held(emulator, principal) == assignments
