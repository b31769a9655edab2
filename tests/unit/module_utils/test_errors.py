"""Error mapping: message shape, hints by code, and that no token survives into a message."""
from __future__ import annotations

import base64
import json
import ssl

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.mgmt.core.exceptions import ARMErrorFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import (
    REDACTED,
    AzureApiError,
    api_call,
    parse_error_body,
    scrub,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict) -> str:
    return ".".join([_b64(b'{"alg":"RS256","typ":"JWT"}'), _b64(json.dumps(claims).encode()), _b64(b"s" * 64)])


JWT = make_jwt({"tid": "11111111-1111-1111-1111-111111111111", "aud": "https://management.azure.com"})


class FakeResponse:
    """The part of an azure-core response that HttpResponseError reads."""

    def __init__(self, status: int, body: dict | str | None, reason: str = "Error") -> None:
        self.status_code = status
        self.reason = reason
        self._body = body if isinstance(body, str) or body is None else json.dumps(body)
        self.headers = {"content-type": "application/json"}
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding=None):
        return self._body or ""

    def body(self):
        return (self._body or "").encode()


def arm_error(status: int, code: str, message: str) -> HttpResponseError:
    """What an azure-mgmt client raises for an ARM error reply."""
    return HttpResponseError(response=FakeResponse(status, {"error": {"code": code, "message": message}}), error_format=ARMErrorFormat)


def convert(exc: BaseException, description: str = "do the thing") -> AzureApiError:
    with pytest.raises(AzureApiError) as caught:
        with api_call(description):
            raise exc
    return caught.value


@pytest.mark.parametrize(
    ("exc", "status", "code", "needles"),
    [
        (arm_error(403, "AuthorizationFailed", "The client 'x' does not have authorization to perform action "
                   "'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/s'."),
         403, "AuthorizationFailed",
         ["Failed to do the thing: AuthorizationFailed: The client", "Owner", "User Access Administrator",
          "Role Based Access Control Administrator"]),
        (arm_error(400, "PrincipalNotFound", "Principal abc does not exist in the directory t."), 400,
         "PrincipalNotFound", ["Failed to do the thing: PrincipalNotFound: Principal abc"]),
        (HttpResponseError(response=FakeResponse(403, {"error": {"code": "Authorization_RequestDenied",
                                                                 "message": "Insufficient privileges to complete the operation."}})),
         403, "Authorization_RequestDenied",
         ["Insufficient privileges", "Application.ReadWrite.All", "Cloud Application Administrator", "Application Administrator"]),
        (HttpResponseError(response=FakeResponse(429, "", reason="Too Many Requests")), 429, "TooManyRequests",
         ["api_retries"]),
    ],
)
def test_http_errors(exc, status, code, needles):
    err = convert(exc)
    assert (err.status, err.code) == (status, code)
    assert str(err).startswith("Failed to do the thing: ")
    for needle in needles:
        assert needle in str(err)


@pytest.mark.parametrize(
    ("exc", "code", "expected"),
    [
        (arm_error(404, "SubscriptionNotFound", "The subscription 's-1' could not be found."), "SubscriptionNotFound",
         "Failed to do the thing: SubscriptionNotFound: The subscription 's-1' could not be found."),
        (arm_error(404, "ResourceGroupNotFound", "Resource group 'rg-x' could not be found."), "ResourceGroupNotFound",
         "Failed to do the thing: ResourceGroupNotFound: Resource group 'rg-x' could not be found."),
        (ResourceNotFoundError(response=FakeResponse(404, {"error": {"code": "ResourceNotFound", "message": "gone"}})),
         "ResourceNotFound", "Failed to do the thing: ResourceNotFound: gone."),
    ],
)
def test_not_found_is_left_to_the_resource_layer(exc, code, expected):
    """No second wording of "not found" here: resources.missing_message says it, once
    (tests/unit/module_utils/test_resources.py)."""
    err = convert(exc)
    assert (err.status, err.code, str(err)) == (404, code, expected)


@pytest.mark.parametrize(
    ("text", "code", "needles"),
    [
        ("ClientSecretCredential.get_token failed: Authentication failed: AADSTS7000215: Invalid client secret provided.",
         "AADSTS7000215", ["client_id", "secret", "tenant", "AZURE_CLIENT_ID"]),
        ("Authentication failed: AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
         "AADSTS700016", ["client_id", "tenant"]),
        ("Authentication failed: invalid_client", "invalid_client", ["client_id", "secret", "tenant"]),
        ("Authentication failed: AADSTS70021: No matching federated identity record found for presented assertion.",
         "AADSTS70021", ["federated_token_file", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID"]),
        ("Authentication failed: Unable to get authority configuration for https://login.example.test/0000. Also "
         "please double check your tenant name or GUID is correct.", "TenantNotFound", ["AZURE_TENANT", "cloud_environment"]),
        ("ChainedTokenCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
         "\tAzureCliCredential: Please run 'az login' to set up an account\n\tManagedIdentityCredential: no endpoint",
         "CredentialUnavailable", ["az login", "ManagedIdentityCredential: no endpoint", "managed identity"]),
    ],
)
def test_sign_in_errors(text, code, needles):
    err = convert(ClientAuthenticationError(message=text))
    assert err.code == code
    for needle in needles:
        assert needle in str(err)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ClientSecretCredential.get_token failed: Authentication failed: AADSTS7000215: Invalid client secret provided.",
         "Failed to do the thing: AADSTS7000215: Invalid client secret provided. "),
        ("Authentication failed: AADSTS700016: Application with identifier 'x' was not found.",
         "Failed to do the thing: AADSTS700016: Application with identifier 'x' was not found. "),
    ],
)
def test_sign_in_message_names_the_code_once(text, expected):
    message = str(convert(ClientAuthenticationError(message=text)))
    assert message.startswith(expected)
    assert message.count("AADSTS700") == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": "invalid_client", "error_description": "AADSTS70021: No matching federated identity record found.",
          "error_codes": [70021]}, "AADSTS70021"),
        ({"error": "unauthorized_client", "error_description": "AADSTS700016: Application with identifier 'x' was not found.",
          "error_codes": [700016]}, "AADSTS700016"),
        ({"error": "invalid_client", "error_description": "The client is not valid."}, "invalid_client"),
    ],
)
def test_token_endpoint_reply_gives_the_aadsts_code(body, code):
    err = convert(ClientAuthenticationError(message="Authentication failed", response=FakeResponse(400, body)))
    assert err.code == code
    assert str(err).startswith(f"Failed to do the thing: {code}: ")
    assert str(err).count(code) == 1


def test_unknown_tenant_message_keeps_the_authority_url_only():
    text = ("Authentication failed: Unable to get authority configuration for https://login.example.test/0000-1111. "
            "Authority would typically be in a format of https://login.microsoftonline.com/your_tenant or "
            "https://tenant_name.ciamlogin.com. Also please double check your tenant name or GUID is correct.")
    message = str(convert(ClientAuthenticationError(message=text)))
    assert message.startswith(
        "Failed to do the thing: TenantNotFound: Unable to get authority configuration for "
        "https://login.example.test/0000-1111. The tenant was not found: check tenant (AZURE_TENANT"
    )
    assert "ciamlogin" not in message


def test_sign_in_error_never_echoes_the_secret():
    secret = "Zq8~verysecretvalue.abc"
    err = convert(ClientAuthenticationError(message=f"AADSTS7000215: Invalid client secret provided. client_secret={secret}"))
    assert secret not in str(err)
    assert secret not in scrub(f"oops {secret}", secrets=[secret])


@pytest.mark.parametrize(
    "cause",
    [ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), OSError("CERTIFICATE_VERIFY_FAILED")],
)
def test_tls_failure_names_ca_bundle(cause):
    exc = ServiceRequestError("Cannot connect", error=cause)
    err = convert(exc, "read the blob service of acct")
    assert err.code == "TLSVerificationFailed"
    assert "ca_bundle" in str(err) and "REQUESTS_CA_BUNDLE" in str(err)


def test_connection_failure_is_not_called_tls():
    err = convert(ServiceRequestError("Failed to establish a new connection: [Errno 111] Connection refused"))
    assert err.code == "ServiceRequestError" and "ca_bundle" not in str(err)
    assert "Connection refused" in str(err)


def test_graph_error_gets_the_description():
    raw = AzureApiError("Graph POST x answered 403", status=403, code="Authorization_RequestDenied",
                        service_message="Insufficient privileges to complete the operation.", described=False)
    err = convert(raw, "create the service principal of app_id abc")
    assert str(err).startswith("Failed to create the service principal of app_id abc: Authorization_RequestDenied: Insufficient")
    assert err.status == 403 and "Application.ReadWrite.All" in str(err)


def test_described_errors_pass_through_unchanged():
    inner = AzureApiError("Failed to read x: Nope.", status=400, code="Nope")
    assert convert(inner, "outer") is inner


def test_other_exceptions_are_not_swallowed():
    with pytest.raises(KeyError):
        with api_call("anything"):
            raise KeyError("x")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists."}}',
         ("RoleAssignmentExists", "The role assignment already exists.")),
        ('{"odata.error":{"code":"Request_BadRequest","message":{"lang":"en","value":"bad"}}}', ("Request_BadRequest", "bad")),
        ('{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}',
         ("invalid_client", "AADSTS7000215: Invalid client secret provided.")),
        ("<html/>", (None, None)),
        ("", (None, None)),
        ("[1]", (None, None)),
    ],
)
def test_parse_error_body(body, expected):
    assert parse_error_body(body) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"token {JWT} leaked",
        f"Authorization: Bearer {JWT}",
        f'{{"access_token": "{JWT}", "token_type": "Bearer"}}',
        f"url?x={JWT}&y=1",
        "Authorization: Bearer opaque-token-value",
        "access_token=opaque-token-value&x=1",
        "AZURE_CLIENT_SECRET=opaque-token-value",
        "client_secret: opaque-token-value",
        "aaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbb.cccccccccccccccccccccccc",
    ],
)
def test_scrub_removes_tokens(text):
    cleaned = scrub(text)
    assert JWT not in cleaned
    assert "opaque-token-value" not in cleaned
    assert "aaaaaaaaaaaaaaaaaaaaaaaaa.bbbb" not in cleaned
    assert REDACTED in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "https://management.chinacloudapi.cn/subscriptions/x",
        "storage account acct.blob.core.windows.net was not found",
        "azure-core 1.41.0 and api-version 2022-09-01",
        "Principal 0f14a80d42e54d57afe046acf9dfae05 does not exist",
        "v7_azure_auth.client_secret: not a sign-in option of the modules; did you mean secret?",
    ],
)
def test_scrub_keeps_ordinary_text(text):
    assert scrub(text) == text


@settings(max_examples=60, deadline=None)
@given(
    claims=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=30), max_size=4),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_no_jwt_survives_any_error_path(claims, before, after):
    token = make_jwt(claims)
    text = f"{before} {token} {after}"
    assert token not in str(AzureApiError(text))
    err = convert(ClientAuthenticationError(message=text))
    assert token not in str(err)
    err = convert(HttpResponseError(response=FakeResponse(401, {"error": {"code": "InvalidAuthenticationToken", "message": text}})))
    assert token not in str(err)
    assert token not in (err.service_message or "")


@pytest.mark.parametrize(
    "action, expected",
    [
        ("Microsoft.Authorization/roleAssignments/write", "Owner, User Access Administrator or Role Based Access Control Administrator"),
        ("Microsoft.Storage/storageAccounts/blobServices/write", "Storage Account Contributor, Contributor or Owner"),
        ("Microsoft.Storage/storageAccounts/blobServices/containers/write", "Storage Account Contributor, Contributor or Owner"),
        ("Microsoft.Storage/storageAccounts/read", "Reader, or any role that can read it"),
    ],
)
def test_authorization_failed_hint_names_the_roles_for_the_refused_action(action, expected):
    from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import authorization_hint

    message = (
        "The client 'c' with object id 'o' does not have authorization to perform action "
        f"'{action}' over scope '/subscriptions/s/resourceGroups/r' or the scope is invalid."
    )
    hint = authorization_hint(message)
    assert hint == f"The signed-in identity lacks {action} on /subscriptions/s/resourceGroups/r: grant it {expected} on that scope (or above)."
    assert authorization_hint("something else") is None
