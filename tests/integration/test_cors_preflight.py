"""verify.yml and configure.yml send the CORS preflight an annotator's browser on V7's origin sends
(OPTIONS, no credentials, one per origin and method) to the Blob endpoint ARM names, and judge the
account by the Blob service's answer, beside what ARM says about the rules.

The Blob endpoints reach the emulator through the HTTPS proxy in `emulator.env()`. To show that the
answer, not ARM's reading, decides, one test sends the Blob endpoint to a second emulator whose
world holds the same account without the rules: ARM says the rules are in place, the Blob service
a browser meets says otherwise (as it does in Azure while a change has not reached the data plane).
"""
from __future__ import annotations

import os

import pytest

from tests.emulator import EmulatorProcess
from tests.emulator.blob_proxy import BlobEndpointProxy
from tests.integration.runner import run_playbook
from tests.integration.v7_side import ACCOUNT, PLAYBOOKS, V7, inventory, world

GOOD_PREFLIGHTS = 2  # GET and PUT from V7's one origin


def _preflights(log: list[dict]) -> list[tuple[str, int]]:
    return [(e["path"], e["status"]) for e in log if e["kind"] == "blob" and e["method"] == "OPTIONS"]


def _play(name: str, emulator, hosts: str, tmp_path, env: dict | None = None):
    return run_playbook(os.path.join(PLAYBOOKS, name), env=env or emulator.env(), inventory=hosts,
                        extra_vars={"v7_activation_dir": str(tmp_path / "activation")})


@pytest.fixture
def configured(emulator, tmp_path):
    emulator.load_state(world())
    hosts = inventory(tmp_path, write=True)
    emulator.clear_log()
    configure = _play("configure.yml", emulator, hosts, tmp_path)
    assert configure.rc == 0, configure.output
    return hosts, configure


def test_configure_asks_the_blob_service_once_the_rules_are_written(emulator, configured):
    _inventory_path, configure = configured
    # the rules were missing: no preflight before the write, the CORS step's own preflight after it
    cors_step = configure.task("v7labs.azure_storage.storage_integration : Allow V7's origins in the Blob service's "
                               "CORS rules", ACCOUNT)
    assert cors_step["changed"] is True and cors_step["preflight"]["checked"] is True
    assert cors_step["preflight"]["refused"] == []
    assert [(a["origin"], a["method"], a["status"]) for a in cors_step["preflight"]["answers"]] == [
        (V7, "GET", 200), (V7, "PUT", 200)]
    log = emulator.log()
    options = [e for e in log if e["kind"] == "blob" and e["method"] == "OPTIONS"]
    cors_write = [e["seq"] for e in log if e["write"] and "blobServices/default" in e["path"]]
    assert len(options) == GOOD_PREFLIGHTS and all(e["seq"] > cors_write[-1] for e in options)
    assert all(e["caller"] is None for e in options)  # no credential, as from a browser


def test_verify_reports_the_browsers_answer(emulator, configured, tmp_path):
    hosts, _configure = configured
    emulator.clear_log()
    verify = _play("verify.yml", emulator, hosts, tmp_path)
    assert verify.rc == 0, verify.output
    assert _preflights(emulator.log()) == [("/images/v7-cors-preflight", 200)] * GOOD_PREFLIGHTS
    info = verify.task("v7labs.azure_storage.storage_integration : Read the account, V7's roles and CORS rules",
                       ACCOUNT)
    assert info["cors_preflight"]["checked"] is True and info["cors_preflight"]["refused"] == []
    assert emulator.writes() == []


def test_rules_that_look_right_over_arm_but_are_refused_make_the_account_not_ready(emulator, configured, tmp_path):
    hosts, _configure = configured
    # the same account, without the rules, answers the Blob endpoint
    stale = world()
    (tmp_path / "stale").mkdir()
    with EmulatorProcess(workdir=str(tmp_path / "stale")) as blob_side:
        blob_side.load_state(stale)
        with BlobEndpointProxy(blob_side.url, blob_side.ca_bundle, str(tmp_path / "proxy")) as proxy:
            env = dict(emulator.env(), **proxy.env())
            # the proxy's bundle trusts the second emulator's CA and its own; ARM's CA is the first's
            with open(proxy.ca_bundle, "ab") as bundle, open(emulator.ca_bundle, "rb") as arm_ca:
                bundle.write(arm_ca.read())
            emulator.clear_log()
            verify = _play("verify.yml", emulator, hosts, tmp_path, env=env)
            refused = _preflights(blob_side.log())
    assert verify.rc != 0
    assert refused == [("/images/v7-cors-preflight", 403)] * GOOD_PREFLIGHTS
    failure = verify.task("v7labs.azure_storage.storage_integration : Fail the accounts that are not ready for V7",
                          ACCOUNT)["msg"]
    assert f"Storage account {ACCOUNT} is not ready for V7" in failure
    assert "refuses the CORS preflight a browser on V7's web app sends" in failure
    assert f"GET from {V7} (403 CorsPreflightFailure), PUT from {V7} (403 CorsPreflightFailure)" in failure
    assert emulator.writes() == []


def test_a_controller_that_cannot_reach_the_endpoint_says_so_and_does_not_fail(emulator, configured, tmp_path):
    hosts, _configure = configured
    # the name does not resolve from here (no proxy): the preflight cannot be sent
    env = {k: v for k, v in emulator.env().items() if k.lower() not in ("https_proxy", "no_proxy")}
    env.update(REQUESTS_CA_BUNDLE=emulator.ca_bundle, SSL_CERT_FILE=emulator.ca_bundle)
    emulator.clear_log()
    verify = _play("verify.yml", emulator, hosts, tmp_path, env=env)
    assert verify.rc == 0, verify.output
    info = verify.task("v7labs.azure_storage.storage_integration : Read the account, V7's roles and CORS rules",
                       ACCOUNT)
    assert info["cors_preflight"]["checked"] is False
    assert info["cors_preflight"]["reason"].startswith(f"could not reach https://{ACCOUNT}.blob.core.windows.net/")
    assert any(f"could not send V7's CORS preflight to the Blob service of {ACCOUNT} from this controller" in w
               for w in info["warnings"])
    assert _preflights(emulator.log()) == []


def test_an_account_whose_firewall_keeps_the_controller_out_is_not_failed_for_that(emulator, configured, tmp_path):
    hosts, _configure = configured
    world = emulator.state()
    account = next(a for t in world["tenants"] for s in t["subscriptions"] for g in s["resource_groups"]
                   for a in g["storage_accounts"] if a["name"] == ACCOUNT)
    account["network_acls"] = dict(account["network_acls"], defaultAction="Deny", ipRules=[])
    emulator.load_state(world)
    emulator.clear_log()
    verify = _play("verify.yml", emulator, hosts, tmp_path)
    info = verify.task("v7labs.azure_storage.storage_integration : Read the account, V7's roles and CORS rules",
                       ACCOUNT)
    assert _preflights(emulator.log()) == [("/images/v7-cors-preflight", 403)] * GOOD_PREFLIGHTS
    assert info["cors_preflight"]["checked"] is False and "AuthorizationFailure" in info["cors_preflight"]["reason"]
    # the firewall is what verify reports (no V7 IPs given), not the preflight
    assert [i["code"] for i in info["issues"]] == ["firewall_no_v7_ips"]
