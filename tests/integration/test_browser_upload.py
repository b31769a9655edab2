"""An annotator's browser on https://darwin.v7labs.com loads and uploads with URLs V7 signed.

Headless Chromium (tests/integration/browser.py) runs a page served from darwin.v7labs.com that
fetches a signed blob URL and uploads with one, as V7's app does; the browser sends its CORS
preflight to the account's Blob endpoint and enforces the answer itself. Each step asserts what
the page got, what Chromium's console says, and what the emulator received.

- roles given by hand but no CORS rule: the signed URLs are valid (the emulator serves the GET),
  yet the browser refuses both (a CORS error); after configure.yml the same URLs load and upload;
  after offboard.yml the upload fails again with a CORS error (the preflight is refused before
  any upload is sent);
- first match (Microsoft's CORS rule evaluation): a customer's `*` rule in front of V7's decides
  only the requests whose origin *and method* it matches. A `*` rule without PUT does not stop the
  upload; a `*` rule with PUT but narrower allowed headers does (the preflight is refused although
  V7's rule further down would allow it), and configure.yml fixes that by putting V7's rule first.
"""
from __future__ import annotations

import pytest
from azure.storage.blob import BlobSasPermissions

from tests.integration.browser import Browser
from tests.integration.v7_side import (
    ACCOUNT, CONTAINER, EXISTING, EXISTING_TEXT, V7Signer, account_blobs, playbook, with_v7_roles, world,
)

V7 = "https://darwin.v7labs.com"
V7_RULE = {"allowedOrigins": [V7], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"],
           "exposedHeaders": [""], "maxAgeInSeconds": 0}
CORS_BLOCKED = f"from origin '{V7}' has been blocked by CORS policy"


@pytest.fixture(scope="module")
def browser(emulator_process):
    started = Browser(emulator_process, [f"{ACCOUNT}.blob.core.windows.net"])
    yield started
    started.close()


def requests_seen(emulator) -> list[tuple[str, str, int]]:
    """(method, path, status) of what reached the account's Blob endpoint, keys left out."""
    return [(e["method"], e["path"], e["status"]) for e in emulator.log(kind="blob")
            if "comp=userdelegationkey" not in e["query"]]


def refused_by_cors(browser, result: dict) -> bool:
    return result.get("error") == "TypeError: Failed to fetch" and any(CORS_BLOCKED in m for m in browser.console())


def test_before_configure_after_it_and_after_offboard(emulator, browser, tmp_path):
    emulator.load_state(with_v7_roles(world()))
    browser.console()
    v7 = V7Signer(emulator)
    load_url = v7.sign(EXISTING, BlobSasPermissions(read=True))
    upload_url = v7.sign("v7/from-the-browser.txt", BlobSasPermissions(create=True, write=True))
    emulator.clear_log()

    # no CORS rule yet: the GET is served (the SAS is good) but the browser keeps it from the page;
    # the upload's preflight is refused, so the upload itself is never sent
    assert refused_by_cors(browser, browser.load(load_url))
    assert refused_by_cors(browser, browser.upload(upload_url, "first annotation"))
    assert requests_seen(emulator) == [("GET", f"/{CONTAINER}/{EXISTING}", 200),
                                       ("OPTIONS", f"/{CONTAINER}/v7/from-the-browser.txt", 403)]

    playbook(emulator, tmp_path, write=True)
    emulator.clear_log()
    assert browser.load(load_url) == {"status": 200, "body": EXISTING_TEXT}
    assert browser.upload(upload_url, "first annotation") == {"status": 201, "body": ""}
    assert not [m for m in browser.console() if "CORS" in m]
    assert requests_seen(emulator) == [("GET", f"/{CONTAINER}/{EXISTING}", 200),
                                       ("OPTIONS", f"/{CONTAINER}/v7/from-the-browser.txt", 200),
                                       ("PUT", f"/{CONTAINER}/v7/from-the-browser.txt", 201)]
    assert account_blobs(emulator)["v7/from-the-browser.txt"] == "first annotation"

    playbook(emulator, tmp_path, "offboard.yml", write=True)
    emulator.clear_log()
    assert refused_by_cors(browser, browser.upload(upload_url, "after offboarding"))
    assert requests_seen(emulator) == [("OPTIONS", f"/{CONTAINER}/v7/from-the-browser.txt", 403)]
    assert account_blobs(emulator)["v7/from-the-browser.txt"] == "first annotation"


def test_the_first_rule_matching_origin_and_method_decides(emulator, browser, tmp_path):
    public_thumbnails = {"allowedOrigins": ["*"], "allowedMethods": ["GET"], "allowedHeaders": ["*"],
                         "exposedHeaders": [""], "maxAgeInSeconds": 3600}
    metadata_only = {"allowedOrigins": ["*"], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["x-ms-meta-*"],
                     "exposedHeaders": [""], "maxAgeInSeconds": 3600}
    browser.console()

    # a `*` rule without PUT in front: the upload's preflight passes it by and V7's rule answers
    emulator.load_state(with_v7_roles(world(), cors_rules=[public_thumbnails, V7_RULE]))
    v7 = V7Signer(emulator)
    assert browser.upload(v7.sign("v7/a.txt", BlobSasPermissions(create=True, write=True)), "a") == {"status": 201, "body": ""}

    # a `*` rule with PUT and narrower headers in front: selected by origin and method, its headers
    # refuse content-type and x-ms-blob-type, and V7's rule below is never looked at
    emulator.load_state(with_v7_roles(world(), cors_rules=[metadata_only, V7_RULE]))
    v7 = V7Signer(emulator)
    upload_url = v7.sign("v7/b.txt", BlobSasPermissions(create=True, write=True))
    emulator.clear_log()
    assert refused_by_cors(browser, browser.upload(upload_url, "b"))
    # a plain GET needs no preflight: the `*` rule matches it and the page reads the blob
    assert browser.load(v7.sign(EXISTING, BlobSasPermissions(read=True))) == {"status": 200, "body": EXISTING_TEXT}
    assert requests_seen(emulator) == [("OPTIONS", f"/{CONTAINER}/v7/b.txt", 403),
                                       ("GET", f"/{CONTAINER}/{EXISTING}", 200)]

    # configure.yml sees the shadowing rule and puts V7's rule in front of it
    playbook(emulator, tmp_path, write=True)
    (account,) = [a for s in emulator.state()["tenants"][0]["subscriptions"] for g in s["resource_groups"]
                  for a in g["storage_accounts"] if a["name"] == ACCOUNT]
    origins = [r["allowedOrigins"] for r in account["cors_rules"]]
    assert origins[0] == [V7] and ["*"] in origins       # the customer's rule is kept, behind V7's
    assert browser.upload(upload_url, "b") == {"status": 201, "body": ""}
    assert account_blobs(emulator)["v7/b.txt"] == "b"
