# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the storage_accounts inventory plugin decides, as pure functions: which storage accounts
(found in Azure) it keeps, and the inventory host each one becomes, its variables read from the
account's tags with the role's own checks.

No Ansible or Azure imports beyond the collection's own code; the plugin does the requests.
"""
from __future__ import annotations

import difflib
import fnmatch
import re
from typing import Any, Iterable, Mapping, Optional

from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import container_name_problem
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si

ACCOUNTS_GROUP = "v7_storage_accounts"
# inventory variable -> the storage account tag it is read from
TAGS = {"v7_team": "v7-team", "v7_containers": "v7-containers", "v7_prefix": "v7-prefix", "v7_write": "v7-write"}
DEFAULT_TAG_FILTER: dict[str, Any] = {"v7-team": None}
# StorageAccount.kind in Microsoft.Storage's spec
KINDS = ("Storage", "StorageV2", "BlobStorage", "BlockBlobStorage", "FileStorage")
# the sign-in options a `tenants` entry may set, besides `subscriptions`
TENANT_KEYS = tuple(k for k in AUTH_ARGUMENT_SPEC if k != "subscription_id") + ("subscriptions",)

_ACCOUNT_ID = re.compile(r"^/subscriptions/(?P<sid>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/", re.IGNORECASE)


# ---------------------------------------------------------------- tags -> variables


def tag_value(tags: Mapping[str, Any], name: str) -> Optional[str]:
    """A tag's value; Azure's tag names are case-insensitive, its values are not."""
    for key, value in (tags or {}).items():
        if str(key).lower() == name.lower():
            return "" if value is None else str(value)
    return None


def _from_tag(variable: str, problem: str) -> str:
    """The role's check of a variable, said of the tag the value came from."""
    detail = problem.split(": ", 1)[1] if problem.startswith(f"{variable}: ") else problem
    return (f"{variable}: the storage account's tag {TAGS[variable]} is wrong: {detail}. Correct the tag on the "
            "storage account in Azure")


def tag_variables(tags: Mapping[str, Any]) -> tuple[dict, dict]:
    """(variables, problems): the role's variables that the account's tags give, and for each tag
    the role would refuse, its variable -> why, said of the tag (the role's input check reports it
    in place of its own words about the variable). Such a value is still passed on where the role's
    argument spec takes its type, so that the input check is what fails; a v7-write that is not true
    or false is not. A tag that is absent gives nothing: the inventory may set the variable another
    way."""
    variables: dict[str, Any] = {}
    problems: dict[str, str] = {}

    team = tag_value(tags, TAGS["v7_team"])
    if team is not None:
        variables["v7_team"] = team
        problem = si.team_problem(team, "v7_team") if team.strip() else "v7_team: the tag is empty"
        if problem:
            problems["v7_team"] = _from_tag("v7_team", problem)

    containers = tag_value(tags, TAGS["v7_containers"])
    if containers is not None:
        variables["v7_containers"] = [c.strip() for c in containers.split(",")] if containers.strip() else []
        bad = [p for p in (container_name_problem(c, "v7_containers") for c in variables["v7_containers"]) if p]
        if bad:
            problems["v7_containers"] = _from_tag("v7_containers", "; ".join(
                b.split(": ", 1)[1] for b in bad) + " (write the names separated by commas)")

    prefix = tag_value(tags, TAGS["v7_prefix"])
    if prefix is not None:
        variables["v7_prefix"] = prefix.strip()
        problem = si.prefix_problem(prefix.strip())
        if problem:
            problems["v7_prefix"] = _from_tag("v7_prefix", problem)

    write = tag_value(tags, TAGS["v7_write"])
    if write is not None:
        parsed = si.parse_bool(write)
        if parsed is None:
            problems["v7_write"] = _from_tag("v7_write", f"{write!r} is not true or false")
        else:
            variables["v7_write"] = parsed
    return variables, problems


# ---------------------------------------------------------------- accounts found in Azure


def account_record(resource: Mapping[str, Any], tenant_id: str) -> dict:
    """What the inventory keeps of a storage account from ARM's list (and caches): no secret."""
    found = _ACCOUNT_ID.match(str(resource.get("id") or ""))
    if not found:
        raise ValueError(f"ARM listed a storage account without a resource id: {resource.get('name')!r}")
    return {
        "id": resource["id"],
        "name": str(resource["name"]),
        "tenant_id": tenant_id.lower(),
        "subscription_id": found.group("sid").lower(),
        "resource_group": found.group("rg"),
        "kind": resource.get("kind"),
        "location": resource.get("location"),
        "tags": {str(k): "" if v is None else str(v) for k, v in (resource.get("tags") or {}).items()},
    }


def host_variables(record: Mapping[str, Any]) -> dict:
    """The inventory host of one storage account: the role's variables, from Azure and the tags."""
    variables = {
        "v7_storage_account": record["name"],
        "v7_tenant_id": record["tenant_id"],
        "v7_subscription_id": record["subscription_id"],
        "v7_resource_group": record["resource_group"],
        "ansible_connection": "local",
    }
    from_tags, problems = tag_variables(record["tags"])
    variables.update(from_tags)
    if problems:
        variables["v7_tag_problems"] = problems
    return variables


def host_groups(record: Mapping[str, Any]) -> list[str]:
    """v7_storage_accounts > its tenant's group (the one the role uses) > its subscription's group."""
    return [ACCOUNTS_GROUP, si.group_name("tenant", record["tenant_id"]),
            si.group_name("subscription", record["subscription_id"])]


# ---------------------------------------------------------------- filters


def _names(value: Any) -> list[str]:
    return [str(v) for v in (value or [])]


def filter_problems(options: Mapping[str, Any]) -> list[str]:
    """The filter options that cannot be right; each problem starts with the option's name."""
    problems = []
    tags = options.get("tags")
    if not isinstance(tags, Mapping):
        problems.append("tags: must be a dict of tag name -> value (null: any value; a list: any of them)")
    else:
        for name, wanted in tags.items():
            if wanted is not None and not isinstance(wanted, (str, int, float, bool, list)):
                problems.append(f"tags.{name}: give a value, a list of values, or null for any value")
    for kind in _names(options.get("kinds")):
        if kind.lower() not in {k.lower() for k in KINDS}:
            problems.append(f"kinds: {kind!r} is not a kind of storage account; use {', '.join(KINDS)}")
    for option in ("include_resource_groups", "exclude_resource_groups", "include_names", "exclude_names"):
        if not isinstance(options.get(option) or [], list):
            problems.append(f"{option}: must be a list of names or shell-style patterns such as rg-data-*")
    return problems


def _matches(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _tag_matches(tags: Mapping[str, Any], name: str, wanted: Any) -> bool:
    value = tag_value(tags, str(name))
    if value is None:
        return False
    if wanted is None:
        return True
    allowed = wanted if isinstance(wanted, list) else [wanted]
    return value in {str(a).lower() if isinstance(a, bool) else str(a) for a in allowed}


def selected(record: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
    """Whether the inventory keeps a storage account: every tag filter, resource group and name
    patterns (case-insensitive, shell-style), and kinds. Empty lists filter nothing."""
    if not all(_tag_matches(record["tags"], name, wanted) for name, wanted in (options.get("tags") or {}).items()):
        return False
    group, name = record["resource_group"], record["name"]
    include_groups, include_names = _names(options.get("include_resource_groups")), _names(options.get("include_names"))
    if include_groups and not _matches(group, include_groups):
        return False
    if _matches(group, _names(options.get("exclude_resource_groups"))):
        return False
    if include_names and not _matches(name, include_names):
        return False
    if _matches(name, _names(options.get("exclude_names"))):
        return False
    kinds = {k.lower() for k in _names(options.get("kinds"))}
    return not kinds or str(record.get("kind") or "").lower() in kinds


# ---------------------------------------------------------------- configuration


def unknown_option_problems(given: Iterable[str], known: Iterable[str], where: str = "",
                            ignored: Iterable[str] = ()) -> list[str]:
    """An option the plugin does not know, with the one meant (azure-identity's and the Azure CLI's
    names of the sign-in options are known), or the closest one; never one it accepts and ignores."""
    known = list(known)
    meant = [k for k in known if k not in set(ignored)]
    problems = []
    for name in sorted(str(g) for g in given if g not in known):
        alias = si.AUTH_ALIASES.get(name)
        close = [alias] if alias in meant else difflib.get_close_matches(name, meant, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"the options are {', '.join(sorted(meant))}"
        problems.append(f"{where}{name}: not an option of v7labs.azure_storage.storage_accounts; {hint}")
    return problems


def tenant_problems(tenants: Any) -> list[str]:
    """The `tenants` option: a list of per-tenant sign-in options, each naming its tenant."""
    if not isinstance(tenants, list):
        return ["tenants: must be a list of sign-in options per tenant, each with at least tenant"]
    problems = []
    for index, entry in enumerate(tenants):
        where = f"tenants[{index}]."
        if not isinstance(entry, Mapping):
            problems.append(f"tenants[{index}]: must be a dict of sign-in options (tenant, client_id, secret, ...)")
            continue
        problems += unknown_option_problems(entry, TENANT_KEYS, where)
        if not entry.get("tenant"):
            problems.append(f"{where}tenant: required: the tenant (directory) ID these sign-in options are for")
        if not isinstance(entry.get("subscriptions") or [], list):
            problems.append(f"{where}subscriptions: must be a list of subscription IDs")
    return problems
