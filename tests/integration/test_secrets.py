"""No client secret and no token ends up anywhere a run leaves something behind.

The example inventory (examples/inventory, two tenants, each signing in with its own client secret
from group_vars) is configured against its emulator world, first with --check --diff, then for
real with --diff, both at -vvvv and with ANSIBLE_LOG_PATH set. Searched afterwards: stdout,
stderr, the log file, every returned value (the result callback's file) and the activation files
the role writes. A workload-identity run (a federated token file, itself a JWT) is searched the
same way. The search is proven able to fail by the first tests.
"""
from __future__ import annotations

import copy
import json
import os
import re

import pytest

from tests.conftest import CONTOSO, OPERATOR
from tests.emulator.state import load_document
from tests.integration.runner import ROOT, Run, play, run_playbook
from tests.integration.test_auth import FEDERATED_ISSUER, FEDERATED_SUBJECT, assertion
from tests.session_cache import once_per_session

EXAMPLE_STATE = load_document(os.path.join(ROOT, "tests", "emulator", "states", "example.yml"))
INVENTORY = os.path.join(ROOT, "examples", "inventory", "hosts.yml")
CONFIGURE = os.path.join(ROOT, "playbooks", "configure.yml")
# both tenants' client secrets, as examples/inventory/group_vars gives them
TENANT_SECRETS = ("Em9-operator-Secret.contoso~0001", "Em9-operator-Secret.fabrikam~0001")

# Token shapes: a JWT (header and payload are base64url JSON, so both start with "eyJ"), a bearer
# token in a header, and the form fields that carry a client secret, an assertion or a token.
TOKEN_PATTERNS = {
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    "bearer token": re.compile(r"(?i)\bbearer\s+(?!<redacted>)[A-Za-z0-9._~+/=-]{16,}"),
    "client assertion": re.compile(r"(?i)client_assertion[\"']?\s*[=:]\s*[\"']?(?!<redacted>)[A-Za-z0-9._-]{16,}"),
    "access token field": re.compile(r"(?i)(?:access|refresh|id)_token[\"']?\s*[=:]\s*[\"']?(?!<redacted>)[A-Za-z0-9._-]{16,}"),
    "client secret field": re.compile(r"(?i)client_secret[\"']?\s*[=:]\s*[\"']?(?!<redacted>)[^\s\"'&,;}]{6,}"),
}


def leaks(text: str, secrets: tuple[str, ...] | list[str] = ()) -> list[str]:
    """What in text is a given secret or looks like a token: [kind: excerpt]."""
    found = [f"secret: {s[:6]}..." for s in secrets if s and s in text]
    for kind, pattern in TOKEN_PATTERNS.items():
        found += [f"{kind}: {m.group(0)[:24]}..." for m in pattern.finditer(text)]
    return found


def places(run: Run, extra_dir: str | None = None) -> dict[str, str]:
    """Everything a run left behind, by where it is."""
    where = {"stdout": run.stdout, "stderr": run.stderr, "returned values": json.dumps(run.results)}
    if run.log_file and os.path.exists(run.log_file):
        with open(run.log_file, encoding="utf-8", errors="replace") as handle:
            where["log file"] = handle.read()
    if extra_dir and os.path.isdir(extra_dir):
        for name in sorted(os.listdir(extra_dir)):
            with open(os.path.join(extra_dir, name), encoding="utf-8", errors="replace") as handle:
                where[f"activation file {name}"] = handle.read()
    return where


def all_leaks(where: dict[str, str], secrets) -> dict[str, list[str]]:
    return {name: found for name, text in where.items() if (found := leaks(text, secrets))}


# ---------------------------------------------------------------- the search can fail
def _jwt(payload: dict) -> str:
    import base64

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize("text, kind", [
    (f"fatal: [contosofresh]: FAILED! => token {_jwt({'tid': CONTOSO, 'oid': 'x'})} refused", "JWT"),
    (f'{{"headers": {{"Authorization": "Bearer {_jwt({"tid": CONTOSO})}"}}}}', "bearer token"),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123", "bearer token"),
    ("grant_type=client_credentials&client_assertion=abcdefghijklmnopqrstuvwxyz", "client assertion"),
    ('{"access_token": "abcdefghijklmnopqrstuvwxyz0123"}', "access token field"),
    ("client_id=aaaa&client_secret=Em9-operator-Secret.contoso~0001", "client secret field"),
    (f"msg: sign-in failed for {TENANT_SECRETS[1]}", "secret"),
])
def test_the_search_finds_secrets_and_token_shaped_strings(text, kind):
    assert [f for f in leaks(text, TENANT_SECRETS) if f.startswith(kind + ":")]


@pytest.mark.parametrize("text", [
    "Authorization: Bearer <redacted>",
    '"secret": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"',
    "The client 'aaaaaaaa-0000-4000-8000-000000000002' with object id 'aaaaaaaa-0000-4000-8000-0000000000a2'",
    "https://darwin.v7labs.com stcontosoimages.blob.core.windows.net",
])
def test_the_search_leaves_harmless_text_alone(text):
    assert leaks(text, TENANT_SECRETS) == []


# ---------------------------------------------------------------- configure the example inventory
@pytest.fixture(scope="module")
def configured(emulator_process, tmp_path_factory) -> dict:
    def compute(workdir) -> dict:
        emulator_process.reset()
        emulator_process.load_state(copy.deepcopy(EXAMPLE_STATE))
        activation = os.path.join(str(workdir), "activation")
        runs = {}
        for name, check in (("check", True), ("configure", False)):
            run = run_playbook(CONFIGURE, env=emulator_process.env(), inventory=INVENTORY, forks=10, check=check,
                               diff=True, verbosity=4, extra_vars={"v7_activation_dir": activation})
            runs[name] = {"rc": run.rc, "places": places(run, activation if not check else None),
                          "tasks": len(run.results)}
        return {"runs": runs, "activation_files": sorted(os.listdir(activation)) if os.path.isdir(activation) else []}

    return once_per_session(tmp_path_factory, "secrets_configure", compute)


@pytest.mark.parametrize("step", ["check", "configure"])
def test_configure_at_vvvv_with_diff_shows_no_secret_and_no_token(configured, step):
    run = configured["runs"][step]
    # the runs really happened, verbosely, and their outputs are all searched
    assert run["rc"] == 2 and run["tasks"] > 50  # two example accounts cannot be made ready
    assert '"invocation": {' in run["places"]["stdout"]  # -vvvv: module arguments are shown
    assert {"stdout", "stderr", "log file", "returned values"} <= set(run["places"])
    assert "module_args" in run["places"]["returned values"]
    assert all_leaks(run["places"], TENANT_SECRETS) == {}


def test_activation_files_hold_no_secret_and_no_token(configured):
    assert len(configured["activation_files"]) == 6  # three teams, markdown and JSON each
    activation = {k: v for k, v in configured["runs"]["configure"]["places"].items() if k.startswith("activation")}
    assert len(activation) == 6
    assert all_leaks(activation, TENANT_SECRETS) == {}


def test_the_secrets_were_really_in_play(configured):
    """The inventory gives each tenant's secret to its modules (masked in what they return), so
    finding none is not because none was used."""
    returned = configured["runs"]["configure"]["places"]["returned values"]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in returned
    with open(os.path.join(ROOT, "examples", "inventory", "group_vars", "contoso.yml"), encoding="utf-8") as handle:
        assert TENANT_SECRETS[0] in handle.read()


# ---------------------------------------------------------------- workload identity
def test_workload_identity_run_shows_neither_the_federated_token_nor_an_access_token(emulator, tmp_path):
    token_file = tmp_path / "federated-token"
    token_file.write_text(assertion(FEDERATED_ISSUER, FEDERATED_SUBJECT))
    refused_file = tmp_path / "forked-token"
    refused_file.write_text(assertion(FEDERATED_ISSUER, "repo:someone/fork:ref:refs/heads/main"))
    env = {**emulator.env(), "AZURE_CLIENT_ID": OPERATOR["client_id"], "AZURE_TENANT_ID": CONTOSO,
           "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}
    sp = "v7labs.azure_storage.v7_service_principal"
    run = run_playbook(play({"name": "principal", sp: {}},
                            {"name": "refused token", sp: {"federated_token_file": str(refused_file)},
                             "ignore_errors": True}),
                       env=env, diff=True, verbosity=4)
    assert run.rc == 0 and run.task("principal")["changed"] is True
    assert run.statuses("refused token") == {"localhost": "failed"}
    tokens = (token_file.read_text(), refused_file.read_text())
    assert all_leaks(places(run), tokens) == {}
