# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a storage account is ready for V7 Darwin, worked out from plain dicts.

Pure functions only (no Azure SDK imports). The storage account travels in ARM's JSON shape
(``kind``, ``sku.name``, ``properties.publicNetworkAccess``, ``properties.networkAcls``, ...), the
caller's permissions as ARM's Permissions_ListForResource entries (``actions``, ``notActions``),
one entry per role assignment that applies at the account.

What V7 needs from an account (V7's Azure setup guide): a public endpoint; with the firewall on, V7's
server IPs in its IP rules; a Blob service that accepts CORS rules for V7's origins; the
containers it is given. What the operator running the setup needs: to read the account, to write
the Blob service's CORS rules, to create containers, and to create role assignments.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Mapping, Optional, Sequence

from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import account_problem, normalise_origin
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import raise_problems
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    account_name_problem, container_name_problem, origin_problem)

IPv4Net = ipaddress.IPv4Network

# RFC 1918: Azure Storage refuses these in IP rules, and V7's servers do not come from them.
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

# operator flag -> the ARM action it needs at the storage account, and the roles that grant it
OPERATOR_ACTIONS: dict[str, str] = {
    "can_assign_roles": "Microsoft.Authorization/roleAssignments/write",
    "can_write_cors": "Microsoft.Storage/storageAccounts/blobServices/write",
    "can_create_containers": "Microsoft.Storage/storageAccounts/blobServices/containers/write",
    "can_read": "Microsoft.Storage/storageAccounts/read",
}
_ROLES_FOR: dict[str, str] = {
    "can_assign_roles": "Owner, User Access Administrator or Role Based Access Control Administrator",
    "can_write_cors": "Owner, Contributor or Storage Account Contributor",
    "can_create_containers": "Owner, Contributor, Storage Account Contributor or Storage Blob Data Contributor",
    "can_read": "Reader (or any role that grants */read)",
}


# What stands in V7's way, by kind (the ``code`` of each entry of ``issues``). The role decides from
# these codes which stop an account before its first write and which leave it configured but blocked.
NOT_FOUND = "account_not_found"
NO_BLOB_CORS = "no_blob_cors"
PUBLIC_ACCESS_DISABLED = "public_access_disabled"
FIREWALL_NO_V7_IPS = "firewall_no_v7_ips"
FIREWALL_MISSING_V7_IPS = "firewall_missing_v7_ips"
CONTAINER_MISSING = "container_missing"
OPERATOR_LACKS_RIGHT = "operator_lacks_right"
CORS_LIMITS = "cors_limits"
CORS_PREFLIGHT_REFUSED = "cors_preflight_refused"
NETWORK = (PUBLIC_ACCESS_DISABLED, FIREWALL_NO_V7_IPS, FIREWALL_MISSING_V7_IPS)


def issue(code: str, message: str, **details: Any) -> dict:
    return dict(details, code=code, message=message)


# ---------------------------------------------------------------- names and addresses


def parse_v7_ip(value: str) -> IPv4Net:
    """One V7 address or CIDR range as a network; ValueError saying why it is not usable."""
    text = str(value).strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 address or CIDR range") from None
        raise ValueError(f"{value!r} has host bits set; the range is {loose}") from None
    if not isinstance(network, IPv4Net):
        raise ValueError(f"{value!r} is IPv6; Azure Storage IP rules and V7's server IPs are IPv4")
    if any(network.overlaps(private) for private in _PRIVATE):
        raise ValueError(f"{value!r} is a private (RFC 1918) address, which Azure Storage's firewall "
                         f"cannot allow and V7 does not connect from")
    return network


def validate_inputs(storage_account: str, containers: Sequence[str], v7_ips: Sequence[str],
                    origins: Sequence[str]) -> tuple[list[IPv4Net], list[str]]:
    """(V7's networks, V7's origins as browsers send them); InputError naming every bad option."""
    problems = [p for p in [account_name_problem(storage_account)] if p]
    problems += [p for p in (container_name_problem(c, "containers") for c in containers) if p]
    networks: list[IPv4Net] = []
    for value in v7_ips:
        try:
            networks.append(parse_v7_ip(value))
        except ValueError as err:
            problems.append(f"v7_ips: {err}")
    normal: list[str] = []
    for origin in origins:
        problem = origin_problem(origin, "v7_origins", allow_star=False)
        value = normalise_origin(str(origin))
        if problem:
            problems.append(problem)
        elif value not in normal:
            normal.append(value)
    raise_problems(problems)
    return networks, normal


def rule_networks(values: Iterable[str]) -> tuple[list[IPv4Net], list[str]]:
    """(networks, unreadable values) of a firewall's IP rules; IPv6 values are not IPv4 rules."""
    networks, unreadable = [], []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            unreadable.append(value)
            continue
        if isinstance(network, IPv4Net):
            networks.append(network)
    return networks, unreadable


def not_covered(rules: Sequence[IPv4Net], wanted: Sequence[IPv4Net]) -> list[IPv4Net]:
    """The wanted networks that the rules do not cover; adjacent rules together count."""
    merged = list(ipaddress.collapse_addresses(rules))
    return [w for w in wanted if not any(w.subnet_of(rule) for rule in merged)]


def show_network(network: IPv4Net) -> str:
    return str(network.network_address) if network.prefixlen == 32 else str(network)


# ---------------------------------------------------------------- the operator's permissions


def action_matches(pattern: str, action: str) -> bool:
    """ARM's rule: case-insensitive, and ``*`` stands for any run of characters, ``/`` included."""
    regex = ".*".join(re.escape(part) for part in pattern.strip().split("*"))
    return re.fullmatch(regex, action.strip(), flags=re.IGNORECASE) is not None


def permitted(permissions: Iterable[Mapping[str, Any]], action: str) -> bool:
    """Whether some entry's actions grant ``action`` and the same entry's notActions do not take
    it away. A notAction is not a deny: another role that grants the action still grants it."""
    for entry in permissions:
        granted = any(action_matches(p, action) for p in entry.get("actions") or [])
        if granted and not any(action_matches(p, action) for p in entry.get("notActions") or []):
            return True
    return False


def operator_flags(permissions: Iterable[Mapping[str, Any]]) -> dict[str, bool]:
    entries = list(permissions)
    return {flag: permitted(entries, action) for flag, action in OPERATOR_ACTIONS.items()}


# ---------------------------------------------------------------- the account


def _props(account: Mapping[str, Any]) -> Mapping[str, Any]:
    return account.get("properties") or {}


def blob_endpoint(account: Mapping[str, Any]) -> Optional[str]:
    """The Blob service's endpoint from the ARM GET body; None for an account without a Blob service."""
    return (_props(account).get("primaryEndpoints") or {}).get("blob")


def account_summary(account: Mapping[str, Any]) -> dict:
    """What the module returns as ``account``, from the ARM GET body."""
    props = _props(account)
    acls = props.get("networkAcls") or {}
    sku = account.get("sku") or {}
    return {
        "name": account.get("name"),
        "id": account.get("id"),
        "kind": account.get("kind"),
        "sku": sku.get("name"),
        "location": account.get("location"),
        "public_network_access": props.get("publicNetworkAccess"),
        "network_default_action": acls.get("defaultAction"),
        "ip_rules": [rule.get("value") for rule in acls.get("ipRules") or [] if rule.get("value")],
        "bypass": acls.get("bypass"),
        "allow_shared_key_access": props.get("allowSharedKeyAccess"),
        "blob_endpoint": blob_endpoint(account),
    }


def has_public_endpoint(public_network_access: Optional[str]) -> bool:
    # Not set means Enabled: it is the default of every account created without the property.
    return (public_network_access or "Enabled").lower() != "disabled"


def secured_by_perimeter(public_network_access: Optional[str]) -> bool:
    return (public_network_access or "").lower() == "securedbyperimeter"


def firewall_status(summary: Mapping[str, Any], v7_ips: Sequence[IPv4Net]) -> tuple[dict, list[str]]:
    """(the ``firewall`` result, IP rule values that could not be read)."""
    enabled = (summary.get("network_default_action") or "Allow").lower() == "deny"
    networks, unreadable = rule_networks(summary.get("ip_rules") or [])
    if not v7_ips:
        return {"enabled": enabled, "v7_ips_allowed": None, "missing_v7_ips": []}, unreadable
    missing = not_covered(networks, v7_ips) if enabled else []
    return ({"enabled": enabled, "v7_ips_allowed": not missing, "missing_v7_ips": [show_network(n) for n in missing]},
            unreadable)


# ---------------------------------------------------------------- everything together


def not_found(message: str) -> dict:
    """The result for an account that does not exist; ``message`` says so (resources.missing_message)."""
    return {
        "exists": False,
        "account": None,
        "blob_cors_supported": None,
        "blob_cors_reason": None,
        "public_endpoint": None,
        "firewall": {"enabled": None, "v7_ips_allowed": None, "missing_v7_ips": []},
        "containers": {},
        "missing_containers": [],
        "operator": {flag: None for flag in OPERATOR_ACTIONS},
        "issues": [issue(NOT_FOUND, message)],
        "warnings": [],
    }


def rights_needed(missing_containers: Sequence[str], roles_to_change: Optional[bool],
                  cors_to_change: Optional[bool]) -> set[str]:
    """The operator flags the setup still needs on an account: container creation for missing
    containers, role assignment when V7's roles must change (or are unknown: None), CORS when the
    Blob service's rules must change. An up-to-date account needs none, so its rights are not read."""
    needed = {"can_create_containers"} if missing_containers else set()
    if roles_to_change is None or roles_to_change:
        needed.add("can_assign_roles")
    if cors_to_change:
        needed.add("can_write_cors")
    return needed


def evaluate(account: Mapping[str, Any], containers: Mapping[str, bool],
             permissions: Optional[Iterable[Mapping[str, Any]]], v7_ips: Sequence[IPv4Net], origins: Sequence[str],
             *, needed: Optional[set[str]] = None) -> dict:
    """The whole result for an existing account: facts, ``ready``, ``problems`` and ``warnings``.

    ``containers`` maps each container asked about to whether it exists. An empty ``origins``
    means V7 needs no CORS rule here, so an account without CORS support is then not a problem.
    ``needed`` (from rights_needed) limits the operator's problems to the rights the setup still
    needs; None means every right counts. ``permissions`` is None when they were not read.
    """
    summary = account_summary(account)
    sku = account.get("sku") or {}
    cors_reason = account_problem(summary["kind"], sku.get("name"), sku.get("tier"))
    public = has_public_endpoint(summary["public_network_access"])
    perimeter = secured_by_perimeter(summary["public_network_access"])
    firewall, unreadable = firewall_status(summary, v7_ips)
    missing_containers = [name for name, found in containers.items() if not found]
    operator = operator_flags(permissions) if permissions is not None else {flag: None for flag in OPERATOR_ACTIONS}
    shown_ips = ", ".join(show_network(n) for n in v7_ips)

    issues: list[dict] = []
    warnings: list[str] = []
    if not public:
        issues.append(issue(PUBLIC_ACCESS_DISABLED, "public network access is Disabled: V7 needs a public endpoint; "
                                                    "set publicNetworkAccess to Enabled"))
    if perimeter:
        warnings.append("public network access is SecuredByPerimeter: the network security perimeter's "
                        "inbound access rules decide what reaches the account, over its own firewall; make "
                        "sure they allow V7's server IPs" + (f" ({shown_ips})" if v7_ips else ""))
    elif firewall["enabled"]:
        if not v7_ips:
            issues.append(issue(FIREWALL_NO_V7_IPS, "the firewall is on (defaultAction Deny) and no V7 IPs were given: "
                                                    "ask V7 support for their server IPs and pass them as v7_ips"))
        elif firewall["missing_v7_ips"]:
            issues.append(issue(FIREWALL_MISSING_V7_IPS,
                                f"the firewall denies by default and V7's IPs {', '.join(firewall['missing_v7_ips'])} "
                                f"are not allowed: add them to the account's firewall (networkAcls.ipRules)"))
    for value in unreadable:
        warnings.append(f"the firewall IP rule {value!r} is not an IP address or CIDR range and was ignored")

    if cors_reason and origins:
        issues.append(issue(NO_BLOB_CORS, f"V7's origins ({', '.join(origins)}) cannot be allowed by Blob CORS rules: "
                                          f"{cors_reason}"))
    issues += [issue(CONTAINER_MISSING, f"container {name} does not exist: create it "
                                        f"(v7labs.azure_storage.v7_blob_container) or correct the name", container=name)
               for name in missing_containers]

    for flag, allowed in operator.items():
        if allowed is not False or (needed is not None and flag not in needed):
            continue
        message = f"the operator lacks {OPERATOR_ACTIONS[flag]} here: needs {_ROLES_FOR[flag]}"
        if needed is None and flag == "can_create_containers" and not missing_containers:
            warnings.append(message + " (not needed now: every container given exists)")
        else:
            issues.append(issue(OPERATOR_LACKS_RIGHT, message, right=flag))

    return {
        "exists": True,
        "account": summary,
        "blob_cors_supported": cors_reason is None,
        "blob_cors_reason": cors_reason,
        "public_endpoint": public,
        "firewall": firewall,
        "containers": dict(containers),
        "missing_containers": missing_containers,
        "operator": operator,
        "issues": issues,
        "warnings": warnings,
    }


def with_verdict(result: dict) -> dict:
    """``ready`` and ``problems`` (each issue's message) added to a result with ``issues``."""
    return dict(result, ready=not result["issues"], problems=[i["message"] for i in result["issues"]])
