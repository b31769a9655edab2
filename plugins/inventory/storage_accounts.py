# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin v7labs.azure_storage.storage_accounts: the storage accounts V7 should use,
found in Azure by tag."""
from __future__ import annotations

DOCUMENTATION = r"""
name: storage_accounts
short_description: The storage accounts V7 Darwin should use, found in Azure by their tags
version_added: 1.1.0
description:
  - Lists the storage accounts of Azure subscriptions through Azure Resource Manager (one paged
    C(GET .../providers/Microsoft.Storage/storageAccounts) per subscription) and makes each account
    tagged for V7 an inventory host for the P(v7labs.azure_storage.storage_integration#role) role.
  - "Each host is named after its storage account, is in group C(v7_storage_accounts), in its
    tenant's group C(v7_tenant_<tenant id>) and its subscription's group
    C(v7_subscription_<subscription id>) (dashes written as underscores), and has
    C(ansible_connection=local), C(v7_storage_account), C(v7_tenant_id), C(v7_subscription_id) and
    C(v7_resource_group) from Azure."
  - "From the account's tags (names are case-insensitive, as in Azure): C(v7_team) from C(v7-team);
    C(v7_containers) from C(v7-containers), names separated by commas (empty: the whole account);
    C(v7_prefix) from C(v7-prefix), C(container-name/folder-name); C(v7_write) from C(v7-write),
    C(true) or C(false). A tag that is absent sets nothing, so group variables can give the value."
  - A tag whose value the role would refuse does not stop the inventory. C(v7_tag_problems) says
    why (a C(v7-write) that is not true or false sets no C(v7_write)); the role's first step then
    fails that account, naming the tag, before any request to Azure. The plugin warns about it too.
  - Signs in with the same options and environment variables as the collection's modules, so the
    C(Microsoft Azure Resource Manager) credential of AWX / Automation Controller works for an
    inventory source. O(tenants) signs in to several tenants, each with its own identity.
  - No secret is kept in the inventory, in its cache or in C(ansible-inventory --list) output.
  - The inventory file's name must end with C(storage_accounts.yml) or C(storage_accounts.yaml).
author:
  - V7 platform integrations team (@v7labs)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - v7labs.azure_storage.azure_auth
options:
  subscription_id:
    description:
      - Not used by this plugin, which looks in O(subscriptions); accepted so that the modules'
        sign-in options can be given as they are. E(AZURE_SUBSCRIPTION_ID) does not limit the search.
    type: str
  option_names:
    description:
      - Not used by this plugin; accepted so that the modules' sign-in options can be given as they are.
    type: dict
    default: {}
  plugin:
    description: This plugin's name, so that Ansible's C(auto) plugin hands the file to it.
    type: str
    required: true
    choices: [v7labs.azure_storage.storage_accounts]
  subscriptions:
    description:
      - IDs of the subscriptions to look in.
      - Empty (the default) means every subscription the identity can see (C(GET /subscriptions)); one
        it cannot list the storage accounts of is then left out with a warning. A subscription named
        here that the identity cannot read is an error.
      - E(AZURE_SUBSCRIPTION_ID) and O(subscription_id) do not limit the search.
      - With O(tenants), give each tenant's subscriptions there instead.
    type: list
    elements: str
    default: []
  tenants:
    description:
      - Sign in to several tenants, one entry per tenant, each a dict of the sign-in options above
        (O(tenant) is required; O(client_id), O(secret), O(client_certificate_path), ...) and
        C(subscriptions), a list of subscription IDs of that tenant (default every one it can see).
      - An option an entry leaves out is taken from the options above, then from the environment.
      - Keep the secrets in ansible-vault (C(!vault) values) or let AWX inject them.
      - Empty (the default) means one sign-in with the options above.
    type: list
    elements: dict
    default: []
  tags:
    description:
      - The tags a storage account must carry to be in the inventory, as tag name -> value. A null
        value takes any value of the tag; a list takes any of its values. Names are case-insensitive,
        values are not.
      - An empty dict takes every storage account.
    type: dict
    default: {v7-team: null}
  include_resource_groups:
    description:
      - Keep only the storage accounts in these resource groups; names or shell-style patterns such
        as C(rg-data-*), case-insensitive. Empty keeps every resource group.
    type: list
    elements: str
    default: []
  exclude_resource_groups:
    description: Leave out the storage accounts in these resource groups (names or patterns).
    type: list
    elements: str
    default: []
  include_names:
    description: Keep only the storage accounts whose names match one of these (names or patterns).
    type: list
    elements: str
    default: []
  exclude_names:
    description: Leave out the storage accounts whose names match one of these (names or patterns).
    type: list
    elements: str
    default: []
  kinds:
    description:
      - Keep only storage accounts of these kinds (C(StorageV2), C(BlockBlobStorage), C(BlobStorage),
        C(Storage), C(FileStorage)). Empty keeps every kind; the role then fails an account V7
        cannot use (a C(FileStorage) account has no Blob service), saying why.
    type: list
    elements: str
    default: []
notes:
  - "O(compose), O(groups) and O(keyed_groups) see the host's variables and also C(azure_tags) (the
    account's tags), C(azure_location), C(azure_kind) and C(azure_id), which are not set as host
    variables."
  - "With O(cache), a cached inventory is built without any request to Azure; the cache holds the
    accounts' names, ids, kinds, locations and tags, never a credential or a token. The filters
    apply again to the cached accounts; change O(subscriptions) or O(tenants) with
    C(--flush-cache)."
  - The identity needs C(Microsoft.Storage/storageAccounts/read) on each subscription (Reader is
    enough).
"""

EXAMPLES = r"""
# The smallest file, v7.storage_accounts.yml, is one line: "plugin: v7labs.azure_storage.storage_accounts".
# It finds every storage account tagged v7-team in the subscriptions that the AZURE_* environment
# (or AWX's Azure credential) can see.

# Two tenants, each with its own identity; two teams' accounts, not in test resource groups
plugin: v7labs.azure_storage.storage_accounts
tenants:
  - tenant: 11111111-1111-4111-8111-111111111111
    client_id: aaaaaaaa-0000-4000-8000-000000000001
    secret: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      ...
  - tenant: 44444444-4444-4444-8444-444444444444
    client_id: bbbbbbbb-0000-4000-8000-000000000001
    secret: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      ...
    subscriptions: [55555555-5555-4555-8555-555555555555]
tags:
  v7-team: [contoso-vision, fabrikam-research]
exclude_resource_groups: [rg-test-*]
kinds: [StorageV2, BlockBlobStorage]
# name the tenants' groups, for group_vars/contoso.yml (v7_azure_auth, ...)
groups:
  contoso: v7_tenant_id == '11111111-1111-4111-8111-111111111111'
keyed_groups:
  - key: azure_location
    prefix: location
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/v7-inventory
cache_timeout: 3600
"""

import os
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC, AuthSettings, resolve_auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, api_call, scrub
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import is_guid
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_accounts as sa

display = Display()

SUBSCRIPTIONS_API = "2022-12-01"
STORAGE_API = "2025-06-01"
# the modules' sign-in options, without the subscription: this plugin looks in `subscriptions`
_SIGN_IN_OPTIONS = tuple(k for k in AUTH_ARGUMENT_SPEC if k != "subscription_id")
# the modules' options this plugin accepts and does not use
_IGNORED = ("subscription_id", "option_names")
_FILTERS = ("tags", "include_resource_groups", "exclude_resource_groups", "include_names", "exclude_names", "kinds")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "v7labs.azure_storage.storage_accounts"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("storage_accounts.yml", "storage_accounts.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._check_config(config)

        cache_key = self.get_cache_key(path)
        use_cache = bool(self.get_option("cache")) and cache
        update_cache = bool(self.get_option("cache")) and not cache
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]["accounts"]
            except KeyError:
                update_cache = True
        if records is None:
            records = self._find_accounts()
        if update_cache:
            self._cache[cache_key] = {"accounts": records}
        self._populate(records)

    # ------------------------------------------------------------ configuration
    def _fail(self, problems: list[str]) -> None:
        if problems:
            raise AnsibleParserError(f"Invalid configuration of {self.NAME}: {'; '.join(problems)}.")

    def _check_config(self, config: dict) -> None:
        problems = sa.unknown_option_problems(config, self._options, ignored=_IGNORED)
        options = {name: self.get_option(name) for name in _FILTERS}
        problems += sa.filter_problems(options)
        problems += sa.tenant_problems(self.get_option("tenants"))
        subscriptions = [self.get_option("subscriptions")] + [
            e.get("subscriptions") or [] for e in self.get_option("tenants") or [] if isinstance(e, dict)]
        names = ["subscriptions"] + [f"tenants[{i}].subscriptions" for i in range(len(subscriptions) - 1)]
        for where, given in zip(names, subscriptions):
            problems += [f"{where}: {s!r} is not a subscription ID (a GUID; az account list --query '[].id')"
                         for s in given or [] if not is_guid(str(s))]
        if self.get_option("tenants") and self.get_option("subscriptions"):
            problems.append("subscriptions: with tenants, give each tenant's subscriptions in tenants[].subscriptions")
        self._fail(problems)

    def _sign_ins(self) -> list[tuple[str, AuthSettings, list[str]]]:
        """(where the options came from, the settings, the subscriptions asked for) per tenant."""
        base = {name: self.get_option(name) for name in _SIGN_IN_OPTIONS}
        entries = self.get_option("tenants") or [{"subscriptions": self.get_option("subscriptions")}]
        found = []
        for index, entry in enumerate(entries):
            where = f"tenants[{index}]: " if self.get_option("tenants") else ""
            params = dict(base)
            params.update({k: v for k, v in entry.items() if k != "subscriptions" and v is not None})
            try:
                settings = resolve_auth(params, os.environ)
            except AzureApiError as err:
                raise AnsibleParserError(f"{self.NAME}: {where}{err}") from None
            for warning in settings.warnings:
                display.warning(f"{self.NAME}: {where}{warning}")
            found.append((where, settings, [str(s).lower() for s in entry.get("subscriptions") or []]))
        return found

    # ------------------------------------------------------------ Azure
    def _find_accounts(self) -> list[dict]:
        from ansible_collections.v7labs.azure_storage.plugins.module_utils.clients import AzureClients
        from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import resolve_cloud

        records: dict[str, dict] = {}
        clouds: dict[tuple, Any] = {}
        for where, settings, wanted in self._sign_ins():
            try:
                key = (settings.cloud_environment, settings.connection_verify, settings.api_timeout)
                if key not in clouds:
                    clouds[key] = resolve_cloud(settings.cloud_environment, verify=settings.connection_verify,
                                                timeout=settings.api_timeout)
                clients = AzureClients(settings, clouds[key])
                for record in self._tenant_accounts(clients, settings, wanted, where):
                    records.setdefault(record["id"].lower(), record)
            except AzureApiError as err:
                raise AnsibleParserError(scrub(f"{self.NAME}: {where}{err}", settings.secrets)) from None
        return sorted(records.values(), key=lambda r: (r["name"], r["id"].lower()))

    def _tenant_accounts(self, clients, settings: AuthSettings, wanted: list[str], where: str) -> list[dict]:
        with api_call("list the subscriptions the identity can see (GET /subscriptions)"):
            visible = clients.arm.list("subscriptions", SUBSCRIPTIONS_API)
        tenant = (settings.tenant or "").lower()
        if is_guid(tenant):
            visible = [s for s in visible if str(s.get("tenantId", "")).lower() == tenant]
        by_id = {str(s["subscriptionId"]).lower(): s for s in visible}
        option = f"{where.rstrip(': ')}.subscriptions" if where else "subscriptions"
        unknown = [s for s in wanted if s not in by_id]
        if unknown:
            seen = ", ".join(sorted(by_id)) or "none"
            raise AzureApiError(
                f"{option}: the identity cannot read subscription {', '.join(unknown)}"
                f"{' in tenant ' + tenant if tenant else ''} (it can read: {seen}): check the ID in {option}, or "
                "give the identity Reader on the subscription")
        records = []
        for sid in wanted or sorted(by_id):
            path = f"subscriptions/{sid}/providers/Microsoft.Storage/storageAccounts"
            try:
                with api_call(f"list the storage accounts of subscription {sid}"):
                    items = clients.arm.list(path, STORAGE_API)
            except AzureApiError as err:
                if wanted:
                    raise AzureApiError(f"{option}: {err}") from None
                display.warning(f"{self.NAME}: {where}subscription {sid} is left out: {err}")
                continue
            tenant_id = str(by_id[sid].get("tenantId") or clients.tenant_id)
            records += [sa.account_record(item, tenant_id) for item in items]
        return records

    # ------------------------------------------------------------ inventory
    def _populate(self, records: list[dict]) -> None:
        options = {name: self.get_option(name) for name in _FILTERS}
        strict = self.get_option("strict")
        for record in records:
            if not sa.selected(record, options):
                continue
            host = record["name"]
            if host in self.inventory.hosts:
                display.warning(f"{self.NAME}: storage account {record['id']} has the name of another host; left out")
                continue
            parent = None
            for group in sa.host_groups(record):
                self.inventory.add_group(group)
                if parent:
                    self.inventory.add_child(parent, group)
                parent = group
            self.inventory.add_host(host, group=parent)
            variables = sa.host_variables(record)
            for name, value in variables.items():
                self.inventory.set_variable(host, name, value)
            for problem in (variables.get("v7_tag_problems") or {}).values():
                display.warning(f"{self.NAME}: storage account {host}: {problem}; the role fails this account until then.")
            seen = dict(variables, azure_tags=dict(record["tags"]), azure_location=record.get("location"),
                        azure_kind=record.get("kind"), azure_id=record["id"])
            self._set_composite_vars(self.get_option("compose"), seen, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), seen, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), seen, host, strict=strict)
