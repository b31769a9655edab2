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
  v7_cors_methods:
    description:
      - The methods V7's origins must be able to send, as M(v7labs.azure_storage.v7_blob_cors)'s O(v7labs.azure_storage.v7_blob_cors#module:methods)
        would allow them (V(GET) alone for a read-only integration). RV(blob_cors) and the preflights of
        O(cors_preflight) are about these methods.
    type: list
    elements: str
    default: [GET, PUT]
  v7_principal_id:
    description:
      - Object id of V7's service principal in the tenant (the RV(v7labs.azure_storage.v7_service_principal#module:object_id)
        of M(v7labs.azure_storage.v7_service_principal)). When given, the module also lists its role
        assignments on the account and its containers (one request) and says in RV(v7_roles) what
        M(v7labs.azure_storage.v7_storage_roles) would change with the same O(containers), O(v7_roles_on) and O(v7_write).
    type: str
  v7_principal_missing:
    description:
      - V(true) says that V7's service principal does not exist in the tenant yet (the setup creates
        it first). V7 then holds no role here, and RV(v7_roles) lists every assignment the setup
        would make, for C(V7's service principal, to be created). Not with O(v7_principal_id).
    type: bool
    default: false
  v7_roles_on:
    description:
      - Where V7's data roles belong, as M(v7labs.azure_storage.v7_storage_roles) gives them.
      - V(containers) on each of O(containers) (on the account when O(containers) is empty),
        V(account) on the account, whatever O(containers) lists (they are then only checked for existence).
      - Only used with O(v7_principal_id) or O(v7_principal_missing). The Storage Blob Delegator role always belongs on the account.
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
  cors_preflight:
    description:
      - Also send, when the CORS rules look right over ARM, the CORS preflight that a browser on each of
        O(v7_origins) sends to the Blob service before it loads (C(GET)) or uploads (C(PUT)) a blob, an
        unauthenticated C(OPTIONS) request to the account's Blob endpoint, one per origin and method.
      - A preflight the Blob service refuses makes the account not ready (RV(issues) code
        C(cors_preflight_refused)), whatever the rules look like over ARM.
      - A controller that cannot reach the Blob endpoint (no route, or the account's firewall keeps it
        out) says so in a warning and in RV(cors_preflight); that alone is not a problem.
    type: bool
    default: false
extends_documentation_fragment:
  - v7labs.azure_storage.azure_auth
  - v7labs.azure_storage.storage_account
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.azure
  - v7labs.azure_storage.attributes.info
requirements:
  - azure-mgmt-storage >= 21.0.0
  - azure-mgmt-authorization >= 4.0.0
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
    limit_problems:
      description:
        - The limits of Azure (5 rules per service, 2 KB of values...) the rules would break once
          v7_blob_cors changed them, one line each; empty when none (or nothing would change).
        - When not empty, RV(issues) holds a C(cors_limits) entry, since v7_blob_cors would fail.
      type: list
      elements: str
cors_preflight:
  description:
    - The CORS preflights sent with O(cors_preflight), and the Blob service's answers.
    - Null without O(cors_preflight), when no CORS rule is needed or possible, or when the account does not exist.
  returned: always
  type: dict
  contains:
    checked:
      description: Whether the Blob service judged the preflights (false when they were not sent or did not reach it).
      type: bool
      sample: true
    endpoint:
      description: The Blob endpoint the preflights went to.
      type: str
      sample: https://stdarwinimages.blob.core.windows.net/
    reason:
      description: Why nothing was checked; null when RV(cors_preflight.checked) is true.
      type: str
    refused:
      description: The requests a browser would be refused, as C(<method> from <origin>).
      type: list
      elements: str
      sample: [PUT from https://darwin.v7labs.com]
    answers:
      description:
        - One entry per preflight sent, with C(origin), C(method), C(request_headers), the HTTP C(status),
          Azure's C(error_code), C(allow_origin) (the C(Access-Control-Allow-Origin) header) and C(allowed).
      type: list
      elements: dict
issues:
  description:
    - What stands in V7's way or in the setup's, as RV(problems) says it, with a C(code) that tells
      the kind apart, so that a playbook or role can decide what stops an account.
    - C(code) is one of C(account_not_found), C(no_blob_cors), C(public_access_disabled),
      C(firewall_no_v7_ips), C(firewall_missing_v7_ips), C(container_missing) (with C(container)),
      C(operator_lacks_right) (with C(right), an RV(operator) key), C(cors_limits) and
      C(cors_preflight_refused).
  returned: always
  type: list
  elements: dict
  sample:
    - code: container_missing
      container: photos
      message: "container photos does not exist: create it (v7labs.azure_storage.v7_blob_container) or correct the name"
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

from ansible_collections.v7labs.azure_storage.plugins.module_utils import account_readiness as readiness
from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import account_problem, has_blob_service, limits_message, plan, validate_goal
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError, raise_problems
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import STORAGE_ACCOUNT_OPTIONS, AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    principal_id_problem, resource_group_problem, settings_problems)

ARGUMENT_SPEC = dict(
    **STORAGE_ACCOUNT_OPTIONS,
    containers=dict(type="list", elements="str", default=[]),
    v7_ips=dict(type="list", elements="str", default=[]),
    v7_origins=dict(type="list", elements="str", default=list(v7.ORIGINS)),
    v7_cors_methods=dict(type="list", elements="str", default=list(v7.CORS_METHODS)),
    v7_principal_id=dict(type="str"),
    v7_principal_missing=dict(type="bool", default=False),
    v7_roles_on=dict(type="str", choices=["containers", "account"], default="containers"),
    v7_write=dict(type="bool", default=False),
    operator_rights=dict(type="str", choices=["all", "needed"], default="all"),
    cors_preflight=dict(type="bool", default=False),
)


def check_inputs(module: AzureModule):
    """(V7's networks, V7's origins); fails naming every bad option, before any request."""
    params = module.params
    problems = settings_problems(module.auth) + [p for p in [resource_group_problem(params["resource_group"])] if p]
    if params["v7_principal_id"] is not None:
        problems += [p for p in [principal_id_problem(params["v7_principal_id"], "v7_principal_id")] if p]
        if params["v7_principal_missing"]:
            problems.append("v7_principal_missing: true says V7's service principal does not exist, but "
                            "v7_principal_id names it; give one of them")
    try:
        networks, origins = readiness.validate_inputs(params["storage_account"], params["containers"],
                                                      params["v7_ips"], params["v7_origins"])
    except InputError as err:
        networks, origins, problems = [], [], problems + err.problems
    raise_problems(problems)
    return networks, origins


def v7_roles(account, params: dict) -> dict | None:
    """V7's roles where v7_storage_roles manages them, and what it would change there (every role
    V7 needs, for a service principal still to be created)."""
    principal = params["v7_principal_id"]
    if principal is None and not params["v7_principal_missing"]:
        return None
    shown = principal or ra.PENDING_PRINCIPAL
    containers = params["containers"] if params["v7_roles_on"] == "containers" else []
    scopes = ra.scopes(account.subscription, account.group, account.name, containers)
    found = account.assignments(principal) if principal else []
    wanted = ra.desired(account.subscription, account.group, account.name, containers,
                        write=params["v7_write"], delegator=True)
    to_create, to_remove = ra.plan(found, wanted, managed_scopes=scopes, principal_id=shown)
    return {
        "assignments": [a.to_dict() for a in sorted(ra.managed(found, scopes, shown), key=ra.label)],
        "to_create": [a.to_dict() for a in ra.to_be_created(account.subscription, to_create, principal)],
        "to_remove": [a.to_dict() for a in to_remove],
    }


def blob_cors(account, goal) -> dict:
    """The Blob service's CORS rules, and what v7_blob_cors with these origins and methods and its
    other defaults would change: the same goal and the same plan."""
    wanted = plan(account.cors_rules(), goal)
    return {
        "rules": [r.to_result() for r in wanted.before],
        "up_to_date": not wanted.changed,
        "added": [r.to_result() for r in wanted.added],
        "removed": [r.to_result() for r in wanted.removed],
        "limit_problems": list(wanted.limit_problems),
    }


def cors_preflight(module: AzureModule, found: dict, cors: dict, goal) -> dict:
    """The CORS preflight of V7's browsers, sent to the Blob endpoint when the rules look right over
    ARM (when they do not, blob_cors already says what is missing)."""
    endpoint = readiness.blob_endpoint(found)
    if not cors["up_to_date"]:
        return cp.not_checked(endpoint, "the CORS rules do not let V7's origins in yet (see blob_cors)")
    containers = module.params["containers"]
    result = cp.send(module.auth, endpoint, cp.probe_path(containers[0] if containers else None),
                     cp.probes(goal.origins, goal.methods))
    if not result["checked"]:
        module.warn(module.say(cp.unreachable_message(module.params["storage_account"], result)) + ".")
    return result


def _changes_needed(result: dict | None) -> bool | None:
    return None if result is None else bool(result.get("to_create") or result.get("to_remove")
                                            or result.get("up_to_date") is False)


def account_info(module: AzureModule, account=None) -> dict:
    params = module.params
    networks, origins = check_inputs(module)
    account = account or module.storage_account()
    found = account.read()
    if found is None:
        return finish(module, dict(readiness.not_found(account.missing("account").message), v7_roles=None, blob_cors=None,
                                   cors_preflight=None))
    wanted = list(dict.fromkeys(params["containers"]))
    if not has_blob_service(found.get("kind")):
        containers = {c: False for c in wanted}  # no Blob service: Azure refuses to even look
    else:
        containers = {c: account.container(c) is not None for c in wanted}
    roles = v7_roles(account, params)
    sku = found.get("sku") or {}
    cors_possible = origins and account_problem(found.get("kind"), sku.get("name"), sku.get("tier")) is None
    goal = validate_goal(origins, params["v7_cors_methods"]) if cors_possible else None
    cors = blob_cors(account, goal) if goal else None
    needed = None
    if params["operator_rights"] == "needed":
        missing = [c for c, exists in containers.items() if not exists]
        needed = readiness.rights_needed(missing, _changes_needed(roles), _changes_needed(cors))
    permissions = account.permissions() if needed is None or needed else None
    result = readiness.evaluate(found, containers, permissions, networks, origins, needed=needed)
    if cors and cors["limit_problems"]:
        result["issues"].append(readiness.issue(readiness.CORS_LIMITS, limits_message(account.name, cors["limit_problems"])))
    preflight = cors_preflight(module, found, cors, goal) if cors and params["cors_preflight"] else None
    if preflight and preflight["refused"]:
        result["issues"].append(readiness.issue(readiness.CORS_PREFLIGHT_REFUSED, cp.refused_message(account.name, preflight)))
    return finish(module, dict(result, v7_roles=roles, blob_cors=cors, cors_preflight=preflight))


def finish(module: AzureModule, result: dict) -> dict:
    name = module.params["storage_account"]
    # Ansible reserves `warnings` in a module's result: they go through its own channel.
    for message in result.pop("warnings"):
        module.warn(f"Storage account {name}: {message}.")
    result["issues"] = [dict(issue, message=module.say(issue["message"])) for issue in result["issues"]]
    return dict(changed=False, **readiness.with_verdict(result))


def main() -> None:
    AzureModule(ARGUMENT_SPEC, writes=False).run(account_info)


if __name__ == "__main__":
    main()
