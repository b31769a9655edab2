"""v7_darwin_storage_info through real ansible-playbook runs against the fake V7 API (tests/v7api):
what the user sees, and what V7 received."""
from __future__ import annotations

import pytest

from tests.integration.runner import play, run_playbook

KEY = "v7key-Contoso.0001-abcdefABCDEF"
OTHER_KEY = "v7key-Other.0002-ghijklGHIJKL"
TENANT = "11111111-1111-4111-8111-111111111111"
OTHER_TENANT = "44444444-4444-4444-8444-444444444444"
MODULE = "v7labs.azure_storage.v7_darwin_storage_info"
TASK = "read V7's side"

FRESH = {"name": "Contoso fresh", "slug": "contoso-fresh", "provider": "azure", "bucket": "contosofresh",
         "prefix": "images/v7-generated", "readonly": False, "default": True, "region": None, "tenant_id": TENANT}
READ_ONLY = {"name": "Contoso archive", "slug": "contoso-archive", "provider": "azure", "bucket": "contosoarchive",
             "prefix": "", "readonly": True, "default": False, "region": None, "tenant_id": TENANT}
S3 = {"name": "Old S3", "slug": "old-s3", "provider": "aws", "bucket": "contosofresh", "prefix": "x/y",
      "readonly": False, "default": False, "region": "eu-west-1"}


def world(*integrations):
    return {"contoso-vision": {"keys": [KEY], "integrations": list(integrations)},
            "other-team": {"keys": [OTHER_KEY], "integrations": []}}


def run(v7api, args: dict, *, env_key: str | None = KEY, verbosity: int = 0):
    options = {"team_slug": "contoso-vision", "base_url": v7api.url, "api_retries": 1, **args}
    env = dict(v7api.env())
    if env_key is not None:
        env["V7_API_KEY"] = env_key
    result = run_playbook(play({"name": TASK, MODULE: options, "register": "side"}), env=env, verbosity=verbosity)
    assert KEY not in result.output and OTHER_KEY not in result.output
    with open(result.log_file, encoding="utf-8") as handle:
        log = handle.read()
    assert KEY not in log and OTHER_KEY not in log
    return result


FRESH_ARGS = {"storage_account": "contosofresh", "tenant_id": TENANT, "prefix": "images/v7-generated", "write": True}


def test_active_reads_the_listing_then_the_tenant_with_the_key(v7api):
    v7api.load(world(S3, FRESH, READ_ONLY))
    result = run(v7api, FRESH_ARGS, verbosity=3)
    assert result.rc == 0, result.output
    side = result.task(TASK)
    assert side["state"] == "active"
    assert side["integration"]["slug"] == "contoso-fresh" and side["integration"]["tenant_id"] == TENANT
    assert side["differences"] == [] and side["unchecked"] == []
    assert [i["bucket"] for i in side["integrations"]] == ["contosofresh", "contosofresh", "contosoarchive"]
    assert "V7 has turned on storage integration Contoso fresh of team contoso-vision" in side["msg"]
    assert [(e["path"], e["authorization"], e["status"]) for e in v7api.log()] == [
        ("/api/teams/contoso-vision/storage", f"ApiKey {KEY}", 200),
        ("/api/teams/contoso-vision/storage/contoso-fresh", f"ApiKey {KEY}", 200)]


def test_read_only_integration_is_active_without_a_prefix(v7api):
    v7api.load(world(READ_ONLY))
    result = run(v7api, {"storage_account": "contosoarchive", "tenant_id": TENANT})
    assert result.rc == 0, result.output
    assert result.task(TASK)["state"] == "active"


@pytest.mark.parametrize("changed, args, field, v7_value, expected", [
    ({"prefix": "images/old"}, FRESH_ARGS, "prefix", "images/old", "images/v7-generated"),
    ({"tenant_id": OTHER_TENANT}, FRESH_ARGS, "tenant_id", OTHER_TENANT, TENANT),
    ({"readonly": True}, FRESH_ARGS, "readonly", True, False),
    # V7 was given a mistyped account name; the prefix tells which integration it is
    ({"bucket": "contosofrseh"}, FRESH_ARGS, "bucket", "contosofrseh", "contosofresh"),
    # a read-only setup (no prefix, no write) that V7 turned on read-write
    ({"bucket": "contosoarchive", "readonly": False}, {"storage_account": "contosoarchive", "tenant_id": TENANT},
     "readonly", False, True),
], ids=["prefix", "tenant", "readonly", "bucket", "read-only-setup"])
def test_mismatch_names_the_field_and_both_values(v7api, changed, args, field, v7_value, expected):
    v7api.load(world(dict(FRESH, **changed)))
    result = run(v7api, args)
    assert result.rc == 0, result.output
    side = result.task(TASK)
    assert side["state"] == "mismatch"
    assert side["differences"] == [{"field": field, "v7": v7_value, "expected": expected}]
    assert f"{field}: V7 has" in side["msg"] and "does not match how the account was set up" in side["msg"]
    assert any(field in w for w in side.get("warnings", [])), side


def test_not_yet_when_the_team_has_no_integration_for_the_account(v7api):
    v7api.load(world(S3, READ_ONLY))
    result = run(v7api, FRESH_ARGS)
    assert result.rc == 0, result.output
    side = result.task(TASK)
    assert side["state"] == "not yet" and side["integration"] is None
    assert "has no Azure storage integration for storage account contosofresh yet" in side["msg"]
    assert [e["path"] for e in v7api.log()] == ["/api/teams/contoso-vision/storage"]


@pytest.mark.parametrize("key, team, status, words", [
    ("v7key-Wrong.9999-zzzzzzzzzzzz", "contoso-vision", 401, "V7 refused the API key (HTTP 401)"),
    (OTHER_KEY, "contoso-vision", 403, "did not let the API key read team contoso-vision"),
    (KEY, "contoso-visoin", 404, "V7 has no team contoso-visoin (HTTP 404"),
], ids=["bad-key", "other-team's-key", "team-not-found"])
def test_refusals_fail_with_what_to_do_and_are_not_retried(v7api, key, team, status, words):
    v7api.load(world(FRESH))
    result = run(v7api, dict(FRESH_ARGS, team_slug=team), env_key=key)
    assert result.rc != 0
    side = result.task(TASK)
    assert result.statuses(TASK) == {"localhost": "failed"}
    assert words in side["msg"] and side["status"] == status
    assert [e["status"] for e in v7api.log()] == [status]
    assert key not in result.output


@pytest.mark.parametrize("status, words", [
    (503, "V7 is not answering properly (HTTP 503, still after 1 retries)"),
    (500, "V7 is not answering properly (HTTP 500, still after 1 retries)"),
    (429, "V7 is rate limiting the requests (HTTP 429, still after 1 retries)"),
], ids=["down-503", "down-500", "rate-limited"])
def test_v7_down_or_rate_limiting_is_retried_then_fails(v7api, status, words):
    v7api.load(world(FRESH))
    v7api.faults(status, count=10)
    result = run(v7api, FRESH_ARGS)
    assert result.rc != 0
    side = result.task(TASK)
    assert words in side["msg"] and side["status"] == status
    assert [e["status"] for e in v7api.log()] == [status, status]


def test_a_passing_429_is_retried_after_retry_after(v7api):
    v7api.load(world(FRESH))
    v7api.faults(429, count=1, retry_after=1)
    result = run(v7api, FRESH_ARGS)
    assert result.rc == 0, result.output
    assert result.task(TASK)["state"] == "active"
    assert [e["status"] for e in v7api.log()] == [429, 200, 200]


def test_no_key_fails_before_any_request(v7api):
    v7api.load(world(FRESH))
    result = run(v7api, FRESH_ARGS, env_key=None)
    assert result.rc != 0
    assert "api_key" in result.task(TASK)["msg"]
    assert v7api.log() == []


def test_an_untrusted_certificate_fails_and_sends_nothing_readable(v7api):
    v7api.load(world(FRESH))
    options = {"team_slug": "contoso-vision", "base_url": v7api.url, "api_retries": 0, **FRESH_ARGS}
    result = run_playbook(play({"name": TASK, MODULE: options}), env={"V7_API_KEY": KEY})
    assert result.rc != 0
    msg = result.task(TASK)["msg"]
    assert "Could not reach V7" in msg and "ca_bundle" in msg, msg
    assert KEY not in result.output
    assert v7api.log() == []  # the TLS handshake failed: no request reached the server


def test_a_plain_http_base_url_is_refused_before_sending_the_key(v7api):
    result = run(v7api, dict(FRESH_ARGS, base_url=v7api.url.replace("https://", "http://")))
    assert result.rc != 0
    assert "base_url" in result.task(TASK)["msg"] and "Nothing was sent to V7" in result.task(TASK)["msg"]
    assert v7api.log() == []
