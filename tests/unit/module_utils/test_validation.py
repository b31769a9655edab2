"""The checks every module runs on names, ids and origins before any request."""
from __future__ import annotations

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError, input_failure

from ansible_collections.v7labs.azure_storage.plugins.module_utils import account_readiness, validation as v

V7 = "https://darwin.v7labs.com"
GUID = "11111111-1111-4111-8111-111111111111"


@pytest.mark.parametrize("name, ok", [
    ("abc", True), ("stdarwinimages01", True), ("a" * 24, True),
    ("ab", False), ("a" * 25, False), ("StDarwin", False), ("st-darwin", False), ("st_darwin", False),
    ("st darwin", False), ("", False),
])
def test_account_names(name, ok):
    problem = v.account_name_problem(name)
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith(f"storage_account: {name!r} is not a storage account name")
        assert "3 to 24 characters, lowercase letters and digits only" in problem


def test_account_name_problem_names_the_option_it_is_given():
    assert v.account_name_problem("St", "v7_storage_account").startswith("v7_storage_account: 'St'")


@pytest.mark.parametrize("name, ok", [
    ("abc", True), ("v7-data-2024", True), ("a" * 63, True),
    ("ab", False), ("a" * 64, False), ("Images", False), ("-images", False), ("images-", False),
    ("im--ages", False), ("im_ages", False), ("$web", False), ("", False),
    ("my-data-1", True), ("0day", True), ("da ta", False), ("dåta", False), ("$root", False),
    # a trailing newline once slipped through a `$` anchor
    ("photos\n", False), ("\nphotos", False),
])
def test_container_names(name, ok):
    assert (v.container_name_problem(name, "containers") is None) is ok


@pytest.mark.parametrize("name, ok", [
    ("rg-data", True), ("RG_Data.01", True), ("rg(test)", True), ("a", True), ("a" * 90, True), ("grupo-café", True),
    ("", False), ("a" * 91, False), ("rg-data.", False), ("rg data", False), ("rg/data", False), ("rg:data", False),
])
def test_resource_group_names(name, ok):
    problem = v.resource_group_problem(name)
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith(f"resource_group: {name!r} is not a resource group name")


@pytest.mark.parametrize("value, ok", [
    (GUID, True), (GUID.upper(), True), (f" {GUID} ", False), (GUID + "\n", False),
    ("not-a-guid", False), (GUID[:-1], False), (GUID + "0", False), (GUID.replace("-", ""), False),
    (f"{{{GUID}}}", False), ("", False), (None, False), (42, False),
])
def test_is_guid(value, ok):
    assert v.is_guid(value) is ok


@pytest.mark.parametrize("value, option, start", [
    ("95E63529-38CC-435C-B247-32A1D62F321D", "principal_id", "principal_id: 95E63529-38CC-435C-B247-32A1D62F321D is "
                                                             "V7's application (client) id"),
    ("darwin-storage", "v7_principal_id", "v7_principal_id: 'darwin-storage' is not a GUID; v7_principal_id must"),
    (GUID + "\n", "principal_id", "principal_id: '11111111-1111-4111-8111-111111111111\\n' is not a GUID"),
    (None, "principal_id", "principal_id: None is not a GUID"),
])
def test_principal_id_problem(value, option, start):
    assert v.principal_id_problem(value, option).startswith(start)
    assert v.principal_id_problem(GUID, option) is None


@pytest.mark.parametrize("origin, allow_star, ok", [
    (V7, True, True), (V7 + "/", True, True), ("HTTPS://Darwin.V7labs.com", True, True),
    ("https://darwin.v7labs.com:8443", True, True), ("https://*.v7labs.com", True, True), ("*", True, True),
    ("*", False, False), ("darwin.v7labs.com", True, False), ("https://darwin.v7labs.com/app", True, False),
    ("ftp://darwin.v7labs.com", True, False), ("https://darwin.v7labs.com:99999", True, False),
    ("https://user@darwin.v7labs.com", True, False), ("", True, False),
])
def test_origins(origin, allow_star, ok):
    problem = v.origin_problem(origin, "origins", allow_star)
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith(f"origins: {origin!r} is not ")
        assert ("'*' or" in problem) is allow_star


def test_storage_account_problems_checks_both_options():
    assert v.storage_account_problems({"resource_group": "rg-data", "storage_account": "stdata"}) == []
    problems = v.storage_account_problems({"resource_group": "rg data", "storage_account": "St-Data"})
    assert [p.split(":")[0] for p in problems] == ["resource_group", "storage_account"]


@pytest.mark.parametrize("subscription, tenant, client_id, needs, wrong", [
    (GUID, GUID, GUID, True, []),
    (None, None, None, True, []),
    (GUID, "contoso.onmicrosoft.com", GUID, True, []),
    (GUID, "Contoso.OnMicrosoft.com", GUID, True, []),
    ("contoso-data", GUID, GUID, True, ["subscription_id"]),
    ("contoso-data", GUID, GUID, False, []),  # not used, so not checked
    (GUID, "contoso tenant", GUID, True, ["tenant"]),
    (GUID, "contoso", GUID, True, ["tenant"]),
    (GUID, GUID, "platform-operator", True, ["client_id"]),
    ("x", "y z", "w", True, ["subscription_id", "tenant", "client_id"]),
])
def test_auth_problems(subscription, tenant, client_id, needs, wrong):
    problems = v.auth_problems(subscription, tenant, client_id, {}, needs)
    assert [p.split(":")[0] for p in problems] == wrong


def test_auth_problems_say_where_a_value_came_from_and_how_to_set_it():
    sources = {"subscription_id": "AZURE_SUBSCRIPTION_ID", "tenant": "option", "client_id": "AZURE_CLIENT_ID"}
    subscription, tenant, client = v.auth_problems("Contoso Data", "a b", "ops", sources)
    assert subscription.startswith("subscription_id: 'Contoso Data' (from environment variable AZURE_SUBSCRIPTION_ID)")
    assert "set subscription_id (or AZURE_SUBSCRIPTION_ID) to the subscription's GUID" in subscription
    assert tenant.startswith("tenant: 'a b' is not a tenant ID")  # an option: no source named
    assert "set tenant (or AZURE_TENANT or AZURE_TENANT_ID)" in tenant
    assert client.startswith("client_id: 'ops' (from environment variable AZURE_CLIENT_ID)")


def test_settings_problems_reads_auth_settings():
    class Settings:
        subscription_id, tenant, client_id, sources = "sub", GUID, GUID, {}

    assert [p.split(":")[0] for p in v.settings_problems(Settings())] == ["subscription_id"]
    assert v.settings_problems(Settings(), needs_subscription=False) == []


@pytest.mark.parametrize("problems, tail", [
    (["storage_account: 'X' is bad"], "correct storage_account and run the task again."),
    (["a: 1", "b: 2", "v7_origins: 3", "a: 4"], "correct a, b and v7_origins and run the task again."),
    (["origins, methods ... together make a rule of 3000 characters"], "correct these options and run the task again."),
])
def test_input_failure(problems, tail):
    message = input_failure(problems)
    assert message.startswith("; ".join(problems) + ". Nothing was sent to Azure: ")
    assert message.endswith(tail)


def test_account_readiness_uses_the_same_checks():
    assert account_readiness.account_name_problem is v.account_name_problem
    assert account_readiness.container_name_problem is v.container_name_problem
    with pytest.raises(InputError) as caught:
        account_readiness.validate_inputs("stdata", [], [], ["*"])
    assert caught.value.problems == [v.origin_problem("*", "v7_origins", allow_star=False)]
