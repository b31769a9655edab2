# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""V7 Darwin's side of a storage integration: read a team's storage integrations from V7's REST
API and say whether V7 has turned on the one for a storage account, as the collection set it up.

Where each behaviour comes from (darwin-py is V7's Python SDK, github.com/v7labs/darwin-py):

- darwin/client.py ``Client.list_external_storage_connections``: ``GET {api}/teams/{team_slug}/storage``
  answers a JSON list (no envelope, no pagination) whose entries it reads as ``name``, ``prefix``,
  ``readonly``, ``provider``, ``default``, ``bucket`` and, optional (``.get``), ``region``.
- darwin/client.py ``Client.default_base_url`` / ``default_api_url``: ``https://darwin.v7labs.com``
  (or ``DARWIN_BASE_URL``) and ``{base}/api/``; ``Client._get_headers``: ``Authorization: ApiKey <key>``.
- darwin/client.py ``Client._raise_if_known_error``: 401 is ``Unauthorized``, 404 is
  ``NotFound(url)``; other errors go to ``raise_for_status``. ``retry_if_status_code_429_or_5xx``:
  429, 500, 502, 503 and 504 are retried with exponential back-off.
- darwin/dataset/storage_uploader.py ``create_storage_client``: for ``provider: azure`` the
  ``bucket`` is the storage account name and the ``prefix`` is ``container-name/folder-name``.
- darwin/datatypes.py ``ObjectStore``: ``readonly`` says whether V7 may write to the storage.
- V7's API reference, "Show External Storage endpoint"
  (https://docs.v7labs.com/reference/show-external-storage-endpoint-2):
  ``GET /teams/{team_slug}/storage/{storage_slug}`` returns ``provider``, ``name``, ``slug``,
  ``bucket``, ``prefix`` and, for ``provider: azure``, ``tenant_id`` ("Tenant ID" that holds the
  storage account).

The tenant: darwin-py reads no tenant from the listing. So the tenant is taken from the listing's
entry when it has ``tenant_id``, else from the show endpoint when the entry has a ``slug``; when
V7 returns it neither way it is not compared, and the result says so (``unchecked``).

The pure functions come first (table-tested); ``DarwinClient`` is the only part that sends.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import quote, urlsplit

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, scrub

ACTIVE = "active"
MISMATCH = "mismatch"
NOT_YET = "not yet"

# The fields of an integration that must agree with the account, in the order they are reported.
COMPARED = ("bucket", "tenant_id", "prefix", "readonly")
# darwin-py's ObjectStore fields, and the show endpoint's slug and tenant_id.
FIELDS = ("name", "slug", "provider", "bucket", "prefix", "readonly", "default", "region", "tenant_id")


# error_code of a failure, by what V7 answered (V7's own answers carry no code).
UNEXPECTED_ANSWER = "UnexpectedAnswer"
UNREACHABLE = "V7Unreachable"
_CODES = {401: "Unauthorized", 403: "Forbidden", 404: "TeamNotFound", 429: "TooManyRequests"}


class DarwinApiError(AzureApiError):
    """What went wrong talking to V7, as the user should read it (never with the API key); it fails
    the module through errors.failure_result like every other failure of the collection."""

    def __init__(self, message: str, status: Optional[int] = None, code: str = UNEXPECTED_ANSWER) -> None:
        super().__init__(message, status=status, code=code)


# ---------------------------------------------------------------- inputs


def base_url_problem(base_url: str) -> Optional[str]:
    """V7's address must be an https URL without a path beyond "/" (the API is at {base}/api)."""
    parts = urlsplit(str(base_url or ""))
    if parts.scheme != "https" or not parts.hostname:
        return (f"base_url: {base_url!r} is not an https address of V7 such as {v7.API_BASE_URL} "
                "(the API key is only ever sent over https)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"base_url: {base_url!r} must be V7's address alone, such as {v7.API_BASE_URL}, without a path"
    return None


def team_slug_problem(team_slug: str) -> Optional[str]:
    slug = str(team_slug or "")
    if not slug or slug != slug.strip() or "/" in slug or "?" in slug or "#" in slug:
        return (f"team_slug: {team_slug!r} is not a V7 team slug: it is the team's short name in V7's "
                "addresses, such as my-team, without '/'")
    return None


def list_url(base_url: str, team_slug: str) -> str:
    return base_url.rstrip("/") + v7.STORAGE_LIST_PATH.format(team=quote(team_slug, safe=""))


def show_url(base_url: str, team_slug: str, slug: str) -> str:
    return base_url.rstrip("/") + v7.STORAGE_SHOW_PATH.format(team=quote(team_slug, safe=""),
                                                              slug=quote(slug, safe=""))


# ---------------------------------------------------------------- V7's answers


def integrations(body: Any) -> list[dict]:
    """The team's integrations from the listing's JSON, each with the known fields (absent: None)."""
    if not isinstance(body, list) or not all(isinstance(entry, Mapping) for entry in body):
        raise DarwinApiError("V7 answered the storage listing with something other than a list of storage "
                             "integrations; check base_url (it must be V7's address, such as "
                             f"{v7.API_BASE_URL})")
    return [{name: entry.get(name) for name in FIELDS} for entry in body]


def _norm_prefix(prefix: Any) -> str:
    return str(prefix or "").strip().strip("/")


def expected(storage_account: str, tenant_id: Optional[str], prefix: Optional[str], write: bool) -> dict:
    """What V7's integration must say for an account the collection set up. ``readonly`` is None
    where either way works: without write access and with a prefix, V7 can register files read-only
    or read-write (V7's guide: leave write out when V7 need not process files)."""
    read_only = v7.read_only(write, prefix)
    return {
        "bucket": str(storage_account).lower(),
        "tenant_id": str(tenant_id).lower() if tenant_id else None,
        # a read-only integration has no prefix; V7 writes nothing, so any prefix it has is harmless
        "prefix": None if read_only else _norm_prefix(prefix),
        "readonly": True if read_only else (False if write else None),
    }


def differences(integration: Mapping[str, Any], want: Mapping[str, Any]) -> tuple[list[dict], list[str]]:
    """(fields that differ, with V7's value and the account's; fields V7 did not return)."""
    differ, unchecked = [], []
    for name in COMPARED:
        wanted, found = want.get(name), integration.get(name)
        if wanted is None:
            continue
        if name == "tenant_id" and found in (None, ""):
            unchecked.append(name)
            continue
        if name == "bucket":
            same = str(found or "").lower() == wanted
        elif name == "tenant_id":
            same = str(found).lower() == wanted
        elif name == "prefix":
            same = _norm_prefix(found) == wanted  # blob paths are case-sensitive
        else:
            same = bool(found) == wanted
        if not same:
            differ.append({"field": name, "v7": found, "expected": wanted})
    return differ, unchecked


def candidates(found: Iterable[Mapping[str, Any]], want: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The Azure integrations that are about this account: the same storage account (bucket), or,
    when none is, the same prefix (an integration made with a mistyped account name)."""
    azure = [i for i in found if str(i.get("provider") or "").lower() == "azure"]
    same_bucket = [i for i in azure if str(i.get("bucket") or "").lower() == want["bucket"]]
    if same_bucket or not want.get("prefix"):
        return same_bucket
    return [i for i in azure if _norm_prefix(i.get("prefix")) == want["prefix"]]


def needs_tenant(integration: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    """Whether the show endpoint must be asked for the tenant (the listing did not give it)."""
    return bool(want.get("tenant_id")) and integration.get("tenant_id") in (None, "") and bool(integration.get("slug"))


def side(team_slug: str, found: Iterable[Mapping[str, Any]], want: Mapping[str, Any]) -> dict:
    """V7's side for one account: ``active`` (an Azure integration that agrees on every field V7
    returns), ``mismatch`` (the closest one, and which fields differ) or ``not yet`` (none)."""
    account = want["bucket"]
    matched = []
    for integration in candidates(found, want):
        differ, unchecked = differences(integration, want)
        matched.append((len(differ), integration, differ, unchecked))
    if not matched:
        return {"state": NOT_YET, "integration": None, "differences": [], "unchecked": [],
                "msg": (f"V7 team {team_slug} has no Azure storage integration for storage account {account} yet: "
                        "V7 turns it on once it has the activation details (send them to V7 support, or add the "
                        "account in V7 under Settings, Storage, New Storage Integration).")}
    _count, integration, differ, unchecked = min(matched, key=lambda m: m[0])
    name = integration.get("name") or integration.get("slug") or "?"
    note = (" V7's API does not return the tenant of this integration, so the tenant was not compared."
            if "tenant_id" in unchecked else "")
    if differ:
        what = "; ".join(f"{d['field']}: V7 has {_show(d['v7'])}, the account was set up with {_show(d['expected'])}"
                         for d in differ)
        return {"state": MISMATCH, "integration": dict(integration), "differences": differ, "unchecked": unchecked,
                "msg": (f"V7 team {team_slug}'s storage integration {name} for storage account {account} does not "
                        f"match how the account was set up: {what}. Correct the integration in V7 (Settings, "
                        f"Storage) or ask V7 support to.{note}")}
    return {"state": ACTIVE, "integration": dict(integration), "differences": [], "unchecked": unchecked,
            "msg": f"V7 has turned on storage integration {name} of team {team_slug} for storage account {account}.{note}"}


def _show(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "read-only" if value else "read-write"
    return repr(str(value))


def http_error(status: int, url: str, team_slug: str, retries: int) -> DarwinApiError:
    """What each answer of V7 that is not a success means, and what to do."""
    if status == 401:
        text = ("V7 refused the API key (HTTP 401): it is wrong, revoked or expired. Give a valid key in api_key "
                f"(or {v7.API_KEY_ENV}); V7 makes keys under Settings, API Keys.")
    elif status == 403:
        text = (f"V7 did not let the API key read team {team_slug}'s storage integrations (HTTP 403): use a key "
                "of a user of that team who may see its storage settings, or check team_slug.")
    elif status == 404:
        text = (f"V7 has no team {team_slug} (HTTP 404 for {url}): team_slug must be the team's slug as in V7's "
                "addresses, and base_url V7's address for that team.")
    elif status == 429:
        text = (f"V7 is rate limiting the requests (HTTP 429, still after {retries} retries): run again later, "
                "or with fewer forks.")
    elif status >= 500:
        text = (f"V7 is not answering properly (HTTP {status}, still after {retries} retries): V7's side was "
                "not checked; run again later.")
    else:
        text = f"V7 answered HTTP {status} for {url}."
    code = _CODES.get(status) or ("V7Unavailable" if status >= 500 else UNEXPECTED_ANSWER)
    return DarwinApiError(text, status, code)


# ---------------------------------------------------------------- the client


class DarwinClient:
    """V7's REST API over an azure-core pipeline: retries of 429 and 5xx (Retry-After honoured, as
    darwin-py retries them), TLS verified against the system's CAs or ``ca_bundle``."""

    def __init__(self, base_url: str, api_key: str, *, ca_bundle: Optional[str] = None, retries: int = 3,
                 backoff_max: int = 60, timeout: int = 30) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy, UserAgentPolicy
        from azure.core.pipeline.transport import RequestsTransport

        from ansible_collections.v7labs.azure_storage.plugins.module_utils.clients import USER_AGENT

        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self._secret = api_key
        policies = [
            HeadersPolicy({"Accept": "application/json", "Authorization": f"{v7.API_KEY_SCHEME} {api_key}"}),
            UserAgentPolicy(user_agent=USER_AGENT),
            RetryPolicy(retry_total=retries, retry_status=retries, retry_connect=retries, retry_read=retries,
                        retry_backoff_max=backoff_max),
        ]
        # certificates are always checked (a CA bundle, or the system's): the key goes to V7 alone
        verify = ca_bundle or True
        transport = RequestsTransport(connection_verify=verify, connection_timeout=timeout, read_timeout=timeout)
        self._client = PipelineClient(self.base_url, policies=policies, transport=transport)

    def _get(self, url: str, team_slug: str) -> Any:
        from azure.core.exceptions import AzureError
        from azure.core.rest import HttpRequest

        try:
            response = self._client.send_request(HttpRequest("GET", url))
        except AzureError as err:
            text = scrub(str(getattr(err, "message", None) or err), (self._secret,))
            tls = "certificate" in text.lower() or "ssl" in text.lower()
            hint = (" The server's certificate is not trusted: give the CA that signed it in ca_bundle (or "
                    "REQUESTS_CA_BUNDLE)." if tls else " Check base_url and the network.")
            raise DarwinApiError(f"Could not reach V7 at {self.base_url}: {text.splitlines()[0] if text else err}."
                                 f"{hint}", code=UNREACHABLE) from None
        if response.status_code != 200:
            raise http_error(response.status_code, url, team_slug, self.retries)
        try:
            return json.loads(response.text())
        except ValueError:
            raise DarwinApiError(f"V7 answered {url} with something that is not JSON; check base_url (it must be "
                                 f"V7's address, such as {v7.API_BASE_URL}).", response.status_code) from None

    def list_storage(self, team_slug: str) -> list[dict]:
        return integrations(self._get(list_url(self.base_url, team_slug), team_slug))

    def show_storage(self, team_slug: str, slug: str) -> dict:
        body = self._get(show_url(self.base_url, team_slug, slug), team_slug)
        if not isinstance(body, Mapping):
            raise DarwinApiError(f"V7 answered storage integration {slug} of team {team_slug} with something other "
                                 "than one storage integration.")
        return {name: body.get(name) for name in FIELDS}


def read_side(client: DarwinClient, team_slug: str, want: Optional[Mapping[str, Any]]) -> dict:
    """The team's integrations and, for an account (``want``), V7's side of it. At most one more
    request: the show endpoint, for the tenant of the closest integration when the listing has none."""
    found = client.list_storage(team_slug)
    out: dict[str, Any] = {"integrations": found}
    if want is None:
        return out
    for integration in candidates(found, want):
        if needs_tenant(integration, want):
            shown = client.show_storage(team_slug, str(integration["slug"]))
            integration["tenant_id"] = shown.get("tenant_id")
    out.update(side(team_slug, found, want))
    return out
