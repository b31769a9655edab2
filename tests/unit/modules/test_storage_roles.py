"""v7_storage_roles: read -> desired -> plan -> apply, over an in-memory storage account (no network).

PrincipalNotFound retries and 409 RoleAssignmentExists live in the resource layer; here they are
outcomes of the fake's create_assignment.
"""
from __future__ import annotations

import pytest

from fakes import (ACCOUNT, ACCOUNT_SCOPE, ALREADY_200, EXISTS_UNLISTED, FILE_STORAGE_REFUSAL, OTHER_PRINCIPAL, PRINCIPAL, SUB,
                   FakeAccount, account_body, api_error, assignment, container_body, fake_module)

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import NotFound
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_storage_roles as module

ROLE = {"R": v7.READER, "C": v7.CONTRIBUTOR, "D": v7.DELEGATOR}
NAME = {"R": "Storage Blob Data Reader", "C": "Storage Blob Data Contributor", "D": "Storage Blob Delegator"}
BLOB_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"  # Storage Blob Data Owner: not one of V7's roles
CONTAINERS = [container_body("photos"), container_body("videos")]


def held(*items, principal=PRINCIPAL):
    """'R@account', 'C@photos', 'D@rg', ..."""
    out = []
    for item in items:
        role, where = item.split("@")
        out.append(assignment(where, ROLE.get(role, role), principal))
    return out


def lbl(item: str) -> str:
    role, where = item.split("@")
    return f"{NAME[role]} @ {'account ' + ACCOUNT if where == 'account' else 'container ' + where}"


def labels(dicts) -> list[str]:
    return [f"{d['role_name']} @ {ra.short_scope(d['scope'])}" for d in dicts]


def run(account, *, check=False, diff=True, **params):
    params.setdefault("principal_id", PRINCIPAL)
    mod = fake_module(module.ARGUMENT_SPEC, check=check, diff=diff, **params)
    return module.ensure(mod, account), mod


# ---------------------------------------------------------------- state=present

PRESENT = {
    "nothing yet: Reader and Delegator on the account": (
        [], {}, ["R@account", "D@account"], [], ["D@account", "R@account"]),
    "assignments made by hand count": (
        ["R@account", "D@account"], {}, [], [], ["D@account", "R@account"]),
    "write adds Contributor": (
        ["R@account", "D@account"], {"write": True}, ["C@account"], [], ["C@account", "D@account", "R@account"]),
    "write off removes Contributor": (
        ["R@account", "C@account", "D@account"], {}, [], ["C@account"], ["D@account", "R@account"]),
    "not exclusive: nothing is removed": (
        ["R@account", "C@account", "D@account"], {"exclusive": False}, [], [], ["C@account", "D@account", "R@account"]),
    "delegator off removes the Delegator": (
        ["R@account", "D@account"], {"delegator": False}, [], ["D@account"], ["R@account"]),
    "listing containers narrows the data roles, creating before removing": (
        ["R@account", "C@account", "D@account"], {"containers": ["photos", "videos"], "write": True},
        ["R@photos", "C@photos", "R@videos", "C@videos"], ["R@account", "C@account"],
        ["C@photos", "C@videos", "D@account", "R@photos", "R@videos"]),
    "a container listed twice is assigned once": (
        ["D@account"], {"containers": ["photos", "photos"]}, ["R@photos"], [], ["D@account", "R@photos"]),
    "roles inherited from the resource group do not count": (
        ["R@rg", "D@sub"], {}, ["R@account", "D@account"], [], ["D@account", "R@account"]),
    "another principal's roles do not count": (
        [], {}, ["R@account", "D@account"], [], ["D@account", "R@account"]),
    "other roles of the principal stay": (
        [f"{BLOB_OWNER}@account", "R@account", "D@account"], {}, [], [], ["D@account", "R@account"]),
}


def world(items):
    return held(*items) + held("R@account", "D@account", principal=OTHER_PRINCIPAL)


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize(("existing", "params", "created", "removed", "after"), PRESENT.values(), ids=PRESENT.keys())
def test_present(existing, params, created, removed, after, check):
    account = FakeAccount(account_body(), containers=CONTAINERS, assignments=world(existing))
    result, mod = run(account, check=check, **params)
    assert result["changed"] is bool(created or removed)
    assert labels(result["created"]) == [lbl(c) for c in created]
    assert labels(result["removed"]) == [lbl(r) for r in removed]
    assert labels(result["assignments"]) == sorted(lbl(a) for a in after)  # sorted by label, as the diff
    assert all(a["principal_id"] == PRINCIPAL for a in result["assignments"])
    expected_writes = [("create_assignment", lbl(c)) for c in created] + [("delete_assignment", lbl(r)) for r in removed]
    assert account.writes == ([] if check else expected_writes)
    header = f"V7 storage roles of {PRINCIPAL} on {ACCOUNT}"
    assert result["diff"]["before_header"] == result["diff"]["after_header"] == header
    assert result["diff"]["after"] == "".join(f"{line}\n" for line in sorted(map(lbl, after)))
    assert mod.warnings == []


@pytest.mark.parametrize(("existing", "params"), [(e, p) for e, p, c, r, _a in PRESENT.values() if not c and not r])
def test_nothing_to_create_costs_one_request(existing, params):
    """When V7 holds what it needs, the account and containers are not read again."""
    account = FakeAccount(account_body(), containers=CONTAINERS, assignments=world(existing))
    result, _module = run(account, **params)
    assert result["changed"] is False and account.reads == ["assignments_at"]


def test_check_mode_predicts_exactly_what_apply_creates():
    params = {"containers": ["photos", "videos"], "write": True}
    predicted, _module = run(FakeAccount(account_body(), containers=CONTAINERS), check=True, **params)
    applied, _module = run(FakeAccount(account_body(), containers=CONTAINERS), **params)
    assert predicted == applied
    assert all(a["id"] and a["name"] for a in applied["created"])


def test_second_run_changes_nothing():
    account = FakeAccount(account_body(), containers=CONTAINERS)
    first, _module = run(account, containers=["photos"], write=True)
    second, _module = run(account, containers=["photos"], write=True)
    assert (first["changed"], second["changed"]) == (True, False)
    assert second["assignments"] == first["assignments"]
    assert len(account.writes) == 3


def test_replication_timeout_reaches_every_create():
    account = FakeAccount(account_body())
    run(account, replication_timeout=7)
    timeouts = {call[-1] for call in account.calls if call[0] == "create_assignment"}
    assert timeouts == {7}


def test_unlisted_containers_are_left_alone_with_a_warning():
    account = FakeAccount(account_body(), containers=CONTAINERS,
                          assignments=held("D@account", "R@photos", "R@videos", "C@videos"))
    result, mod = run(account, containers=["photos"])
    assert result["changed"] is False and account.writes == []
    assert mod.warnings == [
        f"The service principal {PRINCIPAL} also holds Storage Blob Data Reader @ container videos; "
        "Storage Blob Data Contributor @ container videos, on containers not listed in containers; this task leaves "
        "those roles alone. List the containers to keep or remove them."]


def test_no_diff_without_diff_mode():
    result, _module = run(FakeAccount(account_body()), diff=False)
    assert "diff" not in result and result["changed"] is True


# ---------------------------------------------------------------- check mode before the principal exists


def test_check_mode_without_principal_shows_every_assignment_for_the_principal_to_be_created():
    account = FakeAccount(account_body(), containers=CONTAINERS)
    result, mod = run(account, check=True, principal_id=None, containers=["photos"], write=True)
    assert result["changed"] is True
    assert labels(result["created"]) == [lbl("D@account"), lbl("R@photos"), lbl("C@photos")]
    assert {(a["principal_id"], a["id"], a["name"]) for a in result["created"]} == {(ra.PENDING_PRINCIPAL, None, None)}
    assert result["removed"] == []
    assert result["diff"]["before"] == "" and result["diff"]["after_header"].startswith(
        f"V7 storage roles of {ra.PENDING_PRINCIPAL} on")
    # nothing to list for a principal that does not exist; the targets are still checked
    assert "assignments_at" not in account.reads and account.reads[0] == "read"
    assert account.writes == [] and mod.warnings == []


def test_without_principal_outside_check_mode_fails_naming_principal_id():
    account = FakeAccount(account_body())
    with pytest.raises(InputError) as caught:
        run(account, principal_id=None)
    assert [p.split(":")[0] for p in caught.value.problems] == ["principal_id"]
    assert account.calls == []


@pytest.mark.parametrize(
    ("check", "created_containers", "missing"),
    [
        (True, ["new"], None),
        (True, [], "new"),
        (False, ["new"], "new"),  # outside check mode every container must exist
        (True, ["photos", "new"], None),
    ],
)
def test_created_containers_count_as_existing_in_check_mode_only(check, created_containers, missing):
    account = FakeAccount(account_body(), containers=CONTAINERS)
    params = dict(containers=["photos", "new"], created_containers=created_containers, principal_id=None if check else PRINCIPAL)
    if missing is None:
        result, _module = run(account, check=True, **params)
        assert lbl("R@new") in labels(result["created"])
        assert ("container", "new") not in account.calls
    else:
        with pytest.raises(NotFound) as caught:
            run(account, check=check, **params)
        assert caught.value.kind == "container"
        assert f"Containers not found in storage account {ACCOUNT}: {missing}." in str(caught.value)
    assert account.writes == []


# ---------------------------------------------------------------- state=absent


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize(
    ("existing", "containers", "removed", "kept"),
    [
        (["R@account", "C@account", "D@account"], [], ["R@account", "C@account", "D@account"], []),
        (["D@account", "R@photos", "R@videos"], ["photos"], ["D@account", "R@photos"], ["R@videos"]),
        (["R@rg", f"{BLOB_OWNER}@account", "D@account"], [], ["D@account"], ["R@rg", f"{BLOB_OWNER}@account"]),
        ([], ["photos"], [], []),
    ],
)
def test_absent_removes_only_v7s_roles_at_the_managed_scopes(existing, containers, removed, kept, check):
    account = FakeAccount(account_body(), containers=CONTAINERS, assignments=world(existing))
    before = list(account.held)
    result, _module = run(account, check=check, state="absent", containers=containers)
    assert result["changed"] is bool(removed)
    assert sorted(labels(result["removed"])) == sorted(lbl(r) for r in removed)
    assert result["created"] == [] and result["assignments"] == []
    if check:
        assert account.writes == [] and account.held == before
    else:
        assert sorted(w[1] for w in account.writes) == sorted(lbl(r) for r in removed)
        left = [a for a in account.held if a.principal_id == PRINCIPAL]
        assert sorted(map(ra.label, left)) == sorted(ra.label(a) for a in held(*kept))
    # absent never checks that the targets exist
    assert "read" not in account.reads and "container" not in account.reads


@pytest.mark.parametrize("account", [FakeAccount(None), FakeAccount(None, group_missing=True)], ids=["account", "group"])
def test_absent_where_the_account_or_group_is_gone_has_nothing_to_remove(account):
    result, _module = run(account, state="absent")
    assert result == {"changed": False, "assignments": [], "created": [], "removed": [],
                      "diff": {"before": "", "after": "", "before_header": f"V7 storage roles of {PRINCIPAL} on {ACCOUNT}",
                               "after_header": f"V7 storage roles of {PRINCIPAL} on {ACCOUNT}"}}


def test_absent_in_a_missing_subscription_fails():
    gone = NotFound("subscription", f"The subscription {SUB} was not found, or the signed-in identity cannot see it: "
                                    "check subscription_id.", "SubscriptionNotFound")
    account = FakeAccount(account_body(), fail={"assignments_at": gone})
    with pytest.raises(NotFound) as caught:
        run(account, state="absent")
    assert caught.value is gone


# ---------------------------------------------------------------- what Azure answers to a create


@pytest.mark.parametrize(
    ("outcome", "changed"),
    [(EXISTS_UNLISTED, False), (ALREADY_200, False), (None, True)],
)
def test_create_that_finds_the_assignment_there(outcome, changed):
    account = FakeAccount(account_body(), assignments=held("D@account"),
                          outcomes={(ACCOUNT_SCOPE, v7.READER): outcome} if outcome else {})
    result, _module = run(account)
    assert result["changed"] is changed
    assert labels(result["assignments"]) == [lbl("R@account"), lbl("D@account")]
    assert labels(result["created"]) == ([lbl("R@account")] if changed else [])
    reader = [a for a in result["assignments"] if a["role_name"] == NAME["R"]][0]
    # an assignment Azure says exists but does not list yet has no id nor name
    assert (reader["id"] is None) is (outcome == EXISTS_UNLISTED)


@pytest.mark.parametrize("outcome", [EXISTS_UNLISTED, ALREADY_200])
def test_assignment_already_there_shows_no_change_in_the_diff(outcome):
    account = FakeAccount(account_body(), assignments=held("D@account"), outcomes={(ACCOUNT_SCOPE, v7.READER): outcome})
    result, _module = run(account)
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_create_finding_a_twin_made_by_hand_returns_the_twin():
    """409 RoleAssignmentExists under another name: the existing one is reported, not a new one."""
    twin = assignment("account", v7.READER, name="by-hand")
    account = FakeAccount(account_body(), assignments=held("D@account"))
    account.fail["create_assignment"] = lambda *args: account.held.append(twin)  # appears after the listing
    result, _module = run(account)
    assert result["changed"] is False and result["created"] == []
    assert [a["name"] for a in result["assignments"] if a["role_name"] == NAME["R"]] == ["by-hand"]
    assert account.writes == []


def test_principal_not_found_after_the_retries_fails_with_nothing_changed():
    slow = AzureApiError(f"Failed to assign Storage Blob Data Reader on account {ACCOUNT}: PrincipalNotFound. The "
                         f"service principal {PRINCIPAL} is not yet visible to Azure Resource Manager (waited 120 s). "
                         "Re-run the task, or raise replication_timeout.", status=400, code="PrincipalNotFound")
    account = FakeAccount(account_body(), outcomes={(ACCOUNT_SCOPE, v7.READER): slow})
    with pytest.raises(AzureApiError) as caught:
        run(account)
    assert caught.value.code == "PrincipalNotFound" and caught.value.status == 400
    assert str(caught.value).startswith(str(slow)) and str(caught.value).endswith(" Nothing was changed.")
    assert "replication_timeout" in str(caught.value)
    assert caught.value.result == {"changed": False, "created": [], "removed": []}
    assert account.writes == []


def test_failure_after_a_partial_apply_says_what_was_done():
    refused = api_error("AuthorizationFailed", 403, "does not have authorization to perform action "
                        "'Microsoft.Authorization/roleAssignments/write'")
    account = FakeAccount(account_body(), containers=CONTAINERS, assignments=held("R@account", "D@account"),
                          outcomes={(ra.container_scope(ACCOUNT_SCOPE, "videos"), v7.READER): refused})
    with pytest.raises(AzureApiError) as caught:
        run(account, containers=["photos", "videos"])
    err = caught.value
    assert err.code == "AuthorizationFailed" and err.status == 403
    assert str(err) == (f"{refused} Done before this: assigned {lbl('R@photos')}; re-running the task does the rest.")
    assert err.result["changed"] is True
    assert labels(err.result["created"]) == [lbl("R@photos")] and err.result["removed"] == []
    # the account-wide Reader is not removed before every container role is in place
    assert account.writes == [("create_assignment", lbl("R@photos"))]


def test_failure_while_removing_reports_creates_and_removals_done():
    refused = api_error("AuthorizationFailed", 403)
    account = FakeAccount(account_body(), containers=CONTAINERS, assignments=held("R@account", "C@account", "D@account"))
    account.fail["delete_assignment"] = lambda assignment_id: refused if "/roleAssignments/hand-account-ba92" in assignment_id else None
    with pytest.raises(AzureApiError) as caught:
        run(account, containers=["photos"])
    err = caught.value
    assert str(err).endswith(f"Done before this: assigned {lbl('R@photos')}; removed {lbl('R@account')}; "
                             "re-running the task does the rest.")
    assert labels(err.result["created"]) == [lbl("R@photos")] and labels(err.result["removed"]) == [lbl("R@account")]
    assert err.result["changed"] is True


def test_listing_refused_says_which_rights_are_missing():
    account = FakeAccount(account_body(), fail={"assignments_at": api_error("AuthorizationFailed", 403)})
    with pytest.raises(AzureApiError) as caught:
        run(account)
    message = str(caught.value)
    assert f"lacks Microsoft.Authorization/roleAssignments/read on {ACCOUNT_SCOPE}" in message
    assert "/write and /delete" in message and message.endswith("Nothing was changed.")
    assert caught.value.code == "AuthorizationFailed" and account.writes == []


# ---------------------------------------------------------------- targets and inputs


@pytest.mark.parametrize("check", [False, True])
def test_targets_are_checked_before_any_write(check):
    account = FakeAccount(account_body(), containers=CONTAINERS[:1])
    with pytest.raises(NotFound) as caught:
        run(account, check=check, containers=["photos", "new", "old", "new"])
    assert f"Containers not found in storage account {ACCOUNT}: new, old." in str(caught.value)
    assert account.writes == []


def test_file_storage_account_is_refused_before_any_write():
    account = FakeAccount(account_body("FileStorage", "Premium_LRS"))
    with pytest.raises(AzureApiError) as caught:
        run(account)
    assert caught.value.code == "FeatureNotSupportedForAccount"
    assert str(caught.value) == FILE_STORAGE_REFUSAL and account.writes == []


@pytest.mark.parametrize(
    ("params", "options", "needle"),
    [
        ({"principal_id": v7.APP_ID}, ["principal_id"], "is V7's application (client) id"),
        ({"principal_id": "darwin-storage"}, ["principal_id"], "is not a GUID"),
        ({"replication_timeout": -1}, ["replication_timeout"], "-1 is negative"),
        ({"containers": ["Photos"]}, ["containers"], "'Photos' is not a container name"),
        ({"created_containers": ["x"]}, ["created_containers"], "'x' is not a container name"),
        ({"principal_id": "x", "storage_account": "a", "containers": ["ok-name", "b_"]},
         ["storage_account", "principal_id", "containers"], "is not a storage account name"),
    ],
)
def test_bad_options_are_named_before_any_request(params, options, needle):
    account = FakeAccount(account_body())
    with pytest.raises(InputError) as caught:
        run(account, **params)
    assert [p.split(":")[0] for p in caught.value.problems] == options
    assert needle in str(caught.value) and "Nothing was sent to Azure" in str(caught.value)
    assert account.calls == []


def test_argument_spec_defaults_are_v7s_facts():
    assert module.ARGUMENT_SPEC["replication_timeout"]["default"] == v7.REPLICATION_TIMEOUT
    account = FakeAccount(account_body())
    run(account)
    assert {c[-1] for c in account.calls if c[0] == "create_assignment"} == {v7.REPLICATION_TIMEOUT}
    # the roles assigned are V7's role definitions, in this subscription
    assert {a.role_definition_id for a in account.held} == {ra.role_definition_id(SUB, g) for g in (v7.READER, v7.DELEGATOR)}
