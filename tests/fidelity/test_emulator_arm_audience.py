"""What azure.azcollection needs from the emulator beyond the collection's own calls.

1. ARM accepts a token asked for `<resource manager URL>/.default`, the scope azure.azcollection
   derives from the cloud's resource manager URL. In public Azure that URL,
   https://management.azure.com/, is one of ARM's audiences (ARM's own error message lists
   'https://management.core.windows.net/','https://management.core.windows.net',
   'https://management.azure.com/','https://management.azure.com'); the emulator's resource
   manager URL is its base URL. Any other audience still gets ARM's 401
   InvalidAuthenticationTokenAudience, and Entra still refuses an unknown resource (AADSTS500011).
2. The Blob data plane's Get Blob Service Properties, which azure_rm_storageaccount(_info) call on
   every run (Shared Key with a key from listKeys): the string-to-sign as Microsoft documents it,
   the XML reply of recorded traffic, and the errors for a firewall, disabled Shared Key, a wrong
   signature and a stale date. Requests reach it by their Host header, as the bench's proxy sends
   them.
"""
from __future__ import annotations

import base64
import copy
import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import yaml
from azure.identity import ClientSecretCredential
from azure.mgmt.storage import StorageManagementClient

from tests.conftest import CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.emulator.app import shared_key_signature, shared_key_string_to_sign

from .conftest import Client, account_path

ARM_MESSAGE_AUDIENCES = "'https://management.core.windows.net/','https://management.core.windows.net'"


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token(emulator, scope: str) -> requests.Response:
    return requests.post(
        f"{emulator.url}{CONTOSO}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": scope, "client_id": OPERATOR["client_id"],
              "client_secret": OPERATOR["secret"]},
        verify=emulator.ca_bundle,
        timeout=30,
    )


# ------------------------------------------------------------------ the resource manager URL as audience
@pytest.mark.parametrize("resource", ["{base}", "{base}/"], ids=["without-slash", "with-slash"])
def test_token_for_the_resource_manager_url_is_accepted_by_arm(emulator, resource):
    base = emulator.url.rstrip("/")
    client = Client(emulator, OPERATOR, scope=resource.format(base=base) + "/.default")
    assert _claims(client.credential.get_token(client.scope).token)["aud"] == base + "/"
    reply = client.call("GET", account_path())
    assert reply.status_code == 200, reply.text
    assert reply.json()["name"] == "contosoimages"


@pytest.mark.parametrize(
    "scope",
    ["https://management.core.windows.net//.default", "https://management.azure.com/.default"],
)
def test_the_public_arm_audiences_still_work(emulator, scope):
    reply = Client(emulator, OPERATOR, scope=scope).call("GET", account_path())
    assert reply.status_code == 200, reply.text


def test_sdk_client_with_the_scope_azcollection_builds(emulator):
    """azure.azcollection's get_mgmt_svc_client: base_url and credential_scopes from the cloud's
    resource manager URL (with its trailing slash, then '.default')."""
    credential = ClientSecretCredential(
        CONTOSO, OPERATOR["client_id"], OPERATOR["secret"], authority=emulator.url,
        disable_instance_discovery=True, connection_verify=emulator.ca_bundle,
    )
    client = StorageManagementClient(
        credential, SUBSCRIPTION, base_url=emulator.url, credential_scopes=[emulator.url + ".default"],
        connection_verify=emulator.ca_bundle,
    )
    account = client.storage_accounts.get_properties("rg-data", "contosovideos")
    assert account.name == "contosovideos"
    assert account.primary_endpoints.blob == "https://contosovideos.blob.core.windows.net/"


def test_an_unrelated_audience_still_gets_401_from_arm(emulator):
    reply = Client(emulator, OPERATOR, scope=emulator.graph_url + ".default").call("GET", account_path())
    assert reply.status_code == 401
    error = reply.json()["error"]
    assert error["code"] == "InvalidAuthenticationTokenAudience"
    base = emulator.url.rstrip("/")
    assert f"'{emulator.graph_url}'" in error["message"]
    assert ARM_MESSAGE_AUDIENCES in error["message"] and f"'{base}/','{base}'" in error["message"]
    assert "WWW-Authenticate" in reply.headers


@pytest.mark.parametrize("resource", ["{base}/subscriptions", "https://127.0.0.2:{port}", "https://vault.azure.net"])
def test_entra_still_refuses_other_resources(emulator, resource):
    port = emulator.url.rstrip("/").rsplit(":", 1)[1]
    reply = _token(emulator, resource.format(base=emulator.url.rstrip("/"), port=port) + "/.default")
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_resource" and reply.json()["error_codes"] == [500011]


def test_cloud_metadata_lists_the_resource_manager_url_among_the_audiences(emulator):
    entry = requests.get(emulator.metadata_url, verify=emulator.ca_bundle, timeout=30).json()
    audiences = entry["authentication"]["audiences"]
    # the first audience is the one clients that read the metadata ask tokens for: unchanged
    assert audiences[0] == "https://management.core.windows.net/"
    assert entry["resourceManager"] in audiences
    assert len(audiences) == len(set(audiences))


# ------------------------------------------------------------------ Blob data plane: Get Blob Service Properties
def test_string_to_sign_matches_microsofts_example():
    """The example in "Authorize with Shared Key" (Blob service, version 2009-09-19 and later):
    GET ...?restype=container&comp=metadata&timeout=20 with x-ms-date and x-ms-version."""
    headers = {"x-ms-date": "Sun, 11 Oct 2009 21:49:13 GMT", "x-ms-version": "2009-09-19"}
    query = [("restype", "container"), ("comp", "metadata"), ("timeout", "20")]
    expected = (
        "GET\n" + "\n" * 11
        + "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
        + "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20"
    )
    assert shared_key_string_to_sign("GET", headers, "myaccount", "/myaccount/mycontainer", query) == expected


@pytest.mark.parametrize(
    "headers, expected_tail",
    [
        ({"Content-Length": "0", "x-ms-version": "2025-01-05"}, "\n" * 12 + "x-ms-version:2025-01-05\n/acct/"),
        ({"Content-Length": "12", "Content-Type": "application/xml"}, "\n\n\n12\n\napplication/xml\n" + "\n" * 6 + "/acct/"),
        ({"X-MS-Meta-A": "  a   b "}, "\n" * 12 + "x-ms-meta-a:a b\n/acct/"),
    ],
    ids=["zero-length-is-empty", "standard-headers-in-place", "x-ms-names-lowered-values-folded"],
)
def test_string_to_sign_rules(headers, expected_tail):
    assert shared_key_string_to_sign("PUT", headers, "acct", "/", []) == "PUT" + expected_tail


def _state_with(**accounts) -> dict:
    """The default world, plus storage accounts in rg-data (name -> extra settings)."""
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    group = doc["tenants"][0]["subscriptions"][0]["resource_groups"][0]
    for name, settings in accounts.items():
        group["storage_accounts"].append({"name": name, "kind": "StorageV2", **copy.deepcopy(settings)})
    return doc


def _keys(arm, account: str) -> list[str]:
    reply = arm.call("POST", account_path(account) + "/listKeys")
    assert reply.status_code == 200, reply.text
    return [k["value"] for k in reply.json()["keys"]]


def _blob_get(emulator, account: str, key: str | None, *, date: datetime | None = None, sign_as: str | None = None,
              query: str = "?restype=service&comp=properties") -> requests.Response:
    """GET on the account's Blob endpoint, signed with Shared Key as the Storage SDK signs it."""
    headers = {
        "Host": f"{account}.blob.core.windows.net",
        "x-ms-date": format_datetime(date or datetime.now(timezone.utc), usegmt=True),
        "x-ms-version": "2025-01-05",
        "x-ms-client-request-id": "4be7fc49-e80c-4779-8dce-a87578efe8f8",
    }
    if key is not None:
        params = [tuple(part.split("=", 1)) for part in query.lstrip("?").split("&") if part]
        to_sign = shared_key_string_to_sign("GET", headers, sign_as or account, "/", params)
        headers["Authorization"] = f"SharedKey {sign_as or account}:{shared_key_signature(key, to_sign)}"
    return requests.get(emulator.url + query, headers=headers, verify=emulator.ca_bundle, timeout=30)


def _error_code(reply: requests.Response) -> str:
    root = ET.fromstring(reply.content)
    assert root.tag == "Error" and root.findtext("Message")
    assert reply.headers["x-ms-error-code"] == root.findtext("Code")
    return root.findtext("Code")


def test_service_properties_reply_as_recorded(emulator, arm):
    reply = _blob_get(emulator, "contosovideos", _keys(arm, "contosovideos")[1])
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == "application/xml"
    assert reply.headers["Server"] == "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"
    assert reply.headers["x-ms-version"] == "2025-01-05"
    assert reply.headers["x-ms-client-request-id"] == "4be7fc49-e80c-4779-8dce-a87578efe8f8"
    assert reply.headers["x-ms-request-id"] and reply.headers["Date"].endswith(" GMT")
    root = ET.fromstring(reply.content)
    assert root.tag == "StorageServiceProperties"
    assert [child.tag for child in root] == [
        "Logging", "HourMetrics", "MinuteMetrics", "Cors", "DeleteRetentionPolicy", "StaticWebsite",
    ]
    assert root.findtext("StaticWebsite/Enabled") == "false"
    assert root.findtext("DeleteRetentionPolicy/Enabled") == "false"
    rules = root.findall("Cors/CorsRule")
    assert len(rules) == 1
    assert [child.tag for child in rules[0]] == [
        "AllowedMethods", "AllowedOrigins", "AllowedHeaders", "ExposedHeaders", "MaxAgeInSeconds",
    ]
    assert rules[0].findtext("AllowedOrigins") == "https://portal.contoso.com"
    assert rules[0].findtext("AllowedMethods") == "GET,HEAD"
    assert rules[0].findtext("MaxAgeInSeconds") == "3600"


def test_the_data_plane_sees_what_arm_wrote(emulator, arm):
    """CORS and delete retention are one setting on both planes."""
    body = {"properties": {
        "cors": {"corsRules": [{"allowedOrigins": ["https://darwin.v7labs.com"], "allowedMethods": ["GET", "PUT"],
                                "allowedHeaders": ["*"], "exposedHeaders": [], "maxAgeInSeconds": 0}]},
        "deleteRetentionPolicy": {"enabled": True, "days": 7},
    }}
    assert arm.call("PUT", account_path() + "/blobServices/default", body).status_code == 200
    root = ET.fromstring(_blob_get(emulator, "contosoimages", _keys(arm, "contosoimages")[0]).content)
    assert root.findtext("Cors/CorsRule/AllowedOrigins") == "https://darwin.v7labs.com"
    assert root.findtext("Cors/CorsRule/AllowedMethods") == "GET,PUT"
    assert root.findtext("Cors/CorsRule/ExposedHeaders") == ""
    assert (root.findtext("DeleteRetentionPolicy/Enabled"), root.findtext("DeleteRetentionPolicy/Days")) == ("true", "7")


FIREWALLED = {"network_acls": {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
                               "ipRules": [{"value": "203.0.113.0/24", "action": "Allow"}]}}


@pytest.mark.parametrize(
    "account, settings, signing, status, code",
    [
        ("contosoimages", {}, "wrong-key", 403, "AuthenticationFailed"),
        ("contosoimages", {}, "other-account", 403, "AuthenticationFailed"),
        ("contosoimages", {}, "stale-date", 403, "AuthenticationFailed"),
        ("contosoimages", {}, "unsigned", 401, "NoAuthenticationInformation"),
        ("fwdenied", FIREWALLED, "key", 403, "AuthorizationFailure"),
        ("fwallowed", {**FIREWALLED, "network_acls": {**FIREWALLED["network_acls"], "ipRules": [
            {"value": "127.0.0.1", "action": "Allow"}]}}, "key", 200, None),
        ("nopublic", {"public_network_access": "Disabled"}, "key", 403, "AuthorizationFailure"),
        ("nosharedkey", {"allow_shared_key_access": False}, "key", 403, "KeyBasedAuthenticationNotPermitted"),
    ],
)
def test_service_properties_errors(emulator, arm, account, settings, signing, status, code):
    if settings:
        emulator.load_state(_state_with(**{account: settings}))
    key = _keys(arm, account)[0]
    if signing == "wrong-key":
        key = base64.b64encode(os.urandom(64)).decode()
    reply = _blob_get(
        emulator, account, None if signing == "unsigned" else key,
        date=datetime.now(timezone.utc) - timedelta(minutes=20) if signing == "stale-date" else None,
        sign_as="contosovideos" if signing == "other-account" else None,
    )
    assert reply.status_code == status, reply.text
    if code:
        assert _error_code(reply) == code
    if code == "AuthenticationFailed" and signing == "wrong-key":
        detail = ET.fromstring(reply.content).findtext("AuthenticationErrorDetail")
        assert "is not the same as any computed signature" in detail and key not in detail


def test_an_unknown_account_and_another_operation(emulator, arm):
    assert _error_code(_blob_get(emulator, "nosuchaccount", None)) == "ResourceNotFound"
    other = _blob_get(emulator, "contosoimages", _keys(arm, "contosoimages")[0], query="?comp=list")
    assert other.status_code == 501 and _error_code(other) == "NotImplemented"


def test_data_plane_requests_are_logged_as_blob(emulator, arm):
    _blob_get(emulator, "contosoimages", _keys(arm, "contosoimages")[0])
    blob = emulator.log(kind="blob")
    assert [(e["method"], e["path"], e["status"], e["write"]) for e in blob] == [("GET", "/", 200, False)]
