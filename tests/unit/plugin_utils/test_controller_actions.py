"""The three controller actions of the storage_integration role (v7_account_inputs,
v7_account_verdict, v7_activation): decide() with a stub task (check mode and diff on or off), as
the role's tasks see the results. v7_activation writes into tmp_path."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ansible_collections.v7labs.azure_storage.plugins.action import v7_account_inputs, v7_account_verdict, v7_activation
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import REDACTED
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si

TENANT = "11111111-1111-4111-8111-111111111111"
SUB = "22222222-2222-4222-8222-222222222222"
OID = "dddddddd-0000-4000-8000-0000000000d1"
HOST = {"v7_tenant_id": TENANT, "v7_subscription_id": SUB, "v7_resource_group": "rg-data", "v7_prefix": "images/v7",
        "v7_team": "Contoso Vision"}
ACCOUNT_SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/acct1"
V7_RULES = [{"allowedOrigins": [v7.ORIGIN], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"]}]
HELD = [{"scope": ACCOUNT_SCOPE, "role_definition_id": f"/providers/Microsoft.Authorization/roleDefinitions/{guid}",
         "role_name": v7.ROLE_NAMES[guid]} for guid in (v7.READER, v7.DELEGATOR)]


def action(plugin, *, check=False, diff=False):
    """The action plugin as Ansible builds it for a task, on a stub task (no connection)."""
    task = SimpleNamespace(check_mode=check, diff=diff, args={})
    built = plugin.ActionModule(task, None, None, None, SimpleNamespace(template=lambda value: value), None)
    # ansible-core 2.21 adds a host to a group through the running task's context: recorded here
    built.add_group = lambda name, parent_group_names=None: built.groups_added.append((name, parent_group_names))
    built.groups_added = []
    return built


def account(name="acct1", **overrides):
    return si.check_account_vars({**HOST, **overrides}, name)


# ---------------------------------------------------------------- v7_account_inputs


def test_inputs_give_the_account_and_its_group(monkeypatch):
    monkeypatch.delenv(v7.API_KEY_ENV, raising=False)
    result = action(v7_account_inputs).decide({}, dict(HOST, inventory_hostname="acct1", v7_write=True))
    assert not result.get("failed")
    assert result["account"] == account(v7_write=True)
    assert result["option_names"] == si.OPTION_NAMES and result["created_by"] == v7.CREATED_BY
    assert result["add_group"] == f"v7_tenant_{TENANT.replace('-', '_')}" and result["parent_groups"] == ["all"]
    assert result["v7_api"]["checked"] is False and v7.API_KEY_ENV in result["v7_api"]["msg"]


@pytest.mark.parametrize("check", [False, True])
def test_bad_inventory_variables_fail_naming_them(check):
    result = action(v7_account_inputs, check=check).decide({}, dict(HOST, inventory_hostname="acct1", v7_writ=True,
                                                                    v7_prefix="images"))
    problems = ["v7_writ: not a variable of the storage_integration role; did you mean v7_write?",
                "v7_prefix: 'images' is not in the form container-name/folder-name (for example images/v7), the folder "
                "V7 writes its generated files to; the folder must not be empty, and there is no leading or trailing '/'"]
    assert result == {"msg": f"Invalid inventory variables for acct1: {'; '.join(problems)}. Nothing was sent to "
                             "Azure: correct them and run again.",
                      "problems": problems, "error_code": "InvalidInput", "status": None, "failed": True}


def test_a_secret_in_a_wrong_variable_is_not_repeated():
    key = "V7key.0123456789"
    result = action(v7_account_inputs).decide({}, dict(HOST, inventory_hostname="acct1", v7_api_key=key,
                                                       v7_team_slug=f"{key}/team"))
    assert result["failed"] is True and key not in json.dumps(result)
    assert f"v7_team_slug: '{REDACTED}/team' is not a V7 team slug" in result["msg"]


def test_tags_that_select_no_step_fail_the_run():
    result = action(v7_account_inputs).decide({}, dict(HOST, inventory_hostname="acct1", ansible_run_tags=["v7_cros"]))
    assert result == {"msg": si.tag_problem(["v7_cros"]), "error_code": "InvalidInput", "status": None, "failed": True}
    assert result["msg"].startswith("--tags v7_cros selects none of the storage_integration role's steps")


# ---------------------------------------------------------------- v7_account_verdict


def info(issues=(), *, roles=None, cors=None, missing=()):
    """v7_storage_account_info's registered result, as far as the verdict reads it."""
    return {"issues": list(issues), "missing_containers": list(missing),
            "v7_roles": roles if roles is not None else {"assignments": HELD, "to_create": [], "to_remove": []},
            "blob_cors": cors if cors is not None else {"rules": V7_RULES, "up_to_date": True}}


def verdict(stage, found, *, check=False, mode="configure", fail=True, **answers):
    args = {"stage": stage, "mode": mode, "account": account(), "info": found, "principal": {"object_id": OID},
            "container": {}, "roles": {}, "cors": {}, "v7_side": {}, "leads_tenant": False, "fail": fail}
    args.update(answers)
    return action(v7_account_verdict, check=check).decide(args, {})


@pytest.mark.parametrize("check", [False, True])
@pytest.mark.parametrize(("found", "steps"), [
    (info(), {"create_container": False, "change_roles": False, "change_cors": False}),
    (info(missing=["images"], roles={"assignments": [], "to_create": [HELD[0]], "to_remove": []},
          cors={"rules": [], "up_to_date": False}),
     {"create_container": True, "change_roles": True, "change_cors": True}),
])
def test_the_preflight_says_which_steps_have_something_to_do(found, steps, check):
    result = verdict("preflight", found, check=check)
    assert not result.get("failed")
    assert {k: result[k] for k in steps} == steps
    assert (result["blockers"], result["blocked_by"], result["cautions"]) == ([], [], [])


@pytest.mark.parametrize(("found", "leads", "principal", "needed"), [
    (info(), False, {"object_id": OID}, False),
    # the tenant's leading account creates V7's principal where there is none
    (info(), True, {"object_id": None}, True),
    (info(cors={"rules": [], "up_to_date": False}), False, {"object_id": OID}, True),
])
def test_the_preflight_says_whether_the_account_goes_through_the_writes(found, leads, principal, needed):
    result = verdict("preflight", found, leads_tenant=leads, principal=principal)
    assert result["changes_needed"] is needed
    # an account that needs no change has its state from the preflight's read: no later verdict
    assert ("state" in result) is not needed


def test_an_account_that_needs_no_change_is_ready_at_the_preflight():
    result = verdict("preflight", info())
    assert (result["changes_needed"], result["state"], result["msg"]) == (
        False, si.READY, "Storage account acct1 is ready for V7.")


def test_verify_says_why_it_will_fail_the_account_after_the_summary():
    ready = verdict("final", info(), mode="verify", fail=False)
    assert ready["verify_failure"] is None
    mismatch = verdict("final", info(), mode="verify", fail=False,
                       v7_side={"state": "mismatch", "msg": "V7 has another prefix."})
    assert mismatch["verify_failure"] == "V7 has another prefix."


def test_the_preflight_stops_an_account_that_cannot_be_set_up():
    found = info([{"code": "operator_lacks_right", "message": "the operator lacks role assignment writes here"}])
    result = verdict("preflight", found)
    assert result["failed"] is True and result["error_code"] == "AccountNotUsable" and result["status"] is None
    assert result["msg"] == ("Storage account acct1 cannot be set up for V7: the operator lacks role assignment writes "
                             "here. Nothing was changed on it; fix this and run again, or take the account out of the "
                             "inventory.")
    assert result["blockers"] == ["the operator lacks role assignment writes here"]


@pytest.mark.parametrize(("check", "msg"), [
    (False, "Storage account acct1 is ready for V7."),
    (True, "(predicted) Storage account acct1 is ready for V7."),
])
def test_the_final_verdict_of_a_ready_account(check, msg):
    result = verdict("final", info(), check=check, roles={"assignments": HELD}, cors={"cors_rules": V7_RULES})
    assert not result.get("failed")
    assert (result["state"], result["msg"], result["warnings"]) == (si.READY, msg, [])


@pytest.mark.parametrize("fail", [True, False])
def test_the_final_verdict_of_an_account_v7_cannot_use(fail):
    result = verdict("final", info(cors={"rules": [], "up_to_date": False}), fail=fail)
    msg = f"Storage account acct1 is not ready for V7: the Blob CORS rules do not let {v7.ORIGIN} send GET, PUT requests."
    assert (result["state"], result["msg"]) == (si.FAILED, msg)
    if fail:
        assert (result["failed"], result["error_code"]) == (True, "AccountNotReady")
    else:
        assert "failed" not in result and "error_code" not in result


@pytest.mark.parametrize(("mode", "fails"), [("configure", False), ("verify", True)])
def test_a_blocked_account_warns_in_configure_and_fails_in_verify(mode, fails):
    found = info([{"code": "firewall_missing_v7_ips", "message": "the firewall keeps V7 out"}])
    result = verdict("final", found, mode=mode)
    msg = ("Storage account acct1 is configured for V7 but blocked: the firewall keeps V7 out. V7 cannot reach it until "
           "this is fixed (or set v7_firewall_policy: ignore if the firewall is handled another way).")
    assert (result["state"], result["msg"]) == (si.BLOCKED, msg)
    assert bool(result.get("failed")) is fails
    assert result["warnings"] == ([] if fails else [msg])
    assert result.get("error_code") == ("AccountBlocked" if fails else None)


# ---------------------------------------------------------------- v7_activation

READY_STATE = {"state": si.READY, "lacks": [], "blocked_by": [], "cautions": []}


def hostvars(tmp_path, names, states):
    found = {}
    for name in names:
        state = states.get(name, READY_STATE)
        if state is None:  # its inventory variables were refused
            found[name] = {"__v7_inputs": {"failed": True, "msg": f"Invalid inventory variables for {name}: v7_team"}}
        else:
            found[name] = {"__v7_inputs": {"account": account(name, v7_activation_dir=str(tmp_path))},
                           "__v7_state": state}
    return {"hostvars": found}


def activate(tmp_path, *names, check=False, diff=False, **states):
    return action(v7_activation, check=check, diff=diff).decide({"hosts": list(names), "write": True},
                                                                hostvars(tmp_path, names, states))


def stored(tmp_path) -> dict:
    return json.loads((tmp_path / "contoso-vision.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("diff", [False, True])
def test_activation_writes_each_teams_files_then_nothing(tmp_path, diff):
    first = activate(tmp_path, "acct1", diff=diff)
    paths = [str(tmp_path / "contoso-vision.json"), str(tmp_path / "contoso-vision.md")]
    assert first["changed"] is True and first["files"] == paths and first["ready"] == ["acct1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contoso-vision.json", "contoso-vision.md"]
    assert list(stored(tmp_path)["accounts"]) == ["acct1"]
    assert [(d["before"], d["after_header"]) for d in first.get("diff", [])] == ([("", p) for p in paths] if diff else [])
    assert first["ansible_stats"]["data"]["v7_activation"]["acct1"]["state"] == si.READY

    again = activate(tmp_path, "acct1", diff=diff)
    assert again["changed"] is False and "diff" not in again


def test_activation_in_check_mode_writes_nothing_and_shows_the_diff(tmp_path):
    result = activate(tmp_path, "acct1", check=True, diff=True)
    assert result["changed"] is True and list(tmp_path.iterdir()) == []
    paths = [str(tmp_path / "contoso-vision.json"), str(tmp_path / "contoso-vision.md")]
    assert [d["after_header"] for d in result["diff"]] == paths
    assert json.loads(result["diff"][0]["after"])["accounts"]["acct1"]["state"] == si.READY
    assert "ansible_stats" not in result


def test_a_partial_run_keeps_the_other_accounts_entries(tmp_path):
    """As with --limit acct1: acct1's entry is this run's, acct2's stays as the earlier run recorded it."""
    activate(tmp_path, "acct1", "acct2")
    before = stored(tmp_path)["accounts"]["acct2"]
    lacking = {"state": si.FAILED, "lacks": ["V7 lacks Storage Blob Delegator on storage account acct1"],
               "blocked_by": [], "cautions": []}
    result = activate(tmp_path, "acct1", acct1=lacking)
    assert result["changed"] is True and result["not_ready"] == ["acct1"]
    accounts = stored(tmp_path)["accounts"]
    assert list(accounts) == ["acct1", "acct2"] and accounts["acct2"] == before
    assert (accounts["acct1"]["state"], accounts["acct1"]["why"]) == (si.FAILED, lacking["lacks"])
    assert "| acct2 |" in (tmp_path / "contoso-vision.md").read_text(encoding="utf-8")


def test_an_account_whose_inputs_were_refused_is_summarised_not_written(tmp_path):
    result = activate(tmp_path, "acct1", "acct2", acct2=None)
    assert result["ready"] == ["acct1"] and result["not_ready"] == ["acct2"]
    assert result["accounts"]["acct2"] == {"state": si.FAILED, "why": ["Invalid inventory variables for acct2: v7_team"]}
    assert list(stored(tmp_path)["accounts"]) == ["acct1"]
