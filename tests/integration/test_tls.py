"""TLS at the playbook level, and in the code: certificate verification is off only when the user
says validate_certs: false (and a warning then says so); a wrong CA fails each account with a
message that says what to set, before anything is written.

The module-level cases (wrong CA from the option or the environment, a missing CA file,
validate_certs: false with its warning) are in test_auth.py.
"""
from __future__ import annotations

import ast
import os
import sys

import pytest
import trustme
import yaml

from tests.conftest import CONTOSO, OPERATOR, SUBSCRIPTION
from tests.integration.runner import ROOT, run_playbook

sys.path.insert(0, os.path.join(ROOT, ".venv", "collections"))

from ansible_collections.v7labs.azure_storage.plugins.module_utils import auth, clients, cloud  # noqa: E402

CONFIGURE = os.path.join(ROOT, "playbooks", "configure.yml")
PLUGINS = os.path.join(ROOT, "plugins")
ACCOUNTS = ("contosoimages", "contosovideos")
# variables other tools read to turn verification off; none of them may do it here
DISABLING_ENV = {
    "PYTHONHTTPSVERIFY": "0",
    "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION": "1",
    "AZURE_CERT_VALIDATION_MODE": "ignore",
    "ANSIBLE_AZURE_VALIDATE_CERTS": "false",
    "CURL_CA_BUNDLE": "",
}


# ---------------------------------------------------------------- the role, through configure.yml
def inventory(path, **auth_options) -> str:
    """Two accounts of the default world, one tenant, signing in as the operator."""
    shared = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
              "v7_tenant_id": CONTOSO, "v7_subscription_id": SUBSCRIPTION, "v7_resource_group": "rg-data",
              "v7_prefix": "images/v7", "v7_team": "contoso-vision",
              "v7_azure_auth": {"client_id": OPERATOR["client_id"], "secret": OPERATOR["secret"], **auth_options}}
    hosts = {name: {"v7_prefix": f"{'images' if name == 'contosoimages' else 'videos'}/v7"} for name in ACCOUNTS}
    path.write_text(yaml.safe_dump({"all": {"children": {"v7_storage_accounts": {"vars": shared, "hosts": hosts}}}}))
    return str(path)


def failures(run) -> dict[str, dict]:
    return {r["host"]: r["result"] for r in run.results if r["status"] == "failed"}


def test_configure_with_a_wrong_ca_fails_every_account_clearly_and_sends_nothing(emulator, tmp_path):
    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    env = {"AZURE_CLOUD_ENVIRONMENT": emulator.metadata_url, "REQUESTS_CA_BUNDLE": str(wrong_ca),
           "SSL_CERT_FILE": str(wrong_ca), **DISABLING_ENV}
    run = run_playbook(CONFIGURE, env=env, inventory=inventory(tmp_path / "hosts.yml"), forks=4,
                       extra_vars={"v7_activation_dir": str(tmp_path / "activation")})
    assert run.rc == 2
    failed = failures(run)
    assert set(failed) == set(ACCOUNTS)
    for account, result in failed.items():
        assert result["error_code"] == "TLSVerificationFailed", account
        assert "TLS verification failed" in result["msg"]
        assert "set ca_bundle (or REQUESTS_CA_BUNDLE) to the CA that signed" in result["msg"]
    # the handshake fails, so no request at all reaches Azure, and nothing is written locally either
    assert emulator.log() == []
    assert not (tmp_path / "activation").exists()


def test_configure_with_a_wrong_ca_in_the_inventory_fails_the_same_way(emulator, tmp_path):
    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    env = {**emulator.env()}  # the right CA in the environment: the inventory's option wins
    run = run_playbook(CONFIGURE, env=env, inventory=inventory(tmp_path / "hosts.yml", ca_bundle=str(wrong_ca)),
                       forks=4, check=True, extra_vars={"v7_activation_dir": str(tmp_path / "activation")})
    failed = failures(run)
    assert set(failed) == set(ACCOUNTS)
    assert {r["error_code"] for r in failed.values()} == {"TLSVerificationFailed"}
    assert emulator.log() == []


def test_validate_certs_false_in_the_inventory_works_and_warns_on_every_account(emulator, tmp_path):
    """No CA anywhere: only the inventory's explicit validate_certs: false lets the run through."""
    env = {"AZURE_CLOUD_ENVIRONMENT": emulator.metadata_url}
    run = run_playbook(CONFIGURE, env=env, inventory=inventory(tmp_path / "hosts.yml", validate_certs=False),
                       forks=4, check=True, extra_vars={"v7_activation_dir": str(tmp_path / "activation")})
    assert failures(run) == {}, run.output
    warned = {r["host"] for r in run.results
              if any("validate_certs=false" in w and "TLS certificate verification is OFF" in w
                     for w in r["result"].get("warnings", []))}
    assert warned == set(ACCOUNTS)
    assert "[WARNING]: validate_certs=false" in run.output
    assert emulator.writes() == []


# ---------------------------------------------------------------- the code: no silent way to turn it off
def _keyword_values(tree: ast.AST):
    """(name, value node) of every keyword argument and dict key that sets TLS verification."""
    names = {"verify", "connection_verify", "cert_reqs", "check_hostname", "ssl", "ssl_context"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from ((k.arg, k.value) for k in node.keywords if k.arg in names)
        elif isinstance(node, ast.Dict):
            yield from ((k.value, v) for k, v in zip(node.keys, node.values)
                        if isinstance(k, ast.Constant) and k.value in names)


def _plugin_sources() -> dict[str, str]:
    found = {}
    for folder, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as handle:
                    found[os.path.relpath(path, ROOT)] = handle.read()
    return found


def test_plugins_never_pass_a_fixed_value_that_turns_verification_off():
    seen = []
    for path, source in _plugin_sources().items():
        for name, value in _keyword_values(ast.parse(source)):
            text = ast.unparse(value)
            seen.append((path, name, text))
            assert not isinstance(value, ast.Constant), f"{path}: {name}={text}"
            # every value comes from AuthSettings.connection_verify, or is a parameter passing it on
            assert text in ("verify", "settings.connection_verify", "self.auth.connection_verify"), f"{path}: {name}={text}"
    assert ("plugins/module_utils/clients.py", "connection_verify", "settings.connection_verify") in seen
    assert ("plugins/module_utils/module.py", "verify", "self.auth.connection_verify") in seen


@pytest.mark.parametrize("pattern", ["CERT_NONE", "_create_unverified_context", "disable_warnings",
                                     "InsecureRequestWarning", "PYTHONHTTPSVERIFY", "verify=False"])
def test_plugins_have_no_other_way_to_skip_verification(pattern):
    assert [p for p, s in _plugin_sources().items() if pattern in s] == []


@pytest.mark.parametrize("validate_certs", [None, True])
@pytest.mark.parametrize("env", [{}, DISABLING_ENV, {**DISABLING_ENV, "REQUESTS_CA_BUNDLE": "/ca.pem"}],
                         ids=["nothing", "disabling variables", "disabling variables and a CA"])
def test_verification_stays_on_unless_validate_certs_is_false(validate_certs, env):
    params = {"client_id": OPERATOR["client_id"], "secret": OPERATOR["secret"], "tenant": CONTOSO,
              "validate_certs": validate_certs}
    settings = auth.resolve_auth(params, env, exists=lambda _path: True)
    assert settings.connection_verify in (True, "/ca.pem")
    assert clients.transport_options(settings)["connection_verify"] is settings.connection_verify
    assert auth.TLS_OFF_WARNING not in settings.warnings


def test_validate_certs_false_turns_it_off_everywhere_and_warns():
    params = {"client_id": OPERATOR["client_id"], "secret": OPERATOR["secret"], "tenant": CONTOSO,
              "validate_certs": False}
    settings = auth.resolve_auth(params, {"REQUESTS_CA_BUNDLE": "/ca.pem"}, exists=lambda _path: True)
    assert settings.connection_verify is False
    assert clients.transport_options(settings)["connection_verify"] is False
    assert auth.TLS_OFF_WARNING in settings.warnings


@pytest.mark.parametrize("verify", [True, "/ca.pem", False])
def test_the_cloud_metadata_request_uses_the_settings_verification(monkeypatch, verify):
    import requests

    sent = {}

    class Reply:
        status_code = 200
        text = '{"authentication": {"loginEndpoint": "https://login.example.test", "audiences": ["https://arm.example.test"]}}'

    def fake_get(url, **kwargs):
        sent.update(kwargs, url=url)
        return Reply()

    monkeypatch.setattr(requests, "get", fake_get)
    cloud.resolve_cloud("https://arm.example.test/metadata/endpoints", verify=verify)
    assert sent["verify"] is verify
