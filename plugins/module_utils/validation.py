# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The forms Azure's names and ids must have, checked the same way by every module before any
request. Each check returns None or one problem that starts with the option's name and says how to
write the value; errors.InputError turns a module's problems into its failure.

Pure functions only (no Azure SDK imports).
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import normalise_origin

_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
# 3-63 characters; lowercase letters, digits and hyphens; every hyphen between two letters or digits.
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:-?[a-z0-9])*$")
# ARM: 1-90 characters, Unicode letters and digits, '_', '-', '.', '(' and ')'; no '.' at the end.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
# A tenant may also be named by one of its domains (contoso.onmicrosoft.com).
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)

# auth option -> environment variables that can also set it (the same order as auth.ENV_FALLBACKS)
_ENV_NAMES = {
    "subscription_id": "AZURE_SUBSCRIPTION_ID",
    "tenant": "AZURE_TENANT or AZURE_TENANT_ID",
    "client_id": "AZURE_CLIENT_ID",
}


is_guid = v7.is_guid


def principal_id_problem(value: Any, option: str = "principal_id") -> Optional[str]:
    """V7's service principal is named by its object id in the customer's tenant, not by V7's app id."""
    if isinstance(value, str) and value.lower() == v7.APP_ID:
        return (f"{option}: {value} is V7's application (client) id; give the object id of its service "
                "principal in this tenant (the object_id returned by v7labs.azure_storage.v7_service_principal)")
    if is_guid(value):
        return None
    return (f"{option}: {value!r} is not a GUID; {option} must be the object id (a GUID) of V7's service "
            "principal (the object_id returned by v7labs.azure_storage.v7_service_principal)")


def account_name_problem(name: str, option: str = "storage_account") -> Optional[str]:
    if _ACCOUNT_NAME.fullmatch(name or ""):
        return None
    return (f"{option}: {name!r} is not a storage account name (3 to 24 characters, lowercase "
            f"letters and digits only)")


def container_name_problem(name: str, option: str = "name") -> Optional[str]:
    if _CONTAINER_NAME.fullmatch(name or ""):
        return None
    return (f"{option}: {name!r} is not a container name (3 to 63 characters, lowercase letters, digits "
            f"and hyphens, starting and ending with a letter or digit, no two hyphens in a row)")


def resource_group_problem(name: str, option: str = "resource_group") -> Optional[str]:
    if _RESOURCE_GROUP.fullmatch(name or ""):
        return None
    return (f"{option}: {name!r} is not a resource group name (1 to 90 letters, digits, underscores, "
            f"hyphens, periods and parentheses, not ending with a period)")


def origin_problem(origin: str, option: str, allow_star: bool = True) -> Optional[str]:
    value = normalise_origin(str(origin))
    if value is not None and (allow_star or value != "*"):
        return None
    either = "'*' or " if allow_star else ""
    return (f"{option}: {origin!r} is not {either}an http(s) origin such as {v7.ORIGIN} (scheme and host, "
            f"optional port, no path)")


def storage_account_problems(params: Mapping[str, Any]) -> list[str]:
    """The options of doc fragment storage_account: resource_group and storage_account."""
    checks = (resource_group_problem(params["resource_group"]), account_name_problem(params["storage_account"]))
    return [p for p in checks if p]


def _source(option: str, sources: Mapping[str, str]) -> str:
    source = sources.get(option)
    return f" (from environment variable {source})" if source and source != "option" else ""


def auth_problems(subscription_id: Optional[str], tenant: Optional[str], client_id: Optional[str],
                  sources: Mapping[str, str], needs_subscription: bool = True) -> list[str]:
    """The sign-in values that cannot be right, whether from the options or the environment."""
    problems = []
    if needs_subscription and subscription_id is not None and not is_guid(subscription_id):
        problems.append(f"subscription_id: {subscription_id!r}{_source('subscription_id', sources)} is not a "
                        f"subscription ID: set subscription_id (or {_ENV_NAMES['subscription_id']}) to the "
                        f"subscription's GUID (az account list --query '[].id'), not its name")
    if tenant is not None and not (is_guid(tenant) or _DOMAIN.fullmatch(tenant)):
        problems.append(f"tenant: {tenant!r}{_source('tenant', sources)} is not a tenant ID: set tenant (or "
                        f"{_ENV_NAMES['tenant']}) to the directory (tenant) ID, a GUID (az account show "
                        f"--query tenantId), or one of the tenant's domains such as contoso.onmicrosoft.com")
    if client_id is not None and not is_guid(client_id):
        problems.append(f"client_id: {client_id!r}{_source('client_id', sources)} is not an application "
                        f"(client) ID: set client_id (or {_ENV_NAMES['client_id']}) to the GUID of the app "
                        f"registration or managed identity that signs in, not its display name")
    return problems


def settings_problems(settings: Any, needs_subscription: bool = True) -> list[str]:
    """auth_problems of an auth.AuthSettings."""
    return auth_problems(settings.subscription_id, settings.tenant, settings.client_id, settings.sources,
                         needs_subscription)
