# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which storage roles V7's principal should hold, and what must change to get there.

Pure functions only: no Azure SDK imports, so everything here is unit-tested without a network.
Scopes and GUIDs are compared case-insensitively because ARM echoes them in whatever case it
stored (for example ``resourcegroups`` instead of ``resourceGroups``).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Tuple

from ansible_collections.v7labs.azure_storage.plugins.module_utils.v7 import DELEGATOR, ROLE_NAMES, data_roles

# The principal shown where V7's service principal does not exist yet (check mode before it is created).
PENDING_PRINCIPAL = "V7's service principal, to be created"

# Fixed for ever: changing it would give every assignment this collection made a new name.
NAME_NAMESPACE = uuid.UUID("b0f3164a-fd80-4a00-a645-21021d586797")

_CONTAINER_SCOPE = re.compile(
    r"/storageAccounts/([^/]+)/blobServices/default/containers/([^/]+)$", re.IGNORECASE
)
_ACCOUNT_SCOPE = re.compile(r"/storageAccounts/([^/]+)$", re.IGNORECASE)

Key = Tuple[str, str]  # (normalised scope, lowercase role GUID)


def normalise_scope(scope: str) -> str:
    return scope.rstrip("/").lower()


def role_guid(role_definition_id: str) -> str:
    """The GUID at the end of a role definition id, whether subscription-scoped or not."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def role_definition_id(subscription_id: str, guid: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assignment_name(scope: str, guid: str, principal_id: str) -> str:
    """The same (scope, role, principal) always gets the same assignment name."""
    seed = "|".join((normalise_scope(scope), guid.lower(), principal_id.lower()))
    return str(uuid.uuid5(NAME_NAMESPACE, seed))


def assignment_id(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}"


@dataclass(frozen=True)
class Assignment:
    scope: str
    role_definition_id: str
    principal_id: str
    id: str | None = None
    name: str | None = None

    @property
    def role_guid(self) -> str:
        return role_guid(self.role_definition_id)

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role_guid, self.role_guid)

    @property
    def key(self) -> Key:
        return normalise_scope(self.scope), self.role_guid

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "role_definition_id": self.role_definition_id,
            "role_name": self.role_name,
            "principal_id": self.principal_id,
        }


def from_api(obj: Any) -> Assignment:
    """An Assignment from an SDK RoleAssignment (or anything with the same attributes)."""
    return Assignment(
        scope=obj.scope or "",
        role_definition_id=obj.role_definition_id or "",
        principal_id=obj.principal_id or "",
        id=obj.id,
        name=obj.name,
    )


def predicted(subscription_id: str, scope: str, guid: str, principal_id: str) -> Assignment:
    """The assignment this collection creates for (scope, role), as ARM will name it."""
    name = assignment_name(scope, guid, principal_id)
    return Assignment(
        scope=scope,
        role_definition_id=role_definition_id(subscription_id, guid),
        principal_id=principal_id,
        id=assignment_id(scope, name),
        name=name,
    )


def to_be_created(subscription_id: str, pairs: Iterable[tuple[str, str]], principal_id: Optional[str]) -> list[Assignment]:
    """The (scope, role) pairs as the assignments a run would create: named as ARM will name them,
    or, for a principal still to be created, held by PENDING_PRINCIPAL and not named yet."""
    if principal_id:
        return [predicted(subscription_id, scope, guid, principal_id) for scope, guid in pairs]
    return [Assignment(scope, role_definition_id(subscription_id, guid), PENDING_PRINCIPAL) for scope, guid in pairs]


def account_scope(subscription_id: str, resource_group: str, account: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/{account}"
    )


def container_scope(account: str, container: str) -> str:
    """``account`` is the account scope."""
    return f"{account}/blobServices/default/containers/{container}"


def scopes(subscription_id: str, resource_group: str, account: str, containers: Iterable[str]) -> list[str]:
    """The scopes this module manages: the account first, then each container once."""
    acct = account_scope(subscription_id, resource_group, account)
    return [acct] + [container_scope(acct, c) for c in dict.fromkeys(containers)]


def desired(
    subscription_id: str,
    resource_group: str,
    account: str,
    containers: Iterable[str],
    *,
    write: bool,
    delegator: bool,
) -> set[tuple[str, str]]:
    """(scope, role GUID) pairs V7 needs: data roles on each container, or on the account when no
    container is listed; the Delegator on the account, since a user delegation key is account-wide."""
    acct, *per_container = scopes(subscription_id, resource_group, account, containers)
    data_scopes = per_container or [acct]
    wanted = {(scope, guid) for scope in data_scopes for guid in data_roles(write)}
    if delegator:
        wanted.add((acct, DELEGATOR))
    return wanted


def managed(current: Iterable[Assignment], managed_scopes: Iterable[str], principal_id: str) -> list[Assignment]:
    """The assignments this module is responsible for: V7's three roles, held by this principal,
    made exactly at one of the managed scopes (not inherited from above, not on a child)."""
    in_scope = {normalise_scope(s) for s in managed_scopes}
    principal = principal_id.lower()
    return [
        a
        for a in current
        if a.principal_id.lower() == principal and a.role_guid in ROLE_NAMES and a.key[0] in in_scope
    ]


def unlisted(current: Iterable[Assignment], managed_scopes: list[str], principal_id: str) -> list[Assignment]:
    """V7's roles held by this principal on containers of the account (managed_scopes[0]) that are
    not in managed_scopes: left alone, but worth telling the user about. Sorted."""
    account = normalise_scope(managed_scopes[0])
    in_scope = {normalise_scope(s) for s in managed_scopes}
    found = [
        a
        for a in current
        if a.principal_id.lower() == principal_id.lower()
        and a.role_guid in ROLE_NAMES
        and a.key[0] not in in_scope
        and a.key[0].startswith(account + "/blobservices/default/containers/")
    ]
    return sorted(found, key=_sort_key)


def plan(
    current: Iterable[Assignment],
    wanted: set[tuple[str, str]],
    *,
    managed_scopes: Iterable[str],
    principal_id: str,
    exclusive: bool = True,
    state: str = "present",
) -> tuple[list[tuple[str, str]], list[Assignment]]:
    """(to_create, to_delete). ``to_create`` holds (scope, role GUID) pairs; ``to_delete`` holds
    existing assignments. Both are sorted so runs and diffs are stable."""
    mine = managed(current, managed_scopes, principal_id)
    if state == "absent":
        return [], sorted(mine, key=_sort_key)
    have = {a.key for a in mine}
    wanted_keys = {(normalise_scope(scope), guid.lower()) for scope, guid in wanted}
    to_create = sorted(
        (pair for pair in wanted if (normalise_scope(pair[0]), pair[1].lower()) not in have),
        key=lambda pair: (normalise_scope(pair[0]), pair[1].lower()),
    )
    to_delete = sorted((a for a in mine if a.key not in wanted_keys), key=_sort_key) if exclusive else []
    return to_create, to_delete


def _sort_key(a: Assignment) -> tuple[str, str, str]:
    return a.key + ((a.id or "").lower(),)


def short_scope(scope: str) -> str:
    """``container photos`` / ``account acme1``; any other scope as it is."""
    found = _CONTAINER_SCOPE.search(scope.rstrip("/"))
    if found:
        return f"container {found.group(2)}"
    found = _ACCOUNT_SCOPE.search(scope.rstrip("/"))
    if found:
        return f"account {found.group(1)}"
    return scope


def label(assignment: Assignment) -> str:
    return f"{assignment.role_name} @ {short_scope(assignment.scope)}"


def diff_text(assignments: Iterable[Assignment]) -> str:
    """One sorted line per assignment, for Ansible's line diff."""
    return "".join(f"{line}\n" for line in sorted(label(a) for a in assignments))


def retry_delays(timeout: float, first: float = 2.0, cap: float = 30.0) -> list[float]:
    """Exponential back-off delays (first, 2*first, ... up to cap) whose sum is ``timeout``."""
    delays: list[float] = []
    left, delay = float(timeout), first
    while left > 0:
        step = min(delay, cap, left)
        delays.append(step)
        left -= step
        delay *= 2
    return delays
