"""Whether a storage account is ready for V7: names, addresses, ARM action matching, problems."""
from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import missing_message

from ansible_collections.v7labs.azure_storage.plugins.module_utils.account_readiness import (
    OPERATOR_ACTIONS, with_verdict, account_name_problem, action_matches, container_name_problem, evaluate,
    not_covered, not_found, operator_flags, parse_v7_ip, permitted, rights_needed, rule_networks, validate_inputs)

V7 = "https://darwin.v7labs.com"
ROLE_WRITE = "Microsoft.Authorization/roleAssignments/write"
CORS_WRITE = "Microsoft.Storage/storageAccounts/blobServices/write"
CONTAINER_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
READ = "Microsoft.Storage/storageAccounts/read"

# Built-in roles' actions and notActions as Azure defines them (trimmed to what matters here).
OWNER = {"actions": ["*"], "notActions": []}
CONTRIBUTOR = {"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                                                "Microsoft.Authorization/elevateAccess/Action"]}
READER = {"actions": ["*/read"], "notActions": []}
USER_ACCESS_ADMIN = {"actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], "notActions": []}
RBAC_ADMIN = {"actions": ["Microsoft.Authorization/roleAssignments/write",
                          "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"],
              "notActions": []}
STORAGE_ACCOUNT_CONTRIBUTOR = {"actions": ["Microsoft.Authorization/*/read", "Microsoft.Storage/storageAccounts/*",
                                           "Microsoft.Support/*"], "notActions": []}
BLOB_DATA_CONTRIBUTOR = {"actions": ["Microsoft.Storage/storageAccounts/blobServices/containers/delete",
                                     "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                                     "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                                     "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
                         "notActions": []}
ALL = dict.fromkeys(OPERATOR_ACTIONS, True)


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(text)


def account(kind="StorageV2", sku="Standard_LRS", public="Enabled", default_action="Allow", ip_rules=(),
            name="stdarwin") -> dict:
    """A storage account as ARM's GET returns it (the parts that matter)."""
    body = {
        "id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{name}",
        "name": name, "kind": kind, "location": "westeurope",
        "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
        "properties": {
            "networkAcls": {"bypass": "AzureServices", "virtualNetworkRules": [], "defaultAction": default_action,
                            "ipRules": [{"value": v, "action": "Allow"} for v in ip_rules]},
            "allowSharedKeyAccess": False,
            "primaryEndpoints": {} if kind == "FileStorage" else {"blob": f"https://{name}.blob.core.windows.net/"},
        },
    }
    if public is not None:
        body["properties"]["publicNetworkAccess"] = public
    return body


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("name, ok", [
    ("abc", True), ("stdarwinimages01", True), ("a" * 24, True),
    ("ab", False), ("a" * 25, False), ("StDarwin", False), ("st-darwin", False), ("st_darwin", False), ("", False),
])
def test_account_names(name, ok):
    problem = account_name_problem(name)
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith(f"storage_account: {name!r} is not a storage account name")


@pytest.mark.parametrize("name, ok", [
    ("abc", True), ("images", True), ("v7-data-2024", True), ("a" * 63, True), ("1a2", True), ("a-b", True),
    ("ab", False), ("a" * 64, False), ("Images", False), ("-images", False), ("images-", False),
    ("im--ages", False), ("im_ages", False), ("im ages", False), ("$web", False), ("", False),
])
def test_container_names(name, ok):
    problem = container_name_problem(name, "containers")
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith(f"containers: {name!r} is not a container name")


# ---------------------------------------------------------------- V7's addresses


@pytest.mark.parametrize("value, network", [
    ("203.0.113.7", "203.0.113.7/32"),
    (" 203.0.113.7 ", "203.0.113.7/32"),
    ("203.0.113.7/32", "203.0.113.7/32"),
    ("198.51.100.0/28", "198.51.100.0/28"),
    ("52.10.0.0/16", "52.10.0.0/16"),
])
def test_v7_ips_accepted(value, network):
    assert parse_v7_ip(value) == net(network)


@pytest.mark.parametrize("value, why", [
    ("darwin.v7labs.com", "is not an IPv4 address or CIDR range"),
    ("203.0.113.300", "is not an IPv4 address or CIDR range"),
    ("203.0.113.0/33", "is not an IPv4 address or CIDR range"),
    ("2001:db8::1", "is IPv6"),
    ("203.0.113.7/24", "has host bits set; the range is 203.0.113.0/24"),
    ("10.1.2.3", "private (RFC 1918)"),
    ("172.20.0.0/16", "private (RFC 1918)"),
    ("192.168.1.0/24", "private (RFC 1918)"),
    ("172.0.0.0/8", "private (RFC 1918)"),  # overlaps 172.16.0.0/12
])
def test_v7_ips_refused(value, why):
    with pytest.raises(ValueError, match=r"^'.*'") as info:
        parse_v7_ip(value)
    assert why in str(info.value)


def test_validate_inputs_names_every_bad_option():
    with pytest.raises(InputError) as info:
        validate_inputs("St-Bad", ["ok-one", "Bad_One"], ["203.0.113.7", "nope"], [V7, "ftp://x", "*"])
    message = str(info.value)
    for part in ("storage_account: 'St-Bad'", "containers: 'Bad_One'", "v7_ips: 'nope'",
                 "v7_origins: 'ftp://x'", "v7_origins: '*'"):
        assert part in message
    assert "ok-one" not in message


def test_validate_inputs_normalises():
    networks, origins = validate_inputs("stdarwin", ["images"], ["203.0.113.7", "198.51.100.0/28"],
                                        ["HTTPS://Darwin.V7labs.com/", V7, "https://darwin.irl.v7labs.com:443"])
    assert networks == [net("203.0.113.7/32"), net("198.51.100.0/28")]
    assert origins == [V7, "https://darwin.irl.v7labs.com"]


@pytest.mark.parametrize("rules, wanted, missing", [
    ([], ["203.0.113.7/32"], ["203.0.113.7/32"]),
    (["203.0.113.7"], ["203.0.113.7/32"], []),
    (["203.0.113.0/24"], ["203.0.113.7/32"], []),
    (["203.0.113.8"], ["203.0.113.7/32"], ["203.0.113.7/32"]),
    (["203.0.113.0/24"], ["203.0.113.0/28", "203.0.114.0/28"], ["203.0.114.0/28"]),
    (["203.0.113.0/28"], ["203.0.113.0/24"], ["203.0.113.0/24"]),             # a wider range is not covered
    (["203.0.113.0/25", "203.0.113.128/25"], ["203.0.113.0/24"], []),        # two rules cover it together
    (["203.0.113.0", "203.0.113.1"], ["203.0.113.0/31"], []),                # so do two addresses
    (["203.0.113.0/25", "203.0.113.192/26"], ["203.0.113.0/24"], ["203.0.113.0/24"]),  # a gap
    (["0.0.0.0/0"], ["203.0.113.7/32", "198.51.100.0/28"], []),
])
def test_containment(rules, wanted, missing):
    networks, unreadable = rule_networks(rules)
    assert unreadable == []
    assert not_covered(networks, [net(w) for w in wanted]) == [net(m) for m in missing]


def test_rule_networks_skips_what_it_cannot_read():
    networks, unreadable = rule_networks(["203.0.113.7", "garbage", "2001:db8::/64", "198.51.100.0/24"])
    assert networks == [net("203.0.113.7/32"), net("198.51.100.0/24")]
    assert unreadable == ["garbage"]


# ---------------------------------------------------------------- ARM actions


@pytest.mark.parametrize("pattern, action, expected", [
    ("*", ROLE_WRITE, True),
    ("*", READ, True),
    ("*/read", READ, True),
    ("*/read", "Microsoft.Storage/storageAccounts/blobServices/containers/read", True),
    ("*/read", CORS_WRITE, False),
    ("Microsoft.Authorization/*", ROLE_WRITE, True),
    ("Microsoft.Authorization/*", READ, False),
    ("Microsoft.Authorization/*/Write", ROLE_WRITE, True),
    ("Microsoft.Authorization/*/read", ROLE_WRITE, False),
    ("Microsoft.Storage/storageAccounts/*", CONTAINER_WRITE, True),
    ("Microsoft.Storage/storageAccounts/*", CORS_WRITE, True),
    ("Microsoft.Storage/storageAccounts/*", "Microsoft.Storage/storageAccounts", False),
    ("Microsoft.Storage/*/write", CONTAINER_WRITE, True),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/*", CONTAINER_WRITE, True),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/*", CORS_WRITE, False),
    ("microsoft.authorization/ROLEASSIGNMENTS/WRITE", ROLE_WRITE, True),
    ("Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/readSomething", False),
    ("Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/listkeys/action", False),
    ("Microsoft.Storage/storageAccounts/read", "MicrosoftXStorage/storageAccounts/read", False),  # '.' is literal
    ("Microsoft.Storage/storageAccounts/read", READ, True),
    ("", READ, False),
])
def test_action_matching(pattern, action, expected):
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize("entries, expected", [
    ([OWNER], ALL),
    ([CONTRIBUTOR], {**ALL, "can_assign_roles": False}),
    ([READER], {**dict.fromkeys(OPERATOR_ACTIONS, False), "can_read": True}),
    ([USER_ACCESS_ADMIN], {**ALL, "can_write_cors": False, "can_create_containers": False}),
    ([RBAC_ADMIN], {**ALL, "can_write_cors": False, "can_create_containers": False}),
    ([STORAGE_ACCOUNT_CONTRIBUTOR], {**ALL, "can_assign_roles": False}),
    ([BLOB_DATA_CONTRIBUTOR], {**dict.fromkeys(OPERATOR_ACTIONS, False), "can_create_containers": True}),
    # a notAction takes the action away from its own role only
    ([CONTRIBUTOR, USER_ACCESS_ADMIN], ALL),
    ([{"actions": ["*"], "notActions": ["Microsoft.Storage/storageAccounts/blobServices/*"]}],
     {**ALL, "can_write_cors": False, "can_create_containers": False}),
    ([{"actions": ["*"], "notActions": ["*/write"]}], {**dict.fromkeys(OPERATOR_ACTIONS, False), "can_read": True}),
    ([{"actions": None, "notActions": None}], dict.fromkeys(OPERATOR_ACTIONS, False)),
    ([], dict.fromkeys(OPERATOR_ACTIONS, False)),
])
def test_operator_flags(entries, expected):
    assert operator_flags(entries) == expected


def test_the_sdk_pager_is_read_once():
    # the module hands over a one-pass iterable; every flag must still see every entry
    assert permitted(iter([READER, OWNER]), ROLE_WRITE) is True
    assert operator_flags(iter([READER, OWNER])) == ALL


# ---------------------------------------------------------------- the whole evaluation


PUBLIC_OFF = ("public network access is Disabled: V7 needs a public endpoint; set publicNetworkAccess to Enabled")
NO_IPS = ("the firewall is on (defaultAction Deny) and no V7 IPs were given: ask V7 support for their server IPs "
          "and pass them as v7_ips")
FILE_CORS = ("V7's origins (https://darwin.v7labs.com) cannot be allowed by Blob CORS rules: kind FileStorage "
             "(sku Premium_LRS) has no Blob service.")
PREMIUM_CORS = ("V7's origins (https://darwin.v7labs.com) cannot be allowed by Blob CORS rules: kind StorageV2 with "
                "premium sku Premium_LRS holds page blobs only")


def lacks(flag: str, roles: str) -> str:
    return f"the operator lacks {OPERATOR_ACTIONS[flag]} here: needs {roles}"


CASES = {
    "ready": dict(acct=account(), problems=[]),
    "public network access not set means enabled": dict(acct=account(public=None), problems=[]),
    "public network access disabled": dict(acct=account(public="Disabled"), problems=[PUBLIC_OFF]),
    "firewall on, no V7 IPs given": dict(acct=account(default_action="Deny"), problems=[NO_IPS]),
    "firewall on, V7 IPs allowed by an address and a range": dict(
        acct=account(default_action="Deny", ip_rules=["203.0.113.7", "198.51.100.0/24"]),
        ips=["203.0.113.7", "198.51.100.16/28"], problems=[]),
    "firewall on, some V7 IPs missing": dict(
        acct=account(default_action="Deny", ip_rules=["198.51.100.0/24"]),
        ips=["203.0.113.7", "198.51.100.16/28", "192.0.2.0/28"],
        problems=["the firewall denies by default and V7's IPs 203.0.113.7, 192.0.2.0/28 are not allowed: add them "
                  "to the account's firewall (networkAcls.ipRules)"]),
    "firewall off, V7 IPs given": dict(acct=account(ip_rules=[]), ips=["203.0.113.7"], problems=[]),
    "firewall on and public access disabled": dict(
        acct=account(public="Disabled", default_action="Deny"), ips=["203.0.113.7"],
        problems=[PUBLIC_OFF, "203.0.113.7 are not allowed"]),
    "secured by perimeter: a warning, not a firewall problem": dict(
        acct=account(public="SecuredByPerimeter", default_action="Deny"), ips=["203.0.113.7"], problems=[],
        warnings=["public network access is SecuredByPerimeter", "allow V7's server IPs (203.0.113.7)"]),
    "a firewall rule that cannot be read": dict(
        acct=account(default_action="Deny", ip_rules=["garbage", "203.0.113.7"]), ips=["203.0.113.7"], problems=[],
        warnings=["the firewall IP rule 'garbage' is not an IP address or CIDR range and was ignored"]),
    "FileStorage": dict(acct=account(kind="FileStorage", sku="Premium_LRS"), problems=[FILE_CORS]),
    "premium general-purpose v2": dict(acct=account(sku="Premium_LRS"), problems=[PREMIUM_CORS]),
    "premium block blobs support CORS": dict(acct=account(kind="BlockBlobStorage", sku="Premium_LRS"), problems=[]),
    "no CORS needed when no origins are given": dict(acct=account(kind="FileStorage", sku="Premium_LRS"),
                                                     origins=[], problems=[]),
    "a container is missing": dict(
        acct=account(), containers={"images": True, "photos": False},
        problems=["container photos does not exist: create it (v7labs.azure_storage.v7_blob_container) "
                  "or correct the name"]),
    "a Contributor cannot assign roles": dict(
        acct=account(), perms=[CONTRIBUTOR],
        problems=[lacks("can_assign_roles", "Owner, User Access Administrator or Role Based Access Control "
                                            "Administrator")]),
    "a Reader can do nothing but read": dict(
        acct=account(), perms=[READER], containers={"photos": False},
        problems=["container photos does not exist",
                  lacks("can_assign_roles", "Owner, User Access Administrator or Role Based Access Control "
                                            "Administrator"),
                  lacks("can_write_cors", "Owner, Contributor or Storage Account Contributor"),
                  lacks("can_create_containers", "Owner, Contributor, Storage Account Contributor or Storage "
                                                 "Blob Data Contributor")]),
    "no container rights needed when every container exists": dict(
        acct=account(), perms=[USER_ACCESS_ADMIN, {"actions": [CORS_WRITE], "notActions": []}],
        containers={"images": True}, problems=[],
        warnings=[lacks("can_create_containers", "Owner, Contributor, Storage Account Contributor or Storage Blob "
                                                 "Data Contributor"),
                  "(not needed now: every container given exists)"]),
    "no rights at all": dict(
        acct=account(), perms=[],
        problems=[f"the operator lacks {OPERATOR_ACTIONS[flag]} here" for flag in ("can_assign_roles", "can_write_cors",
                                                                                   "can_read")],
        warnings=[f"the operator lacks {CONTAINER_WRITE} here"]),
    # operator_rights: needed
    "needed: a Reader on an account that needs nothing": dict(
        acct=account(), perms=[READER], needed=set(), problems=[]),
    "needed: a Reader where only CORS must change": dict(
        acct=account(), perms=[READER], needed={"can_write_cors"},
        problems=[lacks("can_write_cors", "Owner, Contributor or Storage Account Contributor")]),
    "needed: a Contributor where a container is missing but roles are fine": dict(
        acct=account(), perms=[CONTRIBUTOR], containers={"photos": False}, needed={"can_create_containers"},
        problems=["container photos does not exist"]),
    "needed: not read at all": dict(acct=account(), perms=None, needed=set(), problems=[]),
}


@pytest.mark.parametrize("name", CASES)
def test_evaluate(name):
    case = CASES[name]
    networks = [parse_v7_ip(ip) for ip in case.get("ips", [])]
    result = with_verdict(evaluate(case["acct"], case.get("containers", {}), case.get("perms", [OWNER]), networks,
                                   case.get("origins", [V7]), needed=case.get("needed")))
    expected = case["problems"]
    # every expected problem is the start of, or a part of, one actual problem, in order, and nothing more
    assert len(result["problems"]) == len(expected), result["problems"]
    for actual, wanted in zip(result["problems"], expected):
        assert wanted in actual, (actual, wanted)
    assert result["ready"] is (not expected)
    for wanted in case.get("warnings", []):
        assert any(wanted in w for w in result["warnings"]), result["warnings"]
    if not case.get("warnings"):
        assert result["warnings"] == []


def test_rights_not_read_are_null():
    assert evaluate(account(), {}, None, [], [V7], needed=set())["operator"] == dict.fromkeys(OPERATOR_ACTIONS)


@pytest.mark.parametrize("missing, roles, cors, needed", [
    ([], False, False, set()),
    ([], False, None, set()),
    (["photos"], False, False, {"can_create_containers"}),
    ([], True, False, {"can_assign_roles"}),
    ([], None, False, {"can_assign_roles"}),  # V7's roles not read: its principal may not exist yet
    ([], False, True, {"can_write_cors"}),
    (["photos"], True, True, {"can_create_containers", "can_assign_roles", "can_write_cors"}),
])
def test_rights_needed(missing, roles, cors, needed):
    assert rights_needed(missing, roles, cors) == needed


@pytest.mark.parametrize("acct, ips, firewall", [
    (account(), [], {"enabled": False, "v7_ips_allowed": None, "missing_v7_ips": []}),
    (account(), ["203.0.113.7"], {"enabled": False, "v7_ips_allowed": True, "missing_v7_ips": []}),
    (account(default_action="Deny"), [], {"enabled": True, "v7_ips_allowed": None, "missing_v7_ips": []}),
    (account(default_action="Deny", ip_rules=["203.0.113.0/24"]), ["203.0.113.7", "198.51.100.0/28"],
     {"enabled": True, "v7_ips_allowed": False, "missing_v7_ips": ["198.51.100.0/28"]}),
    (account(default_action="deny", ip_rules=["203.0.113.0/24"]), ["203.0.113.7/32"],
     {"enabled": True, "v7_ips_allowed": True, "missing_v7_ips": []}),
])
def test_firewall_result(acct, ips, firewall):
    result = evaluate(acct, {}, [OWNER], [parse_v7_ip(ip) for ip in ips], [V7])
    assert result["firewall"] == firewall


def test_facts_of_an_existing_account():
    acct = account(default_action="Deny", ip_rules=["203.0.113.7", "198.51.100.0/24"], name="stdarwinimages")
    result = evaluate(acct, {"images": True, "photos": False}, [READER], [], [V7])
    assert result["exists"] is True
    assert result["account"] == {
        "name": "stdarwinimages", "id": acct["id"], "kind": "StorageV2", "sku": "Standard_LRS",
        "location": "westeurope", "public_network_access": "Enabled", "network_default_action": "Deny",
        "ip_rules": ["203.0.113.7", "198.51.100.0/24"], "bypass": "AzureServices", "allow_shared_key_access": False,
        "blob_endpoint": "https://stdarwinimages.blob.core.windows.net/"}
    assert (result["blob_cors_supported"], result["blob_cors_reason"], result["public_endpoint"]) == (True, None, True)
    assert result["containers"] == {"images": True, "photos": False}
    assert result["missing_containers"] == ["photos"]
    assert result["operator"] == {"can_assign_roles": False, "can_write_cors": False, "can_create_containers": False,
                                  "can_read": True}


def test_file_storage_facts():
    result = evaluate(account(kind="FileStorage", sku="Premium_LRS"), {}, [OWNER], [], [V7])
    assert result["blob_cors_supported"] is False
    assert "has no Blob service" in result["blob_cors_reason"]
    assert result["account"]["blob_endpoint"] is None


def test_not_found_has_every_key_empty():
    message = missing_message("account", subscription="sub", group="rg-data", account="stnosuch")
    missing = with_verdict(not_found(message))
    found = with_verdict(evaluate(account(), {}, [OWNER], [], [V7]))
    assert set(missing) == set(found)
    assert missing["exists"] is False and missing["ready"] is False
    assert missing["problems"] == ["The storage account stnosuch was not found in resource group rg-data (subscription "
                                   "sub): check storage_account, resource_group and subscription_id."]
    assert missing["issues"] == [{"code": "account_not_found", "message": missing["problems"][0]}]
    assert missing["account"] is None and missing["containers"] == {} and missing["missing_containers"] == []
    assert set(missing["operator"]) == set(OPERATOR_ACTIONS) and set(missing["operator"].values()) == {None}
    assert set(missing["firewall"]) == set(found["firewall"])
