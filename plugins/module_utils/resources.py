# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Azure resource layer: every read and write the modules make on a storage account, its
Blob service, its containers, V7's role assignments there and the caller's permissions.

"Not found" is decided here, once: a missing storage account or container reads as None; a missing
resource group or subscription raises NotFound, whose message (the same wherever it appears) names
what is missing and what to check. Everything comes back in ARM's JSON shape (plain dicts) or as
this collection's own values (Assignment, CorsRule), so that the modules' logic never sees the SDK.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Optional

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import CorsRule, account_problem, has_blob_service
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, api_call
# where the modules used to import it from; it lives in errors (the failure path says it)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import NOTHING_CHANGED  # noqa: F401 pylint: disable=unused-import

# ARM's 404 codes, by what is missing. A storage account's GET answers ResourceNotFound (or
# StorageAccountNotFound from older API versions) when the account is missing, and names the
# resource group or subscription instead when one of those is.
_MISSING: dict[str, str] = {
    "SubscriptionNotFound": "subscription",
    "ResourceGroupNotFound": "resource_group",
    "ResourceNotFound": "account",
    "StorageAccountNotFound": "account",
    "ParentResourceNotFound": "account",
    "ContainerNotFound": "container",
}


def missing_kind(err: AzureApiError) -> Optional[str]:
    """What a 404 says is missing: subscription, resource_group, account or container; else None."""
    if err.status != 404:
        return None
    return _MISSING.get(err.code or "")


def missing_message(kind: str, *, subscription: str, group: str = "", account: str = "",
                    containers: Iterable[str] = ()) -> str:
    """The sentence for a missing subscription, resource group, storage account or containers."""
    if kind == "subscription":
        return (f"The subscription {subscription} was not found, or the signed-in identity cannot see it: "
                "check subscription_id.")
    if kind == "resource_group":
        return (f"The resource group {group} was not found in subscription {subscription}: check resource_group "
                "and subscription_id.")
    if kind == "account":
        return (f"The storage account {account} was not found in resource group {group} (subscription "
                f"{subscription}): check storage_account, resource_group and subscription_id.")
    names = ", ".join(containers)
    return (f"Containers not found in storage account {account}: {names}. Create them, or correct their names "
            "(containers).")


class NotFound(AzureApiError):
    """A missing subscription, resource group, storage account or containers, said once for all."""

    def __init__(self, kind: str, message: str, code: Optional[str] = None) -> None:
        super().__init__(message, status=404, code=code or {"container": "ContainerNotFound"}.get(kind, "ResourceNotFound"))
        self.kind = kind


def _status(pipeline_response, _deserialized, _headers) -> int:
    return pipeline_response.http_response.status_code


def _status_and_body(pipeline_response, deserialized, _headers):
    return pipeline_response.http_response.status_code, deserialized


class StorageAccount:
    """One storage account: ``storage`` and ``authorization`` are the SDK's management clients
    for its subscription (the authorization client is only built when first needed)."""

    def __init__(self, storage, authorization: Callable[[], Any], subscription: str, group: str, name: str,
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._storage = storage
        self._authorization_factory = authorization
        self._authorization = None
        self.subscription = subscription
        self.group = group
        self.name = name
        self._sleep = sleep

    # ------------------------------------------------------------ helpers
    @property
    def authz(self):
        if self._authorization is None:
            self._authorization = self._authorization_factory()
        return self._authorization

    @property
    def scope(self) -> str:
        return ra.account_scope(self.subscription, self.group, self.name)

    def missing(self, kind: str, containers: Iterable[str] = (), code: Optional[str] = None) -> NotFound:
        return NotFound(kind, missing_message(kind, subscription=self.subscription, group=self.group,
                                              account=self.name, containers=containers), code)

    def _call(self, what: str, call: Callable[[], Any], *, absent: Optional[str] = None,
              container: Optional[str] = None) -> Any:
        """``call()``, its Azure errors turned into AzureApiError (``what`` completes "Failed to ...").
        Every read and write of the account goes through here, so that a missing subscription,
        resource group, account or ``container`` reads the same wherever it is found: None when what
        is missing is of kind ``absent``; NotFound otherwise."""
        try:
            with api_call(what):
                return call()
        except AzureApiError as err:
            kind = missing_kind(err)
            if kind is not None and kind == absent:
                return None
            if kind is None or (kind == "container" and container is None):
                raise
            raise self.missing(kind, [container] if container else (), code=err.code) from None

    # ------------------------------------------------------------ the account
    def read(self) -> Optional[dict]:
        """The account's ARM body; None when it does not exist in an existing resource group."""
        return self._call(f"read storage account {self.name} in resource group {self.group}",
                          lambda: self._storage.storage_accounts.get_properties(self.group, self.name).as_dict(),
                          absent="account")

    def require(self) -> dict:
        """The account's ARM body; NotFound when it does not exist."""
        found = self.read()
        if found is None:
            raise self.missing("account")
        return found

    def permissions(self) -> list[dict]:
        """The caller's actions and notActions at the account, one entry per role assignment that applies."""
        entries = self._call(f"read the operator's permissions on storage account {self.name}",
                             lambda: list(self.authz.permissions.list_for_resource(
                                 self.group, "Microsoft.Storage", "", "storageAccounts", self.name)))
        return [{"actions": list(e.actions or []), "notActions": list(e.not_actions or [])} for e in entries]

    # ------------------------------------------------------------ the Blob service's CORS rules
    def cors_rules(self) -> list[CorsRule]:
        return _rules_of(self._call(f"read the Blob service CORS rules of storage account {self.name}",
                                    lambda: self._storage.blob_services.get_service_properties(self.group, self.name)))

    def set_cors_rules(self, rules: list[CorsRule]) -> list[CorsRule]:
        """Write the rules; returns the rules as Azure's reply has them."""
        from azure.mgmt.storage import models  # the client has imported it already

        # Only `cors`: ARM keeps every top-level property the PUT does not send.
        body = models.BlobServiceProperties(
            cors=models.CorsRules(cors_rules=[models.CorsRule(r.to_arm()) for r in rules]))
        return _rules_of(self._call(f"write the Blob service CORS rules of storage account {self.name}",
                                    lambda: self._storage.blob_services.set_service_properties(self.group, self.name, body)))

    # ------------------------------------------------------------ containers
    def container(self, name: str) -> Optional[dict]:
        """The container's ARM body; None when the account has no such container."""
        return self._call(f"read container {name} of storage account {self.name}",
                          lambda: self._storage.blob_containers.get(self.group, self.name, name).as_dict(),
                          absent="container", container=name)

    def create_container(self, name: str, metadata: Optional[dict] = None) -> bool:
        """Create the container; False when Azure says it was already there (200, not 201)."""
        from azure.mgmt.storage import models  # the client has imported it already

        body = models.BlobContainer(metadata=metadata) if metadata else models.BlobContainer()
        status = self._call(f"create container {name} in storage account {self.name}",
                            lambda: self._storage.blob_containers.create(self.group, self.name, name, body, cls=_status),
                            container=name)
        return status == 201

    def delete_container(self, name: str) -> None:
        self._call(f"delete container {name} of storage account {self.name}",
                   lambda: self._storage.blob_containers.delete(self.group, self.name, name), container=name)

    # ------------------------------------------------------------ V7's role assignments
    def assignments(self, principal: str) -> list[ra.Assignment]:
        """The principal's assignments at, above and below the account: with a principalId filter
        ARM lists all three, so one call covers the account and all its containers."""
        return self.assignments_at(self.scope, principal)

    def assignments_at(self, scope: str, principal: str) -> list[ra.Assignment]:
        items = self._call(f"list the role assignments of {principal} on {ra.short_scope(scope)}",
                           lambda: list(self.authz.role_assignments.list_for_scope(
                               scope, filter=f"principalId eq '{principal}'")))
        return [ra.from_api(item) for item in items]

    def create_assignment(self, scope: str, guid: str, principal: str, timeout: float) -> tuple[ra.Assignment, bool]:
        """(assignment, created). A 409 RoleAssignmentExists means present under another name; a
        400 PrincipalNotFound (directory replication) is retried for up to ``timeout`` seconds."""
        from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

        target = ra.predicted(self.subscription, scope, guid, principal)
        parameters = RoleAssignmentCreateParameters(
            role_definition_id=target.role_definition_id, principal_id=principal, principal_type="ServicePrincipal")
        deadline = time.monotonic() + timeout
        delays = iter(ra.retry_delays(timeout))
        while True:
            try:
                status, reply = self._call(f"assign {target.role_name} on {ra.short_scope(scope)}",
                                           lambda: self.authz.role_assignments.create(scope, target.name, parameters,
                                                                                      cls=_status_and_body))
                # 200: an assignment under this very name was already there (a concurrent run made it)
                return (ra.from_api(reply) if reply is not None and reply.scope else target), status == 201
            except AzureApiError as err:
                if err.code == "RoleAssignmentExists":
                    return self._existing_twin(target), False
                if err.code != "PrincipalNotFound":
                    raise
                delay = next(delays, None)
                remaining = deadline - time.monotonic()
                if delay is None or remaining <= 0:
                    raise AzureApiError(
                        f"{err} The service principal {principal} is not yet visible to Azure Resource Manager "
                        f"(directory replication after it is created can take minutes; waited {timeout:g} s). Re-run "
                        "the task, or raise replication_timeout. If it persists, check that principal_id is the "
                        "service principal's object id in this subscription's tenant.",
                        status=err.status, code=err.code) from None
                self._sleep(min(delay, remaining))

    def _existing_twin(self, target: ra.Assignment) -> ra.Assignment:
        """The assignment ARM says already exists for target's (scope, role, principal)."""
        matches = [a for a in self.assignments_at(target.scope, target.principal_id) if a.key == target.key]
        return matches[0] if matches else ra.Assignment(target.scope, target.role_definition_id, target.principal_id)

    def delete_assignment(self, assignment: ra.Assignment) -> None:
        self._call(f"remove {ra.label(assignment)}", lambda: self.authz.role_assignments.delete_by_id(assignment.id))


def require_blob_service(account: Any, *, cors: bool = False) -> dict:
    """The ARM body of ``account`` (a StorageAccount) when V7 can use its Blob service, and with
    ``cors`` also set CORS rules on it. NotFound when the account is missing; one refusal, worded
    the same for every module, when it has no Blob service (or, with ``cors``, no Blob CORS)."""
    found = account.require()
    sku = found.get("sku") or {}
    problem = account_problem(found.get("kind"), sku.get("name"), sku.get("tier"))
    if problem and (cors or not has_blob_service(found.get("kind"))):
        raise AzureApiError(f"Storage account {account.name} cannot be used by V7: {problem}.",
                            code="FeatureNotSupportedForAccount")
    return found


def _rules_of(service: Any) -> list[CorsRule]:
    stored = (getattr(service, "cors", None) and service.cors.cors_rules) or []
    return [CorsRule.from_arm(rule.as_dict()) for rule in stored]


# Microsoft.Resources' Subscriptions_List (subscriptions.json).
SUBSCRIPTIONS_API_VERSION = "2022-12-01"


def tenant_assignments(clients, principal: str) -> list[ra.Assignment]:
    """Every role assignment of the principal at any scope the caller can read across the signed-in
    tenant's subscriptions: one list per subscription, with a principalId filter (which lists the
    assignments at, above and below the subscription)."""
    with api_call("list the subscriptions the signed-in identity can see"):
        subscriptions = clients.arm.list("/subscriptions", SUBSCRIPTIONS_API_VERSION)
    tenant = clients.tenant_id.lower()
    found: dict[str, ra.Assignment] = {}
    for subscription in subscriptions:
        if str(subscription.get("tenantId", tenant)).lower() != tenant:
            continue
        sid = subscription["subscriptionId"]
        with api_call(f"list the role assignments of {principal} in subscription {sid}"):
            items = clients.authorization(sid).role_assignments.list_for_scope(
                f"/subscriptions/{sid}", filter=f"principalId eq '{principal}'")
            for assignment in map(ra.from_api, items):
                found[(assignment.id or "").lower() or assignment.scope.lower()] = assignment
    return sorted(found.values(), key=lambda a: (a.scope.lower(), a.role_guid))
