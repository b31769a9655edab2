# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AzureModule: AnsibleModule plus the auth options, lazily built clients and error conversion."""
from __future__ import annotations

import os
import traceback
from typing import Callable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC, AuthSettings, resolve_auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.clients import AzureClients
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import resolve_cloud
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, api_call, scrub

_REQUIREMENTS = "azure-identity, azure-mgmt-storage and azure-mgmt-authorization (see the collection's requirements.txt)"

# The options of doc fragment v7labs.azure_storage.storage_account, for every module that works
# on one storage account.
STORAGE_ACCOUNT_OPTIONS = {
    "resource_group": {"type": "str", "required": True},
    "storage_account": {"type": "str", "required": True},
}


class AzureModule:
    def __init__(self, argument_spec: dict, *, needs_subscription: bool = True, **kwargs) -> None:
        spec = dict(AUTH_ARGUMENT_SPEC)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self.ansible = AnsibleModule(argument_spec=spec, **kwargs)
        self.params: dict = self.ansible.params
        self.check_mode: bool = self.ansible.check_mode
        self.diff_mode: bool = bool(getattr(self.ansible, "_diff", False))
        self.needs_subscription = needs_subscription
        self._clients: AzureClients | None = None

        try:
            import azure.core  # noqa: F401 - only to fail early and clearly when it is missing
        except ImportError as exc:
            self.ansible.fail_json(msg=missing_required_lib(_REQUIREMENTS), exception=str(exc))

        try:
            self.auth: AuthSettings = resolve_auth(self.params, os.environ)
        except AzureApiError as err:
            self.fail(err)
        # Secrets that came from the environment are not module params, so Ansible would not
        # know to hide them.
        for value in self.auth.secrets:
            self.ansible.no_log_values.add(value)
        for message in self.auth.warnings:
            self.warn(message)
        if needs_subscription and not self.auth.subscription_id:
            self.ansible.fail_json(
                msg="This module needs a subscription: set the subscription_id option or AZURE_SUBSCRIPTION_ID.",
                error_code="SubscriptionMissing",
            )

    @property
    def clients(self) -> AzureClients:
        if self._clients is None:
            cloud = resolve_cloud(
                self.auth.cloud_environment, verify=self.auth.connection_verify, timeout=self.auth.api_timeout
            )
            tenant_scope = None if self.needs_subscription else cloud.graph_scope
            self._clients = AzureClients(self.auth, cloud, tenant_scope=tenant_scope)
        return self._clients

    def warn(self, msg: str) -> None:
        self.ansible.warn(msg)

    def fail(self, err: AzureApiError) -> None:
        secrets = self.auth.secrets if hasattr(self, "auth") else ()
        self.ansible.fail_json(msg=scrub(str(err), secrets), status=err.status, error_code=err.code)

    def run(self, fn: Callable[["AzureModule"], dict]) -> None:
        """exit_json(**fn(self)); an AzureApiError becomes fail_json with status and error_code."""
        try:
            with api_call("complete the Azure request"):
                result = fn(self)
        except AzureApiError as err:
            self.fail(err)
        except Exception as exc:  # noqa: BLE001 - a traceback could carry a token: scrub it too
            secrets = self.auth.secrets
            self.ansible.fail_json(
                msg=scrub(f"Unexpected error: {type(exc).__name__}: {exc}", secrets),
                exception=scrub(traceback.format_exc(), secrets),
            )
        self.ansible.exit_json(**result)
