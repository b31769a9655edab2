"""The storage_integration role's decisions, as plain functions (no Ansible run, no network)."""
from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils import validation
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import rename_options
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TENANT = "11111111-1111-4111-8111-111111111111"
SUB = "22222222-2222-4222-8222-222222222222"
OID = "dddddddd-0000-4000-8000-0000000000d1"
BASE = {"v7_tenant_id": TENANT, "v7_subscription_id": SUB, "v7_resource_group": "rg-data",
        "v7_prefix": "images/v7", "v7_team": "Contoso Vision"}


def checked(**overrides):
    return si.check_account_vars({**BASE, **overrides}, "acct1")


def problems(**overrides):
    with pytest.raises(InputError) as caught:
        checked(**overrides)
    return caught.value.problems


def test_defaults_come_from_v7_and_every_value_has_one_form():
    account = checked(v7_write="yes", v7_tenant_id=TENANT.upper())
    assert account["storage_account"] == "acct1" and account["tenant_id"] == TENANT
    assert account["origins"] == list(v7.ORIGINS) and account["replication_timeout"] == v7.REPLICATION_TIMEOUT
    assert account["write"] is True and account["team_slug"] == "contoso-vision"
    assert account["prefix_container"] == "images" and account["role_containers"] == []
    assert account["tenant_group"] == "v7_tenant_11111111_1111_4111_8111_111111111111"


def test_the_prefix_container_joins_listed_containers():
    assert checked(v7_containers=["raw"])["role_containers"] == ["raw", "images"]
    assert checked(v7_containers=["images", "raw"])["role_containers"] == ["images", "raw"]


@pytest.mark.parametrize(("overrides", "wanted"), [
    ({"v7_writ": True}, "v7_writ: not a variable of the storage_integration role; did you mean v7_write?"),
    ({"v7_containers": "images"}, "v7_containers: 'images' is not a list"),
    ({"v7_ips": ["10.0.0.1"]}, "v7_ips: '10.0.0.1' is a private (RFC 1918) address"),
    ({"v7_ips": ["198.51.100.1/24"]}, "v7_ips: '198.51.100.1/24' has host bits set"),
    ({"v7_origins": ["http://example.com:99999"]}, "v7_origins: 'http://example.com:99999' is not an http(s) origin"),
    ({"v7_prefix": "images"}, "v7_prefix: 'images' is not in the form container-name/folder-name"),
    ({"v7_prefix": "Images/v7"}, "v7_prefix: the container part of 'Images/v7', 'Images' is not a container name"),
    ({"v7_team": "a/b"}, "v7_team: 'a/b' must be the V7 team's name"),
    ({"v7_firewall_policy": "block"}, "v7_firewall_policy: 'block' is not one of warn, fail, ignore"),
    ({"v7_replication_timeout": -1}, "v7_replication_timeout: -1 must be a whole number of seconds"),
    ({"v7_write": "maybe"}, "v7_write: 'maybe' is not true or false"),
    ({"v7_principal_object_id": v7.APP_ID}, "is V7's application (client) id"),
    ({"v7_azure_auth": {"client_secret": "x"}}, "v7_azure_auth.client_secret: not a sign-in option of the modules; "
                                                "did you mean secret?"),
    ({"v7_azure_auth": {"client_id": "ops"}}, "v7_azure_auth.client_id: 'ops' is not an application (client) ID"),
    ({"v7_azure_auth": {"cloud_environment": "AzurePublic"}}, "v7_azure_auth.cloud_environment: Unknown"),
    ({"v7_tenant_id": None}, "v7_tenant_id: required, and not set for acct1"),
])
def test_each_mistake_is_named_with_how_to_write_it(overrides, wanted):
    assert any(wanted in p for p in problems(**overrides)), problems(**overrides)


def test_every_mistake_at_once():
    found = problems(v7_storage_account="Bad_Name", v7_ips=["x"], v7_origins=[])
    assert [p.split(":")[0] for p in found] == ["v7_storage_account", "v7_origins", "v7_ips"]


def test_the_role_uses_the_modules_checks():
    # one copy of each form: the same message the modules give, under the variable's name
    assert validation.account_name_problem("Bad_Name", "v7_storage_account") in problems(v7_storage_account="Bad_Name")
    assert validation.origin_problem("ftp://x", "v7_origins", allow_star=False) in problems(v7_origins=["ftp://x"])


@pytest.mark.parametrize(("tags", "fails"), [
    ([], False), (["all"], False), (["v7_cors"], False), (["cors"], True), (["always"], True), (["v7_roles", "x"], False),
])
def test_tags_that_select_no_step(tags, fails):
    assert (si.tag_problem(tags) is not None) is fails


def test_the_argument_specs_document_the_defaults_the_role_applies():
    with open(os.path.join(ROOT, "roles", "storage_integration", "meta", "argument_specs.yml"), encoding="utf-8") as f:
        specs = yaml.safe_load(f)["argument_specs"]
    for entry in specs.values():
        for name, option in entry["options"].items():
            assert name in si.VARIABLES, name
            if name in si.REQUIRED:
                assert option.get("required") is True, name
            elif "default" in option and name != "v7_activation_dir":
                assert option["default"] == si.DEFAULTS[name], name


@pytest.mark.parametrize(("results", "wanted"), [
    ([], {"object_id": None, "known": False, "pending": False, "error": None}),
    ([("lookup", {"skipped": True}), ("lookup", {"object_id": OID})],
     {"object_id": OID, "known": True, "pending": False, "error": None}),
    ([("create", {"changed": True, "object_id": None}), ("lookup", {"object_id": None})],
     {"object_id": None, "known": True, "pending": True, "error": None}),
    ([("lookup", {"failed": False, "msg": "Authorization_RequestDenied"})],
     {"object_id": None, "known": False, "pending": False, "error": "Authorization_RequestDenied"}),
])
def test_what_is_known_of_the_principal(results, wanted):
    assert si.tenant_principal(results) == wanted


def info(issues=(), roles=None, cors=None, missing=()):
    return {"issues": list(issues), "v7_roles": roles, "blob_cors": cors, "missing_containers": list(missing)}


def issue(code, message, **extra):
    return dict(extra, code=code, message=message)


@pytest.mark.parametrize(("policy", "code", "where"), [
    ("warn", "firewall_missing_v7_ips", "blocked_by"), ("fail", "firewall_missing_v7_ips", "blockers"),
    ("ignore", "firewall_missing_v7_ips", "cautions"), ("ignore", "public_access_disabled", "blocked_by"),
    ("warn", "cors_limits", "blockers"), ("warn", "operator_lacks_right", "blockers"),
])
def test_what_stops_an_account_before_its_first_write(policy, code, where):
    account = checked(v7_firewall_policy=policy)
    verdict = si.preflight_verdict(account, info([issue(code, "it")]))
    assert [k for k, v in verdict.items() if v] == [where]


def test_the_missing_prefix_container_is_created_not_a_stop():
    account = checked()
    found = info([issue("container_missing", "c", container="images"), issue("container_missing", "d", container="x")],
                 missing=["images", "x"])
    assert si.preflight_verdict(account, found)["blockers"] == ["d"]
    assert si.needs_container(account, found)


def _assignment(scope, guid):
    return {"scope": scope, "role_definition_id": f"/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            "role_name": v7.ROLE_NAMES[guid]}


ACCOUNT_SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/acct1"
V7_RULES = [{"allowedOrigins": [v7.ORIGIN], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"]}]


def test_state_is_read_from_azure_s_answers():
    account = checked()
    principal = {"object_id": OID}
    held = [_assignment(ACCOUNT_SCOPE, v7.READER), _assignment(ACCOUNT_SCOPE, v7.DELEGATOR)]
    found = info(roles={"assignments": held[:1], "to_create": [1], "to_remove": []}, cors={"rules": []})
    # before the writes: what the reads said
    before = si.account_state(account, found, principal)
    assert before["state"] == si.FAILED
    assert before["lacks"] == ["V7 lacks Storage Blob Delegator on storage account acct1",
                               f"the Blob CORS rules do not let {v7.ORIGIN} send GET, PUT requests"]
    # after them: the replies, not what was meant
    after = si.account_state(account, found, principal, roles={"assignments": held}, cors={"cors_rules": V7_RULES})
    assert after == {"state": si.READY, "lacks": [], "blocked_by": [], "cautions": []}
    short = si.account_state(account, found, principal, roles={"assignments": held[:1]}, cors={"cors_rules": V7_RULES})
    assert short["lacks"] == ["V7 lacks Storage Blob Delegator on storage account acct1"]


def test_blocked_and_a_principal_still_to_be_created():
    account = checked()
    held = [_assignment(ACCOUNT_SCOPE, v7.READER), _assignment(ACCOUNT_SCOPE, v7.DELEGATOR)]
    found = info([issue("firewall_missing_v7_ips", "the firewall keeps V7 out")],
                 roles={"assignments": [], "to_create": [], "to_remove": []}, cors={"rules": V7_RULES})
    state = si.account_state(account, found, {"object_id": None, "pending": True}, roles={"assignments": held})
    assert state["state"] == si.BLOCKED and state["blocked_by"] == ["the firewall keeps V7 out"]
    missing = si.account_state(account, found, {"object_id": None})
    assert missing["state"] == si.FAILED and "does not exist in tenant" in missing["lacks"][0]


def test_activation_details_keep_other_accounts():
    account = checked()
    entry = si.activation_entry(account, {"state": "ready", "lacks": [], "blocked_by": [], "cautions": []}, None)
    earlier = {"accounts": {"other": {"storage_account": "other", "state": "ready"},
                            "acct1": {"storage_account": "acct1", "state": "failed"}}}
    merged = si.merge_team(earlier, "Contoso Vision", [entry])
    assert list(merged["accounts"]) == ["acct1", "other"] and merged["accounts"]["acct1"]["state"] == "ready"
    assert [e["storage_account"] for e in merged["integrations"]] == ["acct1", "other"]
    failed = si.merge_team(merged, "Contoso Vision", [si.activation_entry(account, None, "it broke")])
    assert failed["not_ready"] == ["acct1"] and failed["accounts"]["other"] == merged["accounts"]["other"]
    markdown = si.activation_markdown(failed)
    assert "| other |" in markdown  # still listed
    assert "- acct1: it broke" in markdown and "Team name: **Contoso Vision**" in markdown


def test_module_messages_name_the_inventory_variables():
    text = ("The storage account a was not found in resource group g (subscription s): check storage_account, "
            "resource_group and subscription_id. Sign-in was refused: check client_id (AZURE_CLIENT_ID), secret "
            "(AZURE_SECRET or AZURE_CLIENT_SECRET) and tenant (AZURE_TENANT or AZURE_TENANT_ID).")
    renamed = rename_options(text, si.OPTION_NAMES)
    assert "check v7_storage_account, v7_resource_group and v7_subscription_id." in renamed
    assert ("check v7_azure_auth.client_id (or AZURE_CLIENT_ID), v7_azure_auth.secret (or AZURE_SECRET) and "
            "v7_tenant_id.") in renamed
    assert "The storage account a" in renamed  # prose stays


def test_a_prefix_container_another_run_created_first_counts_as_there():
    account = checked()
    held = [_assignment(ACCOUNT_SCOPE, v7.READER), _assignment(ACCOUNT_SCOPE, v7.DELEGATOR)]
    found = info(roles={"assignments": held, "to_create": [], "to_remove": []}, cors={"rules": V7_RULES},
                 missing=["images"])
    # Azure answered 200 to the create: not changed by this run, but there
    raced = si.account_state(account, found, {"object_id": OID}, container={"changed": False, "container": {}})
    assert raced["state"] == si.READY
    assert si.account_state(account, found, {"object_id": OID})["lacks"] == [
        "the prefix's container images does not exist"]


def test_the_browsers_preflight_after_the_cors_step_decides():
    from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
    account = checked()
    held = [_assignment(ACCOUNT_SCOPE, v7.READER), _assignment(ACCOUNT_SCOPE, v7.DELEGATOR)]
    found = info(roles={"assignments": held, "to_create": [], "to_remove": []}, cors={"rules": []})
    put = cp.probes([v7.ORIGIN], ["PUT"])[0]
    refused = cp.outcome("https://acct1.blob.core.windows.net/", [cp.answer(put, 403, {}, "CorsPreflightFailure")])
    state = si.account_state(account, found, {"object_id": OID}, cors={"cors_rules": V7_RULES, "preflight": refused})
    assert state["state"] == si.FAILED and len(state["lacks"]) == 1
    assert state["lacks"][0].startswith("the Blob service of acct1 refuses the CORS preflight")
    # a controller that could not reach the endpoint does not make the account fail
    unreachable = cp.outcome("https://acct1.blob.core.windows.net/", [], failure="could not reach it")
    state = si.account_state(account, found, {"object_id": OID}, cors={"cors_rules": V7_RULES, "preflight": unreachable})
    assert state["state"] == si.READY


def test_a_refused_preflight_before_the_writes_stops_the_account():
    verdict = si.preflight_verdict(checked(), info([issue("cors_preflight_refused", "refused")]))
    assert verdict["blockers"] == ["refused"]


# ---------------------------------------------------------------- V7's read-only integration


def read_only(**overrides):
    values = {k: v for k, v in BASE.items() if k != "v7_prefix"}
    return si.check_account_vars({**values, **overrides}, "acct1")


def test_no_prefix_and_no_write_is_a_read_only_integration():
    account = read_only()
    assert account["read_only"] is True and account["prefix"] is None and account["prefix_container"] is None
    # roles on the whole account (V7's recommendation) and nothing to create or to check
    assert account["role_containers"] == [] and account["check_containers"] == []
    assert account["cors_methods"] == ["GET"]
    listed = read_only(v7_containers=["raw", "curated"])
    assert listed["role_containers"] == ["raw", "curated"] and listed["check_containers"] == ["raw", "curated"]
    assert read_only(v7_cors_methods=["get", "PUT"])["cors_methods"] == ["GET", "PUT"]


def test_a_prefix_or_write_is_not_read_only():
    assert checked()["read_only"] is False and checked()["cors_methods"] == ["GET", "PUT"]
    assert checked()["check_containers"] == ["images"]
    assert checked(v7_containers=["raw"])["check_containers"] == ["raw", "images"]


@pytest.mark.parametrize(("overrides", "wanted"), [
    ({"v7_write": True}, "v7_prefix: required with v7_write true, and not set for acct1"),
    ({"v7_cors_methods": ["PUT"]}, "v7_cors_methods: must include GET"),
    ({"v7_cors_methods": ["GET", "FETCH"]}, "v7_cors_methods: FETCH not among DELETE, GET"),
    ({"v7_cors_methods": "GET"}, "v7_cors_methods: 'GET' is not a list"),
    ({"v7_api_url": "http://darwin.v7labs.com"}, "v7_api_url: 'http://darwin.v7labs.com' is not an https address"),
    ({"v7_team_slug": "a/b"}, "v7_team_slug: 'a/b' is not a V7 team slug"),
])
def test_read_only_and_v7_api_mistakes(overrides, wanted):
    with pytest.raises(InputError) as caught:
        read_only(**overrides)
    assert any(wanted in p for p in caught.value.problems), caught.value.problems


def test_the_v7_api_key_never_reaches_the_account():
    account = checked(v7_api_key="v7key-secret-0001", v7_team_slug="contoso", v7_api_url="https://darwin.irl.v7labs.com")
    assert "v7key-secret-0001" not in repr(account)
    assert account["api_team_slug"] == "contoso" and account["api_url"] == "https://darwin.irl.v7labs.com"
    assert checked()["api_team_slug"] == "contoso-vision" and checked()["api_url"] == v7.API_BASE_URL


@pytest.mark.parametrize(("host_vars", "environ", "checked_"), [
    ({}, {}, False), ({"v7_api_key": "k"}, {}, True), ({}, {"V7_API_KEY": "k"}, True), ({"v7_api_key": ""}, {}, False),
])
def test_v7_side_is_checked_only_with_a_key(host_vars, environ, checked_):
    found = si.v7_api_check(host_vars, environ)
    assert found["checked"] is checked_
    assert (found["msg"] is None) is checked_ and "k" != found["msg"]


@pytest.mark.parametrize(("result", "side"), [
    ({}, None), ({"skipped": True}, None), ({"state": "active"}, "active"), ({"state": "not yet"}, "not yet"),
    ({"failed": True, "msg": "V7 refused the API key (HTTP 401)"}, "not read: V7 refused the API key (HTTP 401)"),
])
def test_v7_side_in_the_summary(result, side):
    assert si.v7_side(result) == side


GET_ONLY = [{"allowedOrigins": [v7.ORIGIN], "allowedMethods": ["GET"], "allowedHeaders": ["*"]}]


def test_cors_for_get_only_is_enough_for_a_read_only_integration():
    held = [_assignment(ACCOUNT_SCOPE, v7.READER), _assignment(ACCOUNT_SCOPE, v7.DELEGATOR)]
    found = info(roles={"assignments": held, "to_create": [], "to_remove": []}, cors={"rules": GET_ONLY})
    assert si.account_state(read_only(), found, {"object_id": OID})["state"] == si.READY
    # the user asked for PUT too, or V7 writes: GET alone is short
    lacks = si.account_state(checked(), found, {"object_id": OID})["lacks"]
    assert f"the Blob CORS rules do not let {v7.ORIGIN} send PUT requests" in lacks


@pytest.mark.parametrize(("prediction", "change"), [
    ({"rules": GET_ONLY, "up_to_date": True}, False),
    ({"rules": GET_ONLY, "up_to_date": False}, True),
    # the rules could not be read (or the account has no Blob CORS): v7_blob_cors runs and says why
    (None, True),
])
def test_the_cors_step_runs_on_the_info_modules_prediction(prediction, change):
    """The role does not judge the rules again: v7_storage_account_info's blob_cors.up_to_date (the
    plan v7_blob_cors itself runs) decides (tests/unit/modules/test_blob_cors.py changes a default)."""
    assert si.cors_change(read_only(), info(cors=prediction)) is change


def test_a_read_only_integration_needs_no_contributor_and_no_container():
    found = info(roles={"assignments": [_assignment(ACCOUNT_SCOPE, v7.READER)], "to_create": [], "to_remove": []},
                 cors={"rules": GET_ONLY}, missing=["images"])
    assert not si.needs_container(read_only(), found)
    assert si.account_state(read_only(), found, {"object_id": OID})["lacks"] == [
        "V7 lacks Storage Blob Delegator on storage account acct1"]


def test_the_activation_details_say_read_only():
    state = {"state": "ready", "lacks": [], "blocked_by": [], "cautions": []}
    details = si.merge_team(None, "Contoso Vision", [si.activation_entry(read_only(), state, None)])
    assert details["accounts"]["acct1"]["read_only"] is True and details["accounts"]["acct1"]["prefix"] is None
    markdown = si.activation_markdown(details)
    assert "| acct1 | " + TENANT + " | none (read-only integration) | read-only |" in markdown
    assert "**read-only** integration in V7" in markdown
    plain = si.activation_markdown(si.merge_team(None, "T", [si.activation_entry(checked(), state, None)]))
    assert "read-only" not in plain and "| images/v7 | no (V7 reads; writes nothing) |" in plain


# ---------------------------------------------------------------- which accounts go through the writes
NO_CHANGE = {"create_container": False, "change_roles": False, "change_cors": False}


@pytest.mark.parametrize("decisions, principal, leads, expected", [
    (NO_CHANGE, {"object_id": OID}, True, False),
    (NO_CHANGE, {"object_id": OID}, False, False),
    ({**NO_CHANGE, "create_container": True}, {"object_id": OID}, False, True),
    ({**NO_CHANGE, "change_roles": True}, {"object_id": OID}, False, True),
    ({**NO_CHANGE, "change_cors": True}, {"object_id": OID}, False, True),
    # the tenant has no principal yet: its leading account creates it
    (NO_CHANGE, {"object_id": None}, True, True),
    (NO_CHANGE, {"object_id": None}, False, False),
])
def test_changes_needed(decisions, principal, leads, expected):
    assert si.changes_needed(decisions, principal, leads) is expected


@pytest.mark.parametrize("state, side, expected", [
    ({"state": si.READY, "msg": "ready"}, {}, None),
    ({"state": si.READY, "msg": "ready"}, {"skipped": True}, None),
    ({"state": si.READY, "msg": "ready"}, {"state": "active"}, None),
    ({"state": si.BLOCKED, "msg": "blocked by the firewall"}, {}, "blocked by the firewall"),
    ({"state": si.FAILED, "msg": "lacks roles"}, {"state": "mismatch", "msg": "V7 has prefix x"},
     "lacks roles V7 has prefix x"),
    ({"state": si.READY, "msg": "ready"}, {"state": "mismatch", "msg": "V7 has prefix x"}, "V7 has prefix x"),
])
def test_verify_failure(state, side, expected):
    assert si.verify_failure(state, side) == expected
