"""Microsoft.Authorization: role definitions (built-in, and the custom roles of the world's
tenants), role assignments at any scope, and the caller's own permissions."""
from __future__ import annotations

import re

from . import responses, roles
from .arm import ArmError, Ctx

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCOPE = re.compile(
    r"^/subscriptions/(?P<sid>[^/]+)"
    r"(?:/resourceGroups/(?P<rg>[^/]+)"
    r"(?:/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)"
    r"(?:/blobServices/default(?:/containers/(?P<container>[^/]+))?)?)?)?$",
    re.IGNORECASE,
)


def _split_scope(ctx: Ctx, scope: str) -> dict:
    """Check that the scope exists, with ARM's errors; returns its parts."""
    match = _SCOPE.match(scope)
    if not match:
        sid = scope.split("/")[2] if scope.lower().startswith("/subscriptions/") else None
        if sid:
            ctx.subscription(sid)
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid for this operation.")
    parts = match.groupdict()
    ctx.subscription(parts["sid"])
    return parts


def _require_scope_exists(ctx: Ctx, scope: str, parts: dict) -> None:
    if parts["rg"]:
        ctx.resource_group(parts["sid"], parts["rg"])
    if parts["account"]:
        acct = ctx.account(parts["sid"], parts["rg"], parts["account"])
        if parts["container"] and parts["container"].lower() not in acct["containers"]:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Storage/storageAccounts/{parts['account']}/blobServices/default/"
                f"containers/{parts['container']}' under resource group '{parts['rg']}' was not found. For more "
                "details please go to https://aka.ms/ARMResourceNotFoundFix",
            )


def _definition_id(sid: str | None, guid: str) -> str:
    prefix = f"/subscriptions/{sid}" if sid else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def _assignment_body(ra: dict) -> dict:
    return {
        "properties": {
            "roleDefinitionId": _definition_id(ra["subscription_id"], ra["role_guid"]),
            "principalId": ra["principal_id"],
            "principalType": ra["principal_type"],
            "scope": ra["scope"],
            "condition": None,
            "conditionVersion": None,
            "createdOn": ra["created_on"],
            "updatedOn": ra["created_on"],
            "createdBy": ra["created_by"],
            "updatedBy": ra["created_by"],
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": ra["id"],
        "type": "Microsoft.Authorization/roleAssignments",
        "name": ra["name"],
    }


def _within(child: str, parent: str) -> bool:
    child, parent = child.rstrip("/").lower() + "/", parent.rstrip("/").lower() + "/"
    return child.startswith(parent)


_FILTER_TERM = re.compile(
    r"^\s*(?:(?P<at>atScope\(\))|principalId\s+eq\s+'(?P<pid>[^']+)'|assignedTo\('(?P<to>[^']+)'\))\s*$",
    re.IGNORECASE,
)


def _parse_filter(text: str | None) -> dict:
    result = {"at_scope": False, "principal": None}
    if not text:
        return result
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_TERM.match(term)
        if not match:
            raise ArmError(
                400,
                "UnsupportedQuery",
                f"The filter '{text}' is not supported. Supported filters are either 'atScope()' or "
                "'principalId eq '{value}'' or 'assignedTo('{value}')'.",
            )
        if match.group("at"):
            result["at_scope"] = True
        else:
            result["principal"] = (match.group("pid") or match.group("to")).lower()
    return result


def list_assignments(ctx: Ctx):
    scope = "/" + ctx.groups["scope"].strip("/")
    parts = _split_scope(ctx, scope)
    ctx.authorize("Microsoft.Authorization/roleAssignments/read", scope)
    _require_scope_exists(ctx, scope, parts)
    wanted = _parse_filter(ctx.query.get("$filter"))
    items = []
    for ra in ctx.state.role_assignments.values():
        above_or_at = _within(scope, ra["scope"])
        below = _within(ra["scope"], scope)
        if wanted["at_scope"] and not above_or_at:
            continue
        if not (above_or_at or below):
            continue
        if wanted["principal"] and ra["principal_id"] != wanted["principal"]:
            continue
        items.append(_assignment_body(ra))
    return responses.arm({"value": items})


def _lookup(ctx: Ctx, scope: str, name: str) -> dict | None:
    return ctx.state.role_assignments.get(f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}".lower())


def get_assignment(ctx: Ctx):
    scope = "/" + ctx.groups["scope"].strip("/")
    parts = _split_scope(ctx, scope)
    ctx.authorize("Microsoft.Authorization/roleAssignments/read", scope)
    _require_scope_exists(ctx, scope, parts)
    ra = _lookup(ctx, scope, ctx.groups["name"])
    if ra is None:
        raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{ctx.groups['name']}' is not found.")
    return responses.arm(_assignment_body(ra))


def put_assignment(ctx: Ctx):
    scope = "/" + ctx.groups["scope"].strip("/")
    name = ctx.groups["name"]
    parts = _split_scope(ctx, scope)
    ctx.authorize("Microsoft.Authorization/roleAssignments/write", scope)
    _require_scope_exists(ctx, scope, parts)
    if not _GUID.match(name):
        raise ArmError(
            400,
            "InvalidRoleAssignmentId",
            f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
        )
    props = (ctx.body or {}).get("properties") if isinstance(ctx.body, dict) else None
    if not isinstance(props, dict) or not props.get("roleDefinitionId") or not props.get("principalId"):
        raise ArmError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: 'Required property "
            "'roleDefinitionId' and 'principalId' not found in JSON.'",
        )
    for readonly in ("scope", "createdOn", "updatedOn", "createdBy", "updatedBy"):
        props.pop(readonly, None)
    role_guid = str(props["roleDefinitionId"]).rstrip("/").rsplit("/", 1)[-1].lower()
    if not roles.visible_in(role_guid, ctx.state.subscription(parts["sid"])["tenant_id"]):
        raise ArmError(
            400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{role_guid}' does not exist."
        )
    principal_id = str(props["principalId"]).lower()
    sub = ctx.state.subscription(parts["sid"])
    sent_type = props.get("principalType")
    ignores_type = bool(ctx.state.settings["principal_replication_ignores_type"])
    actual = ctx.state.principal_type(sub["tenant_id"], principal_id)
    if actual is None or (actual == "replicating" and (not sent_type or ignores_type)):
        raise ArmError(
            400,
            "PrincipalNotFound",
            f"Principal {principal_id.replace('-', '')} does not exist in the directory {sub['tenant_id']}. Check "
            "that you have the correct principal ID. If you are creating this principal and then immediately "
            "assigning a role, this error might be related to a replication delay. In this case, set the role "
            "assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See "
            "https://aka.ms/docs-principaltype",
        )
    if actual == "replicating":
        actual = sent_type
    if sent_type and sent_type != actual:
        raise ArmError(
            400,
            "UnmatchedPrincipalType",
            f"The PrincipalId '{principal_id.replace('-', '')}' has type '{actual}' , which is different from "
            f"specified PrincipalType '{sent_type}'.",
        )
    existing = _lookup(ctx, scope, name)
    if existing is not None:
        if existing["principal_id"] != principal_id or existing["role_guid"] != role_guid:
            raise ArmError(
                400,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        return responses.arm(_assignment_body(existing), 200)
    for ra in ctx.state.role_assignments.values():
        if (
            ra["scope"].lower() == scope.lower()
            and ra["role_guid"] == role_guid
            and ra["principal_id"] == principal_id
        ):
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
    ra = ctx.state.put_role_assignment(
        scope=scope,
        name=name,
        role_guid=role_guid,
        principal_id=principal_id,
        principal_type=actual,
        created_by=ctx.caller.object_id,
    )
    body = _assignment_body(ra)
    body["properties"]["createdBy"] = None
    return responses.arm(body, 201)


def delete_assignment(ctx: Ctx):
    scope = "/" + ctx.groups["scope"].strip("/")
    parts = _split_scope(ctx, scope)
    ctx.authorize("Microsoft.Authorization/roleAssignments/delete", scope)
    _require_scope_exists(ctx, scope, parts)
    ra = _lookup(ctx, scope, ctx.groups["name"])
    if ra is None:
        return responses.arm(None, 204)
    del ctx.state.role_assignments[ra["id"].lower()]
    return responses.arm(_assignment_body(ra), 200)


# ------------------------------------------------------------------ role definitions
def _definition_scope(ctx: Ctx) -> str | None:
    scope = "/" + ctx.groups["scope"].strip("/") if ctx.groups["scope"] else ""
    if not scope:
        return None
    parts = _split_scope(ctx, scope)
    ctx.authorize("Microsoft.Authorization/roleDefinitions/read", scope)
    _require_scope_exists(ctx, scope, parts)
    return parts["sid"]


def _tenant_of(ctx: Ctx, sid: str | None) -> str:
    return ctx.state.subscription(sid)["tenant_id"] if sid else ctx.caller.tenant_id


def _available_at(guid: str, scope: str | None) -> bool:
    """Whether a role can be seen from a scope: built-ins anywhere, a custom role where one of
    its assignable scopes is at, above or below the scope (ARM lists it for both)."""
    if not roles.is_custom(guid) or not scope:
        return True
    return any(_within(scope, s) or _within(s, scope) for s in roles.definition(guid)["assignableScopes"])


def get_definition(ctx: Ctx):
    sid = _definition_scope(ctx)
    guid = ctx.groups["guid"].lower()
    if not roles.visible_in(guid, _tenant_of(ctx, sid)):
        raise ArmError(404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist.")
    return responses.arm(roles.definition_body(guid, sid))


_NAME_FILTER = re.compile(r"^\s*roleName\s+eq\s+'(?P<name>[^']*)'\s*$", re.IGNORECASE)
_TYPE_FILTER = re.compile(r"^\s*type\s+eq\s+'(?P<type>[^']*)'\s*$", re.IGNORECASE)


def list_definitions(ctx: Ctx):
    sid = _definition_scope(ctx)
    scope = "/" + ctx.groups["scope"].strip("/") if ctx.groups["scope"] else None
    tenant = _tenant_of(ctx, sid)
    custom = [g for g in roles.CUSTOM_ROLES if roles.visible_in(g, tenant) and _available_at(g, scope)]
    guids = list(roles.BUILTIN_ROLES) + custom
    text = ctx.query.get("$filter")
    if text:
        by_name, by_type = _NAME_FILTER.match(text), _TYPE_FILTER.match(text)
        if by_name:
            guids = [g for g in guids if roles.definition(g)["roleName"].lower() == by_name.group("name").lower()]
        elif by_type:
            wanted = by_type.group("type").lower()
            guids = [g for g in guids if ("customrole" if roles.is_custom(g) else "builtinrole") == wanted]
        else:
            raise ArmError(400, "UnsupportedQuery", f"The filter '{text}' is not supported.")
    return responses.arm({"value": [roles.definition_body(g, sid) for g in guids]})


# ------------------------------------------------------------------ the caller's own permissions
def list_permissions(ctx: Ctx):
    """What the caller may do at a scope: one entry per role assignment of the caller that
    applies there (at the scope or above), as Permissions_ListForResource(Group) answers.

    Calling it is itself an RBAC action: Microsoft.Authorization/permissions/read, "Lists all
    the permissions the caller has at a given scope" in Azure's resource provider operations
    (learn.microsoft.com/azure/role-based-access-control/resource-provider-operations)."""
    scope = "/" + ctx.groups["scope"].strip("/")
    parts = _split_scope(ctx, scope)
    ctx.authorize("Microsoft.Authorization/permissions/read", scope)
    _require_scope_exists(ctx, scope, parts)
    value = [
        roles.permissions_entry(ra["role_guid"])
        for ra in ctx.state.role_assignments.values()
        if ra["principal_id"] == ctx.caller.object_id.lower() and _within(scope, ra["scope"])
    ]
    return responses.arm({"value": value})
