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
    type: str
    required: true
  containers:
    description:
      - Containers V7 may use. The data roles are assigned on each of them.
      - When empty, the data roles are assigned on the whole storage account.
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
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Reads the current assignments and predicts the changes; writes nothing.
  diff_mode:
    support: full
    details: One line per assignment, such as C(Storage Blob Delegator @ account acme1).
  platform:
    platforms: all
  action_group:
    membership: [v7labs.azure_storage.azure]
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Let V7 read two containers and sign URLs
  v7labs.azure_storage.v7_storage_roles:
    principal_id: "{{ v7_sp.id }}"
    resource_group: rg-data
    storage_account: acme1
    containers: [photos, videos]

- name: Let V7 also write generated files, across the whole account
  v7labs.azure_storage.v7_storage_roles:
    principal_id: "{{ v7_sp.id }}"
    resource_group: rg-data
    storage_account: acme1
    write: true

- name: Offboard by removing what V7 was given on the account and its containers
  v7labs.azure_storage.v7_storage_roles:
    principal_id: "{{ v7_sp.id }}"
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

import time

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, api_call
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import STORAGE_ACCOUNT_OPTIONS, AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    container_name_problem, input_failure, principal_id_problem, settings_problems, storage_account_problems)

try:
    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
except ImportError:  # reported by AzureModule, which needs the same SDKs
    RoleAssignmentCreateParameters = None

ARGUMENT_SPEC = dict(
    principal_id=dict(type="str", required=True),
    **STORAGE_ACCOUNT_OPTIONS,
    containers=dict(type="list", elements="str", default=[]),
    write=dict(type="bool", default=False),
    delegator=dict(type="bool", default=True),
    exclusive=dict(type="bool", default=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    replication_timeout=dict(type="int", default=120),
)


# 404 codes that mean the storage account or its resource group is not there (a missing
# subscription is a configuration error, not "nothing to remove").
GONE = ("ResourceNotFound", "ResourceGroupNotFound", "StorageAccountNotFound")


class Failure(Exception):
    """A failure with a message written here, and the partial result to report with it."""

    def __init__(self, msg: str, **result) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result


def validate(params: dict, settings) -> None:
    """Every bad option at once, before any request."""
    problems = settings_problems(settings) + storage_account_problems(params)
    problems += [p for p in [principal_id_problem(params["principal_id"])] if p]
    problems += [p for p in (container_name_problem(c, "containers") for c in params["containers"]) if p]
    if params["replication_timeout"] < 0:
        problems.append(f"replication_timeout: {params['replication_timeout']} is negative; give 0 or more seconds")
    if problems:
        raise Failure(input_failure(problems), error_code="InvalidInput")


def check_targets_exist(storage, subscription: str, rg: str, account: str, containers: list[str]) -> None:
    """Fails once, naming every missing target, before anything is written."""
    try:
        with api_call(f"read storage account {account}"):
            properties = storage.storage_accounts.get_properties(rg, account)
    except AzureApiError as err:
        if err.status != 404 or err.code not in GONE:
            raise
        if err.code == "ResourceGroupNotFound":
            where = f"The resource group {rg} was not found in subscription {subscription}"
            fix = "check resource_group and subscription_id"
        else:
            where = f"The storage account {account} was not found in resource group {rg} (subscription {subscription})"
            fix = "check storage_account, resource_group and subscription_id"
        raise Failure(f"{where}; nothing was changed: {fix}.", status=err.status, error_code=err.code) from None
    if properties.kind == "FileStorage":
        raise Failure(
            f"The storage account {account} is a FileStorage account, which has no Blob service for V7 to use; "
            "use a StorageV2 or BlockBlobStorage account. Nothing was changed.",
            error_code="FeatureNotSupportedForAccount",
        )
    missing = []
    for name in dict.fromkeys(containers):
        try:
            with api_call(f"read container {name} of storage account {account}"):
                storage.blob_containers.get(rg, account, name)
        except AzureApiError as err:
            if err.status != 404:
                raise
            missing.append(name)
    if missing:
        raise Failure(
            f"Containers not found in storage account {account}: {', '.join(missing)}. Create them, or leave "
            "them out of containers; nothing was changed.",
            status=404, error_code="ContainerNotFound",
        )


def list_assignments(auth, account_scope: str, principal: str, *, gone_ok: bool) -> list[ra.Assignment]:
    """This principal's assignments at, above and below the storage account: with a principalId
    filter ARM lists all three, so one call covers the account and all its containers."""
    try:
        with api_call(f"list role assignments on {ra.short_scope(account_scope)}"):
            items = list(auth.role_assignments.list_for_scope(account_scope, filter=f"principalId eq '{principal}'"))
    except AzureApiError as err:
        if gone_ok and err.status == 404 and err.code in GONE:
            return []
        if err.code == "AuthorizationFailed":
            raise Failure(
                f"{err} It lacks Microsoft.Authorization/roleAssignments/read on {account_scope} (and needs "
                "/write and /delete there to change them); nothing was changed.",
                status=err.status, error_code=err.code,
            ) from None
        raise
    return [ra.from_api(item) for item in items]


def _status_and_body(pipeline_response, deserialized, _headers):
    return pipeline_response.http_response.status_code, deserialized


def create(auth, subscription: str, scope: str, guid: str, principal: str, timeout: int):
    """Returns (assignment, created). A 409 RoleAssignmentExists means present under another name."""
    target = ra.predicted(subscription, scope, guid, principal)
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=target.role_definition_id, principal_id=principal, principal_type="ServicePrincipal"
    )
    deadline = time.monotonic() + timeout
    delays = iter(ra.retry_delays(timeout))
    while True:
        try:
            with api_call(f"assign {target.role_name} on {ra.short_scope(scope)}"):
                status, reply = auth.role_assignments.create(scope, target.name, parameters, cls=_status_and_body)
            # 200: an assignment under this very name was already there (a concurrent run made it)
            return (ra.from_api(reply) if reply is not None and reply.scope else target), status == 201
        except AzureApiError as err:
            if err.code == "RoleAssignmentExists":
                return existing_twin(auth, target), False
            if err.code != "PrincipalNotFound":
                raise
            delay = next(delays, None)
            remaining = deadline - time.monotonic()
            if delay is None or remaining <= 0:
                raise Failure(
                    f"{err} The service principal {principal} is not yet visible to Azure Resource Manager "
                    f"(directory replication after it is created can take minutes; waited {timeout} s). Re-run "
                    "the task, or raise replication_timeout. If it persists, check that principal_id is the "
                    "service principal's object id in this subscription's tenant.",
                    status=err.status, error_code=err.code,
                ) from None
            time.sleep(min(delay, remaining))


def existing_twin(auth, target: ra.Assignment) -> ra.Assignment:
    """The assignment ARM says already exists for target's (scope, role, principal)."""
    with api_call(f"list role assignments on {ra.short_scope(target.scope)}"):
        items = auth.role_assignments.list_for_scope(target.scope, filter=f"principalId eq '{target.principal_id}'")
        matches = [a for a in map(ra.from_api, items) if a.key == target.key]
    return matches[0] if matches else ra.Assignment(target.scope, target.role_definition_id, target.principal_id)


def apply(auth, subscription: str, principal: str, to_create, to_delete, timeout: int):
    """Creates before deleting, so narrowing from account to container scope never leaves V7 without
    access. On failure, says what was done; every step is idempotent, so a re-run finishes the rest."""
    created, present, removed = [], [], []
    try:
        for scope, guid in to_create:
            assignment, made = create(auth, subscription, scope, guid, principal, timeout)
            (created if made else present).append(assignment)
        for assignment in to_delete:
            with api_call(f"remove {ra.describe(assignment)}"):
                auth.role_assignments.delete_by_id(assignment.id)
            removed.append(assignment)
    except (AzureApiError, Failure) as err:
        # ARM's AuthorizationFailed already names the action and scope; api_call adds the roles that allow it
        msg = err.msg if isinstance(err, Failure) else str(err)
        extra = err.result if isinstance(err, Failure) else {"status": err.status, "error_code": err.code}
        done = [f"assigned {ra.describe(a)}" for a in created] + [f"removed {ra.describe(a)}" for a in removed]
        msg += f" Done before this: {'; '.join(done)}; re-running the task does the rest." if done else " Nothing was changed."
        raise Failure(
            msg, changed=bool(done), created=[a.to_dict() for a in created],
            removed=[a.to_dict() for a in removed], **extra,
        ) from None
    return created, present, removed


def warn_unlisted(module: AzureModule, others: list[ra.Assignment], principal: str) -> None:
    if others:
        module.warn(
            f"The service principal {principal} also holds {'; '.join(map(ra.describe, others))}, on containers "
            "not listed in containers; this task leaves those roles alone. List the containers to keep or remove them."
        )


def run(module: AzureModule) -> dict:
    try:
        return ensure(module)
    except Failure as failure:
        module.ansible.fail_json(msg=failure.msg, **failure.result)


def ensure(module: AzureModule) -> dict:
    p = module.params
    validate(p, module.auth)
    subscription = module.clients.subscription_id
    rg, account, containers, principal = p["resource_group"], p["storage_account"], p["containers"], p["principal_id"]
    managed_scopes = ra.scopes(subscription, rg, account, containers)
    auth = module.clients.authorization(subscription)
    storage = module.clients.storage
    try:
        current = list_assignments(auth, managed_scopes[0], principal, gone_ok=p["state"] == "absent")
    except AzureApiError as err:
        if err.status == 404 and err.code in GONE:  # say which of the account and its group is missing
            check_targets_exist(storage(subscription), subscription, rg, account, containers)
        raise
    before = ra.managed(current, managed_scopes, principal)
    warn_unlisted(module, ra.unlisted(current, managed_scopes, principal), principal)
    wanted = ra.desired(subscription, rg, account, containers, write=p["write"], delegator=p["delegator"])
    to_create, to_delete = ra.plan(
        current, wanted, managed_scopes=managed_scopes, principal_id=principal,
        exclusive=p["exclusive"], state=p["state"],
    )
    if to_create:  # ARM takes an assignment at a scope that does not exist; refuse it before it does
        check_targets_exist(storage(subscription), subscription, rg, account, containers)
    if module.check_mode:
        created, present, removed = [ra.predicted(subscription, s, g, principal) for s, g in to_create], [], to_delete
    else:
        created, present, removed = apply(auth, subscription, principal, to_create, to_delete, p["replication_timeout"])
    after = [a for a in before if a not in to_delete] + created + present
    result = dict(
        changed=bool(created or removed),
        assignments=[a.to_dict() for a in sorted(after, key=ra.describe)],
        created=[a.to_dict() for a in created],
        removed=[a.to_dict() for a in removed],
    )
    if module.diff_mode:
        header = f"V7 storage roles of {principal} on {account}"
        result["diff"] = dict(
            before=ra.diff_text(before), after=ra.diff_text(after), before_header=header, after_header=header
        )
    return result


def main() -> None:
    AzureModule(ARGUMENT_SPEC, supports_check_mode=True).run(run)


if __name__ == "__main__":
    main()
