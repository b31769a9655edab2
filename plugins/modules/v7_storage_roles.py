#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_storage_roles
short_description: Give V7's service principal exactly the storage roles it needs on one storage account
version_added: 0.1.0
description:
  - Ensures V7's service principal holds the Azure roles V7 Darwin needs on one storage account.
  - B(Storage Blob Data Reader) on each container in O(containers), or on the storage account when
    O(containers) is empty.
  - B(Storage Blob Data Contributor) on the same scopes when O(write=true).
  - B(Storage Blob Delegator) on the storage account when O(delegator=true). V7 signs its URLs with a
    user delegation key, and getting one is an account-level action, so container-scoped roles alone
    are not enough.
  - Assignments are recognised by scope, role and principal, whatever their name, so assignments
    made by hand with C(az role assignment create) count as present and are not duplicated. New
    assignments get a name derived from scope, role and principal, so re-runs never create twins.
  - Only the three roles above, for this principal, at the storage account and the listed containers,
    are ever removed. Other roles the principal holds, and roles inherited from the resource group
    or subscription, are left alone. So are V7's roles on containers that are not listed, with a
    warning that names them.
  - With O(state=present), before it creates an assignment, the storage account and every listed
    container must exist, and the account must have a Blob service (not C(FileStorage)); all missing
    ones are named in one failure, before anything is written. When V7 already holds every role it
    needs, they are not read again; the role assignments are the only request.
  - Right after the service principal is created, Azure Resource Manager may not see it yet
    (C(PrincipalNotFound)); role assignment writes are retried for up to O(replication_timeout) seconds.
  - O(principal_id), the storage account, resource group and container names, O(subscription_id),
    O(tenant) and O(client_id) are checked against Azure's rules before any request; every bad
    option is named at once.
  - The identity running the module needs C(Microsoft.Authorization/roleAssignments/write) and
    C(/delete) on the storage account, for example through Owner, User Access Administrator or Role
    Based Access Control Administrator there or above.
options:
  principal_id:
    description:
      - Object id of V7's service principal in this tenant (a GUID), as returned by
        M(v7labs.azure_storage.v7_service_principal). Not V7's application (client) id.
      - Required, except in check mode, where leaving it out means that V7's service principal does
        not exist yet (an earlier task creates it); every assignment V7 needs is then shown as to be
        created, for C(V7's service principal, to be created).
    type: str
  containers:
    description:
      - Containers V7 may use. The data roles are assigned on each of them.
      - When empty, the data roles are assigned on the whole storage account.
    type: list
    elements: str
    default: []
  created_containers:
    description:
      - Containers of O(containers) that an earlier task of the same run creates (for example
        M(v7labs.azure_storage.v7_blob_container)). In check mode, where that task created nothing,
        they count as existing, so that the assignments on them can be previewed. Outside check
        mode every container must exist.
    type: list
    elements: str
    default: []
  write:
    description:
      - Also assign Storage Blob Data Contributor, which V7 needs to write generated files
        (thumbnails, video frames) under its prefix.
    type: bool
    default: false
  delegator:
    description: Assign Storage Blob Delegator on the storage account, which V7 needs to sign URLs.
    type: bool
    default: true
  exclusive:
    description:
      - With O(state=present), remove V7's three roles from this principal at the storage account
        and the listed containers where they are no longer wanted. For example, turning O(write) off
        removes Storage Blob Data Contributor, and listing containers removes the account-wide data roles.
      - When false, nothing is removed.
    type: bool
    default: true
  state:
    description:
      - V(present) ensures the roles above.
      - V(absent) removes V7's three roles from this principal at the storage account and the listed
        containers, and nothing else. It does not require the account or containers to exist; a missing
        storage account or resource group has nothing to remove. A missing subscription fails.
    type: str
    choices: [present, absent]
    default: present
  replication_timeout:
    description:
      - Seconds to keep retrying a role assignment while Azure reports C(PrincipalNotFound), which
        happens for a few minutes after the service principal is created. V(0) does not retry.
    type: int
    default: 120
extends_documentation_fragment:
  - v7labs.azure_storage.azure_auth
  - v7labs.azure_storage.storage_account
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.azure
  - v7labs.azure_storage.attributes.write
requirements:
  - azure-mgmt-storage >= 21.0.0
  - azure-mgmt-authorization >= 4.0.0
attributes:
  check_mode:
    details: Reads the current assignments and predicts the changes; writes nothing.
  diff_mode:
    details: One line per assignment, such as C(Storage Blob Delegator @ account acme1).
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Let V7 read two containers and sign URLs
  v7labs.azure_storage.v7_storage_roles:
    principal_id: "{{ v7_sp.object_id }}"
    resource_group: rg-data
    storage_account: acme1
    containers: [photos, videos]

- name: Let V7 also write generated files, across the whole account
  v7labs.azure_storage.v7_storage_roles:
    principal_id: "{{ v7_sp.object_id }}"
    resource_group: rg-data
    storage_account: acme1
    write: true

- name: Offboard by removing what V7 was given on the account and its containers
  v7labs.azure_storage.v7_storage_roles:
    principal_id: "{{ v7_sp.object_id }}"
    resource_group: rg-data
    storage_account: acme1
    containers: [photos, videos]
    state: absent
"""

RETURN = r"""
assignments:
  description:
    - V7's role assignments for this principal at the storage account and the listed containers after
      the run (predicted in check mode).
    - C(id) and C(name) are null for an assignment Azure reported as existing but did not list yet.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Assignment resource id.
      type: str
    name:
      description: Assignment name (a GUID).
      type: str
    scope:
      description: Storage account or container resource id.
      type: str
    role_definition_id:
      description: Role definition resource id.
      type: str
    role_name:
      description: Role name, for example C(Storage Blob Delegator).
      type: str
    principal_id:
      description: Object id of the principal.
      type: str
  sample:
    - id: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.Storage\
        /storageAccounts/acme1/providers/Microsoft.Authorization/roleAssignments/0b6f3b9e-5d86-5d2e-9d0f-6f3c1a7e2b44"
      name: 0b6f3b9e-5d86-5d2e-9d0f-6f3c1a7e2b44
      scope: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/acme1
      role_definition_id: "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization\
        /roleDefinitions/db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
      role_name: Storage Blob Delegator
      principal_id: 5f3c8a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b
created:
  description: Assignments created (to be created, in check mode). Same fields as RV(assignments).
  returned: always
  type: list
  elements: dict
removed:
  description: Assignments removed (to be removed, in check mode). Same fields as RV(assignments).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import NOTHING_CHANGED, AzureApiError, raise_problems
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import STORAGE_ACCOUNT_OPTIONS, AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import NotFound, require_blob_service
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    container_name_problem, principal_id_problem, settings_problems, storage_account_problems)

ARGUMENT_SPEC = dict(
    principal_id=dict(type="str"),
    **STORAGE_ACCOUNT_OPTIONS,
    containers=dict(type="list", elements="str", default=[]),
    created_containers=dict(type="list", elements="str", default=[]),
    write=dict(type="bool", default=False),
    delegator=dict(type="bool", default=True),
    exclusive=dict(type="bool", default=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    replication_timeout=dict(type="int", default=v7.REPLICATION_TIMEOUT),
)


def check_inputs(module: AzureModule) -> None:
    """Every bad option at once, before any request."""
    params = module.params
    problems = settings_problems(module.auth) + storage_account_problems(params)
    if params["principal_id"] is not None or not module.check_mode:
        problems += [p for p in [principal_id_problem(params["principal_id"])] if p]
    for option in ("containers", "created_containers"):
        problems += [p for p in (container_name_problem(c, option) for c in params[option]) if p]
    if params["replication_timeout"] < 0:
        problems.append(f"replication_timeout: {params['replication_timeout']} is negative; give 0 or more seconds")
    raise_problems(problems)


def check_targets_exist(account, containers: list[str], created: list[str], check_mode: bool) -> None:
    """Fails once, naming every missing target, before anything is written. In check mode the
    containers an earlier task creates (``created``) count as there."""
    require_blob_service(account)
    skip = set(created) if check_mode else set()
    missing = [name for name in dict.fromkeys(containers) if name not in skip and account.container(name) is None]
    if missing:
        raise account.missing("container", missing)


def apply(account, principal: str, to_create, to_delete, timeout: int):
    """Creates before deleting, so narrowing from account to container scope never leaves V7 without
    access. On failure, says what was done; every step is idempotent, so a re-run finishes the rest."""
    created, present, removed = [], [], []
    try:
        for scope, guid in to_create:
            assignment, made = account.create_assignment(scope, guid, principal, timeout)
            (created if made else present).append(assignment)
        for assignment in to_delete:
            account.delete_assignment(assignment)
            removed.append(assignment)
    except AzureApiError as err:
        done = [f"assigned {ra.label(a)}" for a in created] + [f"removed {ra.label(a)}" for a in removed]
        tail = f" Done before this: {'; '.join(done)}; re-running the task does the rest." if done else f" {NOTHING_CHANGED}"
        raise AzureApiError(str(err) + tail, status=err.status, code=err.code, result=dict(
            changed=bool(done), created=[a.to_dict() for a in created], removed=[a.to_dict() for a in removed])) from None
    return created, present, removed


def warn_unlisted(module: AzureModule, others: list[ra.Assignment], principal: str) -> None:
    if others:
        module.warn(
            f"The service principal {principal} also holds {'; '.join(map(ra.label, others))}, on containers "
            "not listed in containers; this task leaves those roles alone. List the containers to keep or remove them."
        )


def current_assignments(account, principal: str | None, absent: bool) -> list[ra.Assignment]:
    """The principal's assignments on the account; none for a principal still to be created, and
    none to remove where the account or its resource group is gone."""
    if principal is None:
        return []
    try:
        return account.assignments(principal)
    except NotFound as err:
        if absent and err.kind in ("account", "resource_group"):
            return []
        raise
    except AzureApiError as err:
        if err.code == "AuthorizationFailed":
            raise AzureApiError(
                f"{err} It lacks Microsoft.Authorization/roleAssignments/read on {account.scope} (and needs "
                f"/write and /delete there to change them). {NOTHING_CHANGED}", status=err.status, code=err.code) from None
        raise


def ensure(module: AzureModule, account=None) -> dict:
    p = module.params
    check_inputs(module)
    account = account or module.storage_account()
    subscription, containers = account.subscription, p["containers"]
    principal = p["principal_id"]
    shown = principal or ra.PENDING_PRINCIPAL
    managed_scopes = ra.scopes(subscription, account.group, account.name, containers)
    current = current_assignments(account, principal, p["state"] == "absent")
    before = ra.managed(current, managed_scopes, shown)
    warn_unlisted(module, ra.unlisted(current, managed_scopes, shown), shown)
    wanted = ra.desired(subscription, account.group, account.name, containers, write=p["write"], delegator=p["delegator"])
    to_create, to_delete = ra.plan(current, wanted, managed_scopes=managed_scopes, principal_id=shown,
                                   exclusive=p["exclusive"], state=p["state"])
    if to_create:  # ARM takes an assignment at a scope that does not exist; refuse it before it does
        check_targets_exist(account, containers, p["created_containers"], module.check_mode)
    if module.check_mode:
        created = ra.to_be_created(subscription, to_create, principal)
        present, removed = [], to_delete
    else:
        created, present, removed = apply(account, principal, to_create, to_delete, p["replication_timeout"])
    # an assignment Azure says was there already (409, or 200 from a concurrent run) was there before
    before = before + [a for a in present if a.key not in {b.key for b in before}]
    after = [a for a in before if a not in to_delete] + created
    result = dict(
        changed=bool(created or removed),
        assignments=[a.to_dict() for a in sorted(after, key=ra.label)],
        created=[a.to_dict() for a in created],
        removed=[a.to_dict() for a in removed],
    )
    if module.diff_mode:
        header = f"V7 storage roles of {shown} on {account.name}"
        result["diff"] = dict(
            before=ra.diff_text(before), after=ra.diff_text(after), before_header=header, after_header=header
        )
    return result


def main() -> None:
    AzureModule(ARGUMENT_SPEC).run(ensure)


if __name__ == "__main__":
    main()
