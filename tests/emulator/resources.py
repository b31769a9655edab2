"""Microsoft.Resources: the subscriptions and tenants a caller can see.

What every client asks ARM right after sign-in (azure-cli's `az login` lists `GET /tenants` and
then `GET /subscriptions` per tenant, azure/cli/core/_profile.py; azure-identity users do the same
through azure-mgmt-resource's SubscriptionClient), and what the offboarding check reads to tell a
subscription it can no longer see from one that is gone.

Shapes: Microsoft.Resources' `subscriptions.json`, api-version 2022-12-01
(tests/fidelity/reference/specs/specification/resources/...), operations Subscriptions_List,
Subscriptions_Get and Tenants_List. Where live ARM departs from that spec the emulator follows ARM
(and tests/fidelity/spec_check.py names each departure):

- `GET /subscriptions` carries `"count": {"type": "Total", "value": N}` next to `value`, and no
  `nextLink` on the last page, though the spec declares no `count` and requires `nextLink`. Live
  replies quoted in public write-ups show it, e.g.
  `{"value":[{"id":"/subscriptions/…","authorizationSource":"RoleBased","managedByTenants":[],
  "tags":{…},"subscriptionId":"…","tenantId":"…","displayName":"…","state":"Enabled",
  "subscriptionPolicies":{"locationPlacementId":"Public_2014-09-01","quotaId":"…",
  "spendingLimit":"Off"}}],"count":{"type":"Total","value":1}}`; azure-core's pager stops when
  `nextLink` is absent, so no client needs it.
- `GET /tenants` likewise has no `nextLink` on its only page.

Who sees what: a subscription is listed for a caller that holds any role assignment at, above or
below it (a Reader on one resource group sees the subscription, as in Azure, with
`authorizationSource` RoleBased), in the caller's own tenant; a caller of another tenant never
sees it. `GET /subscriptions/{id}` answers the same way: 404 SubscriptionNotFound for an id ARM
does not know, 401 InvalidAuthenticationTokenTenant for another tenant's, and 403
AuthorizationFailed (action Microsoft.Resources/subscriptions/read) for one of the caller's tenant
it holds no role on.
"""
from __future__ import annotations

import re

from . import responses
from .arm import ArmError, Ctx

SUBSCRIPTION_READ = "Microsoft.Resources/subscriptions/read"


def _within(child: str, parent: str) -> bool:
    child, parent = child.rstrip("/").lower() + "/", parent.rstrip("/").lower() + "/"
    return child.startswith(parent)


def visible(ctx: Ctx, sub: dict) -> bool:
    """Whether the caller sees the subscription: same tenant, and a role assignment at, above or
    below the subscription's scope."""
    if sub["tenant_id"] != ctx.caller.tenant_id:
        return False
    scope = f"/subscriptions/{sub['id']}"
    principal = ctx.caller.object_id.lower()
    return any(
        ra["principal_id"] == principal and (_within(ra["scope"], scope) or _within(scope, ra["scope"]))
        for ra in ctx.state.role_assignments.values()
    )


def subscription_body(sub: dict) -> dict:
    """Subscription (subscriptions.json 2022-12-01), in the order live ARM sends its keys."""
    return {
        "id": f"/subscriptions/{sub['id']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": dict(sub.get("tags") or {}),
        "subscriptionId": sub["id"],
        "tenantId": sub["tenant_id"],
        "displayName": sub["display_name"],
        "state": sub["state"],
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def list_subscriptions(ctx: Ctx):
    """Subscriptions_List: every subscription the caller can see, all on one page."""
    items = [subscription_body(sub) for sub in ctx.state.subscriptions.values() if visible(ctx, sub)]
    return responses.arm({"value": items, "count": {"type": "Total", "value": len(items)}})


def get_subscription(ctx: Ctx):
    """Subscriptions_Get."""
    sub = ctx.subscription(ctx.groups["sid"])  # 404 SubscriptionNotFound, 401 for another tenant's
    if not visible(ctx, sub):
        ctx.authorize(SUBSCRIPTION_READ, f"/subscriptions/{ctx.groups['sid']}")
    return responses.arm(subscription_body(sub))


def default_domain(tenant: dict) -> str:
    """`<name>.onmicrosoft.com`, the initial domain Entra gives every tenant."""
    name = re.sub(r"[^a-z0-9]", "", tenant["display_name"].lower()) or tenant["id"].split("-")[0]
    return f"{name}.onmicrosoft.com"


def tenant_body(tenant: dict) -> dict:
    """TenantIdDescription (subscriptions.json 2022-12-01) of the caller's home tenant."""
    domain = default_domain(tenant)
    return {
        "id": f"/tenants/{tenant['id']}",
        "tenantId": tenant["id"],
        "countryCode": "US",
        "displayName": tenant["display_name"],
        "domains": [domain],
        "tenantCategory": "Home",
        "defaultDomain": domain,
        "tenantType": "AAD",
    }


def list_tenants(ctx: Ctx):
    """Tenants_List: the tenants the caller's account belongs to; a service principal belongs to
    its home tenant only."""
    tenant = ctx.state.tenants.get(ctx.caller.tenant_id)
    return responses.arm({"value": [tenant_body(tenant)] if tenant else []})


READ_ONLY_STATES = ("Disabled", "Deleted")


def refuse_writes_when_read_only(sub: dict, method: str) -> None:
    """A disabled (or deleted) subscription is read-only: ARM refuses every write with 409
    ReadOnlyDisabledSubscription and still serves reads."""
    if method in ("PUT", "PATCH", "POST", "DELETE") and sub["state"] in READ_ONLY_STATES:
        raise ArmError(
            409,
            "ReadOnlyDisabledSubscription",
            f"The subscription '{sub['id']}' is disabled and therefore marked as read only. You cannot perform "
            "any write actions on this subscription until it is re-enabled.",
        )
