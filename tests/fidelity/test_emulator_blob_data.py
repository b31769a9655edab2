"""The Blob data plane beyond service properties: CORS preflight and response headers, user
delegation keys and SAS, Get and Put Blob. The evidence for each behaviour is in
tests/emulator/blob_data.py (Microsoft's CORS page, Preflight Blob Request, Get User Delegation
Key, Create a user delegation SAS, Get Blob, Put Blob)."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import yaml
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from tests.conftest import CONTOSO, DEFAULT_STATE, OPERATOR
from tests.emulator.app import shared_key_signature, shared_key_string_to_sign
from tests.integration.blob_endpoint import ToTheEmulator

from .test_emulator_arm_audience import _error_code, _keys

ACCOUNT = "contosoimages"
HOST = f"{ACCOUNT}.blob.core.windows.net"
CONTOSO_WWW = "http://www.contoso.com"
# the example rules of Microsoft's CORS page ("Example – CORS rules evaluation"), in ARM's shape
DOCS_EXAMPLE = [
    {"allowedOrigins": [CONTOSO_WWW], "allowedMethods": ["PUT", "HEAD"], "maxAgeInSeconds": 5,
     "exposedHeaders": ["x-ms-*"], "allowedHeaders": ["x-ms-blob-content-type", "x-ms-blob-content-disposition"]},
    {"allowedOrigins": ["*"], "allowedMethods": ["PUT", "GET"], "maxAgeInSeconds": 5,
     "exposedHeaders": ["x-ms-*"], "allowedHeaders": ["x-ms-blob-content-type", "x-ms-blob-content-disposition"]},
    {"allowedOrigins": [CONTOSO_WWW], "allowedMethods": ["GET"], "maxAgeInSeconds": 5,
     "exposedHeaders": ["x-ms-*"], "allowedHeaders": ["x-ms-client-request-id"]},
]
V7_RULE = {"allowedOrigins": ["https://darwin.v7labs.com"], "allowedMethods": ["GET", "PUT"], "maxAgeInSeconds": 0,
           "exposedHeaders": [""], "allowedHeaders": ["*"]}


def load(emulator, cors_rules=None, **account_extra) -> None:
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        doc = copy.deepcopy(yaml.safe_load(handle))
    (account,) = [a for s in doc["tenants"][0]["subscriptions"] for g in s["resource_groups"]
                  for a in g["storage_accounts"] if a["name"] == ACCOUNT]
    account.update(cors_rules=cors_rules or [], blobs={"images": {"cat.txt": "meow"}}, **account_extra)
    emulator.load_state(doc)


def preflight(emulator, origin: str | None, method: str | None, headers: str | None = None) -> requests.Response:
    sent = {"Host": HOST}
    for name, value in (("Origin", origin), ("Access-Control-Request-Method", method),
                        ("Access-Control-Request-Headers", headers)):
        if value is not None:
            sent[name] = value
    return requests.options(emulator.url + "images/cat.txt", headers=sent, verify=emulator.ca_bundle, timeout=30)


def keyed_get(emulator, key: str, origin: str | None, path: str = "/images/cat.txt") -> requests.Response:
    """Get Blob signed with Shared Key (Origin is not part of what Shared Key signs)."""
    headers = {"Host": HOST, "x-ms-date": format_datetime(datetime.now(timezone.utc), usegmt=True),
               "x-ms-version": "2025-01-05"}
    to_sign = shared_key_string_to_sign("GET", headers, ACCOUNT, path, [])
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{shared_key_signature(key, to_sign)}"
    if origin:
        headers["Origin"] = origin
    return requests.get(emulator.url.rstrip("/") + path, headers=headers, verify=emulator.ca_bundle, timeout=30)


@pytest.mark.parametrize("method, headers, status", [
    ("PUT", "x-ms-blob-content-type", 200),       # first rule
    ("GET", "x-ms-blob-content-type", 200),       # second rule (the first has no GET)
    ("GET", "x-ms-client-request-id", 403),       # second rule selected by origin and method: its headers fail
])
def test_preflight_follows_the_docs_example(emulator, method, headers, status):
    load(emulator, DOCS_EXAMPLE)
    reply = preflight(emulator, CONTOSO_WWW, method, headers)
    assert reply.status_code == status, reply.text
    if status == 403:
        assert _error_code(reply) == "CorsPreflightFailure"
        assert "Access-Control-Allow-Origin" not in reply.headers
        return
    assert reply.content == b""
    shown = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
             "Access-Control-Max-Age", "Access-Control-Allow-Credentials")
    assert {k: reply.headers[k] for k in shown} == {
        "Access-Control-Allow-Origin": CONTOSO_WWW, "Access-Control-Allow-Methods": method,
        "Access-Control-Allow-Headers": headers, "Access-Control-Max-Age": "5", "Access-Control-Allow-Credentials": "true"}


def test_preflight_without_rules_or_cors_headers(emulator):
    load(emulator, [])
    assert _error_code(preflight(emulator, CONTOSO_WWW, "GET")) == "CorsPreflightFailure"
    load(emulator, [V7_RULE])
    for origin, method in ((None, "PUT"), ("https://darwin.v7labs.com", None)):
        reply = preflight(emulator, origin, method)
        assert reply.status_code == 400
    # origins match exactly: another scheme or host is another origin
    assert preflight(emulator, "http://darwin.v7labs.com", "PUT").status_code == 403
    assert preflight(emulator, "https://darwin.v7labs.com", "PUT", "content-type,x-ms-blob-type").status_code == 200
    assert preflight(emulator, "https://darwin.v7labs.com", "DELETE").status_code == 403


def test_the_firewall_answers_before_cors(emulator):
    load(emulator, [V7_RULE], network_acls={"defaultAction": "Deny", "bypass": "AzureServices",
                                            "ipRules": [{"value": "203.0.113.7", "action": "Allow"}],
                                            "virtualNetworkRules": []})
    reply = preflight(emulator, "https://darwin.v7labs.com", "PUT")
    assert reply.status_code == 403 and _error_code(reply) == "AuthorizationFailure"
    load(emulator, [V7_RULE], public_network_access="Disabled")
    assert _error_code(preflight(emulator, "https://darwin.v7labs.com", "PUT")) == "AuthorizationFailure"


def test_real_responses_carry_cors_headers_and_vary_as_the_docs_table_says(emulator, arm):
    load(emulator, DOCS_EXAMPLE[1:2] + [V7_RULE])
    key = _keys(arm, ACCOUNT)[0]
    # a `*` rule matches any origin: Allow-Origin *, the x-ms-* response headers exposed, no Vary
    star = keyed_get(emulator, key, CONTOSO_WWW)
    assert star.status_code == 200 and star.content == b"meow"
    assert star.headers["Access-Control-Allow-Origin"] == "*"
    exposed = star.headers["Access-Control-Expose-Headers"].split(",")
    assert "x-ms-request-id" in exposed and "x-ms-blob-type" in exposed and "Content-Type" not in exposed
    assert "Vary" not in star.headers and "Access-Control-Allow-Credentials" not in star.headers
    # an exact match (V7's rule is second: the `*` rule does not allow DELETE, but GET it does)
    load(emulator, [V7_RULE])
    exact = keyed_get(emulator, key, "https://darwin.v7labs.com")
    assert exact.headers["Access-Control-Allow-Origin"] == "https://darwin.v7labs.com"
    assert exact.headers["Vary"] == "Origin" and exact.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Expose-Headers" not in exact.headers      # ExposedHeaders empty
    # rules exist but none matches: no Access-Control headers, Vary: Origin; no rules: nothing
    other = keyed_get(emulator, key, "https://evil.example")
    assert other.status_code == 200 and other.headers["Vary"] == "Origin"
    assert not [h for h in other.headers if h.lower().startswith("access-control-")]
    load(emulator, [])
    assert "Vary" not in keyed_get(emulator, key, "https://darwin.v7labs.com").headers


def _credential(emulator, identity=None):
    identity = identity or OPERATOR
    return ClientSecretCredential(CONTOSO, identity["client_id"], identity["secret"], authority=emulator.url,
                                  disable_instance_discovery=True, connection_verify=emulator.ca_bundle)


def _service(emulator, credential) -> BlobServiceClient:
    return BlobServiceClient(f"https://{HOST}", credential=credential,
                             transport=ToTheEmulator(emulator.url, connection_verify=emulator.ca_bundle))


def test_user_delegation_key_needs_an_entra_token_and_at_most_seven_days(emulator, arm):
    load(emulator)
    now = datetime.now(timezone.utc)
    body = (f"<?xml version='1.0' encoding='utf-8'?><KeyInfo><Start>{now:%Y-%m-%dT%H:%M:%SZ}</Start>"
            f"<Expiry>{now + timedelta(days=8):%Y-%m-%dT%H:%M:%SZ}</Expiry></KeyInfo>")
    url = emulator.url + "?restype=service&comp=userdelegationkey"
    token = _credential(emulator).get_token("https://storage.azure.com/.default").token
    too_long = requests.post(url, data=body, verify=emulator.ca_bundle, timeout=30,
                             headers={"Host": HOST, "Authorization": f"Bearer {token}", "x-ms-version": "2025-01-05"})
    assert too_long.status_code == 400 and _error_code(too_long) == "InvalidXmlNodeValue"
    # an ARM token is not a Storage token
    arm_token = _credential(emulator).get_token(emulator.url + ".default").token
    wrong = requests.post(url, data=body, verify=emulator.ca_bundle, timeout=30,
                          headers={"Host": HOST, "Authorization": f"Bearer {arm_token}"})
    assert wrong.status_code == 401 and _error_code(wrong) == "InvalidAuthenticationInfo"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    # Shared Key cannot get one
    key = _service(emulator, {"account_name": ACCOUNT, "account_key": _keys(arm, ACCOUNT)[0]})
    with pytest.raises(Exception) as refused:
        key.get_user_delegation_key(now, now + timedelta(hours=1))
    assert getattr(refused.value, "error_code", None) == "AuthenticationFailed"
    assert [e["write"] for e in emulator.log(kind="blob")] == [False, False, False]


def test_an_owner_signs_but_its_sas_cannot_read_without_a_data_role(emulator):
    """Owner has the key action ("*") but no data actions: the SAS gives the intersection."""
    load(emulator)
    delegation = _service(emulator, _credential(emulator)).get_user_delegation_key(
        datetime.now(timezone.utc) - timedelta(minutes=1), datetime.now(timezone.utc) + timedelta(hours=1))
    sas = generate_blob_sas(ACCOUNT, "images", "cat.txt", user_delegation_key=delegation,
                            permission=BlobSasPermissions(read=True), expiry=datetime.now(timezone.utc) + timedelta(minutes=5))
    url = emulator.url + "images/cat.txt?" + sas
    reply = requests.get(url, headers={"Host": HOST}, verify=emulator.ca_bundle, timeout=30)
    assert reply.status_code == 403 and _error_code(reply) == "AuthorizationPermissionMismatch"
    tampered = requests.get(url.replace("sp=r", "sp=rw"), headers={"Host": HOST}, verify=emulator.ca_bundle, timeout=30)
    assert tampered.status_code == 403 and _error_code(tampered) == "AuthenticationFailed"
    assert "Signature did not match" in tampered.text
    expired = generate_blob_sas(ACCOUNT, "images", "cat.txt", user_delegation_key=delegation,
                                permission=BlobSasPermissions(read=True),
                                start=datetime.now(timezone.utc) - timedelta(hours=2),
                                expiry=datetime.now(timezone.utc) - timedelta(hours=1))
    late = requests.get(emulator.url + "images/cat.txt?" + expired, headers={"Host": HOST}, verify=emulator.ca_bundle, timeout=30)
    assert late.status_code == 403 and "Signature not valid in the specified time frame" in late.text
    anonymous = requests.get(emulator.url + "images/cat.txt", headers={"Host": HOST}, verify=emulator.ca_bundle, timeout=30)
    assert anonymous.status_code == 409 and _error_code(anonymous) == "PublicAccessNotPermitted"
    # the signature never reaches the request log
    assert all("sig=REDACTED" in e["query"] for e in emulator.log(kind="blob") if "sig=" in e["query"])


def test_put_blob_needs_the_blob_type(emulator, arm):
    load(emulator)
    key = _keys(arm, ACCOUNT)[0]
    headers = {"Host": HOST, "x-ms-date": format_datetime(datetime.now(timezone.utc), usegmt=True),
               "x-ms-version": "2025-01-05", "Content-Length": "2", "Content-Type": "text/plain"}
    to_sign = shared_key_string_to_sign("PUT", headers, ACCOUNT, "/images/new.txt", [])
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{shared_key_signature(key, to_sign)}"
    reply = requests.put(emulator.url + "images/new.txt", data=b"hi", headers=headers, verify=emulator.ca_bundle, timeout=30)
    assert reply.status_code == 400 and _error_code(reply) == "MissingRequiredHeader"
    headers["x-ms-blob-type"] = "BlockBlob"
    to_sign = shared_key_string_to_sign("PUT", headers, ACCOUNT, "/images/new.txt", [])
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{shared_key_signature(key, to_sign)}"
    made = requests.put(emulator.url + "images/new.txt", data=b"hi", headers=headers, verify=emulator.ca_bundle, timeout=30)
    assert made.status_code == 201 and made.headers["ETag"] and made.headers["Content-MD5"]
    assert keyed_get(emulator, key, None, "/images/new.txt").content == b"hi"
    assert _error_code(keyed_get(emulator, key, None, "/nothere/x.txt")) == "ContainerNotFound"
    assert _error_code(keyed_get(emulator, key, None, "/images/x.txt")) == "BlobNotFound"
