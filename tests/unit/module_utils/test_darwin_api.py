"""V7's side of an integration: what the collection expects of it, and how V7's answers are read."""
from __future__ import annotations

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import darwin_api as d

T1 = "11111111-1111-4111-8111-111111111111"
T2 = "44444444-4444-4444-8444-444444444444"


def integration(**fields):
    base = {"name": "n", "slug": "n", "provider": "azure", "bucket": "acct", "prefix": "images/v7",
            "readonly": False, "default": True, "region": None, "tenant_id": T1}
    return dict(base, **fields)


@pytest.mark.parametrize("write, prefix, readonly, want_prefix", [
    (True, "images/v7", False, "images/v7"),
    (False, "images/v7", None, "images/v7"),  # either way works
    (False, None, True, None),                # read-only: V7 must not write, no prefix compared
    (False, "", True, None),
])
def test_expected(write, prefix, readonly, want_prefix):
    want = d.expected("Acct", T1.upper(), prefix, write)
    assert want == {"bucket": "acct", "tenant_id": T1, "prefix": want_prefix, "readonly": readonly}


@pytest.mark.parametrize("found, differ, unchecked", [
    (integration(), [], []),
    (integration(bucket="ACCT", tenant_id=T1.upper(), prefix="/images/v7/"), [], []),
    (integration(prefix="Images/v7"), [("prefix", "Images/v7", "images/v7")], []),  # blob paths are case-sensitive
    (integration(tenant_id=T2), [("tenant_id", T2, T1)], []),
    (integration(tenant_id=None), [], ["tenant_id"]),
    (integration(readonly=True), [("readonly", True, False)], []),
    (integration(bucket="other", prefix="x/y"), [("bucket", "other", "acct"), ("prefix", "x/y", "images/v7")], []),
])
def test_differences(found, differ, unchecked):
    got, missing = d.differences(found, d.expected("acct", T1, "images/v7", True))
    assert [(g["field"], g["v7"], g["expected"]) for g in got] == differ
    assert missing == unchecked


def test_tenant_not_given_is_not_compared():
    got, missing = d.differences(integration(tenant_id=T2), d.expected("acct", None, "images/v7", True))
    assert got == [] and missing == []


def test_candidates_by_bucket_then_by_prefix_azure_only():
    want = d.expected("acct", T1, "images/v7", True)
    s3 = integration(provider="aws", name="s3")
    typo = integration(bucket="accnt", name="typo")
    assert d.candidates([s3, typo], want) == [typo]
    exact = integration(name="exact", prefix="other/p")
    assert d.candidates([s3, typo, exact], want) == [exact]
    # a read-only setup has no prefix to recognise an integration by
    assert d.candidates([typo], d.expected("acct", T1, None, False)) == []


@pytest.mark.parametrize("found, state", [
    ([], d.NOT_YET),
    ([integration(provider="gcp")], d.NOT_YET),
    ([integration()], d.ACTIVE),
    ([integration(prefix="a/b"), integration(name="right")], d.ACTIVE),
    ([integration(prefix="a/b")], d.MISMATCH),
])
def test_side(found, state):
    got = d.side("team", found, d.expected("acct", T1, "images/v7", True))
    assert got["state"] == state
    if state == d.ACTIVE:
        assert got["integration"]["prefix"] == "images/v7"
    if state == d.MISMATCH:
        assert "prefix: V7 has 'a/b', the account was set up with 'images/v7'" in got["msg"]


def test_side_says_when_the_tenant_was_not_compared():
    got = d.side("team", [integration(tenant_id=None, slug=None)], d.expected("acct", T1, "images/v7", True))
    assert got["state"] == d.ACTIVE and got["unchecked"] == ["tenant_id"]
    assert "does not return the tenant" in got["msg"]


@pytest.mark.parametrize("entry, asks", [
    (integration(tenant_id=None), True),
    (integration(), False),
    (integration(tenant_id=None, slug=None), False),
])
def test_needs_tenant(entry, asks):
    assert d.needs_tenant(entry, d.expected("acct", T1, "images/v7", True)) is asks


@pytest.mark.parametrize("status, words", [
    (401, "refused the API key"), (403, "did not let the API key read team t"), (404, "has no team t"),
    (429, "rate limiting"), (500, "not answering properly (HTTP 500, still after 2 retries)"),
    (503, "HTTP 503"), (418, "answered HTTP 418"),
])
def test_http_error(status, words):
    err = d.http_error(status, "https://v7/api/teams/t/storage", "t", 2)
    assert words in str(err) and err.status == status


@pytest.mark.parametrize("url, ok", [
    ("https://darwin.v7labs.com", True), ("https://darwin.irl.v7labs.com/", True), ("https://127.0.0.1:8443", True),
    ("http://darwin.v7labs.com", False), ("https://darwin.v7labs.com/api", False), ("darwin.v7labs.com", False),
])
def test_base_url_problem(url, ok):
    assert (d.base_url_problem(url) is None) is ok


def test_urls_quote_the_slugs():
    assert d.list_url("https://h/", "my team") == "https://h/api/teams/my%20team/storage"
    assert d.show_url("https://h", "t", "a/b") == "https://h/api/teams/t/storage/a%2Fb"


def test_integrations_keep_the_known_fields_and_refuse_other_shapes():
    assert d.integrations([{"name": "a", "bucket": "b", "extra": 1}])[0] == dict.fromkeys(d.FIELDS) | {"name": "a", "bucket": "b"}
    for body in ({"items": []}, ["x"], None):
        with pytest.raises(d.DarwinApiError):
            d.integrations(body)
