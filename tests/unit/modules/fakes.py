"""Small in-memory stand-ins for the modules' tests: a fake Ansible module and a fake storage
account with the same methods and attributes as resources.StorageAccount, over plain dicts.

Every call is recorded in ``calls``; every write that succeeded in ``writes``, so that a test can
say "nothing was written in check mode" or "exactly these writes, in this order".
"""
from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Optional

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC, AuthSettings
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import CorsRule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import MESSAGE_OPTIONS, rename_options
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import NotFound, missing_message

SUB = "00000000-0000-0000-0000-000000000001"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
RG = "rg-data"
ACCOUNT = "acme1"
PRINCIPAL = "5f3c8a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
OTHER_PRINCIPAL = "11111111-2222-3333-4444-555555555555"
ACCOUNT_SCOPE = ra.account_scope(SUB, RG, ACCOUNT)
# What every module says of a FileStorage account (resources.require_blob_service).
FILE_STORAGE_REFUSAL = (
    f"Storage account {ACCOUNT} cannot be used by V7: kind FileStorage (sku Premium_LRS) has no Blob service. V7 needs "
    "an account with a Blob service that supports CORS: general-purpose v2 (StorageV2) with a Standard SKU, "
    "BlockBlobStorage or BlobStorage.")

# ------------------------------------------------------------------ the module


def defaults(spec: dict) -> dict:
    return {name: copy.deepcopy(option.get("default")) for name, option in spec.items()}


def fake_module(argument_spec: dict, *, check: bool = False, diff: bool = False, auth: Optional[AuthSettings] = None,
                **params: Any) -> SimpleNamespace:
    """A module whose params are every option of argument_spec (and the sign-in options) at their
    defaults, overridden by ``params``; a misspelt option is a KeyError, not a silent default."""
    spec = dict(AUTH_ARGUMENT_SPEC, **MESSAGE_OPTIONS, **argument_spec)
    values = defaults(spec)
    values.update(resource_group=RG, storage_account=ACCOUNT, subscription_id=SUB, tenant=TENANT)
    unknown = set(params) - set(spec)
    if unknown:
        raise KeyError(f"not options of this module: {sorted(unknown)}")
    values.update(params)
    warnings: list[str] = []

    def storage_account():
        raise AssertionError("the test passes the account; the module must not build its own")

    return SimpleNamespace(
        params=values,
        check_mode=check,
        diff_mode=diff,
        auth=auth or AuthSettings(credential_kind="secret", tenant=TENANT, subscription_id=SUB),
        warn=warnings.append,
        warnings=warnings,
        storage_account=storage_account,
        # the real one renames options as option_names says
        say=lambda text: rename_options(text, values.get("option_names") or {}),
    )


# ------------------------------------------------------------------ ARM bodies


def account_body(kind: str = "StorageV2", sku: str = "Standard_LRS", tier: Optional[str] = None, *,
                 public: Optional[str] = "Enabled", default_action: str = "Allow", ip_rules: Iterable[str] = (),
                 name: str = ACCOUNT) -> dict:
    return {
        "id": ra.account_scope(SUB, RG, name),
        "name": name,
        "kind": kind,
        "location": "westeurope",
        "sku": {"name": sku, "tier": tier or sku.split("_")[0]},
        "properties": {
            "publicNetworkAccess": public,
            "networkAcls": {"defaultAction": default_action, "bypass": "AzureServices",
                            "ipRules": [{"value": v, "action": "Allow"} for v in ip_rules]},
            "allowSharedKeyAccess": False,
            "primaryEndpoints": {} if kind == "FileStorage" else {"blob": f"https://{name}.blob.core.windows.net/"},
        },
    }


def container_body(name: str, metadata: Optional[dict] = None, account: str = ACCOUNT) -> dict:
    body = {"id": ra.container_scope(ra.account_scope(SUB, RG, account), name), "name": name}
    if metadata is not None:
        body["metadata"] = dict(metadata)
    return body


def rule(origins, methods, allowed=("*",), exposed=(), max_age=0) -> CorsRule:
    return CorsRule(tuple(origins), tuple(methods), tuple(allowed), tuple(exposed), max_age)


def assignment(where: str, guid: str, principal: str = PRINCIPAL, *, name: Optional[str] = None) -> ra.Assignment:
    """An existing assignment at 'account', 'rg', 'sub' or a container name, named as by hand
    (any name) unless ``name`` is given."""
    scope = {"account": ACCOUNT_SCOPE, "rg": f"/subscriptions/{SUB}/resourceGroups/{RG}",
             "sub": f"/subscriptions/{SUB}"}.get(where) or ra.container_scope(ACCOUNT_SCOPE, where)
    name = name or f"hand-{where}-{guid[:8]}-{principal[:4]}"
    return ra.Assignment(scope, ra.role_definition_id(SUB, guid), principal, ra.assignment_id(scope, name), name)


def api_error(code: str, status: int = 400, message: str = "refused") -> AzureApiError:
    return AzureApiError(f"Failed to do it: {code}: {message}.", status=status, code=code, service_message=message)


# ------------------------------------------------------------------ the storage account

# Outcomes of create_assignment, keyed (scope, role GUID) in FakeAccount.outcomes:
EXISTS_UNLISTED = "exists-unlisted"   # 409 RoleAssignmentExists and the twin not listed yet
ALREADY_200 = "200"                   # a concurrent run made it under this very name


class FakeAccount:
    """resources.StorageAccount over an in-memory world.

    ``body`` None: the account does not exist (in an existing resource group); ``group_missing``:
    the resource group does not exist either. ``fail`` maps a method name to the AzureApiError it
    raises (or to a callable(*args) that returns one, or None to go on).
    """

    def __init__(self, body: Optional[dict] = None, *, containers: Iterable[dict] = (), cors: Iterable[CorsRule] = (),
                 assignments: Iterable[ra.Assignment] = (), permissions: Optional[list] = None,
                 group_missing: bool = False, fail: Optional[dict] = None, outcomes: Optional[dict] = None,
                 cors_reply: Optional[Callable[[list], list]] = None, name: str = ACCOUNT) -> None:
        self.subscription, self.group, self.name = SUB, RG, name
        self.body = body
        self.containers = {c["name"]: copy.deepcopy(c) for c in containers}
        self.rules = list(cors)
        self.held = list(assignments)
        self.perms = [{"actions": ["*"], "notActions": []}] if permissions is None else permissions
        self.group_missing = group_missing
        self.fail = dict(fail or {})
        self.outcomes = dict(outcomes or {})
        self.cors_reply = cors_reply
        self.calls: list[tuple] = []
        self.writes: list[tuple] = []

    # -------------------------------------------------------------- plumbing
    @property
    def scope(self) -> str:
        return ra.account_scope(self.subscription, self.group, self.name)

    def _enter(self, method: str, *args) -> None:
        self.calls.append((method, *args))
        failure = self.fail.get(method)
        if callable(failure) and not isinstance(failure, BaseException):
            failure = failure(*args)
        if failure is not None:
            raise failure

    def _require_scope(self) -> None:
        if self.group_missing:
            raise self.missing("resource_group", code="ResourceGroupNotFound")

    def missing(self, kind: str, containers: Iterable[str] = (), code: Optional[str] = None) -> NotFound:
        return NotFound(kind, missing_message(kind, subscription=self.subscription, group=self.group,
                                              account=self.name, containers=containers), code)

    @property
    def reads(self) -> list[str]:
        return [c[0] for c in self.calls]

    # -------------------------------------------------------------- the account
    def read(self) -> Optional[dict]:
        self._enter("read")
        self._require_scope()
        return copy.deepcopy(self.body)

    def require(self) -> dict:
        found = self.read()
        if found is None:
            raise self.missing("account")
        return found

    def permissions(self) -> list[dict]:
        self._enter("permissions")
        return copy.deepcopy(self.perms)

    # -------------------------------------------------------------- CORS
    def cors_rules(self) -> list[CorsRule]:
        self._enter("cors_rules")
        return list(self.rules)

    def set_cors_rules(self, rules: list[CorsRule]) -> list[CorsRule]:
        self._enter("set_cors_rules", list(rules))
        stored = self.cors_reply(list(rules)) if self.cors_reply else list(rules)
        self.rules = list(stored)
        self.writes.append(("set_cors_rules", list(rules)))
        return list(stored)

    # -------------------------------------------------------------- containers
    def container(self, name: str) -> Optional[dict]:
        self._enter("container", name)
        self._require_scope()
        if self.body is None:
            raise self.missing("account", code="ParentResourceNotFound")
        found = self.containers.get(name)
        return copy.deepcopy(found) if found is not None else None

    def create_container(self, name: str, metadata: Optional[dict] = None) -> bool:
        self._enter("create_container", name, metadata)
        created = name not in self.containers
        if created:
            self.containers[name] = container_body(name, metadata or None, self.name)
        self.writes.append(("create_container", name, dict(metadata or {})))
        return created

    def delete_container(self, name: str) -> None:
        self._enter("delete_container", name)
        self.containers.pop(name, None)
        self.writes.append(("delete_container", name))

    # -------------------------------------------------------------- role assignments
    def assignments(self, principal: str) -> list[ra.Assignment]:
        return self.assignments_at(self.scope, principal)

    def assignments_at(self, scope: str, principal: str) -> list[ra.Assignment]:
        """At, above and below ``scope``, as ARM lists them with a principalId filter."""
        self._enter("assignments_at", scope, principal)
        self._require_scope()
        if self.body is None:
            raise self.missing("account", code="ResourceNotFound")
        here = ra.normalise_scope(scope)
        return [a for a in self.held if a.principal_id.lower() == principal.lower()
                and (here.startswith(a.key[0] + "/") or a.key[0] == here or a.key[0].startswith(here + "/"))]

    def create_assignment(self, scope: str, guid: str, principal: str, timeout: float) -> tuple[ra.Assignment, bool]:
        self._enter("create_assignment", scope, guid, principal, timeout)
        target = ra.predicted(self.subscription, scope, guid, principal)
        outcome = self.outcomes.get((scope, guid))
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == EXISTS_UNLISTED:
            return ra.Assignment(target.scope, target.role_definition_id, principal), False
        twins = [a for a in self.held if a.key == target.key and a.principal_id.lower() == principal.lower()]
        if twins:  # 409 RoleAssignmentExists: the one made under another name
            return twins[0], False
        self.held.append(target)
        self.writes.append(("create_assignment", ra.label(target)))
        return target, outcome != ALREADY_200

    def delete_assignment(self, assignment: ra.Assignment) -> None:
        self._enter("delete_assignment", assignment.id)
        self.held = [a for a in self.held if a.id != assignment.id]
        self.writes.append(("delete_assignment", ra.label(assignment)))
