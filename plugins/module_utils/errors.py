# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error type for everything that goes wrong talking to Azure (or to V7), with messages that
say what failed, on which resource, and what to do; the scrubbing that keeps tokens out of them; and
the one failure result every module and action plugin of the collection fails with."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional

# Three base64url parts joined by dots. A JWT header always starts with "eyJ" ('{"'); the
# second pattern catches other long three-part tokens without touching host names.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_LONG_THREE_PART = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{16,}")
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s\"',;]+")
# A field of a body, form or query string (never after a ".": "v7_azure_auth.client_secret: not a
# sign-in option" names an option, and its problem is not a secret).
_SECRET_FIELDS = re.compile(
    r"(?i)(?<!\.)([\"']?(?:access_token|refresh_token|id_token|client_secret|client_assertion|password)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)
REDACTED = "<redacted>"
NOTHING_CHANGED = "Nothing was changed."

_AADSTS = re.compile(r"\bAADSTS\d+\b")
# What MSAL says when the sign-in endpoint does not know the tenant (Entra's AADSTS90002 on the
# tenant's OpenID configuration, which MSAL does not pass on).
_UNKNOWN_AUTHORITY = "Unable to get authority configuration"
_UNKNOWN_AUTHORITY_URL = re.compile(_UNKNOWN_AUTHORITY + r" for (\S+?)\.?(?:\s|$)")
# azure-identity's prefixes, which only repeat that sign-in failed.
_SIGN_IN_PREFIX = re.compile(r"^(?:\w+\.get_token(?:_info)? failed: )?Authentication failed: ")
_OAUTH_CODES = ("invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope", "invalid_request")

_ROLE_HINT = (
    "The signed-in identity has no role on this scope that allows the action: grant it one "
    "(to create or delete role assignments it needs Owner, User Access Administrator or Role "
    "Based Access Control Administrator on the scope)."
)
_GRAPH_HINT = (
    "The signed-in identity may not do this with service principals in Microsoft Graph: grant it "
    "the Graph application permission Application.ReadWrite.OwnedBy (the least that reads, creates "
    "and deletes V7's service principal; it deletes only a principal the identity created or owns) "
    "or Application.ReadWrite.All, with admin consent; or the directory role Cloud Application "
    "Administrator. See docs/least-privilege.md."
)
_SIGN_IN_HINT = (
    "Sign-in was refused: check client_id (AZURE_CLIENT_ID), secret (AZURE_SECRET or "
    "AZURE_CLIENT_SECRET) and tenant (AZURE_TENANT or AZURE_TENANT_ID), and that the secret has "
    "not expired."
)
_TENANT_HINT = (
    "The tenant was not found: check tenant (AZURE_TENANT or AZURE_TENANT_ID) and that "
    "cloud_environment (AZURE_CLOUD_ENVIRONMENT) is the tenant's cloud."
)
_TLS_HINT = (
    "TLS certificate verification failed: set ca_bundle (or REQUESTS_CA_BUNDLE) to the CA that "
    "signed the endpoint's certificate."
)

HINTS: dict[str, str] = {
    "AuthorizationFailed": _ROLE_HINT,
    "Authorization_RequestDenied": _GRAPH_HINT,
    "invalid_client": _SIGN_IN_HINT,
    "unauthorized_client": _SIGN_IN_HINT,
    "AADSTS7000215": _SIGN_IN_HINT,
    "AADSTS7000222": _SIGN_IN_HINT,
    "AADSTS700016": (
        "The application (client_id / AZURE_CLIENT_ID) was not found in the tenant: check "
        "client_id and tenant (AZURE_TENANT or AZURE_TENANT_ID)."
    ),
    "AADSTS90002": _TENANT_HINT,
    "TenantNotFound": _TENANT_HINT,
    "AADSTS70021": (
        "The federated token was refused: its issuer, subject and audience (api://AzureADTokenExchange) "
        "must match a federated credential of client_id (AZURE_CLIENT_ID): check federated_token_file "
        "(AZURE_FEDERATED_TOKEN_FILE) and the application's federated credentials."
    ),
    "AADSTS700027": "The client certificate was refused: check client_certificate_path and that it is registered on the app.",
    # A missing subscription, resource group, storage account or container is said by the resource
    # layer (resources.missing_message), the same wherever it is found.
    "InvalidSubscriptionId": "Check subscription_id (AZURE_SUBSCRIPTION_ID): it must be a subscription GUID.",
    "InvalidAuthenticationToken": "Azure refused the token: check that cloud_environment matches the tenant's cloud.",
    "InvalidAuthenticationTokenTenant": "The token is for another tenant than the subscription's: set tenant (AZURE_TENANT) to the subscription's tenant.",
    "ExpiredAuthenticationToken": "The token expired: run the task again.",
    "TooManyRequests": "Azure is throttling the caller: raise api_retries / api_retry_backoff_max or run fewer forks.",
    "CredentialUnavailable": (
        "No credential was available: set client_id, secret and tenant (AZURE_CLIENT_ID, "
        "AZURE_SECRET, AZURE_TENANT), run `az login` for auth_source=cli, or run on an Azure "
        "host with a managed identity for auth_source=msi."
    ),
    "TLSVerificationFailed": _TLS_HINT,
    "ServiceRequestError": "Could not reach the endpoint: check the network, proxy settings (HTTPS_PROXY) and cloud_environment.",
    "ServiceResponseError": "The connection broke while reading the reply: run the task again, or raise api_timeout.",
}


def scrub(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """Remove anything token-shaped (and the given secret values) from text."""
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    text = _BEARER.sub(f"Bearer {REDACTED}", text)
    text = _SECRET_FIELDS.sub(lambda m: m.group(1) + REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    return _LONG_THREE_PART.sub(REDACTED, text)


class AzureApiError(Exception):
    """The one error the client layer raises; str(err) is the whole message for the user."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        service_message: str | None = None,
        described: bool = True,
        result: dict | None = None,
    ) -> None:
        self.message = scrub(message)
        # What the module did before it failed (created, removed...), returned with the failure.
        self.result = dict(result or {})
        self.status = status
        self.code = code
        self.service_message = scrub(service_message) if service_message else None
        # False while the message still lacks the "Failed to <description>" that api_call adds.
        self.described = described
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def failure_result(err: AzureApiError, secrets: Iterable[str] = (), say: Optional[Callable[[str], str]] = None, *,
                   writes: bool = False, **extra: Any) -> dict:
    """The one failure of every module and action plugin: ``msg``, ``error_code``, ``status`` and
    ``failed``, with what the task did before it failed (``err.result``) and ``extra``.

    ``say`` words a text for the user (options named as the caller knows them); then every text
    (``msg``, ``exception`` and the strings of ``extra``) is scrubbed of ``secrets`` and of anything
    token-shaped. A task that ``writes`` and changed nothing says so, unless its message does."""
    result: dict[str, Any] = dict(err.result)
    result.update(extra)
    msg = str(err)
    if writes and not result.get("changed") and "othing was changed" not in msg and "othing was sent" not in msg:
        msg = f"{msg} {NOTHING_CHANGED}"
    secrets = tuple(secrets)

    def clean(text: str) -> str:
        return scrub(say(text) if say else text, secrets)

    for name, value in result.items():
        if isinstance(value, str):
            result[name] = clean(value)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            result[name] = [clean(item) for item in value]
    result.update(msg=clean(msg), error_code=err.code, status=err.status, failed=True)
    return result


class AzureConfigError(AzureApiError):
    """Inconsistent or missing settings, found before any request is sent."""

    def __init__(self, message: str, code: str = "InvalidConfiguration") -> None:
        super().__init__(message, code=code)


_OPTION = re.compile(r"^([a-z0-9_.]+):")


def input_failure(problems: list[str] | tuple[str, ...]) -> str:
    """One message for all of a module's bad options: each problem, then what to do."""
    options = list(dict.fromkeys(m.group(1) for m in map(_OPTION.match, problems) if m))
    named = " and ".join([", ".join(options[:-1]), options[-1]] if len(options) > 1 else options) or "these options"
    return f"{'; '.join(problems)}. Nothing was sent to Azure: correct {named} and run the task again."


class InputError(AzureConfigError):
    """Bad options, found before any request; ``problems`` holds one line per bad option, each
    starting with the option's name."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = list(problems)
        super().__init__(input_failure(self.problems), code="InvalidInput")


def raise_problems(problems: list[str]) -> None:
    if problems:
        raise InputError(problems)


_ACTION = re.compile(r"perform action '([^']+)' over scope '([^']+)'")
# the built-in roles that allow each kind of write this collection makes, smallest first
_ROLES_FOR_ACTION = (
    ("microsoft.authorization/roleassignments/", "Owner, User Access Administrator or Role Based Access Control Administrator"),
    ("microsoft.storage/storageaccounts/blobservices/containers/", "Storage Account Contributor, Contributor or Owner"),
    ("microsoft.storage/storageaccounts/", "Storage Account Contributor, Contributor or Owner"),
)


def authorization_hint(service_message: str | None) -> str | None:
    """What to grant, read from ARM's AuthorizationFailed message (it names action and scope)."""
    found = _ACTION.search(service_message or "")
    if not found:
        return None
    action, scope = found.groups()
    if action.lower().endswith("/read"):
        roles = "Reader, or any role that can read it"
    else:
        roles = next(
            (names for prefix, names in _ROLES_FOR_ACTION if action.lower().startswith(prefix)),
            "a role that allows it",
        )
    return f"The signed-in identity lacks {action} on {scope}: grant it {roles} on that scope (or above)."


def hint_for(code: str | None, service_message: str | None = None) -> str | None:
    if code == "AuthorizationFailed":
        specific = authorization_hint(service_message)
        if specific:
            return specific
    return HINTS.get(code or "")


def describe_failure(
    description: str,
    *,
    code: str | None,
    service_message: str | None,
    status: int | None = None,
) -> AzureApiError:
    """Build 'Failed to <description>: <code>: <service message>. <what to do>'."""
    parts = [f"Failed to {description}"]
    detail = (service_message or "").strip()
    if code and detail and not detail.startswith(code):
        detail = f"{code}: {detail}"
    elif code and not detail:
        detail = code
    if not detail and status:
        detail = f"HTTP {status}"
    message = f"{parts[0]}: {detail}" if detail else parts[0]
    message = message.rstrip()
    if not message.endswith("."):
        message += "."
    hint = hint_for(code, service_message)
    if hint:
        message = f"{message} {hint}"
    return AzureApiError(message, status=status, code=code, service_message=service_message)


def parse_error_body(body: str | bytes | None) -> tuple[str | None, str | None]:
    """(code, message) from an ARM, Graph or Entra error body; (None, None) if it has none."""
    if not body:
        return None, None
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    err = doc.get("error") if isinstance(doc.get("error"), dict) else doc.get("odata.error")
    if isinstance(err, dict):
        message = err.get("message")
        if isinstance(message, dict):  # the old AAD Graph shape: {"lang": ..., "value": ...}
            message = message.get("value")
        return err.get("code"), message
    if isinstance(doc.get("error"), str):  # OAuth2 token endpoint
        return doc["error"], doc.get("error_description")
    return None, None


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        inner = getattr(current, "inner_exception", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)


def is_tls_failure(exc: BaseException) -> bool:
    import ssl

    for item in _exception_chain(exc):
        if isinstance(item, ssl.SSLError):
            return True
        if type(item).__name__ == "SSLError":  # requests / urllib3 wrap ssl.SSLError
            return True
        text = str(item)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text or "certificate verify failed" in text:
            return True
    return False


def _sign_in_code(text: str) -> str | None:
    found = _AADSTS.search(text)
    if found:
        return found.group(0)
    if _UNKNOWN_AUTHORITY in text:
        return "TenantNotFound"
    for code in _OAUTH_CODES:
        if code in text:
            return code
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def convert_exception(exc: BaseException, description: str) -> AzureApiError | None:
    """The AzureApiError for an azure-core / azure-identity exception, or None if exc is not one."""
    if isinstance(exc, AzureApiError):
        if exc.described:
            return exc
        return describe_failure(description, code=exc.code, service_message=exc.service_message, status=exc.status)
    try:
        from azure.core import exceptions as core
    except ImportError:  # pragma: no cover - the module fails earlier with a clear message
        return None

    if isinstance(exc, core.ClientAuthenticationError):
        status = getattr(exc, "status_code", None)
        text = str(getattr(exc, "message", None) or exc)
        code = None
        if getattr(exc, "response", None) is not None:
            code, body_message = parse_error_body(_response_text(exc.response))
            text = body_message or text
        if is_tls_failure(exc):
            code = "TLSVerificationFailed"
        elif type(exc).__name__ == "CredentialUnavailableError" or "from the included credentials" in text:
            code = "CredentialUnavailable"
        if code is None or code in _OAUTH_CODES:
            # The token endpoint's `error` is a generic OAuth2 code; its AADSTS code says why.
            code = _sign_in_code(text) or code
        # azure-identity lists every attempted credential on its own line: keep them all.
        text = _SIGN_IN_PREFIX.sub("", " ".join(text.split()))
        authority = _UNKNOWN_AUTHORITY_URL.search(text)
        if authority:
            # MSAL goes on about authority URL formats; the URL with the tenant is what matters.
            text = f"{_UNKNOWN_AUTHORITY} for {authority.group(1)}."
        return describe_failure(description, code=code, service_message=text, status=status)

    if isinstance(exc, core.HttpResponseError):
        status = getattr(exc, "status_code", None)
        odata = getattr(exc, "error", None)
        code = getattr(odata, "code", None)
        message = getattr(odata, "message", None)
        if (not code or not message) and getattr(exc, "response", None) is not None:
            body_code, body_message = parse_error_body(_response_text(exc.response))
            code, message = code or body_code, message or body_message
        if not code and status == 429:
            code = "TooManyRequests"
        message = message or getattr(exc, "reason", None) or _first_line(str(exc))
        return describe_failure(description, code=code, service_message=message, status=status)

    if isinstance(exc, (core.ServiceRequestError, core.ServiceResponseError)):
        if is_tls_failure(exc):
            code = "TLSVerificationFailed"
        else:
            code = type(exc).__name__
        return describe_failure(description, code=code, service_message=_first_line(str(exc)))
    return None


def _response_text(response) -> str | None:
    try:
        text = response.text
        return text() if callable(text) else text
    except Exception:  # noqa: BLE001 - a body we cannot read just means no code
        return None


@contextmanager
def api_call(description: str) -> Iterator[None]:
    """Turn azure-core / azure-identity / Graph errors raised inside into AzureApiError;
    `description` completes "Failed to ..."."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - anything not from Azure is re-raised as is
        converted = convert_exception(exc, description)
        if converted is None:
            raise
        if converted is exc:
            raise
        raise converted from None
