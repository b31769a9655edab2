from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils.role_assignments import Assignment
from ansible_collections.v7labs.azure_storage.plugins.module_utils.v7 import CONTRIBUTOR, DELEGATOR, READER

SUB = "00000000-0000-0000-0000-000000000001"
RG = "rg-data"
ACCOUNT = "acme1"
PRINCIPAL = "5f3c8a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
OTHER_PRINCIPAL = "11111111-2222-3333-4444-555555555555"
BLOB_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"

ACCT = ra.account_scope(SUB, RG, ACCOUNT)
SUB_SCOPE = f"/subscriptions/{SUB}"


def scope_of(where: str) -> str:
    """'account', 'sub', or a container name."""
    if where == "account":
        return ACCT
    if where == "sub":
        return SUB_SCOPE
    return ra.container_scope(ACCT, where)


def existing(where: str, guid: str, principal: str = PRINCIPAL, name: str | None = None) -> Assignment:
    """An assignment as ARM lists it; the name defaults to a random one, as `az` would make."""
    scope = scope_of(where)
    name = name or str(uuid.uuid4())
    return Assignment(
        scope=scope,
        role_definition_id=ra.role_definition_id(SUB, guid),
        principal_id=principal,
        id=ra.assignment_id(scope, name),
        name=name,
    )


HAND_READER_ACCT = existing("account", READER)
HAND_DELEGATOR = existing("account", DELEGATOR)
HAND_READER_PHOTOS = existing("photos", READER)
HAND_CONTRIB_PHOTOS = existing("photos", CONTRIBUTOR)
HAND_READER_VIDEOS = existing("videos", READER)
SUB_READER = existing("sub", READER)
CUSTOMER_OWNER_ACCT = existing("account", BLOB_OWNER)
OTHER_PRINCIPAL_READER = existing("account", READER, principal=OTHER_PRINCIPAL)
UNMANAGED_CONTAINER_READER = existing("archive", READER)
ODD_CASE_READER = Assignment(
    scope=ACCT.replace("resourceGroups", "resourcegroups").upper() + "/",
    role_definition_id=f"/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/{READER.upper()}",
    principal_id=PRINCIPAL.upper(),
    id="/x/providers/Microsoft.Authorization/roleAssignments/odd",
    name="odd",
)
ODD_CASE_DELEGATOR = Assignment(
    scope=ACCT.lower(),
    role_definition_id=f"/providers/Microsoft.Authorization/roleDefinitions/{DELEGATOR.upper()}",
    principal_id=PRINCIPAL.upper(),
    id="/y/providers/Microsoft.Authorization/roleAssignments/odd2",
    name="odd2",
)

PLAN_CASES = [
    # id, current, containers, write, delegator, exclusive, state, expected creates, expected deletes
    ("fresh account, account scope", [], [], False, True, True, "present",
     {("account", READER), ("account", DELEGATOR)}, []),
    ("fresh account, write", [], [], True, True, True, "present",
     {("account", READER), ("account", CONTRIBUTOR), ("account", DELEGATOR)}, []),
    ("fresh account, containers, write", [], ["photos", "videos"], True, True, True, "present",
     {("photos", READER), ("photos", CONTRIBUTOR), ("videos", READER), ("videos", CONTRIBUTOR),
      ("account", DELEGATOR)}, []),
    ("fresh account, no delegator", [], ["photos"], False, False, True, "present",
     {("photos", READER)}, []),
    ("hand-made assignments with random names are present",
     [HAND_READER_PHOTOS, HAND_CONTRIB_PHOTOS, HAND_DELEGATOR], ["photos"], True, True, True, "present",
     set(), []),
    ("moving from account scope to container scope removes the account data role",
     [HAND_READER_ACCT, HAND_DELEGATOR], ["photos"], False, True, True, "present",
     {("photos", READER)}, [HAND_READER_ACCT]),
    ("moving to container scope without exclusive keeps the account data role",
     [HAND_READER_ACCT, HAND_DELEGATOR], ["photos"], False, True, False, "present",
     {("photos", READER)}, []),
    ("a role inherited from the subscription is neither enough nor removed",
     [SUB_READER], [], False, True, True, "present",
     {("account", READER), ("account", DELEGATOR)}, []),
    ("write turned off with exclusive removes Contributor",
     [HAND_READER_PHOTOS, HAND_CONTRIB_PHOTOS, HAND_DELEGATOR], ["photos"], False, True, True, "present",
     set(), [HAND_CONTRIB_PHOTOS]),
    ("write turned off without exclusive keeps Contributor",
     [HAND_READER_PHOTOS, HAND_CONTRIB_PHOTOS, HAND_DELEGATOR], ["photos"], False, True, False, "present",
     set(), []),
    ("delegator turned off with exclusive removes the Delegator",
     [HAND_READER_PHOTOS, HAND_DELEGATOR], ["photos"], False, False, True, "present",
     set(), [HAND_DELEGATOR]),
    ("a container no longer listed is not managed any more",
     [HAND_READER_PHOTOS, HAND_READER_VIDEOS, HAND_DELEGATOR], ["photos"], False, True, True, "present",
     set(), []),
    ("another principal and a customer role at the same scope are left alone",
     [OTHER_PRINCIPAL_READER, CUSTOMER_OWNER_ACCT], [], False, True, True, "present",
     {("account", READER), ("account", DELEGATOR)}, []),
    ("case differences in scope, GUIDs and principal still match",
     [ODD_CASE_READER, ODD_CASE_DELEGATOR], [], False, True, True, "present",
     set(), []),
    ("absent removes V7's roles only",
     [HAND_READER_ACCT, HAND_DELEGATOR, CUSTOMER_OWNER_ACCT, SUB_READER, OTHER_PRINCIPAL_READER,
      UNMANAGED_CONTAINER_READER, HAND_READER_PHOTOS, HAND_CONTRIB_PHOTOS],
     ["photos"], False, True, True, "absent",
     set(), [HAND_READER_ACCT, HAND_DELEGATOR, HAND_READER_PHOTOS, HAND_CONTRIB_PHOTOS]),
    ("absent ignores write, delegator and exclusive",
     [HAND_CONTRIB_PHOTOS, HAND_DELEGATOR], ["photos"], False, False, False, "absent",
     set(), [HAND_DELEGATOR, HAND_CONTRIB_PHOTOS]),
    ("absent a second time is a no-op",
     [CUSTOMER_OWNER_ACCT, SUB_READER, UNMANAGED_CONTAINER_READER], ["photos"], True, True, True, "absent",
     set(), []),
    ("absent with odd case still finds the assignments",
     [ODD_CASE_READER, ODD_CASE_DELEGATOR], [], False, True, True, "absent",
     set(), [ODD_CASE_READER, ODD_CASE_DELEGATOR]),
]


@pytest.mark.parametrize(
    "current, containers, write, delegator, exclusive, state, creates, deletes",
    [case[1:] for case in PLAN_CASES],
    ids=[case[0] for case in PLAN_CASES],
)
def test_plan(current, containers, write, delegator, exclusive, state, creates, deletes):
    wanted = ra.desired(SUB, RG, ACCOUNT, containers, write=write, delegator=delegator)
    to_create, to_delete = ra.plan(
        current,
        wanted,
        managed_scopes=ra.scopes(SUB, RG, ACCOUNT, containers),
        principal_id=PRINCIPAL,
        exclusive=exclusive,
        state=state,
    )
    assert set(to_create) == {(scope_of(where), guid) for where, guid in creates}
    assert len(to_create) == len(creates)
    assert sorted(a.id for a in to_delete) == sorted(a.id for a in deletes)


def test_plan_results_are_sorted():
    wanted = ra.desired(SUB, RG, ACCOUNT, ["zeta", "alpha"], write=True, delegator=True)
    to_create = ra.plan([], wanted, managed_scopes=ra.scopes(SUB, RG, ACCOUNT, ["zeta", "alpha"]),
                        principal_id=PRINCIPAL)[0]
    keys = [(scope.lower(), guid) for scope, guid in to_create]
    assert keys == sorted(keys)


def test_applying_the_plan_converges():
    containers = ["photos"]
    wanted = ra.desired(SUB, RG, ACCOUNT, containers, write=True, delegator=True)
    managed_scopes = ra.scopes(SUB, RG, ACCOUNT, containers)
    current = [HAND_READER_ACCT]
    to_create, to_delete = ra.plan(current, wanted, managed_scopes=managed_scopes, principal_id=PRINCIPAL)
    after = [a for a in current if a not in to_delete] + [
        ra.predicted(SUB, scope, guid, PRINCIPAL) for scope, guid in to_create
    ]
    assert ra.plan(after, wanted, managed_scopes=managed_scopes, principal_id=PRINCIPAL) == ([], [])


OTHER_ACCOUNT_READER = Assignment(
    scope=ra.container_scope(ra.account_scope(SUB, RG, ACCOUNT + "x"), "archive"),
    role_definition_id=ra.role_definition_id(SUB, READER),
    principal_id=PRINCIPAL,
    id="/z/providers/Microsoft.Authorization/roleAssignments/z",
    name="z",
)
UNMANAGED_CONTAINER_OWNER = existing("archive", BLOB_OWNER)


@pytest.mark.parametrize(
    "current, containers, expected",
    [
        ([UNMANAGED_CONTAINER_READER, HAND_READER_PHOTOS, HAND_DELEGATOR], ["photos"], [UNMANAGED_CONTAINER_READER]),
        ([UNMANAGED_CONTAINER_READER], ["archive"], []),
        # the account-level roles are managed whether or not containers are listed
        ([HAND_READER_ACCT, HAND_READER_PHOTOS], [], [HAND_READER_PHOTOS]),
        ([SUB_READER, OTHER_PRINCIPAL_READER, UNMANAGED_CONTAINER_OWNER, OTHER_ACCOUNT_READER], ["photos"], []),
        ([HAND_READER_VIDEOS, UNMANAGED_CONTAINER_READER], ["photos"], [UNMANAGED_CONTAINER_READER, HAND_READER_VIDEOS]),
    ],
    ids=["unlisted container", "listed container", "account scope", "not V7's", "sorted"],
)
def test_unlisted(current, containers, expected):
    assert ra.unlisted(current, ra.scopes(SUB, RG, ACCOUNT, containers), PRINCIPAL) == expected


@pytest.mark.parametrize(
    "containers, write, delegator, expected",
    [
        ([], False, True, {("account", READER), ("account", DELEGATOR)}),
        ([], False, False, {("account", READER)}),
        (["photos", "photos"], True, False, {("photos", READER), ("photos", CONTRIBUTOR)}),
        (["a1b", "c2d"], False, True, {("a1b", READER), ("c2d", READER), ("account", DELEGATOR)}),
    ],
)
def test_desired(containers, write, delegator, expected):
    got = ra.desired(SUB, RG, ACCOUNT, containers, write=write, delegator=delegator)
    assert got == {(scope_of(where), guid) for where, guid in expected}


def test_scopes():
    assert ra.scopes(SUB, RG, ACCOUNT, ["photos", "videos", "photos"]) == [
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}",
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
        "/blobServices/default/containers/photos",
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
        "/blobServices/default/containers/videos",
    ]


@pytest.mark.parametrize(
    "a, b, same",
    [
        ((ACCT, READER, PRINCIPAL), (ACCT, READER, PRINCIPAL), True),
        ((ACCT, READER, PRINCIPAL), (ACCT.upper() + "/", READER.upper(), PRINCIPAL.upper()), True),
        ((ACCT, READER, PRINCIPAL), (ACCT, CONTRIBUTOR, PRINCIPAL), False),
        ((ACCT, READER, PRINCIPAL), (scope_of("photos"), READER, PRINCIPAL), False),
        ((ACCT, READER, PRINCIPAL), (ACCT, READER, OTHER_PRINCIPAL), False),
    ],
)
def test_assignment_name_is_deterministic(a, b, same):
    assert (ra.assignment_name(*a) == ra.assignment_name(*b)) is same


def test_assignment_name_is_a_stable_uuid5():
    name = ra.assignment_name(ACCT, READER, PRINCIPAL)
    assert uuid.UUID(name).version == 5
    # Pinned: a change here renames every assignment already made, so make it only on purpose.
    expected_seed = f"{ACCT.lower()}|{READER}|{PRINCIPAL}"
    assert name == str(uuid.uuid5(uuid.UUID("b0f3164a-fd80-4a00-a645-21021d586797"), expected_seed))


@pytest.mark.parametrize(
    "assignment, text",
    [
        (existing("photos", READER), "Storage Blob Data Reader @ container photos"),
        (existing("account", DELEGATOR), "Storage Blob Delegator @ account acme1"),
        (existing("account", CONTRIBUTOR), "Storage Blob Data Contributor @ account acme1"),
        (ODD_CASE_READER, "Storage Blob Data Reader @ account ACME1"),
        (existing("sub", BLOB_OWNER), f"{BLOB_OWNER} @ /subscriptions/{SUB}"),
    ],
)
def test_describe(assignment, text):
    assert ra.label(assignment) == text


def test_diff_text_is_sorted_lines():
    text = ra.diff_text([existing("account", DELEGATOR), existing("videos", READER), existing("photos", READER)])
    assert text == (
        "Storage Blob Data Reader @ container photos\n"
        "Storage Blob Data Reader @ container videos\n"
        "Storage Blob Delegator @ account acme1\n"
    )
    assert ra.diff_text([]) == ""


@pytest.mark.parametrize(
    "definition_id, guid",
    [
        (f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}", READER),
        (f"/providers/Microsoft.Authorization/roleDefinitions/{DELEGATOR.upper()}", DELEGATOR),
        (CONTRIBUTOR, CONTRIBUTOR),
    ],
)
def test_role_guid(definition_id, guid):
    assert ra.role_guid(definition_id) == guid


@pytest.mark.parametrize(
    "timeout, delays",
    [
        (0, []),
        (1, [1.0]),
        (10, [2.0, 4.0, 4.0]),
        (120, [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]),
    ],
)
def test_retry_delays(timeout, delays):
    assert ra.retry_delays(timeout) == delays


def test_from_api_and_to_dict():
    sdk = SimpleNamespace(
        id=f"{ACCT}/providers/Microsoft.Authorization/roleAssignments/n1",
        name="n1",
        scope=ACCT,
        role_definition_id=ra.role_definition_id(SUB, DELEGATOR),
        principal_id=PRINCIPAL,
    )
    assert ra.from_api(sdk).to_dict() == {
        "id": sdk.id,
        "name": "n1",
        "scope": ACCT,
        "role_definition_id": sdk.role_definition_id,
        "role_name": "Storage Blob Delegator",
        "principal_id": PRINCIPAL,
    }


def test_predicted_matches_the_deterministic_name():
    a = ra.predicted(SUB, scope_of("photos"), READER, PRINCIPAL)
    assert a.name == ra.assignment_name(scope_of("photos"), READER, PRINCIPAL)
    assert a.id == f"{scope_of('photos')}/providers/Microsoft.Authorization/roleAssignments/{a.name}"
    assert a.role_definition_id == f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"


def test_to_be_created_names_them_as_arm_will_or_waits_for_the_principal():
    scope = ra.account_scope("s", "rg", "acct")
    named = ra.to_be_created("s", [(scope, READER)], "dddddddd-0000-4000-8000-0000000000d1")
    assert named == [ra.predicted("s", scope, READER, "dddddddd-0000-4000-8000-0000000000d1")]
    pending = ra.to_be_created("s", [(scope, READER)], None)
    assert [(a.principal_id, a.id, a.role_definition_id) for a in pending] == [
        (ra.PENDING_PRINCIPAL, None, ra.role_definition_id("s", READER))]
