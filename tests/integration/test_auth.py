"""The shared authentication options end to end: real ansible-playbook, the emulator's Entra,
ARM and Graph, and what each sign-in setting does or says when it is wrong."""
from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
import trustme

from tests.conftest import AUDITOR, CONTOSO, OPERATOR, SUBSCRIPTION
from tests.integration.runner import auth_env, play, run_playbook
from tests.integration.test_service_principal import assert_no_leak

SP = "v7labs.azure_storage.v7_service_principal"
CORS = "v7labs.azure_storage.v7_blob_cors"
GROUP = "group/v7labs.azure_storage.azure"
ACCOUNT = {"resource_group": "rg-data", "storage_account": "contosoimages"}
BLOB_SERVICE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/contosoimages/blobServices/default"
FEDERATED_ISSUER = "https://token.actions.example.test"
FEDERATED_SUBJECT = "repo:contoso/platform:ref:refs/heads/main"
FAILING = {"ignore_errors": True}


# ---------------------------------------------------------------- helpers
def sp_task(name: str, **args) -> dict:
    return {"name": name, SP: args}


def cors_task(name: str, **args) -> dict:
    """v7_blob_cors in check mode: it needs a subscription, reads ARM and writes nothing."""
    return {"name": name, CORS: {**ACCOUNT, **args}, "check_mode": True}


def callers(emulator, kind: str) -> set[str]:
    return {e["caller"] for e in emulator.log(kind=kind, bodies=False)}


def assertion(issuer: str, subject: str, audience: str = "api://AzureADTokenExchange") -> str:
    """A JWT-shaped federated token as a workload-identity platform writes it to a file."""

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + 600}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def metadata_url_without_query(emulator) -> str:
    return emulator.metadata_url.split("?", 1)[0]


def assert_signed_in_as(emulator, identity: dict, kinds: tuple[str, ...] = ("graph", "arm")) -> None:
    for kind in kinds:
        assert callers(emulator, kind) == {identity["object_id"]}, kind


def assert_subscription_used(emulator) -> None:
    """v7_blob_cors reached the default world's account in SUBSCRIPTION, and nothing else."""
    paths = {e["path"] for e in emulator.log(kind="arm")}
    assert BLOB_SERVICE in paths
    assert all(p.startswith(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/") for p in paths), paths


def assert_ok(run, *names: str) -> None:
    assert run.rc == 0, run.output
    for name in names:
        assert run.statuses(name) == {"localhost": "ok"}, run.task(name)


# ---------------------------------------------------------------- the environment variables
AWX = {"AZURE_CLIENT_ID": OPERATOR["client_id"], "AZURE_SECRET": OPERATOR["secret"], "AZURE_TENANT": CONTOSO}
IDENTITY = {"AZURE_CLIENT_ID": OPERATOR["client_id"], "AZURE_CLIENT_SECRET": OPERATOR["secret"], "AZURE_TENANT_ID": CONTOSO}
# the AWX names come first: wrong azure-identity values beside them are not used
BOTH = {**AWX, "AZURE_CLIENT_SECRET": "Wrong~" + uuid.uuid4().hex, "AZURE_TENANT_ID": str(uuid.uuid4())}


@pytest.mark.parametrize("variables", [AWX, IDENTITY, BOTH], ids=["awx", "azure-identity", "awx-before-azure-identity"])
def test_environment_variables_alone_sign_in(emulator, variables):
    """Exactly what AWX's Azure credential injects (or azure-identity's names), and nothing else:
    the CA of the emulator comes from a task option, so no other variable is in play."""
    env = {**variables, "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "AZURE_CLOUD_ENVIRONMENT": emulator.metadata_url}
    run = run_playbook(
        play(sp_task("principal"), cors_task("cors"), module_defaults={GROUP: {"ca_bundle": emulator.ca_bundle}}),
        env=env,
    )
    assert_ok(run, "principal", "cors")
    assert run.task("principal")["changed"] is True and run.task("principal")["tenant_id"] == CONTOSO
    assert_signed_in_as(emulator, OPERATOR)
    assert_subscription_used(emulator)
    assert_no_leak(run, OPERATOR["secret"], *variables.values())


def test_task_options_beat_environment_variables(emulator, tmp_path):
    """The environment names the auditor (who may not create principals), another subscription, a
    cloud that cannot be reached from here and a CA that signed nothing; the task's options win."""
    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    env = {
        **auth_env(emulator, AUDITOR, CONTOSO),
        "AZURE_SUBSCRIPTION_ID": str(uuid.uuid4()),
        "AZURE_CLOUD_ENVIRONMENT": "AzureChinaCloud",
        "REQUESTS_CA_BUNDLE": str(wrong_ca),
        "SSL_CERT_FILE": str(wrong_ca),
    }
    options = {
        "client_id": OPERATOR["client_id"],
        "secret": OPERATOR["secret"],
        "tenant": CONTOSO,
        "subscription_id": SUBSCRIPTION,
        "cloud_environment": emulator.metadata_url,
        "ca_bundle": emulator.ca_bundle,
    }
    run = run_playbook(play(sp_task("principal", **options), cors_task("cors", **options)), env=env)
    assert_ok(run, "principal", "cors")
    assert run.task("principal")["changed"] is True  # the auditor would have got 403
    assert_signed_in_as(emulator, OPERATOR)
    assert_subscription_used(emulator)
    assert_no_leak(run, OPERATOR["secret"], AUDITOR["secret"])


def test_module_defaults_group_sets_every_option_once(emulator):
    settings = {
        "client_id": OPERATOR["client_id"],
        "secret": OPERATOR["secret"],
        "tenant": CONTOSO,
        "subscription_id": SUBSCRIPTION,
        "cloud_environment": emulator.metadata_url,
        "ca_bundle": emulator.ca_bundle,
    }
    run = run_playbook(
        play(sp_task("principal"), cors_task("cors"), sp_task("principal again"), module_defaults={GROUP: settings}),
        env={},
    )
    assert_ok(run, "principal", "cors", "principal again")
    assert run.task("principal")["changed"] is True and run.task("principal again")["changed"] is False
    assert_signed_in_as(emulator, OPERATOR)
    assert_no_leak(run, OPERATOR["secret"])


def test_workload_identity_through_a_federated_token_file(emulator, tmp_path):
    good, bad = tmp_path / "token", tmp_path / "forked-token"
    good.write_text(assertion(FEDERATED_ISSUER, FEDERATED_SUBJECT))
    bad.write_text(assertion(FEDERATED_ISSUER, "repo:someone/fork:ref:refs/heads/main"))
    # what a Kubernetes workload identity webhook injects, plus the cloud and its CA
    env = {
        "AZURE_CLIENT_ID": OPERATOR["client_id"],
        "AZURE_TENANT_ID": CONTOSO,
        "AZURE_FEDERATED_TOKEN_FILE": str(good),
        **emulator.env(),
    }
    run = run_playbook(
        play(
            sp_task("principal"),
            {**sp_task("principal with another token", federated_token_file=str(bad)), **FAILING},
        ),
        env=env,
    )
    assert_ok(run, "principal")
    assert run.task("principal")["changed"] is True and run.task("principal")["tenant_id"] == CONTOSO
    graph = emulator.log(kind="graph")
    assert {e["caller"] for e in graph} == {OPERATOR["object_id"]}

    refused = run.task("principal with another token")
    assert run.statuses("principal with another token") == {"localhost": "failed"}
    assert refused["error_code"] == "AADSTS70021"
    assert "repo:someone/fork" in refused["msg"]
    assert "federated_token_file" in refused["msg"] and "AZURE_FEDERATED_TOKEN_FILE" in refused["msg"]
    # the refused token was sent once and never reached Graph
    assert len(emulator.log(kind="graph")) == len(graph)
    assert_no_leak(run, good.read_text(), bad.read_text())


def test_cloud_environment_metadata_url_without_query(emulator):
    env = {**auth_env(emulator, OPERATOR, CONTOSO), "AZURE_CLOUD_ENVIRONMENT": metadata_url_without_query(emulator)}
    run = run_playbook(play(sp_task("principal")), env=env, check=True)
    assert_ok(run, "principal")
    assert [(e["path"], e["query"]) for e in emulator.log(kind="metadata")] == [("/metadata/endpoints", "api-version=2022-09-01")]
    assert emulator.writes() == []


def test_wrong_ca_bundle_fails_with_a_tls_message(emulator, tmp_path):
    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    env = {**auth_env(emulator, OPERATOR, CONTOSO), "REQUESTS_CA_BUNDLE": str(wrong_ca), "SSL_CERT_FILE": str(wrong_ca)}
    run = run_playbook(
        play(
            {**sp_task("from the environment"), **FAILING},
            {**sp_task("from the option", ca_bundle=str(wrong_ca)), **FAILING},
            {**sp_task("missing file", ca_bundle=str(tmp_path / "nowhere.pem")), **FAILING},
            sp_task("right option", ca_bundle=emulator.ca_bundle),
        ),
        env=env,
        check=True,
    )
    assert_ok(run, "right option")
    for name in ("from the environment", "from the option"):
        result = run.task(name)
        assert run.statuses(name) == {"localhost": "failed"}
        assert result["error_code"] == "TLSVerificationFailed"
        assert "TLS verification failed" in result["msg"]
        assert "ca_bundle" in result["msg"] and "REQUESTS_CA_BUNDLE" in result["msg"]
    missing = run.task("missing file")["msg"]
    assert "ca_bundle" in missing and "nowhere.pem" in missing and "does not exist" in missing
    assert_no_leak(run, OPERATOR["secret"])


def test_validate_certs_false_only_when_said_and_with_a_warning(emulator):
    """With no CA given, TLS fails; no environment variable turns verification off (not even the
    ones other Azure tools read); validate_certs: false in the task does, and says so."""
    env = {
        **AWX,
        "AZURE_CLOUD_ENVIRONMENT": emulator.metadata_url,
        "AZURE_CERT_VALIDATION_MODE": "ignore",
        "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION": "1",
        "PYTHONHTTPSVERIFY": "0",
        "ANSIBLE_AZURE_VALIDATE_CERTS": "false",
    }
    run = run_playbook(
        play(
            {**sp_task("no CA"), **FAILING},
            sp_task("verification off", validate_certs=False),
        ),
        env=env,
    )
    assert_ok(run, "verification off")
    assert run.statuses("no CA") == {"localhost": "failed"}
    assert run.task("no CA")["error_code"] == "TLSVerificationFailed"
    assert "ca_bundle" in run.task("no CA")["msg"]

    off = run.task("verification off")
    assert off["changed"] is True and off["tenant_id"] == CONTOSO
    assert [w for w in off["warnings"] if "validate_certs=false" in w and "TLS certificate verification is OFF" in w]
    assert "[WARNING]: validate_certs=false" in run.output
    assert_signed_in_as(emulator, OPERATOR, kinds=("graph",))
    assert_no_leak(run, OPERATOR["secret"])


def test_unknown_tenant_client_or_subscription_give_clear_messages(emulator):
    unknown_tenant, unknown_client = str(uuid.uuid4()), str(uuid.uuid4())
    run = run_playbook(
        play(
            {**sp_task("unknown tenant", tenant=unknown_tenant), **FAILING},
            {**sp_task("unknown client", client_id=unknown_client), **FAILING},
            {**cors_task("no subscription"), **FAILING},
        ),
        env=auth_env(emulator, OPERATOR, CONTOSO),
    )
    assert run.rc == 0, run.output
    assert set(run.statuses("unknown tenant").values()) == set(run.statuses("unknown client").values()) == {"failed"}

    tenant = run.task("unknown tenant")
    assert tenant["error_code"] == "TenantNotFound"
    assert unknown_tenant in tenant["msg"]
    assert "tenant (AZURE_TENANT or AZURE_TENANT_ID)" in tenant["msg"] and "cloud_environment" in tenant["msg"]

    client = run.task("unknown client")
    assert client["error_code"] == "AADSTS700016"
    assert unknown_client in client["msg"]
    assert "client_id / AZURE_CLIENT_ID" in client["msg"]

    subscription = run.task("no subscription")
    assert run.statuses("no subscription") == {"localhost": "failed"}
    assert "subscription_id" in subscription["msg"] and "AZURE_SUBSCRIPTION_ID" in subscription["msg"]
    assert emulator.log(kind="arm") == [] and emulator.log(kind="graph") == []
    assert_no_leak(run, OPERATOR["secret"])
