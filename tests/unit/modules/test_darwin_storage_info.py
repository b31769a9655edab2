"""v7_darwin_storage_info: the flow (inputs -> V7's listing -> the tenant from the show endpoint ->
V7's side of the account, or the failure) over a tiny in-memory stand-in for V7's API (no network).
Each case asserts what the task returns and warns, as the user reads it."""
from __future__ import annotations

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import darwin_api, v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import REDACTED
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_darwin_storage_info as module
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.storage_integration import OPTION_NAMES

KEY = "v7-api-key.0123456789abcdef"
TEAM = "my-team"
ACCOUNT = "stdarwinimages"
TENANT = "11111111-1111-4111-8111-111111111111"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"


def integration(**fields) -> dict:
    base = {"name": "images", "slug": "images", "provider": "azure", "bucket": ACCOUNT, "prefix": "images/v7",
            "readonly": False, "default": True, "region": None, "tenant_id": TENANT}
    return dict(base, **fields)


class FakeV7:
    """DarwinClient's two reads over a list of integrations; ``status`` answers the listing with
    that HTTP error; ``tenants`` is what the show endpoint says of each slug."""

    def __init__(self, listing=(), *, status=None, tenants=None, crash=None):
        self.listing = [dict(i) for i in listing]
        self.status = status
        self.tenants = dict(tenants or {})
        self.crash = crash
        self.calls: list[tuple] = []

    def list_storage(self, team_slug):
        self.calls.append(("list", team_slug))
        if self.crash:
            raise self.crash
        if self.status:
            raise darwin_api.http_error(self.status, darwin_api.list_url(v7.API_BASE_URL, team_slug), team_slug, 3)
        return darwin_api.integrations(self.listing)

    def show_storage(self, team_slug, slug):
        self.calls.append(("show", team_slug, slug))
        return {name: self.tenants.get(slug) if name == "tenant_id" else None for name in darwin_api.FIELDS}


def params(**overrides) -> dict:
    values = {"api_key": KEY, "team_slug": TEAM, "base_url": v7.API_BASE_URL, "storage_account": ACCOUNT,
              "tenant_id": TENANT, "prefix": "images/v7", "write": True, "ca_bundle": None, "api_retries": 3,
              "api_timeout": 30, "option_names": {}}
    unknown = set(overrides) - set(values)
    assert not unknown, f"not options of the module: {unknown}"
    values.update(overrides)
    return values


ACTIVE = f"V7 has turned on storage integration images of team {TEAM} for storage account {ACCOUNT}."
NOT_YET = (f"V7 team {TEAM} has no Azure storage integration for storage account {ACCOUNT} yet: V7 turns it on once it "
           "has the activation details (send them to V7 support, or add the account in V7 under Settings, Storage, New "
           "Storage Integration).")
MISMATCH = (f"V7 team {TEAM}'s storage integration images for storage account {ACCOUNT} does not match how the account "
            "was set up: prefix: V7 has 'images/old', the account was set up with 'images/v7'. Correct the integration "
            "in V7 (Settings, Storage) or ask V7 support to.")
NO_TENANT = " V7's API does not return the tenant of this integration, so the tenant was not compared."


@pytest.mark.parametrize(
    ("case", "v7_side", "overrides", "state", "msg", "warned", "calls"),
    [
        ("active", FakeV7([integration()]), {}, darwin_api.ACTIVE, ACTIVE, False, [("list", TEAM)]),
        ("active, read-only, any prefix", FakeV7([integration(readonly=True, prefix="other/x")]),
         {"write": False, "prefix": None}, darwin_api.ACTIVE, ACTIVE, False, [("list", TEAM)]),
        ("mismatch", FakeV7([integration(prefix="images/old")]), {}, darwin_api.MISMATCH, MISMATCH, True,
         [("list", TEAM)]),
        ("not yet", FakeV7([integration(provider="aws", bucket="s3-bucket")]), {}, darwin_api.NOT_YET, NOT_YET, True,
         [("list", TEAM)]),
        ("the tenant from the show endpoint", FakeV7([integration(tenant_id=None)], tenants={"images": TENANT}), {},
         darwin_api.ACTIVE, ACTIVE, False, [("list", TEAM), ("show", TEAM, "images")]),
        ("another tenant from the show endpoint", FakeV7([integration(tenant_id=None)], tenants={"images": OTHER_TENANT}),
         {}, darwin_api.MISMATCH, None, True, [("list", TEAM), ("show", TEAM, "images")]),
        ("no tenant anywhere", FakeV7([integration(tenant_id=None, slug=None)]), {}, darwin_api.ACTIVE,
         ACTIVE + NO_TENANT, False, [("list", TEAM)]),
        ("the team only", FakeV7([integration(), integration(name="b", slug="b")]), {"storage_account": None},
         None, f"V7 team {TEAM} has 2 storage integration(s).", False, [("list", TEAM)]),
    ],
)
def test_v7s_side(case, v7_side, overrides, state, msg, warned, calls):
    result, warnings = module.respond(params(**overrides), v7_side)
    assert not result.get("failed"), case
    assert result["changed"] is False and result["state"] == state
    if msg is not None:
        assert result["msg"] == msg
    if state == darwin_api.MISMATCH and msg is None:
        assert result["differences"] == [{"field": "tenant_id", "v7": OTHER_TENANT, "expected": TENANT}]
    assert warnings == ([result["msg"]] if warned else [])
    assert v7_side.calls == calls
    assert [(i["name"], i["bucket"]) for i in result["integrations"]] == [(i["name"], i["bucket"]) for i in v7_side.listing]


@pytest.mark.parametrize(
    ("status", "code", "msg"),
    [
        (401, "Unauthorized", "V7 refused the API key (HTTP 401): it is wrong, revoked or expired. Give a valid key in "
                              "v7_api_key (or V7_API_KEY); V7 makes keys under Settings, API Keys."),
        (403, "Forbidden", f"V7 did not let the API key read team {TEAM}'s storage integrations (HTTP 403): use a key "
                           "of a user of that team who may see its storage settings, or check v7_team_slug."),
        (404, "TeamNotFound", f"V7 has no team {TEAM} (HTTP 404 for {v7.API_BASE_URL}/api/teams/{TEAM}/storage): "
                              "v7_team_slug must be the team's slug as in V7's addresses, and v7_api_url V7's address "
                              "for that team."),
        (429, "TooManyRequests", "V7 is rate limiting the requests (HTTP 429, still after 3 retries): run again later, "
                                 "or with fewer forks."),
        (503, "V7Unavailable", "V7 is not answering properly (HTTP 503, still after 3 retries): V7's side was not "
                               "checked; run again later."),
    ],
)
def test_v7s_refusals_fail_with_what_to_do(status, code, msg):
    """As the role calls it: the options named as its inventory variables."""
    result, warnings = module.respond(params(option_names=dict(OPTION_NAMES)), FakeV7(status=status))
    assert result == {"msg": msg, "error_code": code, "status": status, "failed": True}
    assert warnings == []


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"base_url": "http://darwin.v7labs.com"},
         "base_url: 'http://darwin.v7labs.com' is not an https address of V7 such as https://darwin.v7labs.com (the API "
         "key is only ever sent over https)"),
        ({"team_slug": "my/team"}, "team_slug: 'my/team' is not a V7 team slug: it is the team's short name in V7's "
                                   "addresses, such as my-team, without '/'"),
        ({"tenant_id": "contoso"}, "tenant_id: 'contoso' is not a tenant (directory) ID, a GUID"),
        ({"api_timeout": 0}, "api_timeout: 0 is too small"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle: /nonexistent/ca.pem does not exist: fix the path or unset "
                                               "it (and REQUESTS_CA_BUNDLE, SSL_CERT_FILE)"),
    ],
)
def test_bad_inputs_send_nothing(overrides, problem):
    v7_side = FakeV7([integration()])
    result, _warnings = module.respond(params(**overrides), v7_side)
    assert result == {"msg": f"Invalid options: {problem}. Nothing was sent to V7.", "error_code": "InvalidInput",
                      "status": None, "failed": True}
    assert v7_side.calls == []


def test_an_unexpected_error_keeps_the_key_out():
    result, _warnings = module.respond(params(), FakeV7(crash=RuntimeError(f"boom with {KEY}")))
    assert result["failed"] is True and result["error_code"] == "UnexpectedError"
    assert result["msg"] == f"Unexpected error reading V7's storage integrations: RuntimeError: boom with {REDACTED}"
    assert KEY not in result["exception"] and "RuntimeError" in result["exception"]


def test_a_listing_that_is_not_one_fails_saying_so():
    class Garbled(FakeV7):
        def list_storage(self, team_slug):
            self.calls.append(("list", team_slug))
            return darwin_api.integrations({"error": "not a list"})

    result, _warnings = module.respond(params(), Garbled())
    assert result["error_code"] == darwin_api.UNEXPECTED_ANSWER and result["msg"].startswith(
        "V7 answered the storage listing with something other than a list of storage integrations")


def test_without_a_client_it_builds_darwins_own(monkeypatch):
    built = []

    def client(*args, **kwargs):
        built.append((args, kwargs))
        return FakeV7([integration()])

    monkeypatch.setattr(darwin_api, "DarwinClient", client)
    result, _warnings = module.respond(params(api_retries=5, api_timeout=7))
    assert result["state"] == darwin_api.ACTIVE
    assert built == [((v7.API_BASE_URL, KEY), {"ca_bundle": None, "retries": 5, "timeout": 7})]
