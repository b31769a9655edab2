#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_storage_account_info
short_description: Tell whether a storage account is ready for V7 Darwin, and what to fix if not
description:
  - Reads one storage account and says whether V7 Darwin can use it and whether the identity
    running the module can set it up. Changes nothing.
  - V7 needs a public endpoint (C(publicNetworkAccess) not C(Disabled)); with the account's firewall
    on (C(networkAcls.defaultAction) C(Deny)), V7's server IPs in its IP rules; a Blob service that
    accepts CORS rules for V7's origins (not C(FileStorage), not a premium general-purpose account);
    and the containers it is given.
  - The operator (the identity running the module) needs, at the storage account, the ARM actions
    C(Microsoft.Storage/storageAccounts/read), C(.../blobServices/write) (CORS),
    C(.../blobServices/containers/write) (containers) and
    C(Microsoft.Authorization/roleAssignments/write) (V7's roles). They are read from Azure's
    Permissions API, which lists the caller's own actions and notActions for each role assignment
    that applies at the account, and evaluated with ARM's rules (case-insensitive, C(*) as a
    wildcard, a notAction removes an action only within its own role).
  - RV(problems) says, one line each, what is wrong and what to do; RV(ready) is true when there
    is none. Conditions that do not block V7 (a network security perimeter whose rules this module
    cannot see, an IP rule it cannot read, container creation rights that are not needed because
    every container exists) come back as Ansible warnings, in the registered result's C(warnings).
  - A storage account that does not exist is not an error; RV(exists) is then false. A resource
    group or subscription that does not exist, or a request Azure refuses (403), fails the task.
  - Names (storage account, resource group, containers), O(v7_ips), O(v7_origins),
    O(subscription_id), O(tenant) and O(client_id) are checked before any request; every bad
    option is named at once.
version_added: 0.1.0
options:
  containers:
    description:
      - Containers V7 will use. Each is checked for existence.
    type: list
    elements: str
    default: []
  v7_ips:
    description:
      - V7's server IPs, as IPv4 addresses or CIDR ranges (for example V(203.0.113.7) or
        V(198.51.100.0/28)). V7 support gives the list; it is not published.
      - An address counts as allowed when an IP rule of the account (an address or a range)
        contains it; a range counts when the IP rules cover all of it.
      - Private (RFC 1918) addresses and ranges with host bits set are refused.
      - When empty and the firewall is on, RV(problems) asks for them.
    type: list
    elements: str
    default: []
  v7_origins:
    description:
      - Origins of V7's web app. The module says whether the Blob service can carry CORS rules for
        them and, when it can, reads its rules (one request) and says in RV(blob_cors) whether they let these
        origins send GET and PUT requests, as M(v7labs.azure_storage.v7_blob_cors) with its defaults would
        make them. An empty list means CORS is not needed here.
    type: list
    elements: str
    default: [https://darwin.v7labs.com]
  v7_principal_id:
    description:
      - Object id of V7's service principal in the tenant (the RV(v7labs.azure_storage.v7_service_principal#module:object_id)
        of M(v7labs.azure_storage.v7_service_principal)). When given, the module also lists its role
        assignments on the account and its containers (one request) and says in RV(v7_roles) what
        M(v7labs.azure_storage.v7_storage_roles) would change with the same O(containers), O(v7_roles_on) and O(v7_write).
    type: str
  v7_roles_on:
    description:
      - Where V7's data roles belong, as M(v7labs.azure_storage.v7_storage_roles) gives them.
      - V(containers) on each of O(containers) (on the account when O(containers) is empty),
        V(account) on the account, whatever O(containers) lists (they are then only checked for existence).
      - Only used with O(v7_principal_id). The Storage Blob Delegator role always belongs on the account.
    type: str
    choices: [containers, account]
    default: containers
  v7_write:
    description:
      - Whether V7 should also hold Storage Blob Data Contributor (write access). Only used with O(v7_principal_id).
    type: bool
    default: false
  operator_rights:
    description:
      - V(all) reads what the operator may do at the account and reports every right it lacks in
        RV(problems) (a lacking right to create containers only as a warning when every container exists).
      - V(needed) reads them only when the account needs a change the setup makes (a missing container,
        CORS rules that do not let V7's origins GET and PUT, V7's roles to change or, without
        O(v7_principal_id), not known), and reports only the rights those changes need. An account
        that needs nothing costs no request for them, and RV(operator) is then all null.
    type: str
    choices: [all, needed]
    default: all
extends_documentation_fragment:
  - v7labs.azure_storage.azure_auth
  - v7labs.azure_storage.storage_account
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reads only, in check mode as in a normal run.
  diff_mode:
    support: none
  platform:
    platforms: azure
  action_group:
    support: full
    membership: [v7labs.azure_storage.azure]
notes:
  - The Permissions API does not show deny assignments or role assignment conditions, so an
    operator flag can be true while Azure still refuses the action.
  - Needs C(Microsoft.Storage/storageAccounts/read) and C(.../blobServices/containers/read) on the
    account, for example through Reader.
seealso:
  - module: v7labs.azure_storage.v7_blob_container
  - module: v7labs.azure_storage.v7_blob_cors
  - name: Azure Storage firewall rules
    description: IP network rules, their limits, and network security perimeters.
    link: https://learn.microsoft.com/azure/storage/common/storage-network-security
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Check the account before setting it up for V7
  v7labs.azure_storage.v7_storage_account_info:
    resource_group: rg-data
    storage_account: stdarwinimages
    containers: [images]
    v7_ips: [203.0.113.7, 198.51.100.0/28]
  register: account

- name: Stop with what to fix
  ansible.builtin.assert:
    that: account.ready
    fail_msg: "{{ account.problems | join('; ') }}"
"""

RETURN = r"""
exists:
  description:
    - Whether the storage account exists.
    - When false, RV(ready) is false, RV(problems) says that the account was not found, and the other
      values are null or empty.
  returned: always
  type: bool
  sample: true
account:
  description: The storage account's settings that matter to V7; null when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the account.
      type: str
      sample: stdarwinimages
    id:
      description: ARM resource id of the account.
      type: str
      sample: /subscriptions/0000/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdarwinimages
    kind:
      description: Account kind.
      type: str
      sample: StorageV2
    sku:
      description: SKU name.
      type: str
      sample: Standard_LRS
    location:
      description: Azure region.
      type: str
      sample: westeurope
    public_network_access:
      description: C(Enabled), C(Disabled), C(SecuredByPerimeter), or null when not set (which Azure treats as enabled).
      type: str
      sample: Enabled
    network_default_action:
      description: The firewall's default action, C(Allow) or C(Deny).
      type: str
      sample: Allow
    ip_rules:
      description: The values of the firewall's IP rules.
      type: list
      elements: str
      sample: [203.0.113.7, 198.51.100.0/24]
    bypass:
      description: Traffic that bypasses the firewall.
      type: str
      sample: AzureServices
    allow_shared_key_access:
      description: Whether account keys and SAS signed with them are accepted (null means Azure's default, true).
      type: bool
      sample: false
    blob_endpoint:
      description: The Blob service's endpoint; null for an account without a Blob service.
      type: str
      sample: https://stdarwinimages.blob.core.windows.net/
blob_cors_supported:
  description: Whether the Blob service can carry CORS rules (null when the account does not exist).
  returned: always
  type: bool
  sample: true
blob_cors_reason:
  description: Why it cannot, and what kind of account V7 needs; null when it can.
  returned: always
  type: str
  sample: >-
    kind FileStorage (sku Premium_LRS) has no Blob service. V7 needs an account with a Blob service that
    supports CORS: general-purpose v2 (StorageV2) with a Standard SKU, BlockBlobStorage or BlobStorage
public_endpoint:
  description: Whether the account has a public endpoint (public network access not C(Disabled)).
  returned: always
  type: bool
  sample: true
firewall:
  description: The account's firewall as V7 meets it.
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether the firewall denies by default (C(networkAcls.defaultAction) C(Deny)).
      type: bool
      sample: true
    v7_ips_allowed:
      description:
        - Whether the firewall lets every address in O(v7_ips) through (always true when it is off);
          null when O(v7_ips) is empty.
        - This is about the firewall only; RV(public_endpoint) says whether there is a public endpoint at all.
      type: bool
      sample: false
    missing_v7_ips:
      description: The V7 addresses and ranges the firewall does not allow.
      type: list
      elements: str
      sample: [203.0.113.7]
containers:
  description:
    - Each container in O(containers) and whether it exists.
    - A C(FileStorage) account has no Blob service, so none of them exists there.
  returned: always
  type: dict
  sample: {images: true, photos: false}
missing_containers:
  description: The containers in O(containers) that do not exist.
  returned: always
  type: list
  elements: str
  sample: [photos]
operator:
  description:
    - What the identity running the module may do at the storage account.
    - Null values when the account does not exist, or when O(operator_rights=needed) and nothing needs changing.
  returned: always
  type: dict
  contains:
    can_assign_roles:
      description: C(Microsoft.Authorization/roleAssignments/write), to give V7 its roles.
      type: bool
      sample: true
    can_write_cors:
      description: C(Microsoft.Storage/storageAccounts/blobServices/write), to set the CORS rules.
      type: bool
      sample: true
    can_create_containers:
      description: C(Microsoft.Storage/storageAccounts/blobServices/containers/write), to create containers.
      type: bool
      sample: true
    can_read:
      description: C(Microsoft.Storage/storageAccounts/read).
      type: bool
      sample: true
v7_roles:
  description:
    - V7's storage roles on the account and its containers, and what
      M(v7labs.azure_storage.v7_storage_roles) would change (same shapes as its RV(v7labs.azure_storage.v7_storage_roles#module:assignments),
      RV(v7labs.azure_storage.v7_storage_roles#module:created) and RV(v7labs.azure_storage.v7_storage_roles#module:removed)).
    - Null without O(v7_principal_id), or when the account does not exist.
  returned: always
  type: dict
  contains:
    assignments:
      description: V7's assignments of its three roles at the account and at the containers its data roles belong on.
      type: list
      elements: dict
    to_create:
      description: The assignments V7 lacks, as they would be created.
      type: list
      elements: dict
    to_remove:
      description: The assignments V7 holds there but should not (Storage Blob Data Contributor without O(v7_write), for example).
      type: list
      elements: dict
blob_cors:
  description:
    - The Blob service's CORS rules, and what M(v7labs.azure_storage.v7_blob_cors) with O(v7_origins) and its
      defaults (GET and PUT, every header) would change in them.
    - Null when O(v7_origins) is empty, the Blob service cannot carry CORS rules, or the account does not exist.
  returned: always
  type: dict
  contains:
    rules:
      description: The rules as they are, in the shape of v7_blob_cors's RV(v7labs.azure_storage.v7_blob_cors#module:cors_rules).
      type: list
      elements: dict
    up_to_date:
      description: Whether the rules already let V7's origins in as v7_blob_cors would set them.
      type: bool
      sample: true
    added:
      description: The rules v7_blob_cors would add or rewrite.
      type: list
      elements: dict
    removed:
      description: The rules it would replace.
      type: list
      elements: dict
ready:
  description: True when RV(problems) is empty.
  returned: always
  type: bool
  sample: false
problems:
  description: What stands in V7's way or in the setup's, each with what to do about it.
  returned: always
  type: list
  elements: str
  sample:
    - "the firewall denies by default and V7's IPs 203.0.113.7 are not allowed: add them to the account's
       firewall (networkAcls.ipRules)"
    - "container photos does not exist: create it (v7labs.azure_storage.v7_blob_container) or correct the name"
"""

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils.account_readiness import (
    ReadinessInputError, evaluate, not_found, rights_needed, validate_inputs)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import (
    CorsRule, account_problem, changes, plan_present, validate_goal)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, api_call
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import STORAGE_ACCOUNT_OPTIONS, AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    input_failure, principal_id_problem, resource_group_problem, settings_problems)

ARGUMENT_SPEC = dict(
    **STORAGE_ACCOUNT_OPTIONS,
    containers=dict(type="list", elements="str", default=[]),
    v7_ips=dict(type="list", elements="str", default=[]),
    v7_origins=dict(type="list", elements="str", default=["https://darwin.v7labs.com"]),
    v7_principal_id=dict(type="str"),
    v7_roles_on=dict(type="str", choices=["containers", "account"], default="containers"),
    v7_write=dict(type="bool", default=False),
    operator_rights=dict(type="str", choices=["all", "needed"], default="all"),
)

# 404 codes that mean "this resource group or subscription does not exist", not "no such account"
_SCOPE_NOT_FOUND = {"ResourceGroupNotFound", "SubscriptionNotFound"}


def read_account(client, group: str, name: str) -> dict | None:
    """The account's ARM body, or None when it does not exist in an existing resource group."""
    try:
        with api_call(f"read storage account {name} in resource group {group}"):
            return client.storage_accounts.get_properties(group, name).as_dict()
    except AzureApiError as err:
        if err.status == 404 and err.code not in _SCOPE_NOT_FOUND:
            return None
        raise


def container_exists(client, group: str, account: str, name: str) -> bool:
    try:
        with api_call(f"read container {name} of storage account {account}"):
            client.blob_containers.get(group, account, name)
    except AzureApiError as err:
        if err.status == 404 and err.code == "ContainerNotFound":
            return False
        raise
    return True


def read_permissions(client, group: str, account: str) -> list[dict]:
    """The caller's actions and notActions at the account, one entry per applicable role assignment."""
    with api_call(f"read the operator's permissions on storage account {account}"):
        entries = list(client.permissions.list_for_resource(group, "Microsoft.Storage", "", "storageAccounts", account))
    return [{"actions": list(e.actions or []), "notActions": list(e.not_actions or [])} for e in entries]


def v7_roles(client, subscription: str, group: str, account: str, params: dict) -> dict:
    """V7's roles where v7_storage_roles manages them, and what it would change there."""
    principal = params["v7_principal_id"]
    containers = params["containers"] if params["v7_roles_on"] == "containers" else []
    scopes = ra.scopes(subscription, group, account, containers)
    with api_call(f"list the role assignments of V7's service principal on storage account {account}"):
        found = [ra.from_api(item) for item in
                 client.role_assignments.list_for_scope(scopes[0], filter=f"principalId eq '{principal}'")]
    wanted = ra.desired(subscription, group, account, containers, write=params["v7_write"], delegator=True)
    to_create, to_remove = ra.plan(found, wanted, managed_scopes=scopes, principal_id=principal)
    return {
        "assignments": [a.to_dict() for a in sorted(ra.managed(found, scopes, principal), key=ra.describe)],
        "to_create": [ra.predicted(subscription, scope, guid, principal).to_dict() for scope, guid in to_create],
        "to_remove": [a.to_dict() for a in to_remove],
    }


def blob_cors(client, group: str, account: str, origins: list[str]) -> dict:
    """The Blob service's CORS rules, and what v7_blob_cors with its defaults would change."""
    with api_call(f"read the Blob service CORS rules of storage account {account}"):
        service = client.blob_services.get_service_properties(group, account)
    before = [CorsRule.from_arm(rule.as_dict()) for rule in (service.cors and service.cors.cors_rules) or []]
    after = plan_present(before, validate_goal(origins, ["GET", "PUT"], ["*"], [], None))
    added, removed = changes(before, after)
    return {
        "rules": [r.to_result() for r in before],
        "up_to_date": after == before,
        "added": [r.to_result() for r in added],
        "removed": [r.to_result() for r in removed],
    }


def _changes_needed(result: dict | None) -> bool | None:
    return None if result is None else bool(result.get("to_create") or result.get("to_remove")
                                            or result.get("up_to_date") is False)


def account_info(module: AzureModule) -> dict:
    params = module.params
    group, name = params["resource_group"], params["storage_account"]
    problems = settings_problems(module.auth) + [p for p in [resource_group_problem(group)] if p]
    if params["v7_principal_id"] is not None:
        problems += [p for p in [principal_id_problem(params["v7_principal_id"], "v7_principal_id")] if p]
    try:
        networks, origins = validate_inputs(name, params["containers"], params["v7_ips"], params["v7_origins"])
    except ReadinessInputError as err:
        networks, origins, problems = [], [], problems + str(err).split("; ")
    if problems:
        module.ansible.fail_json(msg=input_failure(problems), error_code="InvalidInput")

    subscription = module.clients.subscription_id
    client = module.clients.storage(subscription)
    account = read_account(client, group, name)
    if account is None:
        return finish(module, dict(not_found(name, group), v7_roles=None, blob_cors=None))
    wanted = list(dict.fromkeys(params["containers"]))
    if account.get("kind") == "FileStorage":
        containers = {c: False for c in wanted}  # no Blob service: Azure refuses to even look
    else:
        containers = {c: container_exists(client, group, name, c) for c in wanted}
    authorization = module.clients.authorization(subscription)
    roles = v7_roles(authorization, subscription, group, name, params) if params["v7_principal_id"] else None
    sku = account.get("sku") or {}
    cors_possible = origins and account_problem(account.get("kind"), sku.get("name"), sku.get("tier")) is None
    cors = blob_cors(client, group, name, origins) if cors_possible else None
    needed = None
    if params["operator_rights"] == "needed":
        missing = [c for c, found in containers.items() if not found]
        needed = rights_needed(missing, _changes_needed(roles), _changes_needed(cors))
    permissions = read_permissions(authorization, group, name) if needed is None or needed else None
    result = evaluate(account, containers, permissions, networks, origins, needed=needed)
    return finish(module, dict(result, v7_roles=roles, blob_cors=cors))


def finish(module: AzureModule, result: dict) -> dict:
    name = module.params["storage_account"]
    # Ansible reserves `warnings` in a module's result: they go through its own channel.
    for message in result.pop("warnings"):
        module.warn(f"Storage account {name}: {message}.")
    return dict(changed=False, **result)


def main() -> None:
    AzureModule(ARGUMENT_SPEC).run(account_info)


if __name__ == "__main__":
    main()
