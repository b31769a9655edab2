# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential, the ARM clients and a small Microsoft Graph client, all created lazily.

Every Azure SDK import sits inside the function that needs it: each one costs time on every task.
"""
from __future__ import annotations

import base64
import json
import warnings
from typing import Any

from ansible_collections.v7labs.azure_storage.plugins.module_utils import auth as _auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import CloudEndpoints
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import (
    AzureApiError,
    AzureConfigError,
    api_call,
    parse_error_body,
)

USER_AGENT = "v7labs.azure_storage"


def transport_options(settings: _auth.AuthSettings) -> dict[str, Any]:
    """Keyword arguments azure-core's RequestsTransport takes from a client or a credential."""
    options: dict[str, Any] = {"connection_verify": settings.connection_verify}
    if settings.api_timeout:
        options["read_timeout"] = settings.api_timeout
    return options


def retry_options(settings: _auth.AuthSettings) -> dict[str, Any]:
    """Keyword arguments for azure-core's RetryPolicy (which honours Retry-After on its own).

    RetryPolicy stops at whichever of its counters runs out first, and the status (429, 5xx),
    connect and read counters default to 3 whatever retry_total says: all four get api_retries,
    or api_retries above 3 would never be reached."""
    retries = settings.api_retries
    return {
        "retry_total": retries,
        "retry_status": retries,
        "retry_connect": retries,
        "retry_read": retries,
        "retry_backoff_max": settings.api_retry_backoff_max,
    }


def build_credential(settings: _auth.AuthSettings, cloud: CloudEndpoints):
    """An azure-identity credential for the kind that resolve_auth chose."""
    from azure import identity

    transport = transport_options(settings)
    # MSAL-based credentials: a custom authority must skip instance discovery, or MSAL asks
    # login.microsoftonline.com about it.
    msal = dict(transport, authority=cloud.authority_host, disable_instance_discovery=not cloud.known_authority)
    kind = settings.credential_kind
    try:
        if kind == _auth.KIND_SECRET:
            return identity.ClientSecretCredential(settings.tenant, settings.client_id, settings.secret, **msal)
        if kind == _auth.KIND_CERTIFICATE:
            return identity.CertificateCredential(
                settings.tenant,
                settings.client_id,
                settings.client_certificate_path,
                password=settings.client_certificate_password,
                **msal,
            )
        if kind == _auth.KIND_PASSWORD:
            with warnings.catch_warnings():
                # The module already warns about this, in Ansible's own output.
                warnings.simplefilter("ignore", DeprecationWarning)
                return identity.UsernamePasswordCredential(
                    settings.client_id,
                    settings.ad_user,
                    settings.password,
                    tenant_id=settings.tenant or "organizations",
                    **msal,
                )
        if kind == _auth.KIND_WORKLOAD:
            return identity.WorkloadIdentityCredential(
                tenant_id=settings.tenant,
                client_id=settings.client_id,
                token_file_path=settings.federated_token_file,
                authority=cloud.authority_host,
                **transport,
            )
        cli = identity.AzureCliCredential(tenant_id=settings.tenant or "")
        if kind == _auth.KIND_CLI:
            return cli
        msi = identity.ManagedIdentityCredential(client_id=settings.client_id, **transport)
        if kind == _auth.KIND_MSI:
            return msi
        return identity.ChainedTokenCredential(cli, msi)
    except (ValueError, OSError, TypeError) as exc:
        raise AzureConfigError(
            f"Cannot set up the {kind.replace('_', ' ')} credential: {exc}. Check the authentication "
            "options (client_id, tenant, client_certificate_path, federated_token_file) and their "
            "AZURE_* environment variables."
        ) from None


def token_claims(token: str) -> dict:
    """The payload of a JWT, decoded without verification (only to read claims such as tid)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (IndexError, ValueError, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class RestClient:
    """REST over an azure-core pipeline (retry, bearer token for ``scope``, TLS settings), for the
    calls no management SDK the collection depends on makes."""

    service = "REST"

    def __init__(self, credential, settings: _auth.AuthSettings, base_url: str, scope: str) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import (
            BearerTokenCredentialPolicy,
            HeadersPolicy,
            RetryPolicy,
            UserAgentPolicy,
        )
        from azure.core.pipeline.transport import RequestsTransport

        self.base_url = base_url
        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(user_agent=USER_AGENT),
            RetryPolicy(**retry_options(settings)),
            BearerTokenCredentialPolicy(credential, scope),
        ]
        self._client = PipelineClient(
            self.base_url, policies=policies, transport=RequestsTransport(**transport_options(settings))
        )

    def _send(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        from azure.core.rest import HttpRequest

        url = path if path.startswith("https://") else self.base_url + path.lstrip("/")
        request = HttpRequest(method, url, params=params, json=body)
        return self._client.send_request(request)

    def _raise(self, method: str, path: str, response) -> None:
        code, message = parse_error_body(response.text())
        raise AzureApiError(
            f"{self.service} {method} {path} answered HTTP {response.status_code}: {code}: {message}",
            status=response.status_code,
            code=code,
            service_message=message or f"HTTP {response.status_code}",
            described=False,
        )

    @staticmethod
    def _json(response) -> dict:
        text = response.text()
        return json.loads(text) if text and text.strip() else {}


class GraphClient(RestClient):
    """Microsoft Graph v1.0."""

    service = "Graph"

    def __init__(self, credential, settings: _auth.AuthSettings, cloud: CloudEndpoints) -> None:
        super().__init__(credential, settings, cloud.graph_url(""), cloud.graph_scope)

    def get(self, path: str, params: dict | None = None) -> dict | None:
        response = self._send("GET", path, params=params)
        if response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            self._raise("GET", path, response)
        return self._json(response)

    def post(self, path: str, body: dict) -> dict:
        response = self._send("POST", path, body=body)
        if not 200 <= response.status_code < 300:
            self._raise("POST", path, response)
        return self._json(response)

    def delete(self, path: str) -> bool:
        response = self._send("DELETE", path)
        if response.status_code == 404:
            return False
        if not 200 <= response.status_code < 300:
            self._raise("DELETE", path, response)
        return True


class ArmClient(RestClient):
    """Azure Resource Manager, for the subscriptions the caller can see."""

    service = "ARM"

    def __init__(self, credential, settings: _auth.AuthSettings, cloud: CloudEndpoints) -> None:
        super().__init__(credential, settings, cloud.resource_manager.rstrip("/") + "/", cloud.arm_scope)

    def list(self, path: str, api_version: str) -> list[dict]:
        """Every item of a paged ARM list (``value`` and ``nextLink``)."""
        items: list[dict] = []
        url: str | None = path
        params: dict | None = {"api-version": api_version}
        while url:
            response = self._send("GET", url, params=params)
            if not 200 <= response.status_code < 300:
                self._raise("GET", path, response)
            page = self._json(response)
            items += page.get("value") or []
            url, params = page.get("nextLink"), None  # the next link carries its own query
        return items


class AzureClients:
    """Lazily created, cached clients for one set of AuthSettings and one cloud."""

    def __init__(self, settings: _auth.AuthSettings, cloud: CloudEndpoints, *, tenant_scope: str | None = None) -> None:
        self.settings = settings
        self.cloud = cloud
        self.subscription_id: str | None = settings.subscription_id
        # The scope of the token whose tid claim says the tenant when no tenant is configured:
        # Graph-only modules ask for the Graph token they need anyway.
        self._tenant_scope = tenant_scope or cloud.arm_scope
        self._credential = None
        self._tenant_id: str | None = settings.tenant
        self._graph: GraphClient | None = None
        self._arm_rest: ArmClient | None = None
        self._arm: dict[tuple[str, str], Any] = {}

    @property
    def credential(self):
        if self._credential is None:
            self._credential = build_credential(self.settings, self.cloud)
        return self._credential

    @property
    def tenant_id(self) -> str:
        if self._tenant_id is None:
            with api_call("sign in to find the tenant id"):
                token = self.credential.get_token(self._tenant_scope).token
            tid = token_claims(token).get("tid")
            if not tid:
                raise AzureConfigError(
                    "Cannot tell which tenant the credential signed into (its token has no tid claim): "
                    "set the tenant option or AZURE_TENANT (or AZURE_TENANT_ID)."
                )
            self._tenant_id = str(tid)
        return self._tenant_id

    def _arm_options(self) -> dict[str, Any]:
        return dict(
            base_url=self.cloud.resource_manager.rstrip("/"),
            credential_scopes=[self.cloud.arm_scope],
            user_agent=USER_AGENT,
            **transport_options(self.settings),
            **retry_options(self.settings),
        )

    def _subscription(self, subscription_id: str | None) -> str:
        sub = subscription_id or self.subscription_id
        if not sub:
            raise AzureConfigError(
                "No subscription given: set the subscription_id option or AZURE_SUBSCRIPTION_ID."
            )
        return sub

    def storage(self, subscription_id: str | None = None):
        sub = self._subscription(subscription_id)
        key = ("storage", sub)
        if key not in self._arm:
            from azure.mgmt.storage import StorageManagementClient

            self._arm[key] = StorageManagementClient(self.credential, sub, **self._arm_options())
        return self._arm[key]

    def authorization(self, subscription_id: str | None = None):
        sub = self._subscription(subscription_id)
        key = ("authorization", sub)
        if key not in self._arm:
            from azure.mgmt.authorization import AuthorizationManagementClient

            self._arm[key] = AuthorizationManagementClient(self.credential, sub, **self._arm_options())
        return self._arm[key]

    @property
    def arm(self) -> ArmClient:
        if self._arm_rest is None:
            self._arm_rest = ArmClient(self.credential, self.settings, self.cloud)
        return self._arm_rest

    @property
    def graph(self) -> GraphClient:
        if self._graph is None:
            self._graph = GraphClient(self.credential, self.settings, self.cloud)
        return self._graph


class _NoCredential:
    """Stands in for a credential where a client is built only to import its code."""

    def get_token(self, *scopes, **kwargs):
        raise RuntimeError("no credential: this client only imports the SDK's code")


def preload_sdk() -> bool:
    """Import what a task's clients use (the SDK's packages and the operation groups the resource
    layer calls), so that a process that forks Ansible's workers pays for the imports once. False
    when the SDK is not installed here."""
    try:
        from azure import identity  # noqa: F401 - the import is the point
        from azure.core.pipeline.transport import RequestsTransport  # noqa: F401
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.storage import StorageManagementClient
    except ImportError:
        return False
    subscription, options = "00000000-0000-0000-0000-000000000000", {"base_url": "https://management.invalid"}
    storage = StorageManagementClient(_NoCredential(), subscription, **options)
    authz = AuthorizationManagementClient(_NoCredential(), subscription, **options)
    for client, groups in ((storage, ("storage_accounts", "blob_services", "blob_containers")),
                           (authz, ("permissions", "role_assignments"))):
        for group in groups:
            getattr(client, group)
    authz.models()
    return True
