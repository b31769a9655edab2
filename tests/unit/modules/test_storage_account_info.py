"""v7_storage_account_info: read -> evaluate -> predict, over an in-memory storage account (no network).
It never writes; its predictions are those of v7_blob_cors and v7_storage_roles in check mode."""
from __future__ import annotations

import pytest

from fakes import (ACCOUNT, OTHER_PRINCIPAL, PRINCIPAL, FakeAccount, account_body, api_error, assignment,
                   container_body, fake_module, rule)

from ansible_collections.v7labs.azure_storage.plugins.module_utils import account_readiness as readiness
from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import NotFound
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_blob_cors
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_storage_account_info as module
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_storage_roles

V7 = v7.ORIGIN
OURS = rule([V7], ["GET", "PUT"])
GUIDE = [rule([V7], ["GET"]), rule([V7], ["PUT"])]
FIVE = [rule([f"https://app{i}.example.org"], ["GET"]) for i in range(5)]
CONTAINERS = [container_body("photos"), container_body("videos")]
V7_IP = "203.0.113.7"
V7_RANGE = "198.51.100.0/28"
ALL = [{"actions": ["*"], "notActions": []}]
READER = [{"actions": ["*/read"], "notActions": []}]
NO_CONTAINERS = [{"actions": ["*"], "notActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/*"]}]
NO_ROLES = [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*"]}]
READY_ROLES = [assignment("account", v7.READER), assignment("account", v7.DELEGATOR)]


def run(account, **params):
    mod = fake_module(module.ARGUMENT_SPEC, **params)
    result = module.account_info(mod, account)
    assert result["changed"] is False
    assert account.writes == []  # an info module: never a write, whatever happens
    assert result["ready"] is (result["issues"] == []) and result["problems"] == [i["message"] for i in result["issues"]]
    return result, mod


def codes(result) -> list[str]:
    return [i["code"] for i in result["issues"]]


def ready_account(**changes) -> FakeAccount:
    world = dict(containers=CONTAINERS, cors=[OURS], assignments=READY_ROLES, permissions=ALL)
    world.update(changes)
    return FakeAccount(world.pop("body", account_body()), **world)


# ---------------------------------------------------------------- the whole verdict


def test_ready_account():
    result, mod = run(ready_account(), containers=["photos", "videos"], v7_principal_id=PRINCIPAL, v7_roles_on="account")
    assert result["ready"] is True and result["problems"] == [] and mod.warnings == []
    assert result["exists"] is True and result["account"]["name"] == ACCOUNT
    assert result["account"]["blob_endpoint"] == f"https://{ACCOUNT}.blob.core.windows.net/"
    assert result["containers"] == {"photos": True, "videos": True} and result["missing_containers"] == []
    assert result["blob_cors"]["up_to_date"] is True and result["blob_cors"]["rules"] == [OURS.to_result()]
    assert result["v7_roles"]["to_create"] == [] and result["v7_roles"]["to_remove"] == []
    assert result["operator"] == {"can_assign_roles": True, "can_write_cors": True, "can_create_containers": True,
                                  "can_read": True}


def test_account_not_found_is_a_result_not_an_error():
    account = FakeAccount(None)
    result, mod = run(account, containers=["photos"], v7_principal_id=PRINCIPAL)
    message = f"The storage account {ACCOUNT} was not found in resource group rg-data"
    assert result["exists"] is False and result["ready"] is False
    assert codes(result) == [readiness.NOT_FOUND] and result["problems"][0].startswith(message)
    assert result["account"] is None and result["v7_roles"] is None and result["blob_cors"] is None
    assert result["containers"] == {} and set(result["operator"].values()) == {None}
    assert account.reads == ["read"] and mod.warnings == []


def test_missing_resource_group_fails():
    account = FakeAccount(None, group_missing=True)
    with pytest.raises(NotFound) as caught:
        run(account)
    assert caught.value.kind == "resource_group" and "The resource group rg-data was not found" in str(caught.value)


def test_refused_read_fails():
    refused = api_error("AuthorizationFailed", 403)
    with pytest.raises(AzureApiError) as caught:
        run(FakeAccount(account_body(), fail={"read": refused}))
    assert caught.value is refused


def test_file_storage_account():
    account = ready_account(body=account_body("FileStorage", "Premium_LRS"))
    result, _module = run(account, containers=["photos"])
    assert codes(result) == [readiness.NO_BLOB_CORS, readiness.CONTAINER_MISSING]
    assert "kind FileStorage (sku Premium_LRS) has no Blob service" in result["problems"][0]
    assert result["blob_cors_supported"] is False and result["blob_cors"] is None
    assert result["containers"] == {"photos": False}
    # no Blob service: neither its containers nor its CORS rules are read
    assert "container" not in account.reads and "cors_rules" not in account.reads


def test_premium_page_blob_account_with_no_cors_needed_is_ready():
    account = ready_account(body=account_body("StorageV2", "Premium_LRS"))
    result, _module = run(account, v7_origins=[])
    assert result["ready"] is True and result["blob_cors"] is None and result["blob_cors_supported"] is False
    assert "cors_rules" not in account.reads


@pytest.mark.parametrize(
    ("body", "v7_ips", "issues", "firewall", "warning"),
    [
        (account_body(), [], [], {"enabled": False, "v7_ips_allowed": None, "missing_v7_ips": []}, None),
        (account_body(), [V7_IP], [], {"enabled": False, "v7_ips_allowed": True, "missing_v7_ips": []}, None),
        (account_body(default_action="Deny"), [], [readiness.FIREWALL_NO_V7_IPS],
         {"enabled": True, "v7_ips_allowed": None, "missing_v7_ips": []}, None),
        (account_body(default_action="Deny", ip_rules=["203.0.113.0/24"]), [V7_IP, V7_RANGE],
         [readiness.FIREWALL_MISSING_V7_IPS], {"enabled": True, "v7_ips_allowed": False, "missing_v7_ips": [V7_RANGE]},
         None),
        (account_body(default_action="Deny", ip_rules=[V7_IP, "198.51.100.0/29", "198.51.100.8/29"]), [V7_IP, V7_RANGE],
         [], {"enabled": True, "v7_ips_allowed": True, "missing_v7_ips": []}, None),
        (account_body(default_action="Deny", ip_rules=[V7_IP, "not-an-ip"]), [V7_IP], [],
         {"enabled": True, "v7_ips_allowed": True, "missing_v7_ips": []},
         "the firewall IP rule 'not-an-ip' is not an IP address or CIDR range and was ignored"),
        (account_body(public="Disabled"), [V7_IP], [readiness.PUBLIC_ACCESS_DISABLED],
         {"enabled": False, "v7_ips_allowed": True, "missing_v7_ips": []}, None),
        (account_body(public="SecuredByPerimeter", default_action="Deny"), [V7_IP], [],
         {"enabled": True, "v7_ips_allowed": False, "missing_v7_ips": [V7_IP]},
         "network security perimeter's inbound access rules decide what reaches the account"),
    ],
)
def test_network(body, v7_ips, issues, firewall, warning):
    result, mod = run(ready_account(body=body), v7_ips=v7_ips)
    assert codes(result) == issues and result["firewall"] == firewall
    assert result["public_endpoint"] is (body["properties"]["publicNetworkAccess"] != "Disabled")
    if warning:
        assert len(mod.warnings) == 1 and mod.warnings[0].startswith(f"Storage account {ACCOUNT}: ")
        assert warning in mod.warnings[0]
    else:
        assert mod.warnings == []


def test_missing_containers_are_each_an_issue():
    account = ready_account(containers=CONTAINERS[:1])
    result, _module = run(account, containers=["photos", "videos", "new", "videos"])
    assert result["containers"] == {"photos": True, "videos": False, "new": False}
    assert result["missing_containers"] == ["videos", "new"]
    assert [(i["code"], i.get("container")) for i in result["issues"]] == [
        (readiness.CONTAINER_MISSING, "videos"), (readiness.CONTAINER_MISSING, "new")]
    assert [c for c in account.calls if c[0] == "container"] == [("container", "photos"), ("container", "videos"),
                                                                 ("container", "new")]


# ---------------------------------------------------------------- V7's roles


def test_no_principal_no_roles_and_no_listing():
    account = ready_account()
    result, _module = run(account)
    assert result["v7_roles"] is None and "assignments_at" not in account.reads


@pytest.mark.parametrize(
    ("held", "params", "to_create", "to_remove"),
    [
        ([], {}, ["Storage Blob Data Reader @ account acme1", "Storage Blob Delegator @ account acme1"], []),
        (READY_ROLES, {}, [], []),
        (READY_ROLES, {"v7_write": True}, ["Storage Blob Data Contributor @ account acme1"], []),
        (READY_ROLES + [assignment("account", v7.CONTRIBUTOR)], {}, [], ["Storage Blob Data Contributor @ account acme1"]),
        (READY_ROLES, {"containers": ["photos"]}, ["Storage Blob Data Reader @ container photos"],
         ["Storage Blob Data Reader @ account acme1"]),
        (READY_ROLES, {"containers": ["photos"], "v7_roles_on": "account"}, [], []),
        ([assignment("account", v7.READER, OTHER_PRINCIPAL), assignment("rg", v7.DELEGATOR), READY_ROLES[0]], {},
         ["Storage Blob Delegator @ account acme1"], []),
    ],
)
def test_v7_roles_are_v7_storage_roles_check_mode(held, params, to_create, to_remove):
    """The prediction is what v7_storage_roles would do with the same containers and write."""
    info_account = ready_account(assignments=held)
    result, _module = run(info_account, v7_principal_id=PRINCIPAL, **params)
    roles = result["v7_roles"]
    assert [ra.label(ra.Assignment(a["scope"], a["role_definition_id"], a["principal_id"])) for a in roles["to_create"]] \
        == to_create
    assert [f"{a['role_name']} @ {ra.short_scope(a['scope'])}" for a in roles["to_remove"]] == to_remove
    assert all(a["principal_id"] == PRINCIPAL for a in roles["assignments"])

    on_account = params.get("v7_roles_on") == "account"
    roles_account = ready_account(assignments=held)
    mod = fake_module(v7_storage_roles.ARGUMENT_SPEC, check=True, principal_id=PRINCIPAL, write=params.get("v7_write", False),
                      containers=[] if on_account else params.get("containers", []))
    would = v7_storage_roles.ensure(mod, roles_account)
    assert roles["to_create"] == would["created"] and roles["to_remove"] == would["removed"]


def test_principal_to_be_created_gets_every_role():
    account = ready_account()
    result, _module = run(account, v7_principal_missing=True, containers=["photos"], v7_write=True)
    roles = result["v7_roles"]
    assert roles["assignments"] == [] and roles["to_remove"] == []
    assert [(a["role_name"], ra.short_scope(a["scope"]), a["principal_id"], a["id"]) for a in roles["to_create"]] == [
        ("Storage Blob Delegator", "account acme1", ra.PENDING_PRINCIPAL, None),
        ("Storage Blob Data Reader", "container photos", ra.PENDING_PRINCIPAL, None),
        ("Storage Blob Data Contributor", "container photos", ra.PENDING_PRINCIPAL, None),
    ]
    assert "assignments_at" not in account.reads


# ---------------------------------------------------------------- the CORS prediction

CORS_CASES = {
    "fresh": ([], False),
    "the guide's rules": (GUIDE, True),
    "ours": ([OURS], True),
    "a narrow rule shadows V7": ([rule([V7], ["GET", "PUT"], ["x-ms-blob-type"])], False),
    "another origin only": ([rule(["https://www.contoso.com"], ["GET"])], False),
}


@pytest.mark.parametrize(("rules", "up_to_date"), CORS_CASES.values(), ids=CORS_CASES.keys())
def test_cors_prediction_is_v7_blob_cors_check_mode(rules, up_to_date):
    result, _module = run(ready_account(cors=rules))
    cors = result["blob_cors"]
    assert cors["up_to_date"] is up_to_date and cors["rules"] == [r.to_result() for r in rules]
    assert cors["limit_problems"] == [] and readiness.CORS_LIMITS not in codes(result)

    would = v7_blob_cors.ensure_cors(fake_module(v7_blob_cors.ARGUMENT_SPEC, check=True), ready_account(cors=rules))
    assert would["changed"] is not up_to_date
    assert (cors["added"], cors["removed"]) == (would["added"], would["removed"])


def test_cors_prediction_for_several_origins():
    irl = "https://darwin.irl.v7labs.com"
    result, _module = run(ready_account(cors=GUIDE), v7_origins=[V7, irl, "HTTPS://DARWIN.IRL.V7LABS.COM/"])
    assert result["blob_cors"]["added"] == [rule([irl], ["GET", "PUT"]).to_result()]


def test_five_rule_limit_is_a_cors_limits_issue():
    account = ready_account(cors=FIVE)
    result, _module = run(account)
    cors = result["blob_cors"]
    assert cors["up_to_date"] is False and len(cors["limit_problems"]) == 1
    assert "at most 5 CORS rules per service and this would need 6" in cors["limit_problems"][0]
    assert codes(result) == [readiness.CORS_LIMITS]
    assert result["problems"][0].startswith(f"Cannot set the Blob CORS rules of storage account {ACCOUNT}:")
    assert "purge: true" in result["problems"][0]
    # v7_blob_cors would fail with the same message
    with pytest.raises(AzureApiError) as caught:
        v7_blob_cors.ensure_cors(fake_module(v7_blob_cors.ARGUMENT_SPEC, check=True), ready_account(cors=FIVE))
    assert str(caught.value) == result["problems"][0]


def test_five_rules_that_already_let_v7_in_are_no_issue():
    result, _module = run(ready_account(cors=FIVE[:4] + [OURS]))
    assert result["ready"] is True and result["blob_cors"]["up_to_date"] is True


def test_no_origins_means_no_cors_read():
    account = ready_account(cors=[])
    result, _module = run(account, v7_origins=[])
    assert result["blob_cors"] is None and result["ready"] is True and "cors_rules" not in account.reads


# ---------------------------------------------------------------- the operator's rights


@pytest.mark.parametrize(
    ("permissions", "containers", "issues", "warning"),
    [
        (ALL, ["photos"], [], None),
        (READER, ["photos"], ["can_assign_roles", "can_write_cors"], "blobServices/containers/write here"),
        (READER, ["new"], ["can_assign_roles", "can_write_cors", "can_create_containers"], None),
        (NO_CONTAINERS, ["photos"], [], "blobServices/containers/write here"),  # not needed: every container exists
        (NO_CONTAINERS, ["new"], ["can_create_containers"], None),
        (NO_ROLES, [], ["can_assign_roles"], None),
        ([], [], ["can_assign_roles", "can_write_cors", "can_read"], "blobServices/containers/write here"),
    ],
)
def test_operator_rights_all(permissions, containers, issues, warning):
    account = ready_account(permissions=permissions)
    result, mod = run(account, containers=containers, v7_principal_id=PRINCIPAL)
    lacks = [i["right"] for i in result["issues"] if i["code"] == readiness.OPERATOR_LACKS_RIGHT]
    assert lacks == issues
    assert "permissions" in account.reads
    assert all(result["operator"][flag] is False for flag in issues)
    if warning:
        assert len(mod.warnings) == 1 and warning in mod.warnings[0] and "not needed now" in mod.warnings[0]
    else:
        assert mod.warnings == []


@pytest.mark.parametrize(
    ("world", "params", "reads_permissions", "issues"),
    [
        # nothing to change: the rights are not even read
        ({}, {"v7_principal_id": PRINCIPAL, "containers": ["photos"], "v7_roles_on": "account"}, False, []),
        # the roles are unknown without a principal: assigning them is needed
        ({}, {}, True, ["can_assign_roles"]),
        ({"assignments": READY_ROLES + [assignment("account", v7.CONTRIBUTOR)]}, {"v7_principal_id": PRINCIPAL},
         True, ["can_assign_roles"]),
        ({"cors": GUIDE[:1]}, {"v7_principal_id": PRINCIPAL}, True, ["can_write_cors"]),
        ({}, {"v7_principal_id": PRINCIPAL, "containers": ["new"], "v7_roles_on": "account"}, True,
         ["can_create_containers"]),
        ({}, {"v7_principal_id": PRINCIPAL, "containers": ["photos"]}, True, ["can_assign_roles"]),
        ({"cors": []}, {"v7_principal_missing": True, "containers": ["new"]}, True,
         ["can_assign_roles", "can_write_cors", "can_create_containers"]),
    ],
)
def test_operator_rights_needed(world, params, reads_permissions, issues):
    account = ready_account(permissions=READER, **world)
    result, mod = run(account, operator_rights="needed", **params)
    assert ("permissions" in account.reads) is reads_permissions
    lacks = [i["right"] for i in result["issues"] if i["code"] == readiness.OPERATOR_LACKS_RIGHT]
    assert lacks == issues
    if not reads_permissions:
        assert set(result["operator"].values()) == {None} and result["ready"] is True
    assert mod.warnings == []  # "needed" reports no right that is not needed, not even as a warning


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("params", "options"),
    [
        ({"v7_ips": ["10.1.2.3"]}, ["v7_ips"]),
        ({"v7_ips": ["203.0.113.7/24"]}, ["v7_ips"]),
        ({"v7_ips": ["2001:db8::1"]}, ["v7_ips"]),
        ({"v7_origins": ["*"]}, ["v7_origins"]),
        ({"v7_origins": ["https://darwin.v7labs.com/app"]}, ["v7_origins"]),
        ({"containers": ["Photos"]}, ["containers"]),
        ({"v7_principal_id": v7.APP_ID}, ["v7_principal_id"]),
        ({"v7_principal_id": PRINCIPAL, "v7_principal_missing": True}, ["v7_principal_missing"]),
        ({"resource_group": "rg.", "storage_account": "x", "v7_ips": ["nope"]}, ["resource_group", "storage_account", "v7_ips"]),
    ],
)
def test_bad_options_are_named_before_any_request(params, options):
    account = ready_account()
    with pytest.raises(InputError) as caught:
        run(account, **params)
    assert [p.split(":")[0] for p in caught.value.problems] == options
    assert account.calls == []


# ---------------------------------------------------------------- V7's facts


def test_argument_spec_defaults_are_v7s_facts():
    assert module.ARGUMENT_SPEC["v7_origins"]["default"] == list(v7.ORIGINS)
    assert module.ARGUMENT_SPEC["v7_origins"]["default"] == v7_blob_cors.ARGUMENT_SPEC["origins"]["default"]
    # with its defaults, the prediction is for V7's methods on V7's origin
    result, _module = run(ready_account(cors=[]))
    assert result["blob_cors"]["added"] == [rule(v7.ORIGINS, v7.CORS_METHODS, v7.CORS_ALLOWED_HEADERS,
                                                 v7.CORS_EXPOSED_HEADERS).to_result()]


# ---------------------------------------------------------------- the browsers' CORS preflight


@pytest.fixture()
def preflight(monkeypatch):
    """What cors_preflight.send is asked, and what it answers (it is tested over HTTP on its own)."""
    from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
    calls = []
    answer = {"value": None}

    def send(settings, endpoint, path, probes, **kwargs):
        calls.append((endpoint, path, [(p.origin, p.method) for p in probes], kwargs))
        return answer["value"](endpoint, probes)

    monkeypatch.setattr(cp, "send", send)
    return calls, answer, cp


def test_preflight_is_sent_when_the_rules_look_right(preflight):
    calls, answer, cp = preflight
    answer["value"] = lambda endpoint, probes: cp.outcome(endpoint, [cp.answer(p, 200, {
        "Access-Control-Allow-Origin": V7, "Access-Control-Allow-Methods": "GET,PUT",
        "Access-Control-Allow-Headers": "content-type,x-ms-blob-type"}, None) for p in probes])
    result, mod = run(ready_account(), containers=["photos"], cors_preflight=True)
    assert calls == [(f"https://{ACCOUNT}.blob.core.windows.net/", "/photos/v7-cors-preflight",
                      [(V7, "GET"), (V7, "PUT")], {})]
    assert result["ready"] is True and result["cors_preflight"]["checked"] is True and mod.warnings == []


def test_a_refused_preflight_makes_the_account_not_ready(preflight):
    calls, answer, cp = preflight
    answer["value"] = lambda endpoint, probes: cp.outcome(endpoint, [cp.answer(p, 403, {}, "CorsPreflightFailure")
                                                                     for p in probes])
    result, _mod = run(ready_account(), cors_preflight=True)
    assert codes(result) == [readiness.CORS_PREFLIGHT_REFUSED]
    assert "refuses the CORS preflight a browser on V7's web app sends" in result["problems"][0]
    assert f"GET from {V7} (403 CorsPreflightFailure), PUT from {V7}" in result["problems"][0]


def test_an_unreachable_endpoint_is_a_warning_not_a_problem(preflight):
    calls, answer, cp = preflight
    answer["value"] = lambda endpoint, probes: cp.outcome(endpoint, [], failure="could not reach it: no route")
    result, mod = run(ready_account(), cors_preflight=True)
    assert result["ready"] is True and result["cors_preflight"]["checked"] is False
    assert mod.warnings == [f"could not send V7's CORS preflight to the Blob service of {ACCOUNT} from this "
                            "controller (could not reach it: no route); CORS was checked over ARM only."]


def test_no_preflight_while_the_rules_are_still_to_change(preflight):
    calls, _answer, _cp = preflight
    result, _mod = run(ready_account(cors=[]), cors_preflight=True)
    assert calls == [] and result["cors_preflight"]["checked"] is False
    assert "do not let V7's origins in yet" in result["cors_preflight"]["reason"]


def test_no_preflight_unless_asked(preflight):
    calls, _answer, _cp = preflight
    result, _mod = run(ready_account())
    assert calls == [] and result["cors_preflight"] is None


def test_a_read_only_integration_needs_get_alone(preflight):
    calls, answer, cp = preflight
    answer["value"] = lambda endpoint, probes: cp.outcome(endpoint, [cp.answer(p, 200, {
        "Access-Control-Allow-Origin": V7, "Access-Control-Allow-Methods": "GET"}, None) for p in probes])
    result, _mod = run(ready_account(cors=[rule([V7], ["GET"])]), v7_cors_methods=["GET"], cors_preflight=True)
    assert result["blob_cors"]["up_to_date"] is True and result["ready"] is True
    assert calls[0][2] == [(V7, "GET")]
    result, _mod = run(ready_account(cors=[rule([V7], ["GET"])]))
    assert result["blob_cors"]["up_to_date"] is False and result["blob_cors"]["added"] == [rule([V7], ["PUT"]).to_result()]
