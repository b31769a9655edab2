"""The storage_accounts inventory plugin's decisions: tags -> variables, filters, configuration."""
from __future__ import annotations

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_accounts as sa
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si

TENANT = "11111111-1111-4111-8111-111111111111"
SUB = "22222222-2222-4222-8222-222222222222"


def resource(name="contosofresh", group="rg-vision", kind="StorageV2", tags=None, sub=SUB) -> dict:
    return {"id": f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{name}",
            "name": name, "kind": kind, "location": "westeurope", "tags": tags or {}}


@pytest.mark.parametrize(("tags", "variables"), [
    ({}, {}),
    ({"v7-team": "contoso-vision"}, {"v7_team": "contoso-vision"}),
    # Azure's tag names are case-insensitive
    ({"V7-Team": "Contoso Vision", "V7-PREFIX": "images/v7"}, {"v7_team": "Contoso Vision", "v7_prefix": "images/v7"}),
    ({"v7-containers": "raw, curated"}, {"v7_containers": ["raw", "curated"]}),
    ({"v7-containers": ""}, {"v7_containers": []}),
    ({"v7-containers": "images"}, {"v7_containers": ["images"]}),
    ({"v7-prefix": " curated/v7/thumbs "}, {"v7_prefix": "curated/v7/thumbs"}),
    ({"v7-write": "true"}, {"v7_write": True}),
    ({"v7-write": "False"}, {"v7_write": False}),
    ({"v7-write": "yes"}, {"v7_write": True}),
    ({"owner": "data-team", "v7-write": "0"}, {"v7_write": False}),
])
def test_tags_give_the_role_its_variables(tags, variables):
    assert sa.tag_variables(tags) == (variables, {})


@pytest.mark.parametrize(("tags", "variable", "says"), [
    ({"v7-write": "maybe"}, "v7_write", "'maybe' is not true or false"),
    ({"v7-prefix": "experiments"}, "v7_prefix", "'experiments' is not in the form container-name/folder-name"),
    ({"v7-prefix": "Images/v7"}, "v7_prefix", "the container part of 'Images/v7'"),
    ({"v7-containers": "raw,,curated"}, "v7_containers", "'' is not a container name"),
    ({"v7-containers": "Raw Data"}, "v7_containers", "'Raw Data' is not a container name"),
    ({"v7-team": "a/b"}, "v7_team", "without '/'"),
    ({"v7-team": " "}, "v7_team", "the tag is empty"),
])
def test_a_malformed_tag_says_which_tag(tags, variable, says):
    variables, problems = sa.tag_variables(tags)
    # passed on where the role's argument spec takes it, so that the role's input check fails it
    assert (variable in variables) is (variable != "v7_write")
    assert list(problems) == [variable]
    tag = sa.TAGS[variable]
    assert problems[variable].startswith(f"{variable}: the storage account's tag {tag} is wrong: ")
    assert says in problems[variable]
    assert problems[variable].endswith("Correct the tag on the storage account in Azure")


def test_the_role_input_check_fails_the_account_naming_the_tag():
    record = sa.account_record(resource(tags={"v7-team": "vision", "v7-prefix": "experiments", "v7-write": "maybe"}),
                               TENANT)
    host_vars = sa.host_variables(record)
    with pytest.raises(InputError) as err:
        si.check_account_vars(host_vars, "contosofresh")
    problems = err.value.problems
    assert any(p.startswith("v7_prefix: the storage account's tag v7-prefix is wrong") for p in problems)
    assert any(p.startswith("v7_write: the storage account's tag v7-write is wrong") for p in problems)
    # each said once, of the tag
    assert len(problems) == 2, problems
    assert "tag v7-prefix" in si.input_failure_message("contosofresh", err.value)


def test_a_well_tagged_account_passes_the_role_input_check():
    tags = {"v7-team": "contoso-vision", "v7-containers": "images", "v7-prefix": "images/v7", "v7-write": "true"}
    account = si.check_account_vars(sa.host_variables(sa.account_record(resource(tags=tags), TENANT)), "contosofresh")
    assert (account["storage_account"], account["tenant_id"], account["subscription_id"]) == ("contosofresh", TENANT, SUB)
    assert (account["resource_group"], account["containers"], account["prefix"], account["write"], account["team"]) == \
        ("rg-vision", ["images"], "images/v7", True, "contoso-vision")


def test_an_account_without_the_prefix_tag_is_a_read_only_integration_unless_it_writes():
    host_vars = sa.host_variables(sa.account_record(resource(tags={"v7-team": "vision"}), TENANT))
    account = si.check_account_vars(host_vars, "contosofresh")
    assert account["read_only"] is True and account["prefix"] is None
    writes = sa.host_variables(sa.account_record(resource(tags={"v7-team": "vision", "v7-write": "true"}), TENANT))
    with pytest.raises(InputError) as err:
        si.check_account_vars(writes, "contosofresh")
    assert [p.split(":")[0] for p in err.value.problems] == ["v7_prefix"]
    assert "required with v7_write true" in err.value.problems[0]


def test_record_host_variables_and_groups():
    record = sa.account_record(resource(tags={"v7-team": "t", "other": None}), TENANT.upper())
    assert record == {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-vision/providers/Microsoft.Storage/storageAccounts/contosofresh",
        "name": "contosofresh", "tenant_id": TENANT, "subscription_id": SUB, "resource_group": "rg-vision",
        "kind": "StorageV2", "location": "westeurope", "tags": {"v7-team": "t", "other": ""}}
    assert sa.host_variables(record) == {
        "v7_storage_account": "contosofresh", "v7_tenant_id": TENANT, "v7_subscription_id": SUB,
        "v7_resource_group": "rg-vision", "ansible_connection": "local", "v7_team": "t"}
    assert sa.host_groups(record) == ["v7_storage_accounts", "v7_tenant_11111111_1111_4111_8111_111111111111",
                                      "v7_subscription_22222222_2222_4222_8222_222222222222"]
    # the tenant's group is the one the role puts the account in
    assert sa.host_groups(record)[1] == si.check_account_vars(
        dict(sa.host_variables(record), v7_prefix="images/v7"), "contosofresh")["tenant_group"]


def test_a_resource_id_in_lower_case_still_gives_the_resource_group():
    item = resource()
    item["id"] = item["id"].replace("resourceGroups", "resourcegroups")
    assert sa.account_record(item, TENANT)["resource_group"] == "rg-vision"
    with pytest.raises(ValueError):
        sa.account_record({"name": "x", "id": None}, TENANT)


DEFAULTS = {"tags": dict(sa.DEFAULT_TAG_FILTER), "include_resource_groups": [], "exclude_resource_groups": [],
            "include_names": [], "exclude_names": [], "kinds": []}


@pytest.mark.parametrize(("options", "account", "kept"), [
    ({}, resource(tags={"v7-team": "a"}), True),
    ({}, resource(tags={"V7-TEAM": ""}), True),
    ({}, resource(tags={"owner": "a"}), False),
    ({"tags": {}}, resource(), True),
    ({"tags": {"v7-team": "vision"}}, resource(tags={"v7-team": "vision"}), True),
    ({"tags": {"v7-team": "vision"}}, resource(tags={"v7-team": "Vision"}), False),  # values are case-sensitive
    ({"tags": {"v7-team": ["a", "b"]}}, resource(tags={"v7-team": "b"}), True),
    ({"tags": {"v7-team": None, "env": "prod"}}, resource(tags={"v7-team": "a", "env": "dev"}), False),
    ({"tags": {"v7-write": True}}, resource(tags={"v7-write": "true"}), True),
    ({"include_resource_groups": ["RG-VIS*"]}, resource(tags={"v7-team": "a"}), True),
    ({"include_resource_groups": ["rg-data"]}, resource(tags={"v7-team": "a"}), False),
    ({"exclude_resource_groups": ["rg-vision"]}, resource(tags={"v7-team": "a"}), False),
    ({"include_names": ["contoso*"], "exclude_names": ["*fresh"]}, resource(tags={"v7-team": "a"}), False),
    ({"include_names": ["contoso?resh"]}, resource(tags={"v7-team": "a"}), True),
    ({"kinds": ["storagev2", "BlockBlobStorage"]}, resource(tags={"v7-team": "a"}), True),
    ({"kinds": ["BlockBlobStorage"]}, resource(tags={"v7-team": "a"}), False),
])
def test_filters(options, account, kept):
    assert sa.selected(sa.account_record(account, TENANT), {**DEFAULTS, **options}) is kept


@pytest.mark.parametrize(("options", "problems"), [
    ({}, []),
    ({"tags": ["v7-team"]}, ["tags: must be a dict of tag name -> value (null: any value; a list: any of them)"]),
    ({"tags": {"v7-team": {"a": 1}}}, ["tags.v7-team: give a value, a list of values, or null for any value"]),
    ({"kinds": ["Blob"]}, ["kinds: 'Blob' is not a kind of storage account; use Storage, StorageV2, BlobStorage, "
                           "BlockBlobStorage, FileStorage"]),
    ({"exclude_names": "test*"}, ["exclude_names: must be a list of names or shell-style patterns such as rg-data-*"]),
])
def test_filter_options_that_cannot_be_right(options, problems):
    assert sa.filter_problems({**DEFAULTS, **options}) == problems


def test_unknown_options_never_suggest_one_the_plugin_ignores():
    assert sa.unknown_option_problems(["subscription"], ["subscriptions", "subscription_id"], ignored=["subscription_id"]) \
        == ["subscription: not an option of v7labs.azure_storage.storage_accounts; did you mean subscriptions?"]


def test_unknown_options_name_the_closest_one():
    assert sa.unknown_option_problems(["plugin", "subscription", "zzz"], ["plugin", "subscriptions", "tags"]) == [
        "subscription: not an option of v7labs.azure_storage.storage_accounts; did you mean subscriptions?",
        "zzz: not an option of v7labs.azure_storage.storage_accounts; the options are plugin, subscriptions, tags",
    ]


@pytest.mark.parametrize(("tenants", "problems"), [
    ([], []),
    ([{"tenant": TENANT, "client_id": "x", "secret": "s", "subscriptions": [SUB]}], []),
    ({"tenant": TENANT}, ["tenants: must be a list of sign-in options per tenant, each with at least tenant"]),
    (["x"], ["tenants[0]: must be a dict of sign-in options (tenant, client_id, secret, ...)"]),
    ([{"client_id": "x"}], ["tenants[0].tenant: required: the tenant (directory) ID these sign-in options are for"]),
    ([{"tenant": TENANT, "client_secret": "s"}],
     ["tenants[0].client_secret: not an option of v7labs.azure_storage.storage_accounts; did you mean secret?"]),
    ([{"tenant": TENANT, "subscription_id": SUB}],
     ["tenants[0].subscription_id: not an option of v7labs.azure_storage.storage_accounts; did you mean "
      "subscriptions?"]),
    ([{"tenant": TENANT, "subscriptions": SUB}], ["tenants[0].subscriptions: must be a list of subscription IDs"]),
])
def test_tenants_option(tenants, problems):
    assert sa.tenant_problems(tenants) == problems
