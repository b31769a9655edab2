# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage_integration role's filters (each documented in its own .yml file): tenant_hosts,
tenant_principal and account_scopes."""
from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.v7labs.azure_storage.plugins.module_utils.role_assignments import account_scope
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.storage_integration import tenant_principal

# What the role registers for V7's service principal: the create step's result first, since it is newer.
REGISTERED = (("create", "__v7_principal_created"), ("lookup", "__v7_principal_lookup"))


def _results(hosts, hostvars):
    # Reading a host's variables costs time: stop at the first host that has an answer.
    for host in hosts:
        host_vars = hostvars[host]
        for step, name in REGISTERED:
            try:
                value = host_vars[name]
            except (KeyError, TypeError):
                continue
            if isinstance(value, Mapping):
                yield step, value


def tenant_hosts(hosts, group):
    """The hosts that are in the group, in the order of ``hosts`` (Ansible's intersect loses it)."""
    members = set(group or ())
    return [host for host in hosts if host in members]


def tenant_principal_filter(hosts, hostvars, object_id=None):
    if object_id:
        return {"object_id": str(object_id).lower(), "known": True, "pending": False, "error": None}
    return tenant_principal(_results(hosts, hostvars))


def account_scopes(hosts, hostvars, done=None):
    """The ARM scope of each account the role checked, of the given hosts; with ``done``, only of
    those where the task registered as ``done`` ran."""
    scopes = []
    for host in hosts:
        try:
            host_vars = hostvars[host]
            account = host_vars["__v7_inputs"]["account"]
            if done and (not isinstance(host_vars[done], Mapping) or host_vars[done].get("skipped")):
                continue
        except (KeyError, TypeError):
            continue
        scopes.append(account_scope(account["subscription_id"], account["resource_group"], account["storage_account"]))
    return scopes


class FilterModule:
    def filters(self):
        return {"tenant_hosts": tenant_hosts, "tenant_principal": tenant_principal_filter,
                "account_scopes": account_scopes}
