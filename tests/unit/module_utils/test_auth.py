"""Option resolution: every environment fallback, precedence, the credential choice, errors."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC, resolve_auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureConfigError

TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT = "22222222-2222-2222-2222-222222222222"
SUB = "33333333-3333-3333-3333-333333333333"


def params(**given) -> dict:
    """Module params as AnsibleModule hands them over: every auth option present."""
    values = {name: spec.get("default") for name, spec in AUTH_ARGUMENT_SPEC.items()}
    values.update(given)
    return values


def resolve(given: dict, env: dict, existing: tuple[str, ...] = ()) -> auth.AuthSettings:
    return resolve_auth(params(**given), env, exists=lambda path: path in existing)


# what a certificate / federated token sign-in and a user sign-in need besides the tested variable
SIGN_IN = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT": TENANT}
PW = {"AZURE_PASSWORD": "pw"}
SP_ENV_AWX = {"AZURE_CLIENT_ID": CLIENT, "AZURE_SECRET": "awx-secret", "AZURE_TENANT": TENANT}
SP_ENV_IDENTITY = {"AZURE_CLIENT_ID": CLIENT, "AZURE_CLIENT_SECRET": "id-secret", "AZURE_TENANT_ID": TENANT}


@pytest.mark.parametrize(
    ("option", "env", "expected", "source"),
    [
        ("subscription_id", {"AZURE_SUBSCRIPTION_ID": SUB}, SUB, "AZURE_SUBSCRIPTION_ID"),
        ("tenant", {"AZURE_TENANT": TENANT}, TENANT, "AZURE_TENANT"),
        ("tenant", {"AZURE_TENANT_ID": TENANT}, TENANT, "AZURE_TENANT_ID"),
        ("tenant", {"AZURE_TENANT": "awx", "AZURE_TENANT_ID": "identity"}, "awx", "AZURE_TENANT"),
        ("tenant", {"AZURE_TENANT": "", "AZURE_TENANT_ID": "identity"}, "identity", "AZURE_TENANT_ID"),
        ("client_id", {"AZURE_CLIENT_ID": CLIENT}, CLIENT, "AZURE_CLIENT_ID"),
        ("client_certificate_path", {"AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem", **SIGN_IN}, "/c.pem", "AZURE_CLIENT_CERTIFICATE_PATH"),
        ("federated_token_file", {"AZURE_FEDERATED_TOKEN_FILE": "/t", **SIGN_IN}, "/t", "AZURE_FEDERATED_TOKEN_FILE"),
        ("ad_user", {"AZURE_AD_USER": "u@x", **PW}, "u@x", "AZURE_AD_USER"),
        ("ad_user", {"AZURE_USERNAME": "u@y", **PW}, "u@y", "AZURE_USERNAME"),
        ("ad_user", {"AZURE_AD_USER": "awx", "AZURE_USERNAME": "identity", **PW}, "awx", "AZURE_AD_USER"),
        ("cloud_environment", {}, "AzureCloud", "default"),
        ("cloud_environment", {"AZURE_CLOUD_ENVIRONMENT": "AzureChinaCloud"}, "AzureChinaCloud", "AZURE_CLOUD_ENVIRONMENT"),
        ("auth_source", {}, "auto", "default"),
        ("auth_source", {"AZURE_AUTH_SOURCE": "CLI"}, "cli", "AZURE_AUTH_SOURCE"),
        ("ca_bundle", {"REQUESTS_CA_BUNDLE": "/ca.pem"}, "/ca.pem", "REQUESTS_CA_BUNDLE"),
        ("ca_bundle", {"SSL_CERT_FILE": "/ssl.pem"}, "/ssl.pem", "SSL_CERT_FILE"),
        ("ca_bundle", {"REQUESTS_CA_BUNDLE": "/ca.pem", "SSL_CERT_FILE": "/ssl.pem"}, "/ca.pem", "REQUESTS_CA_BUNDLE"),
    ],
)
def test_environment_fallbacks(option, env, expected, source):
    settings = resolve({}, env, existing=("/c.pem", "/t", "/ca.pem", "/ssl.pem"))
    assert getattr(settings, option) == expected
    assert settings.sources[option] == source


@pytest.mark.parametrize(
    ("given", "env", "expected_tenant", "expected_secret"),
    [
        ({}, SP_ENV_AWX, TENANT, "awx-secret"),
        ({}, SP_ENV_IDENTITY, TENANT, "id-secret"),
        # AWX names beat azure-identity names
        ({}, {**SP_ENV_IDENTITY, "AZURE_SECRET": "awx-secret", "AZURE_TENANT": "awx-tenant"}, "awx-tenant", "awx-secret"),
        # an option beats every environment variable
        ({"secret": "opt", "tenant": "opt-tenant"}, {**SP_ENV_AWX, **SP_ENV_IDENTITY}, "opt-tenant", "opt"),
        # mixed: option for one, environment for the others
        ({"tenant": "opt-tenant"}, SP_ENV_AWX, "opt-tenant", "awx-secret"),
    ],
)
def test_precedence(given, env, expected_tenant, expected_secret):
    settings = resolve(given, env)
    assert settings.credential_kind == auth.KIND_SECRET
    assert settings.tenant == expected_tenant
    assert settings.secret == expected_secret
    assert settings.client_id == CLIENT


def test_option_beats_subscription_env():
    settings = resolve({"subscription_id": "from-option"}, {"AZURE_SUBSCRIPTION_ID": SUB})
    assert (settings.subscription_id, settings.sources["subscription_id"]) == ("from-option", "option")


CERT = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem"}
WORKLOAD = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT, "AZURE_FEDERATED_TOKEN_FILE": "/token"}
USER = {"AZURE_AD_USER": "ops@example.com", "AZURE_PASSWORD": "pw"}


@pytest.mark.parametrize(
    ("given", "env", "kind"),
    [
        ({}, SP_ENV_AWX, auth.KIND_SECRET),
        ({}, CERT, auth.KIND_CERTIFICATE),
        ({}, {**CERT, "AZURE_SECRET": "s", "AZURE_TENANT": TENANT}, auth.KIND_SECRET),  # secret first
        ({}, USER, auth.KIND_PASSWORD),
        ({}, WORKLOAD, auth.KIND_WORKLOAD),
        ({}, {**WORKLOAD, **CERT}, auth.KIND_CERTIFICATE),  # certificate before federated token
        ({}, {}, auth.KIND_CLI_THEN_MSI),
        ({}, {"AZURE_CLIENT_ID": CLIENT}, auth.KIND_CLI_THEN_MSI),
        ({"auth_source": "cli"}, SP_ENV_AWX, auth.KIND_CLI),
        ({"auth_source": "msi"}, SP_ENV_AWX, auth.KIND_MSI),
        ({"auth_source": "env"}, SP_ENV_AWX, auth.KIND_SECRET),
        ({"auth_source": "env"}, CERT, auth.KIND_CERTIFICATE),
        ({"auth_source": "env"}, USER, auth.KIND_PASSWORD),
        ({"auth_source": "workload_identity"}, {**WORKLOAD, "AZURE_SECRET": "s"}, auth.KIND_WORKLOAD),
        ({}, {**SP_ENV_AWX, "AZURE_AUTH_SOURCE": "msi"}, auth.KIND_MSI),
        ({"auth_source": "env"}, {**SP_ENV_AWX, "AZURE_AUTH_SOURCE": "msi"}, auth.KIND_SECRET),
    ],
)
def test_credential_choice(given, env, kind):
    assert resolve(given, env, existing=("/c.pem", "/token")).credential_kind == kind


def test_password_sign_in_uses_cli_client_id_and_warns():
    settings = resolve({}, USER)
    assert settings.client_id == auth.AZURE_CLI_CLIENT_ID
    assert settings.password == "pw"
    assert auth.PASSWORD_WARNING in settings.warnings


def test_unused_secret_is_not_kept():
    settings = resolve({"auth_source": "cli"}, SP_ENV_AWX)
    assert settings.secret is None
    assert settings.secrets == ()


@pytest.mark.parametrize(
    ("given", "env", "existing", "needles"),
    [
        ({}, {"AZURE_SECRET": "s", "AZURE_CLIENT_ID": CLIENT}, (), ["tenant", "AZURE_TENANT"]),
        ({}, {"AZURE_SECRET": "s", "AZURE_TENANT": TENANT}, (), ["client_id", "AZURE_CLIENT_ID"]),
        ({"secret": "s"}, {}, (), ["client_id", "tenant", "AZURE_CLIENT_ID", "AZURE_TENANT"]),
        ({}, {"AZURE_AD_USER": "u"}, (), ["password", "AZURE_PASSWORD"]),
        ({"auth_source": "env"}, {}, (), ["auth_source=env", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT"]),
        ({"auth_source": "workload_identity"}, {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT": TENANT}, (),
         ["federated_token_file", "AZURE_FEDERATED_TOKEN_FILE"]),
        ({}, {"AZURE_AUTH_SOURCE": "kerberos"}, (), ["kerberos", "AZURE_AUTH_SOURCE"]),
        ({}, {"REQUESTS_CA_BUNDLE": "/missing.pem"}, (), ["/missing.pem", "REQUESTS_CA_BUNDLE"]),
        ({"ca_bundle": "/nope.pem"}, {}, (), ["/nope.pem", "option"]),
        ({}, CERT, (), ["/c.pem", "AZURE_CLIENT_CERTIFICATE_PATH"]),
        ({"api_retries": -1}, {}, (), ["api_retries"]),
        ({"api_timeout": 0}, {}, (), ["api_timeout"]),
    ],
)
def test_inconsistent_settings_name_option_and_env(given, env, existing, needles):
    with pytest.raises(AzureConfigError) as caught:
        resolve(given, env, existing)
    for needle in needles:
        assert needle in str(caught.value)


def test_errors_never_echo_the_secret():
    with pytest.raises(AzureConfigError) as caught:
        resolve({"secret": "p@ssw0rd-value"}, {"AZURE_CLIENT_ID": CLIENT})
    assert "p@ssw0rd-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("given", "env", "verify", "warned"),
    [
        ({}, {}, True, False),
        ({}, {"REQUESTS_CA_BUNDLE": "/ca.pem"}, "/ca.pem", False),
        ({"ca_bundle": "/opt.pem"}, {"REQUESTS_CA_BUNDLE": "/ca.pem"}, "/opt.pem", False),
        ({"validate_certs": False}, {"REQUESTS_CA_BUNDLE": "/ca.pem"}, False, True),
    ],
)
def test_tls_settings(given, env, verify, warned):
    settings = resolve(given, env, existing=("/ca.pem", "/opt.pem"))
    assert settings.connection_verify == verify
    assert (auth.TLS_OFF_WARNING in settings.warnings) is warned
    if warned:
        assert "TLS" in auth.TLS_OFF_WARNING and "OFF" in auth.TLS_OFF_WARNING


def test_retry_and_timeout_settings():
    settings = resolve({"api_retries": 2, "api_retry_backoff_max": 5, "api_timeout": 30}, {})
    assert (settings.api_retries, settings.api_retry_backoff_max, settings.api_timeout) == (2, 5, 30)
    defaults = resolve({}, {})
    assert (defaults.api_retries, defaults.api_retry_backoff_max, defaults.api_timeout) == (6, 60, None)


def test_secrets_stay_out_of_repr():
    settings = resolve({}, {**SP_ENV_AWX, "AZURE_PASSWORD": "pw"})
    assert "awx-secret" not in repr(settings)
    assert settings.secrets == ("awx-secret",)


def test_argument_spec_marks_secrets_no_log():
    assert {n for n, s in AUTH_ARGUMENT_SPEC.items() if s.get("no_log")} == {
        "secret",
        "password",
        "client_certificate_password",
    }
    # env-backed options have no spec default, so their environment variables can apply
    for name in auth.ENV_FALLBACKS:
        assert AUTH_ARGUMENT_SPEC[name].get("default") is None


@pytest.mark.parametrize(
    "name",
    [
        "plugins.module_utils.auth",
        "plugins.module_utils.cloud",
        "plugins.module_utils.errors",
        "plugins.module_utils.clients",
        "plugins.module_utils.module",
        "plugins.module_utils.service_principal",
        "plugins.doc_fragments.azure_auth",
        "plugins.modules.v7_service_principal",
    ],
)
def test_every_file_imports(name):
    assert importlib.import_module(f"ansible_collections.v7labs.azure_storage.{name}")


def test_loading_a_module_imports_no_azure_sdk():
    """The SDKs are imported only where a client is built: every import costs every task time."""
    code = (
        "import sys\n"
        "import ansible_collections.v7labs.azure_storage.plugins.modules.v7_service_principal\n"
        "print(sorted(m for m in sys.modules if m.startswith(('azure.identity', 'azure.mgmt', 'msal'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": ":".join(sys.path)}
    )
    assert out.stdout.strip() == "[]"


# --- from settings to an azure-identity credential (constructors recorded, nothing sent) ---

from ansible_collections.v7labs.azure_storage.plugins.module_utils import clients  # noqa: E402
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import BUILTIN_CLOUDS, parse_metadata  # noqa: E402

EMULATOR = parse_metadata(
    [{"name": "Emulator", "resourceManager": "https://127.0.0.1:8443/", "microsoftGraphResourceId": "https://127.0.0.1:8443/graph/",
      "authentication": {"loginEndpoint": "https://127.0.0.1:8443/", "audiences": ["https://127.0.0.1:8443/"]}}],
    "https://127.0.0.1:8443/metadata/endpoints",
)


@pytest.fixture
def recorded(monkeypatch):
    import azure.identity

    made: list[tuple[str, tuple, dict]] = []

    def recorder(name):
        def make(*args, **kwargs):
            made.append((name, args, kwargs))
            return name

        return make

    for name in ["ClientSecretCredential", "CertificateCredential", "UsernamePasswordCredential",
                 "WorkloadIdentityCredential", "AzureCliCredential", "ManagedIdentityCredential", "ChainedTokenCredential"]:
        monkeypatch.setattr(azure.identity, name, recorder(name))
    return made


@pytest.mark.parametrize(
    ("env", "given", "cloud", "made", "msal_kwargs"),
    [
        (SP_ENV_AWX, {}, EMULATOR, ["ClientSecretCredential"],
         {"authority": "https://127.0.0.1:8443", "disable_instance_discovery": True, "connection_verify": "/ca.pem"}),
        (SP_ENV_AWX, {}, BUILTIN_CLOUDS["azurecloud"], ["ClientSecretCredential"],
         {"authority": "https://login.microsoftonline.com", "disable_instance_discovery": False, "connection_verify": "/ca.pem"}),
        (CERT, {}, EMULATOR, ["CertificateCredential"], {"disable_instance_discovery": True}),
        (USER, {}, BUILTIN_CLOUDS["azurechinacloud"], ["UsernamePasswordCredential"],
         {"authority": "https://login.chinacloudapi.cn", "tenant_id": "organizations"}),
        (WORKLOAD, {}, EMULATOR, ["WorkloadIdentityCredential"], {"token_file_path": "/token", "authority": "https://127.0.0.1:8443"}),
        ({}, {"auth_source": "cli"}, EMULATOR, ["AzureCliCredential"], {}),
        ({"AZURE_CLIENT_ID": CLIENT}, {"auth_source": "msi"}, EMULATOR, ["AzureCliCredential", "ManagedIdentityCredential"],
         {"client_id": CLIENT}),
        ({}, {}, EMULATOR, ["AzureCliCredential", "ManagedIdentityCredential", "ChainedTokenCredential"], {}),
    ],
)
def test_credential_built_for_settings(recorded, env, given, cloud, made, msal_kwargs):
    settings = resolve(given, {**env, "REQUESTS_CA_BUNDLE": "/ca.pem"}, existing=("/c.pem", "/token", "/ca.pem"))
    assert clients.build_credential(settings, cloud) == made[-1]
    assert [name for name, _unused0, _unused1 in recorded] == made
    kwargs = [k for name, _unused0, k in recorded if name != "ChainedTokenCredential"][-1]
    for key, value in msal_kwargs.items():
        assert kwargs[key] == value


def test_clients_pass_tls_retry_and_timeout_settings():
    settings = resolve({"api_retries": 3, "api_retry_backoff_max": 9, "api_timeout": 20}, {"REQUESTS_CA_BUNDLE": "/ca.pem"},
                       existing=("/ca.pem",))
    assert clients.transport_options(settings) == {"connection_verify": "/ca.pem", "read_timeout": 20}
    assert clients.retry_options(settings) == {
        "retry_total": 3, "retry_status": 3, "retry_connect": 3, "retry_read": 3, "retry_backoff_max": 9,
    }
    arm = clients.AzureClients(settings, EMULATOR)._arm_options()
    assert arm["base_url"] == "https://127.0.0.1:8443" and arm["credential_scopes"] == ["https://127.0.0.1:8443/.default"]


@pytest.mark.parametrize(
    ("claims", "tid"),
    [({"tid": TENANT, "aud": "x"}, TENANT), ({"aud": "x"}, None)],
)
def test_token_claims(claims, tid):
    import base64
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    token = f"{b64(b'{}')}.{b64(json.dumps(claims).encode())}.sig"
    assert clients.token_claims(token).get("tid") == tid
    assert clients.token_claims("not-a-jwt") == {}


def test_tenant_id_from_the_token_when_not_configured():
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"tid": TENANT}).encode()).rstrip(b"=").decode()
    scopes = []

    class Credential:
        def get_token(self, scope):
            scopes.append(scope)
            return SimpleToken(f"e30.{payload}.sig")

    class SimpleToken:
        def __init__(self, token):
            self.token = token

    settings = resolve({"auth_source": "cli"}, {})
    azure_clients = clients.AzureClients(settings, EMULATOR, tenant_scope=EMULATOR.graph_scope)
    azure_clients._credential = Credential()
    assert azure_clients.tenant_id == TENANT
    assert scopes == ["https://127.0.0.1:8443/graph/.default"]


def test_missing_subscription_names_option_and_env():
    azure_clients = clients.AzureClients(resolve({}, {}), EMULATOR)
    with pytest.raises(AzureConfigError) as caught:
        azure_clients.storage()
    assert "subscription_id" in str(caught.value) and "AZURE_SUBSCRIPTION_ID" in str(caught.value)
