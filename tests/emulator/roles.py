"""Built-in role definitions the emulator knows, with their real GUIDs and permissions."""
from __future__ import annotations

import fnmatch
import re

_READ_ALL = ["*/read"]
BUILTIN_ROLES: dict[str, dict] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": {
        "roleName": "Owner",
        "description": "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        "actions": ["*"],
        "notActions": [],
        "dataActions": [],
    },
    "b24988ac-6180-42a0-ab88-20f7382dd24c": {
        "roleName": "Contributor",
        "description": (
            "Grants full access to manage all resources, but does not allow you to assign "
            "roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries."
        ),
        "actions": ["*"],
        "notActions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
        ],
        "dataActions": [],
    },
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": {
        "roleName": "Reader",
        "description": "View all resources, but does not allow you to make any changes.",
        "actions": _READ_ALL,
        "notActions": [],
        "dataActions": [],
    },
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": {
        "roleName": "User Access Administrator",
        "description": "Lets you manage user access to Azure resources.",
        "actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        "notActions": [],
        "dataActions": [],
    },
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": {
        "roleName": "Role Based Access Control Administrator",
        "description": (
            "Manage access to Azure resources by assigning roles using Azure RBAC. This "
            "role does not allow you to manage access using other ways, such as Azure Policy."
        ),
        "actions": [
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ],
        "notActions": [],
        "dataActions": [],
    },
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": {
        "roleName": "Storage Account Contributor",
        "description": (
            "Lets you manage storage accounts, including accessing storage "
            "account keys which provide full access to storage account data."
        ),
        "actions": [
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/diagnosticSettings/*",
            "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Storage/storageAccounts/*",
            "Microsoft.Support/*",
        ],
        "notActions": [],
        "dataActions": [],
    },
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": {
        "roleName": "Storage Blob Data Reader",
        "description": (
            "Read and list Azure Storage containers and blobs. To learn which actions are required "
            "for a given data operation, see Permissions for calling blob and queue data operations."
        ),
        "actions": [
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        "notActions": [],
        "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    },
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": {
        "roleName": "Storage Blob Data Contributor",
        "description": (
            "Read, write, and delete Azure Storage containers and blobs. To learn which actions are "
            "required for a given data operation, see Permissions for calling blob and queue data operations."
        ),
        "actions": [
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        "notActions": [],
        "dataActions": [
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ],
    },
    "db58b8e5-c6ad-4a2a-8342-4190687cbf4a": {
        "roleName": "Storage Blob Delegator",
        "description": "Allows for generation of a user delegation key which can be used to sign SAS tokens",
        "actions": ["Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
        "notActions": [],
        "dataActions": [],
    },
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": {
        "roleName": "Storage Blob Data Owner",
        "description": "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
        "actions": [
            "Microsoft.Storage/storageAccounts/blobServices/containers/*",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        "notActions": [],
        "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    },
}

_BY_NAME = {role["roleName"].lower(): guid for guid, role in BUILTIN_ROLES.items()}

# Custom role definitions of the loaded world, by GUID: {"tenant_id", "roleName", "description",
# "actions", "notActions", "dataActions", "notDataActions", "assignableScopes"}. Azure keeps them
# per tenant (a custom role's GUID is unique in its directory); the State that loads a world sets
# them here with set_custom_roles, so that every RBAC check sees them.
CUSTOM_ROLES: dict[str, dict] = {}


def set_custom_roles(custom: dict[str, dict]) -> None:
    CUSTOM_ROLES.clear()
    CUSTOM_ROLES.update(custom)


def definition(guid: str) -> dict | None:
    """A built-in or custom role by GUID, with all four permission lists."""
    key = str(guid).lower()
    role = BUILTIN_ROLES.get(key) or CUSTOM_ROLES.get(key)
    if role is None:
        return None
    return {"notDataActions": [], **role}


def is_custom(guid: str) -> bool:
    return str(guid).lower() in CUSTOM_ROLES


def visible_in(guid: str, tenant_id: str | None) -> bool:
    """Built-in roles exist everywhere; a custom role only in its own tenant."""
    key = str(guid).lower()
    if key in BUILTIN_ROLES:
        return True
    role = CUSTOM_ROLES.get(key)
    return bool(role) and (tenant_id is None or role["tenant_id"] == str(tenant_id).lower())


def resolve(name_or_guid: str, tenant_id: str | None = None) -> str | None:
    """The GUID of a role given by name or GUID: built-in, or custom in tenant_id."""
    key = str(name_or_guid).lower()
    if key in BUILTIN_ROLES:
        return key
    if key in CUSTOM_ROLES and visible_in(key, tenant_id):
        return key
    if key in _BY_NAME:
        return _BY_NAME[key]
    for guid, role in CUSTOM_ROLES.items():
        if role["roleName"].lower() == key and visible_in(guid, tenant_id):
            return guid
    return None


def _pattern(action: str) -> re.Pattern:
    return re.compile(fnmatch.translate(action.lower()))


def _matches(patterns: list[str], action: str) -> bool:
    action = action.lower()
    return any(_pattern(p).match(action) for p in patterns)


def allows(role_guid: str, action: str) -> bool:
    """Whether the role grants a control-plane action: an action matches and no notAction of the
    same role takes it away (ARM's rule: a notAction is not a deny)."""
    role = definition(role_guid)
    if not role:
        return False
    return _matches(role["actions"], action) and not _matches(role["notActions"], action)


def allows_data(role_guid: str, data_action: str) -> bool:
    """Whether the role grants a data action (the Blob data plane's RBAC check): a dataAction
    matches and no notDataAction of the same role takes it away."""
    role = definition(role_guid)
    if not role:
        return False
    return _matches(role["dataActions"], data_action) and not _matches(role["notDataActions"], data_action)


def permissions_entry(role_guid: str) -> dict:
    """The role's permissions as Permissions_ListForResource shows them."""
    role = definition(role_guid)
    return {
        "actions": list(role["actions"]),
        "notActions": list(role["notActions"]),
        "dataActions": list(role["dataActions"]),
        "notDataActions": list(role["notDataActions"]),
    }


def definition_body(guid: str, subscription_id: str | None) -> dict:
    role = definition(guid)
    prefix = f"/subscriptions/{subscription_id}" if subscription_id else ""
    custom = is_custom(guid)
    return {
        "id": f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": guid,
        "properties": {
            "roleName": role["roleName"],
            "type": "CustomRole" if custom else "BuiltInRole",
            "description": role["description"],
            "assignableScopes": list(role["assignableScopes"]) if custom else ["/"],
            "permissions": [permissions_entry(guid)],
            "createdOn": role.get("createdOn", "2015-02-02T21:55:09.8806423Z"),
            "updatedOn": role.get("updatedOn", "2024-04-16T18:49:52.2346519Z"),
            "createdBy": role.get("createdBy"),
            "updatedBy": role.get("updatedBy"),
        },
    }
