"""The storage_integration role with V7's read-only integration, and verify reading V7's side from
the fake V7 API (tests/v7api), through the real playbooks against the emulator: what Azure and V7
received, and what the user sees."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.integration.runner import run_playbook
from tests.integration.test_role import CONTOSO, DATA, ROLE, SECRETS, cors, touched, v7_roles
from tests.integration.test_role_contract import CONFIGURE, VERIFY, account, contoso_world, failed

V7 = "https://darwin.v7labs.com"
KEY = "v7key-Contract.0001-abcdefABCDEF"
READ = ROLE + "Read V7's side of the integration (with a V7 API key)"
NOT_CHECKED = ROLE + "Say that V7's side is not checked (no V7 API key)"
SUMMARY = ROLE + "Summarise every account"


def inventory(tmp_path, hosts: dict, **shared) -> str:
    """Contoso's rg-vision accounts, team "contract", no prefix and no write: read-only."""
    common = {"v7_tenant_id": CONTOSO, "v7_subscription_id": DATA, "v7_resource_group": "rg-vision",
              "v7_team": "contract", "v7_activation_dir": str(tmp_path / "activation"),
              "v7_azure_auth": {"client_id": "aaaaaaaa-0000-4000-8000-000000000001", "secret": SECRETS[0]}, **shared}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"v7_storage_accounts": {"vars": common, "hosts": hosts}}}}))
    return str(path)


def both_cas(tmp_path, emulator, v7api) -> dict:
    """One CA bundle that trusts the emulator and the fake V7, as a company bundle would."""
    bundle = tmp_path / "cas.pem"
    bundle.write_text("".join(open(p, encoding="utf-8").read() for p in (emulator.ca_bundle, v7api.ca_bundle)))
    return {**emulator.env(), "REQUESTS_CA_BUNDLE": str(bundle), "SSL_CERT_FILE": str(bundle)}


def v7_world(*integrations) -> dict:
    return {"contract": {"keys": [KEY], "integrations": list(integrations)}}


def integration(bucket: str, **fields) -> dict:
    return {"name": bucket, "slug": bucket, "provider": "azure", "bucket": bucket, "prefix": "", "readonly": True,
            "default": True, "region": None, "tenant_id": CONTOSO, **fields}


def test_a_read_only_integration_gets_reader_delegator_and_cors_for_get_only(emulator, tmp_path):
    emulator.load_state(contoso_world(account("readonlyone"), account("readonlytwo", containers=["raw", "curated"])))
    path = inventory(tmp_path, {"readonlyone": {}, "readonlytwo": {"v7_containers": ["raw", "curated"]}})
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert run.rc == 0, run.output
    world = emulator.state()
    # roles at storage account level when no container is listed (V7's recommendation), no Contributor
    assert v7_roles(world)["readonlyone"] == {("Reader", "account"), ("Delegator", "account")}
    assert v7_roles(world)["readonlytwo"] == {("Reader", "raw"), ("Reader", "curated"), ("Delegator", "account")}
    for name in ("readonlyone", "readonlytwo"):
        assert cors(world, name) == [([V7], ["GET"])]
        # no container was created (a read-only integration has no prefix)
        assert not [e for e in touched(emulator.writes(), name) if re.search(r"/containers/[^/]+$", e["path"])]
    assert run.statuses(ROLE + "Create the prefix's container") == {"readonlyone": "skipped", "readonlytwo": "skipped"}
    with open(tmp_path / "activation" / "contract.json", encoding="utf-8") as handle:
        details = json.load(handle)
    assert details["accounts"]["readonlyone"]["read_only"] is True and details["accounts"]["readonlyone"]["prefix"] is None
    assert details["accounts"]["readonlyone"]["state"] == "ready"
    with open(tmp_path / "activation" / "contract.md", encoding="utf-8") as handle:
        markdown = handle.read()
    assert f"| readonlyone | {CONTOSO} | none (read-only integration) | read-only |" in markdown
    assert "**read-only** integration in V7" in markdown

    emulator.clear_log()
    again = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert again.rc == 0 and emulator.writes() == [], again.output
    verify = run_playbook(VERIFY, env=emulator.env(), inventory=path)
    assert verify.rc == 0, verify.output
    assert verify.task(SUMMARY)["ready"] == ["readonlyone", "readonlytwo"]


def test_asking_for_put_in_a_read_only_integration_adds_it(emulator, tmp_path):
    emulator.load_state(contoso_world(account("readonlyput")))
    path = inventory(tmp_path, {"readonlyput": {"v7_cors_methods": ["GET", "PUT"]}})
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert run.rc == 0, run.output
    assert cors(emulator.state(), "readonlyput") == [([V7], ["GET", "PUT"])]


def test_write_without_a_prefix_is_refused_before_any_request(emulator, tmp_path):
    emulator.load_state(contoso_world(account("writenoprefix")))
    path = inventory(tmp_path, {"writenoprefix": {"v7_write": True}})
    emulator.clear_log()
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert run.rc != 0
    assert "v7_prefix: required with v7_write true, and not set for writenoprefix" in failed(run)["writenoprefix"]
    assert emulator.log() == []


@pytest.fixture
def configured_read_only(emulator, tmp_path):
    emulator.load_state(contoso_world(account("sideone"), account("sidetwo")))
    path = inventory(tmp_path, {"sideone": {}, "sidetwo": {}})
    run = run_playbook(CONFIGURE, env=emulator.env(), inventory=path)
    assert run.rc == 0, run.output
    return path


def test_verify_without_a_key_says_in_one_line_that_v7_is_not_checked(emulator, v7api, configured_read_only):
    run = run_playbook(VERIFY, env=emulator.env(), inventory=configured_read_only)
    assert run.rc == 0, run.output
    assert set(run.statuses(READ).values()) == {"skipped"}
    said = [r for r in run.results if r["task"] == NOT_CHECKED and r["status"] == "ok"]
    assert len(said) == 1 and "V7's side of the integrations is not checked: no V7 API key" in said[0]["result"]["msg"]
    assert "v7" not in run.task(SUMMARY)["accounts"]["sideone"]
    assert v7api.log() == []


def test_verify_with_a_key_reports_v7_s_side_per_account(emulator, v7api, tmp_path, configured_read_only):
    # V7 turned on sideone as read-only; sidetwo read-write (V7 would try to write); nothing of the third
    v7api.load(v7_world(integration("sideone"), integration("sidetwo", readonly=False, prefix="images/v7")))
    env = {**both_cas(tmp_path, emulator, v7api), "V7_API_KEY": KEY}
    run = run_playbook(VERIFY, env=env, inventory=configured_read_only, extra_vars={"v7_api_url": v7api.url})
    assert run.rc == 2, run.output
    accounts = run.task(SUMMARY)["accounts"]
    assert accounts["sideone"]["v7"] == "active" and accounts["sidetwo"]["v7"] == "mismatch"
    assert run.task(READ, "sideone")["msg"].startswith("V7 has turned on storage integration sideone of team contract")
    assert list(failed(run)) == ["sidetwo"]
    assert "readonly: V7 has read-write, the account was set up with read-only" in failed(run)["sidetwo"]
    # what V7 received: the listing (and the tenant read: the listing has none), with the key, per account
    paths = sorted(e["path"] for e in v7api.log())
    shown = ["/api/teams/contract/storage/sideone", "/api/teams/contract/storage/sidetwo"]
    assert paths == ["/api/teams/contract/storage"] * 2 + shown
    assert {e["authorization"] for e in v7api.log()} == {f"ApiKey {KEY}"}
    assert KEY not in run.output
    with open(run.log_file, encoding="utf-8") as handle:
        assert KEY not in handle.read()


def test_verify_says_not_yet_and_a_bad_key_in_terms_of_the_inventory(emulator, v7api, tmp_path, configured_read_only):
    v7api.load(v7_world())
    env = both_cas(tmp_path, emulator, v7api)
    run = run_playbook(VERIFY, env={**env, "V7_API_KEY": KEY}, inventory=configured_read_only,
                       extra_vars={"v7_api_url": v7api.url})
    assert run.rc == 0, run.output
    assert run.task(SUMMARY)["accounts"]["sideone"]["v7"] == "not yet"
    assert "[WARNING]: V7 team contract has no Azure storage integration for storage account sideone yet" in run.output

    wrong = "v7key-Wrong.9999-zzzzzzzzzzzz"
    bad = run_playbook(VERIFY, env=env, inventory=configured_read_only,
                       extra_vars={"v7_api_url": v7api.url, "v7_api_key": wrong})
    assert bad.rc == 2
    assert "Give a valid key in v7_api_key (or V7_API_KEY)" in failed(bad)["sideone"]
    assert wrong not in bad.output
