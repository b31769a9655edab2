# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared authentication options and their resolution into one AuthSettings.

Pure: the environment and the file-existence check are passed in, so every fallback is testable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureConfigError

AUTH_SOURCES = ("auto", "env", "cli", "msi", "workload_identity")
DEFAULT_CLOUD = "AzureCloud"
DEFAULT_AUTH_SOURCE = "auto"
# Azure CLI's public client id: what a username/password sign-in uses when no client_id is given.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

# Option -> environment variables, in precedence order: the AWX / Automation Controller name
# first, then azure-identity's name. An option given in the task beats all of them.
ENV_FALLBACKS: dict[str, tuple[str, ...]] = {
    "subscription_id": ("AZURE_SUBSCRIPTION_ID",),
    "tenant": ("AZURE_TENANT", "AZURE_TENANT_ID"),
    "client_id": ("AZURE_CLIENT_ID",),
    "secret": ("AZURE_SECRET", "AZURE_CLIENT_SECRET"),
    "client_certificate_path": ("AZURE_CLIENT_CERTIFICATE_PATH",),
    "client_certificate_password": ("AZURE_CLIENT_CERTIFICATE_PASSWORD",),
    "federated_token_file": ("AZURE_FEDERATED_TOKEN_FILE",),
    "ad_user": ("AZURE_AD_USER", "AZURE_USERNAME"),
    "password": ("AZURE_PASSWORD",),
    "cloud_environment": ("AZURE_CLOUD_ENVIRONMENT",),
    "auth_source": ("AZURE_AUTH_SOURCE",),
    "ca_bundle": ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"),
}

# Defaults that live here rather than in the argument spec, so that an environment variable can
# still apply when the task leaves the option out.
_LATE_DEFAULTS = {"cloud_environment": DEFAULT_CLOUD, "auth_source": DEFAULT_AUTH_SOURCE}

AUTH_ARGUMENT_SPEC: dict[str, dict] = {
    "subscription_id": {"type": "str"},
    "tenant": {"type": "str"},
    "client_id": {"type": "str"},
    "secret": {"type": "str", "no_log": True},
    "client_certificate_path": {"type": "path"},
    "client_certificate_password": {"type": "str", "no_log": True},
    "federated_token_file": {"type": "path"},
    "ad_user": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "cloud_environment": {"type": "str"},
    "auth_source": {"type": "str", "choices": list(AUTH_SOURCES)},
    "ca_bundle": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "api_retries": {"type": "int", "default": 6},
    "api_retry_backoff_max": {"type": "int", "default": 60},
    "api_timeout": {"type": "int"},
}

# What kind of credential clients.build_credential makes.
KIND_SECRET = "secret"
KIND_CERTIFICATE = "certificate"
KIND_PASSWORD = "password"
KIND_WORKLOAD = "workload_identity"
KIND_CLI = "cli"
KIND_MSI = "msi"
KIND_CLI_THEN_MSI = "cli_then_msi"

TLS_OFF_WARNING = (
    "validate_certs=false: TLS certificate verification is OFF for every request to Azure and to "
    "the sign-in endpoint, so credentials and tokens can be intercepted. Set ca_bundle (or "
    "REQUESTS_CA_BUNDLE) to the CA that signed the endpoint instead."
)
PASSWORD_WARNING = (
    "Signing in with ad_user/password (AZURE_AD_USER/AZURE_PASSWORD) does not work with "
    "multi-factor authentication and is deprecated by Microsoft; prefer a service principal "
    "(client_id, secret, tenant)."
)


@dataclass(frozen=True)
class AuthSettings:
    """Everything needed to sign in and to talk to Azure, after env fallbacks and defaults."""

    credential_kind: str
    auth_source: str = DEFAULT_AUTH_SOURCE
    cloud_environment: str = DEFAULT_CLOUD
    subscription_id: str | None = None
    tenant: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    federated_token_file: str | None = None
    ad_user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    validate_certs: bool = True
    api_retries: int = 6
    api_retry_backoff_max: int = 60
    api_timeout: int | None = None
    # option name -> where its value came from: "option" or the environment variable's name
    sources: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def connection_verify(self) -> bool | str:
        """The value azure-core and requests take as `connection_verify` / `verify`."""
        if not self.validate_certs:
            return False
        return self.ca_bundle or True

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in output."""
        return tuple(v for v in (self.secret, self.password, self.client_certificate_password) if v)


def _lookup(name: str, params: Mapping, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(value, source) for one option: the option, else the first non-empty env var."""
    value = params.get(name)
    if value not in (None, ""):
        return value, "option"
    for var in ENV_FALLBACKS.get(name, ()):
        env_value = environ.get(var)
        if env_value:
            return env_value, var
    if name in _LATE_DEFAULTS:
        return _LATE_DEFAULTS[name], "default"
    return None, None


def describe_setting(name: str) -> str:
    """'the tenant option or AZURE_TENANT (or AZURE_TENANT_ID)': how a user sets an option."""
    env = ENV_FALLBACKS.get(name, ())
    if not env:
        return f"the {name} option"
    rest = f" (or {', '.join(env[1:])})" if len(env) > 1 else ""
    return f"the {name} option or {env[0]}{rest}"


def _require(kind_label: str, values: Mapping[str, str | None], names: tuple[str, ...]) -> None:
    missing = [n for n in names if not values.get(n)]
    if missing:
        wanted = "; ".join(f"set {describe_setting(n)}" for n in missing)
        verb = "is" if len(missing) == 1 else "are"
        names = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
        raise AzureConfigError(f"Cannot sign in with {kind_label}: {names} {verb} missing: {wanted}.")


def _choose_kind(source: str, v: Mapping[str, str | None]) -> str:
    """The credential to build, from auth_source and which settings are present."""
    if v.get("ad_user") and not v.get("password"):
        raise AzureConfigError(f"ad_user is set but password is not: set {describe_setting('password')}.")
    explicit: list[tuple[str, str, tuple[str, ...]]] = [
        ("secret", KIND_SECRET, ("client_id", "tenant")),
        ("client_certificate_path", KIND_CERTIFICATE, ("client_id", "tenant")),
        ("password", KIND_PASSWORD, ("ad_user",)),
    ]
    if source in ("auto", "env"):
        for key, kind, needs in explicit:
            if v.get(key):
                _require(f"a {kind.replace('_', ' ')} (auth_source={source})", v, needs)
                return kind
        if source == "env":
            raise AzureConfigError(
                "auth_source=env needs credentials in the options or the environment: set "
                f"{describe_setting('client_id')}, {describe_setting('secret')} and "
                f"{describe_setting('tenant')}; or client_certificate_path "
                "(AZURE_CLIENT_CERTIFICATE_PATH) instead of secret; or ad_user and password "
                "(AZURE_AD_USER, AZURE_PASSWORD)."
            )
        if v.get("federated_token_file"):
            _require("workload identity (auth_source=auto)", v, ("client_id", "tenant"))
            return KIND_WORKLOAD
        return KIND_CLI_THEN_MSI
    if source == "workload_identity":
        _require("workload identity (auth_source=workload_identity)", v, ("federated_token_file", "client_id", "tenant"))
        return KIND_WORKLOAD
    if source == "cli":
        return KIND_CLI
    return KIND_MSI  # resolve_auth has refused every other auth_source


def _int_setting(params: Mapping, name: str, minimum: int) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if int(value) < minimum:
        raise AzureConfigError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def resolve_auth(
    params: Mapping,
    environ: Mapping[str, str],
    exists: Callable[[str], bool] = os.path.exists,
) -> AuthSettings:
    """Turn module params + environment into AuthSettings, or raise AzureConfigError."""
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for name in ENV_FALLBACKS:
        value, source = _lookup(name, params, environ)
        values[name] = value
        if source:
            sources[name] = source

    validate_certs = params.get("validate_certs")
    validate_certs = True if validate_certs is None else bool(validate_certs)
    if not validate_certs:
        # A CA bundle from the environment is irrelevant when verification is off.
        values["ca_bundle"] = None if sources.get("ca_bundle") != "option" else values["ca_bundle"]

    for name in ("ca_bundle", "client_certificate_path", "federated_token_file"):
        path = values.get(name)
        if path and not exists(path):
            origin = "option" if sources.get(name) == "option" else f"environment variable {sources.get(name)}"
            raise AzureConfigError(f"{name} '{path}' (from the {origin}) does not exist: fix the path or unset it.")

    auth_source = str(values["auth_source"]).strip().lower()
    if auth_source not in AUTH_SOURCES:
        raise AzureConfigError(
            f"auth_source '{values['auth_source']}' (from {sources.get('auth_source')}) is not one of "
            f"{', '.join(AUTH_SOURCES)}: fix the auth_source option or AZURE_AUTH_SOURCE."
        )
    kind = _choose_kind(auth_source, values)

    client_id = values["client_id"]
    if kind == KIND_PASSWORD and not client_id:
        client_id = AZURE_CLI_CLIENT_ID

    warnings: list[str] = []
    if not validate_certs:
        warnings.append(TLS_OFF_WARNING)
    if kind == KIND_PASSWORD:
        warnings.append(PASSWORD_WARNING)

    retries = _int_setting(params, "api_retries", 0)
    backoff = _int_setting(params, "api_retry_backoff_max", 1)
    return AuthSettings(
        credential_kind=kind,
        auth_source=auth_source,
        cloud_environment=str(values["cloud_environment"]).strip(),
        subscription_id=values["subscription_id"],
        tenant=values["tenant"],
        client_id=client_id,
        secret=values["secret"] if kind == KIND_SECRET else None,
        client_certificate_path=values["client_certificate_path"],
        client_certificate_password=values["client_certificate_password"],
        federated_token_file=values["federated_token_file"],
        ad_user=values["ad_user"],
        password=values["password"] if kind == KIND_PASSWORD else None,
        ca_bundle=values["ca_bundle"],
        validate_certs=validate_certs,
        api_retries=6 if retries is None else retries,
        api_retry_backoff_max=60 if backoff is None else backoff,
        api_timeout=_int_setting(params, "api_timeout", 1),
        sources=sources,
        warnings=tuple(warnings),
    )
