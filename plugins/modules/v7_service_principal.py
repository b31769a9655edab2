#!/usr/bin/python
# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_service_principal
short_description: Ensure the service principal of V7's multi-tenant application exists in a tenant
version_added: 0.1.0
description:
  - Creates, in the signed-in Microsoft Entra tenant, the service principal (enterprise
    application) of V7's C(darwin-storage) multi-tenant application, as
    C(az ad sp create --id 95e63529-38cc-435c-b247-32a1d62f321d) does; or deletes it.
  - Uses Microsoft Graph v1.0 (C(GET/POST/DELETE servicePrincipals)); no subscription is needed.
    With O(keep_if_assigned), also Azure Resource Manager, to list the principal's role assignments.
  - Idempotent. When two runs create the principal at the same time, Graph answers the second
    with C(409 Request_MultipleObjectsWithSameKeyValue); the module then reads the principal
    again, for up to O(visibility_timeout) seconds, and reports it without a change.
  - O(app_id), O(tenant) and O(client_id) are checked before any request.
  - The signed-in identity needs the Graph application permission C(Application.ReadWrite.OwnedBy)
    (the least that reads, creates and deletes V7's service principal; it deletes only a principal
    the identity created or owns), or C(Application.ReadWrite.All), or the directory role Cloud
    Application Administrator or Application Administrator. See C(docs/least-privilege.md).
author:
  - V7 platform integrations team (@v7labs)
options:
  app_id:
    description:
      - Application (client) ID of the multi-tenant application. Must be a GUID.
      - The default is V7's C(darwin-storage) application.
    type: str
    default: 95e63529-38cc-435c-b247-32a1d62f321d
  state:
    description:
      - V(present) creates the service principal if the tenant has none.
      - V(absent) deletes it (by object id) if the tenant has one. Role assignments that name it
        stop working; remove them first (see P(v7labs.azure_storage.v7_storage_roles#module)).
    type: str
    choices: [present, absent]
    default: present
  keep_if_assigned:
    description:
      - With O(state=absent), delete the principal only when it holds no role assignment at any
        scope the signed-in identity can read across the tenant's subscriptions (Azure Resource
        Manager's subscriptions list, then each subscription's role assignments of the principal,
        at, above and below it). When it still holds some, it stays, RV(kept_for) names the scopes,
        and a warning says so.
      - Needs C(Microsoft.Authorization/roleAssignments/read) where those assignments are; an
        assignment at a scope the identity cannot read does not keep the principal.
    type: bool
    default: false
  ignore_scopes:
    description:
      - With O(keep_if_assigned), role assignments at or below these scopes do not keep the principal -
        the scopes where the same run removes V7's roles first (in check mode they are still there).
    type: list
    elements: str
    default: []
  visibility_timeout:
    description:
      - Seconds to keep re-reading a principal that Graph says exists (HTTP 409 on create) but
        that a read does not show yet (directory replication).
    type: int
    default: 60
extends_documentation_fragment:
  - v7labs.azure_storage.azure_auth
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.azure
  - v7labs.azure_storage.attributes.write
requirements:
  - azure-mgmt-authorization >= 4.0.0 (with O(keep_if_assigned))
attributes:
  check_mode:
    details: Reads the tenant and predicts the result; sends no POST or DELETE.
  diff_mode:
    details: Returns C(state), app id, object id and display name before and after.
"""

EXAMPLES = r"""
- name: Give V7 its service principal in the tenant (what `az ad sp create --id ...` does)
  v7labs.azure_storage.v7_service_principal:
    tenant: "{{ azure_tenant_id }}"
  register: v7_sp

- name: Use its object id for role assignments
  ansible.builtin.debug:
    msg: "V7's principal is {{ v7_sp.object_id }} in {{ v7_sp.tenant_id }}"

- name: Preview with --check --diff, signing in with the Azure CLI
  v7labs.azure_storage.v7_service_principal:
    auth_source: cli
  check_mode: true
  diff: true

- name: Offboarding (after the role assignments are removed)
  v7labs.azure_storage.v7_service_principal:
    state: absent
"""

RETURN = r"""
object_id:
  description:
    - Object id of the service principal in the tenant, to use as the principal of role assignments.
    - In check mode, V(null) when the principal would be created (it has no id yet).
    - With O(state=absent), the id of the principal that was (or in check mode would be) deleted;
      V(null) when there was none.
  returned: always
  type: str
  sample: 6f3d2a1c-8a4e-4b9e-9f0a-2c7d5e1b3a44
app_id:
  description: Application (client) id of the application, in lower case.
  returned: always
  type: str
  sample: 95e63529-38cc-435c-b247-32a1d62f321d
display_name:
  description:
    - Display name of the service principal, as Graph reports it.
    - V(null) in check mode when the principal would be created, and when there is none.
  returned: always
  type: str
  sample: darwin-storage
kept_for:
  description: With O(state=absent) and O(keep_if_assigned), the scopes where the principal still holds a role, so it was kept.
  returned: O(state=absent)
  type: list
  elements: str
tenant_id:
  description: The tenant the module signed in to; what V7 asks for as "Tenant ID".
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
diff:
  description: Before and after, each with C(state), C(app_id), C(object_id), C(display_name).
  returned: in diff mode
  type: dict
  sample:
    before: {state: absent, app_id: 95e63529-38cc-435c-b247-32a1d62f321d, object_id: null, display_name: null}
    after: {state: present, app_id: 95e63529-38cc-435c-b247-32a1d62f321d, object_id: null, display_name: null}
"""

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import (
    AzureApiError,
    InputError,
    api_call,
    raise_problems,
)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import tenant_assignments
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import settings_problems
from ansible_collections.v7labs.azure_storage.plugins.module_utils.service_principal import (
    CREATE,
    DELETE,
    V7_APP_ID,
    build_result,
    is_already_exists,
    is_not_an_application,
    normalize_app_id,
    not_an_application_message,
    object_path,
    plan_action,
    predict,
    principal_path,
    summarize,
    wait_until,
)


def read_principal(graph, app_id: str) -> dict | None:
    with api_call(f"read the service principal of app_id {app_id}"):
        return summarize(graph.get(principal_path(app_id)))


def read_until_visible(graph, app_id: str, timeout: int) -> dict:
    found = wait_until(lambda: read_principal(graph, app_id), timeout)
    if found is None:
        raise AzureApiError(
            f"Graph says the service principal of app_id {app_id} exists, but it was still not readable "
            f"after {timeout} s (directory replication): run the task again, or raise visibility_timeout.",
            status=404,
            code="Request_ResourceNotFound",
        )
    return found


def create_principal(graph, app_id: str, timeout: int) -> tuple[dict, bool]:
    """(principal, changed): changed is False when another run created it first."""
    try:
        with api_call(f"create the service principal of app_id {app_id}"):
            created = summarize(graph.post("servicePrincipals", {"appId": app_id}))
    except AzureApiError as err:
        if is_not_an_application(err.status, err.code, err.service_message):
            raise AzureApiError(
                not_an_application_message(app_id, err.service_message), status=err.status, code=err.code
            ) from None
        if not is_already_exists(err.status, err.code):
            raise
        return read_until_visible(graph, app_id, timeout), False
    if not created or not created.get("object_id"):
        return read_until_visible(graph, app_id, timeout), True
    return created, True


def delete_principal(graph, current: dict) -> bool:
    with api_call(f"delete the service principal {current['object_id']} of app_id {current['app_id']}"):
        return graph.delete(object_path(current["object_id"]))


def check_inputs(module: AzureModule) -> str:
    """The app id, normalised; fails naming every bad option, before any request."""
    problems = settings_problems(module.auth, needs_subscription=False)
    try:
        app_id = normalize_app_id(module.params["app_id"])
    except ValueError as exc:
        raise InputError(problems + [str(exc)]) from None
    raise_problems(problems)
    return app_id


def ensure(module: AzureModule) -> dict:
    app_id = check_inputs(module)
    state = module.params["state"]
    graph = module.clients.graph

    current = read_principal(graph, app_id)
    action = plan_action(current, state)
    kept_for: list[str] = []
    if action == DELETE and module.params["keep_if_assigned"]:
        ignored = [ra.normalise_scope(scope) for scope in module.params["ignore_scopes"]]
        held = [a for a in tenant_assignments(module.clients, current["object_id"])
                if not any(ra.normalise_scope(a.scope) == s or ra.normalise_scope(a.scope).startswith(s + "/")
                           for s in ignored)]
        if held:
            action, kept_for = None, sorted({a.scope for a in held})
            module.warn(f"V7's service principal {current['object_id']} stays in the tenant: it still holds "
                        f"{len(held)} role assignment(s), at {', '.join(kept_for)}. Remove them first (offboard those "
                        "storage accounts too), or set keep_if_assigned: false.")
    before, after, changed = current, current, False
    if action is not None and module.check_mode:
        after, changed = predict(current, state, app_id), True
    elif action == CREATE:
        after, changed = create_principal(graph, app_id, module.params["visibility_timeout"])
        if not changed:
            # Another run created it first: it was already there, whatever the first read said.
            before = after
    elif action == DELETE:
        after, changed = None, delete_principal(graph, current)
        if not changed:
            before = None

    result = build_result(
        changed=changed,
        app_id=app_id,
        tenant_id=module.clients.tenant_id,
        reported=current if action == DELETE else after,
        before=before,
        after=after,
        with_diff=module.diff_mode,
    )
    return dict(result, kept_for=kept_for) if state == "absent" else result


def main() -> None:
    AzureModule(
        {
            "app_id": {"type": "str", "default": V7_APP_ID},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "visibility_timeout": {"type": "int", "default": 60},
            "keep_if_assigned": {"type": "bool", "default": False},
            "ignore_scopes": {"type": "list", "elements": "str", "default": []},
        },
        needs_subscription=False,
    ).run(ensure)


if __name__ == "__main__":
    main()
