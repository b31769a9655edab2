# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AzureModule: AnsibleModule plus the auth options, lazily built clients, and the one failure path
every module fails through (secrets scrubbed, ``error_code`` and ``status`` set, options named as
the caller knows them)."""
from __future__ import annotations

import contextvars
import os
import re
import traceback
from typing import Callable, Mapping, NoReturn

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC, AuthSettings, resolve_auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.clients import AzureClients
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import resolve_cloud
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import (
    AzureApiError, AzureConfigError, api_call, failure_result, scrub)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import StorageAccount

_REQUIREMENTS = "azure-identity, azure-mgmt-storage and azure-mgmt-authorization (see the collection's requirements.txt)"

# The options of doc fragment v7labs.azure_storage.storage_account, for every module that works
# on one storage account.
STORAGE_ACCOUNT_OPTIONS = {
    "resource_group": {"type": "str", "required": True},
    "storage_account": {"type": "str", "required": True},
}
# Doc fragment v7labs.azure_storage.azure_auth documents it with the sign-in options.
MESSAGE_OPTIONS = {"option_names": {"type": "dict", "default": {}}}

# Set while the module's action plugin runs it inside Ansible's worker process on the controller
# (plugins/plugin_utils/azure_action.py): a callable that takes AnsibleModule's arguments and
# returns what AzureModule uses of AnsibleModule. Unset when the module runs as its own process.
IN_WORKER: contextvars.ContextVar = contextvars.ContextVar("v7labs_azure_storage_in_worker", default=None)


def rename_options(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each option name (a key of ``names``) written as the caller knows it. Longer
    names first, whole words only, so that ``subscription_id (AZURE_SUBSCRIPTION_ID)`` can be
    renamed as a whole before ``subscription_id`` alone."""
    for name in sorted(names, key=len, reverse=True):
        pattern = r"(?<![\w.])" + re.escape(name) + (r"(?![\w])" if name[-1:].isalnum() or name.endswith("_") else "")
        text = re.sub(pattern, lambda _m, new=str(names[name]): new, text)
    return text


class AzureModule:
    def __init__(self, argument_spec: dict, *, needs_subscription: bool = True, writes: bool = True, **kwargs) -> None:
        spec = dict(AUTH_ARGUMENT_SPEC)
        spec.update(MESSAGE_OPTIONS)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self.ansible = (IN_WORKER.get() or AnsibleModule)(argument_spec=spec, **kwargs)
        self.params: dict = self.ansible.params
        self.check_mode: bool = self.ansible.check_mode
        self.diff_mode: bool = bool(getattr(self.ansible, "_diff", False))
        self.needs_subscription = needs_subscription
        self.writes = writes
        self.auth: AuthSettings | None = None
        self._clients: AzureClients | None = None

        try:
            import azure.core  # noqa: F401 - only to fail early and clearly when it is missing
        except ImportError as exc:
            self.fail(AzureConfigError(missing_required_lib(_REQUIREMENTS), code="MissingRequirement"),
                      exception=str(exc))
        try:
            self.auth = resolve_auth(self.params, os.environ)
        except AzureApiError as err:
            self.fail(err)
        # Secrets that came from the environment are not module params, so Ansible would not
        # know to hide them.
        for value in self.auth.secrets:
            self.ansible.no_log_values.add(value)
        for message in self.auth.warnings:
            self.warn(message)
        if needs_subscription and not self.auth.subscription_id:
            self.fail(AzureConfigError(
                "This module needs a subscription: set the subscription_id option or AZURE_SUBSCRIPTION_ID.",
                code="SubscriptionMissing"))

    @property
    def clients(self) -> AzureClients:
        if self._clients is None:
            cloud = resolve_cloud(
                self.auth.cloud_environment, verify=self.auth.connection_verify, timeout=self.auth.api_timeout
            )
            tenant_scope = None if self.needs_subscription else cloud.graph_scope
            self._clients = AzureClients(self.auth, cloud, tenant_scope=tenant_scope)
        return self._clients

    def storage_account(self) -> StorageAccount:
        """The resource layer for the module's storage_account in resource_group."""
        subscription = self.clients.subscription_id
        return StorageAccount(self.clients.storage(subscription), lambda: self.clients.authorization(subscription),
                              subscription, self.params["resource_group"], self.params["storage_account"])

    def say(self, text: str) -> str:
        """Text for the user: options named as the caller knows them, secrets scrubbed."""
        return self._say(text)

    def _say(self, text: str) -> str:
        secrets = self.auth.secrets if self.auth is not None else ()
        return scrub(rename_options(text, self.params.get("option_names") or {}), secrets)

    def warn(self, msg: str) -> None:
        self.ansible.warn(self._say(msg))

    def fail(self, err: AzureApiError, **extra) -> NoReturn:
        """The one way a module fails: errors.failure_result."""
        self.ansible.fail_json(**failure_result(err, say=self._say, writes=self.writes, **extra))

    def run(self, fn: Callable[["AzureModule"], dict]) -> None:
        """exit_json(**fn(self)); every error becomes a failure through fail()."""
        try:
            with api_call("complete the Azure request"):
                result = fn(self)
        except AzureApiError as err:
            self.fail(err)
        except Exception as exc:  # noqa: BLE001 - a traceback could carry a token: scrub it too
            self.fail(AzureApiError(f"Unexpected error: {type(exc).__name__}: {exc}", code="UnexpectedError"),
                      exception=traceback.format_exc())
        self.ansible.exit_json(**result)
