# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the storage_integration role, in one place and in Python: what an inventory
host's v7_* variables mean (with the modules' own checks), which problems stop an account before its
first write, what state it ends in from what Azure answered, and what goes into the activation
details. The role's tasks only call the modules and the action plugins that use this.

Pure functions only: no Ansible or Azure imports beyond the collection's module_utils.
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Iterable, Mapping, Optional, Sequence

from ansible_collections.v7labs.azure_storage.plugins.module_utils import account_readiness as readiness
from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
from ansible_collections.v7labs.azure_storage.plugins.module_utils import darwin_api
from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import is_metadata_url, metadata_request_url, resolve_cloud
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import METHODS, CorsRule, missing_pairs, validate_goal
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureConfigError, InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    account_name_problem, auth_problems, container_name_problem, is_guid, origin_problem, resource_group_problem)

READY = "ready"
BLOCKED = "blocked"
FAILED = "failed"

FIREWALL_POLICIES = ("warn", "fail", "ignore")
# The role's steps that tags select; the other steps always run, since these need them.
STEP_TAGS = ("v7_principal", "v7_container", "v7_roles", "v7_cors", "v7_activation")
# Tags that Ansible gives a meaning of its own.
_SPECIAL_TAGS = ("all", "always", "tagged", "untagged", "never")

# Every inventory variable the role reads, with its default (None: required, or no value).
REQUIRED = ("v7_tenant_id", "v7_subscription_id", "v7_resource_group", "v7_team")
DEFAULTS: dict[str, Any] = {
    "v7_storage_account": None,  # the inventory host name
    "v7_containers": [],
    "v7_prefix": None,  # required with v7_write; without both, V7's read-only integration
    "v7_write": False,
    "v7_cors_methods": None,  # v7.cors_methods(): GET and PUT, GET alone for a read-only integration
    "v7_origins": list(v7.ORIGINS),
    "v7_ips": [],
    "v7_firewall_policy": "warn",
    "v7_activation_dir": "~/v7-activation",
    "v7_replication_timeout": v7.REPLICATION_TIMEOUT,
    "v7_remove_service_principal": True,
    "v7_offboard_remove_created_containers": False,
    "v7_principal_object_id": None,
    "v7_azure_auth": {},
    "v7_hosts": "v7_storage_accounts",  # the playbooks' host pattern
    # V7's side (verify): its API key (or V7_API_KEY), the team's slug in V7 (v7_team's slug) and V7's address
    "v7_api_key": None,
    "v7_team_slug": None,
    "v7_api_url": v7.API_BASE_URL,
    # set by the storage_accounts inventory plugin: variable -> what is wrong with the tag it came from
    "v7_tag_problems": {},
}
VARIABLES = REQUIRED + tuple(DEFAULTS)

# How the role's module calls name their options in messages: as the inventory variables the
# role's users set (module option 'option_names').
OPTION_NAMES: dict[str, str] = {
    "storage_account": "v7_storage_account",
    "resource_group": "v7_resource_group",
    "subscription_id (AZURE_SUBSCRIPTION_ID)": "v7_subscription_id",
    "subscription_id": "v7_subscription_id",
    "tenant (AZURE_TENANT or AZURE_TENANT_ID)": "v7_tenant_id",
    "client_id (AZURE_CLIENT_ID)": "v7_azure_auth.client_id (or AZURE_CLIENT_ID)",
    "client_id": "v7_azure_auth.client_id",
    "cloud_environment (AZURE_CLOUD_ENVIRONMENT)": "v7_azure_auth.cloud_environment (or AZURE_CLOUD_ENVIRONMENT)",
    "secret (AZURE_SECRET or AZURE_CLIENT_SECRET)": "v7_azure_auth.secret (or AZURE_SECRET)",
    "(containers)": "(v7_containers)",
    "replication_timeout": "v7_replication_timeout",
    "principal_id": "v7_principal_object_id",
    "v7_principal_id": "v7_principal_object_id",
    "v7_ips": "v7_ips",
    "set purge: true": "run v7labs.azure_storage.v7_blob_cors with purge: true",
    # v7_darwin_storage_info (V7's side)
    "api_key": "v7_api_key",
    "team_slug": "v7_team_slug",
    "base_url": "v7_api_url",
}

_PREFIX = re.compile(r"^(?P<container>[^/\\]+)/(?P<folder>[^/\\]+(?:/[^/\\]+)*)$")
_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


# ---------------------------------------------------------------- inputs


def unknown_variable_problems(names: Iterable[str]) -> list[str]:
    """A v7_* variable the role does not know is most likely a typo: name the closest known one."""
    problems = []
    for name in sorted(n for n in names if n.startswith("v7_") and n not in VARIABLES):
        close = difflib.get_close_matches(name, VARIABLES, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"the role knows {', '.join(VARIABLES)}"
        problems.append(f"{name}: not a variable of the storage_integration role; {hint}")
    return problems


def tag_problem(run_tags: Iterable[str]) -> Optional[str]:
    """A run whose tags select none of the role's steps would only check and read: say so."""
    tags = set(run_tags or ())
    if not tags or tags & (set(STEP_TAGS) | {"all"}):
        return None
    return (f"--tags {','.join(sorted(tags))} selects none of the storage_integration role's steps: use one or "
            f"more of {', '.join(STEP_TAGS)} (the checks they need always run), or leave --tags out")


def parse_bool(value: Any) -> Optional[bool]:
    """True or False as Ansible reads them (yes/no, on/off, 1/0...); None for anything else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _bool(name: str, value: Any, problems: list[str]) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        problems.append(f"{name}: {value!r} is not true or false")
    return bool(parsed)


def _list(name: str, value: Any, problems: list[str]) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    problems.append(f"{name}: {value!r} is not a list; write it as a YAML list, for example [{value}]")
    return []


def prefix_problem(prefix: Any) -> Optional[str]:
    found = _PREFIX.match(str(prefix or ""))
    name = "v7_prefix"
    if not found:
        return (f"{name}: {prefix!r} is not in the form container-name/folder-name (for example images/v7), the "
                "folder V7 writes its generated files to; the folder must not be empty, and there is no leading "
                "or trailing '/'")
    problem = container_name_problem(found.group("container"), name)
    return problem and problem.replace(f"{name}: ", f"{name}: the container part of {prefix!r}, ", 1)


def cors_methods(value: Any, write: bool, prefix: Optional[str], problems: list[str]) -> list[str]:
    """v7_cors_methods, or V7's default for the integration: GET and PUT, GET alone when read-only."""
    if value in (None, ""):
        return v7.cors_methods(write, prefix)
    methods = list(dict.fromkeys(str(m).strip().upper() for m in _list("v7_cors_methods", value, problems)))
    bad = [m for m in methods if m not in METHODS]
    if bad:
        problems.append(f"v7_cors_methods: {', '.join(bad)} not among {', '.join(METHODS)}")
    if "GET" not in methods:
        problems.append("v7_cors_methods: must include GET (browsers load the files with it); add PUT when V7's "
                        "web app uploads to the account")
    return methods


def team_problem(team: Any, name: str = "v7_team") -> Optional[str]:
    text = str(team)
    if team_slug(text) and "/" not in text and "\n" not in text:
        return None
    return (f"{name}: {text!r} must be the V7 team's name as it is in V7, on one line, without '/' and with at "
            "least one letter or digit (it also names the activation files)")


def team_slug(team: str) -> str:
    return re.sub(r"^-+|-+$", "", re.sub(r"[^a-z0-9]+", "-", str(team).lower()))


def group_name(kind: str, value: str) -> str:
    return f"v7_{kind}_" + re.sub(r"[^a-z0-9]+", "_", str(value).lower())


def check_account_vars(host_vars: Mapping[str, Any], host: str) -> dict:
    """The account a host describes, with every default applied and every value in its one form;
    InputError naming every bad inventory variable at once. The checks are the modules' own."""
    problems = unknown_variable_problems(host_vars)
    values = {name: host_vars.get(name) for name in REQUIRED}
    values.update({name: host_vars.get(name, default) for name, default in DEFAULTS.items()})
    for name in REQUIRED:
        if values[name] in (None, ""):
            problems.append(f"{name}: required, and not set for {host}")
    account = str(values["v7_storage_account"] or host)

    problems += [p for p in [account_name_problem(account, "v7_storage_account")] if p]
    for name in ("v7_tenant_id", "v7_subscription_id"):
        value = values[name]
        if value not in (None, "") and not is_guid(str(value)):
            what = "tenant (directory) ID, a GUID (az account show --query tenantId)" if name == "v7_tenant_id" \
                else "subscription ID, a GUID (az account list --query '[].id'), not its name"
            problems.append(f"{name}: {value!r} is not a {what}")
    if values["v7_resource_group"] not in (None, ""):
        problems += [p for p in [resource_group_problem(str(values["v7_resource_group"]), "v7_resource_group")] if p]
    if values["v7_prefix"] not in (None, ""):
        problems += [p for p in [prefix_problem(values["v7_prefix"])] if p]
    team = str(values["v7_team"] or "")
    if values["v7_team"] not in (None, ""):
        problems += [p for p in [team_problem(team)] if p]

    containers = [str(c) for c in _list("v7_containers", values["v7_containers"], problems)]
    problems += [p for p in (container_name_problem(c, "v7_containers") for c in containers) if p]
    origins = [str(o) for o in _list("v7_origins", values["v7_origins"], problems)]
    if not origins:
        problems.append("v7_origins: give at least one origin of V7's web app, such as " + v7.ORIGIN)
    problems += [p for p in (origin_problem(o, "v7_origins", allow_star=False) for o in origins) if p]
    ips = [str(i) for i in _list("v7_ips", values["v7_ips"], problems)]
    for value in ips:
        try:
            readiness.parse_v7_ip(value)
        except ValueError as err:
            problems.append(f"v7_ips: {err}")
    policy = str(values["v7_firewall_policy"])
    if policy not in FIREWALL_POLICIES:
        problems.append(f"v7_firewall_policy: {policy!r} is not one of {', '.join(FIREWALL_POLICIES)}")
    try:
        timeout = int(values["v7_replication_timeout"])
        if timeout < 0:
            raise ValueError
    except (TypeError, ValueError):
        timeout = 0
        problems.append(f"v7_replication_timeout: {values['v7_replication_timeout']} must be a whole number of "
                        "seconds, 0 or more (0 does not wait for a service principal just created)")
    principal = values["v7_principal_object_id"]
    if principal not in (None, ""):
        if str(principal).lower() == v7.APP_ID:
            problems.append(f"v7_principal_object_id: {principal} is V7's application (client) id; give the object "
                            "id of its service principal in the tenant (Enterprise applications, Object ID)")
        elif not is_guid(str(principal)):
            problems.append(f"v7_principal_object_id: {principal!r} is not a GUID (the object id of V7's service "
                            "principal in the tenant)")
    problems += azure_auth_problems(values["v7_azure_auth"])
    flags = {name: _bool(name, values[name], problems)
             for name in ("v7_write", "v7_remove_service_principal", "v7_offboard_remove_created_containers")}
    prefix = None if values["v7_prefix"] in (None, "") else str(values["v7_prefix"])
    if flags["v7_write"] and prefix is None:
        problems.append(f"v7_prefix: required with v7_write true, and not set for {host}: V7 writes its generated "
                        "files under it (container-name/folder-name); for a read-only integration leave v7_write "
                        "false and v7_prefix unset")
    methods = cors_methods(values["v7_cors_methods"], flags["v7_write"], prefix, problems)
    api_slug = str(values["v7_team_slug"] or team_slug(team))
    for problem in (darwin_api.team_slug_problem(api_slug) if values["v7_team_slug"] else None,
                    darwin_api.base_url_problem(values["v7_api_url"])):
        if problem:
            problems.append(problem.replace("team_slug:", "v7_team_slug:", 1).replace("base_url:", "v7_api_url:", 1))
    # a malformed Azure tag (storage_accounts inventory plugin): said of the tag, instead of the variable
    from_tags = values["v7_tag_problems"] if isinstance(values["v7_tag_problems"], Mapping) else {}
    if from_tags:
        problems = [p for p in problems if p.split(":", 1)[0] not in from_tags] + [str(p) for p in from_tags.values()]
    if problems:
        raise InputError(problems)

    prefix_container = prefix.split("/", 1)[0] if prefix else None
    role_containers = list(dict.fromkeys(containers + [prefix_container] if prefix_container else containers))
    return {
        "host": host,
        "storage_account": account,
        "tenant_id": str(values["v7_tenant_id"]).lower(),
        "subscription_id": str(values["v7_subscription_id"]).lower(),
        "resource_group": str(values["v7_resource_group"]),
        "containers": containers,
        "prefix": prefix,
        "prefix_container": prefix_container,
        # V7 writes under the prefix, so its container is in scope whenever the roles are per container.
        "role_containers": role_containers if containers else [],
        # what the account read checks for existence: the prefix's container is created when missing
        "check_containers": role_containers,
        "write": flags["v7_write"],
        "read_only": v7.read_only(flags["v7_write"], prefix),
        "team": team,
        "team_slug": team_slug(team),
        "api_team_slug": api_slug,
        "api_url": str(values["v7_api_url"]),
        "origins": origins,
        "cors_methods": methods,
        "ips": ips,
        "firewall_policy": policy,
        "activation_dir": str(values["v7_activation_dir"]),
        "replication_timeout": timeout,
        "remove_service_principal": flags["v7_remove_service_principal"],
        "remove_created_containers": flags["v7_offboard_remove_created_containers"],
        "principal_object_id": str(principal).lower() if principal else None,
        "tenant_group": group_name("tenant", str(values["v7_tenant_id"])),
    }


# azure-identity's and the Azure CLI's names for the modules' sign-in options
AUTH_ALIASES = {"client_secret": "secret", "tenant_id": "tenant", "subscription": "subscription_id",
                "username": "ad_user", "certificate_path": "client_certificate_path"}


def azure_auth_problems(auth: Any) -> list[str]:
    """v7_azure_auth, the modules' sign-in options, checked as the modules check them (no request)."""
    name = "v7_azure_auth"
    if auth in (None, ""):
        return []
    if not isinstance(auth, Mapping):
        return [f"{name}: must be a dict of the modules' sign-in options (client_id, secret, tenant, ...)"]
    problems = []
    for key in sorted(str(k) for k in auth if k not in AUTH_ARGUMENT_SPEC):
        close = [AUTH_ALIASES[key]] if key in AUTH_ALIASES else \
            difflib.get_close_matches(key, AUTH_ARGUMENT_SPEC, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}?" if close else f"the options are {', '.join(AUTH_ARGUMENT_SPEC)}"
        problems.append(f"{name}.{key}: not a sign-in option of the modules; {hint}")
    for problem in auth_problems(None, auth.get("tenant"), auth.get("client_id"), {}, needs_subscription=False):
        problems.append(f"{name}.{problem}")
    cloud = auth.get("cloud_environment")
    if cloud:
        try:
            metadata_request_url(str(cloud)) if is_metadata_url(str(cloud)) else resolve_cloud(str(cloud))
        except AzureConfigError as err:
            problems.append(f"{name}.cloud_environment: {err}")
    return problems


def secret_values(host_vars: Mapping[str, Any]) -> list[str]:
    """The secrets among a host's v7_* variables (V7's API key, v7_azure_auth's no_log options),
    so that no message about them can repeat one."""
    auth = host_vars.get("v7_azure_auth")
    auth = auth if isinstance(auth, Mapping) else {}
    found = [host_vars.get("v7_api_key")] + [auth.get(name) for name, spec in AUTH_ARGUMENT_SPEC.items()
                                             if spec.get("no_log")]
    return [str(value) for value in found if value not in (None, "")]


def v7_api_check(host_vars: Mapping[str, Any], environ: Mapping[str, str]) -> dict:
    """Whether verify reads V7's side: only with a V7 API key (v7_api_key, or V7_API_KEY as AWX's
    credential type injects it). Says which, never the key."""
    given = bool(host_vars.get("v7_api_key")) or bool(environ.get(v7.API_KEY_ENV))
    return {"checked": given,
            "msg": None if given else (f"V7's side of the integrations is not checked: no V7 API key (set {v7.API_KEY_ENV} "
                                       "or v7_api_key to check that V7 has turned them on).")}


def v7_side(result: Any) -> Optional[str]:
    """An account's V7 side for verify's summary, from v7_darwin_storage_info's registered result:
    active, mismatch, not yet, why it could not be read, or None (not checked)."""
    if not isinstance(result, Mapping) or not result or result.get("skipped"):
        return None
    if result.get("failed"):
        return f"not read: {result.get('msg') or 'the request to V7 failed'}"
    return result.get("state")


def input_failure_message(host: str, err: InputError) -> str:
    return (f"Invalid inventory variables for {host}: {'; '.join(p.rstrip('.') for p in err.problems)}. Nothing was "
            "sent to Azure: correct "
            "them and run again.")


# ---------------------------------------------------------------- V7's service principal


def tenant_principal(results: Iterable[tuple[str, Any]]) -> dict:
    """What is known of V7's service principal in a tenant, from the registered results of the
    tenant's ``create`` and ``lookup`` steps, as (step, result) pairs (the first that has an answer
    wins; a look-up that failed is registered with ``failed_when: false``, so its ``msg`` without
    ``object_id`` tells it apart).

    Returns ``object_id`` (None when there is none yet), ``known`` (whether Graph answered),
    ``pending`` (check mode: the create step would create it) and ``error`` (what Graph said when it
    did not answer)."""
    error = None
    for step, result in results:
        if not isinstance(result, Mapping) or not result or result.get("skipped"):
            continue
        if "object_id" in result and not result.get("failed"):
            pending = step == "create" and bool(result.get("changed")) and not result.get("object_id")
            return {"object_id": result.get("object_id"), "known": True, "pending": pending, "error": None}
        error = error or str(result.get("msg") or "the look-up failed")
    return {"object_id": None, "known": False, "pending": False, "error": error}


# ---------------------------------------------------------------- before the first write


def preflight_verdict(account: Mapping[str, Any], info: Mapping[str, Any]) -> dict:
    """What the preflight's findings mean for an account: ``blockers`` stop it before its first
    write; ``blocked_by`` leave it configured but blocked (V7 still cannot reach it); ``cautions``
    are warnings. The prefix's container, when missing, is created by the run: not a problem."""
    blockers, blocked_by, cautions = [], [], []
    for found in info.get("issues") or []:
        code, message = found.get("code"), found.get("message")
        if code == readiness.CONTAINER_MISSING and found.get("container") == account["prefix_container"]:
            continue
        if code in readiness.NETWORK:
            policy = account["firewall_policy"]
            if policy == "fail":
                blockers.append(message)
            elif policy == "ignore" and code != readiness.PUBLIC_ACCESS_DISABLED:
                cautions.append(message + " (v7_firewall_policy is ignore: taken as handled)")
            else:
                blocked_by.append(message)
            continue
        blockers.append(message)
    return {"blockers": blockers, "blocked_by": blocked_by, "cautions": cautions}


def preflight_failure_message(account: Mapping[str, Any], blockers: Sequence[str]) -> str:
    return (f"Storage account {account['storage_account']} cannot be set up for V7: "
            f"{'; '.join(b.rstrip('.') for b in blockers)}. "
            "Nothing was changed on it; fix this and run again, or take the account out of the inventory.")


def needs_container(account: Mapping[str, Any], info: Mapping[str, Any]) -> bool:
    return account["prefix_container"] in (info.get("missing_containers") or [])


def roles_change(info: Mapping[str, Any]) -> bool:
    """Whether v7_storage_roles has something to do: unknown roles count as a change."""
    roles = info.get("v7_roles")
    return roles is None or bool(roles.get("to_create") or roles.get("to_remove"))


def cors_change(account: Mapping[str, Any], info: Mapping[str, Any]) -> bool:
    """Whether v7_blob_cors has something to do: v7_storage_account_info's prediction (its
    ``blob_cors.up_to_date``, from the same cors.plan v7_blob_cors runs, with the origins and methods
    the role passes both). No prediction (rules not read) counts as a change."""
    if not account["origins"]:
        return False
    return (info.get("blob_cors") or {}).get("up_to_date") is not True


def _missing_cors(account: Mapping[str, Any], rules: Iterable[Mapping[str, Any]]) -> list:
    goal = validate_goal(account["origins"], account["cors_methods"])
    return missing_pairs([CorsRule.from_arm(r) for r in rules], goal)


# ---------------------------------------------------------------- after the writes


def _ran(result: Any) -> bool:
    return isinstance(result, Mapping) and bool(result) and not result.get("skipped") and not result.get("failed")


def _scope_text(scope: str) -> str:
    return ra.short_scope(scope).replace("account ", "storage account ", 1)


def what_v7_lacks(account: Mapping[str, Any], info: Mapping[str, Any], principal: Mapping[str, Any], *,
                  container: Any = None, roles: Any = None, cors: Any = None) -> list[str]:
    """What V7 still lacks on the account, read from Azure's answers: the write modules' replies
    where they ran, the preflight's reads where they did not."""
    lacks: list[str] = []
    holder = principal.get("object_id") or principal.get("pending")
    if not holder:
        lacks.append(f"V7's service principal does not exist in tenant {account['tenant_id']}, so V7 holds no role "
                     f"there (az ad sp create --id {v7.APP_ID}, or the v7_principal step)")
    # the container step succeeded: the container is there now (another run may have made it first)
    if account["prefix_container"] in (info.get("missing_containers") or []) and not _ran(container):
        lacks.append(f"the prefix's container {account['prefix_container']} does not exist")

    wanted = ra.desired(account["subscription_id"], account["resource_group"], account["storage_account"],
                        account["role_containers"], write=account["write"], delegator=True)
    if _ran(roles):
        held, extra = roles.get("assignments") or [], []
    else:
        known = info.get("v7_roles") or {}
        held, extra = known.get("assignments") or [], known.get("to_remove") or []
    have = {(ra.normalise_scope(a["scope"]), ra.role_guid(a["role_definition_id"])) for a in held}
    for scope, guid in sorted(wanted, key=lambda pair: (ra.normalise_scope(pair[0]), pair[1])):
        if holder and (ra.normalise_scope(scope), guid) not in have:
            lacks.append(f"V7 lacks {v7.ROLE_NAMES[guid]} on {_scope_text(scope)}")
    lacks += [f"V7 still holds {a['role_name']} on {_scope_text(a['scope'])}" for a in extra]

    if account["origins"]:
        if _ran(cors):
            rules = cors.get("cors_rules") or []
        else:
            rules = (info.get("blob_cors") or {}).get("rules")
        missing = []
        if rules is not None:
            missing = _missing_cors(account, rules)
            by_origin: dict[str, list[str]] = {}
            for origin, method in missing:
                by_origin.setdefault(origin, []).append(method)
            lacks += [f"the Blob CORS rules do not let {origin} send {', '.join(methods)} requests"
                      for origin, methods in by_origin.items()]
        # the browsers' view once the rules were written (before, the preflight's reading is an issue)
        preflight = cors.get("preflight") if _ran(cors) else None
        if preflight and preflight.get("refused") and not missing:
            lacks.append(cp.refused_message(account["storage_account"], preflight))
    return lacks


def account_state(account: Mapping[str, Any], info: Mapping[str, Any], principal: Mapping[str, Any],
                  **answers: Any) -> dict:
    """ready, blocked (configured, but the network keeps V7 out) or failed, with why."""
    verdict = preflight_verdict(account, info)
    lacks = what_v7_lacks(account, info, principal, **answers)
    if verdict["blockers"] or lacks:
        state = FAILED
    elif verdict["blocked_by"]:
        state = BLOCKED
    else:
        state = READY
    return {"state": state, "lacks": verdict["blockers"] + lacks, "blocked_by": verdict["blocked_by"],
            "cautions": verdict["cautions"]}


def state_message(account: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    name = account["storage_account"]
    if state["state"] == READY:
        return f"Storage account {name} is ready for V7."
    if state["state"] == BLOCKED:
        return (f"Storage account {name} is configured for V7 but blocked: {'; '.join(state['blocked_by'])}. V7 cannot "
                "reach it until this is fixed (or set v7_firewall_policy: ignore if the firewall is handled another way).")
    return f"Storage account {name} is not ready for V7: {'; '.join(state['lacks'])}."


# ---------------------------------------------------------------- activation details


def activation_entry(account: Mapping[str, Any], state: Optional[Mapping[str, Any]], failure: Optional[str]) -> dict:
    """One account's line in its team's activation details; no secrets."""
    entry = {
        "storage_account": account["storage_account"],
        "tenant_id": account["tenant_id"],
        "prefix": account["prefix"],
        "write": account["write"],
        "read_only": account["read_only"],
        "origins": list(account["origins"]),
        "subscription_id": account["subscription_id"],
        "resource_group": account["resource_group"],
    }
    if state is None:
        entry.update(state=FAILED, why=[failure or "the run stopped on this account; its output says why"])
    else:
        entry.update(state=state["state"], why=list(state["lacks"] or state["blocked_by"]),
                     warnings=list(state.get("cautions") or []))
    return entry


def merge_team(existing: Optional[Mapping[str, Any]], team: str, entries: Iterable[Mapping[str, Any]]) -> dict:
    """A team's activation details after a run: this run's accounts replace their own entries;
    every other account's entry stays as an earlier run recorded it (--limit, one tenant, tags)."""
    accounts: dict[str, dict] = {}
    if existing and isinstance(existing.get("accounts"), Mapping):
        accounts.update({k: dict(v) for k, v in existing["accounts"].items()})
    for entry in entries:
        accounts[entry["storage_account"]] = dict(entry)
    ordered = dict(sorted(accounts.items()))
    return {
        "team": team,
        "accounts": ordered,
        "integrations": [e for e in ordered.values() if e.get("state") in (READY, BLOCKED)],
        "not_ready": [name for name, e in ordered.items() if e.get("state") not in (READY, BLOCKED)],
    }


def _access(entry: Mapping[str, Any]) -> str:
    if entry.get("read_only"):
        return "read-only"
    return "yes" if entry.get("write") else "no (V7 reads; writes nothing)"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def activation_markdown(details: Mapping[str, Any]) -> str:
    """The team's activation details for a person: what to send to V7 support."""
    team = details["team"]
    lines = [
        f"# V7 storage integration: {team}",
        "",
        "What V7 needs to turn on its access to these Azure storage accounts. Send it to V7 support, or",
        "add each account in V7 under **Settings → Storage → New Storage Integration**.",
        "",
        f"Team name: **{team}**",
        "",
        "| Storage account name | Tenant ID | Prefix | Write access | Origins (CORS) | State |",
        "|---|---|---|---|---|---|",
    ]
    for entry in details["integrations"]:
        lines.append("| " + " | ".join(_cell(v) for v in (
            entry["storage_account"], entry.get("tenant_id", ""), entry.get("prefix") or "none (read-only integration)",
            _access(entry), ", ".join(entry.get("origins") or []), entry["state"])) + " |")
    lines += [
        "",
        f"On each account, V7's service principal (app `{v7.APP_ID}`) holds Storage Blob Data Reader,",
        "Storage Blob Data Contributor where write access is yes, and Storage Blob Delegator, and the Blob",
        "service lets V7's origins in through CORS. Register items with keys that start with the container,",
        "such as `container/folder/file.jpg`.",
    ]
    if any(e.get("read_only") for e in details["integrations"]):
        lines += [
            "",
            "Accounts marked read-only are for a **read-only** integration in V7: V7 registers the files that are",
            "there and writes nothing back (no thumbnails or video frames), so they have no prefix, and V7 holds",
            "Storage Blob Data Reader and Storage Blob Delegator only.",
        ]
    noted = [(e["storage_account"], (e.get("why") or [] if e["state"] == BLOCKED else []) + (e.get("warnings") or []))
             for e in details["integrations"]]
    noted = [(name, notes) for name, notes in noted if notes]
    if noted:
        lines += ["", "## Warnings", ""]
        lines += [f"- {name}: {'; '.join(notes)}" for name, notes in noted]
    if details["not_ready"]:
        lines += ["", "## Not included", "", "These accounts are not ready for V7 yet:"]
        for name in details["not_ready"]:
            why = details["accounts"][name].get("why") or []
            lines.append(f"- {name}" + (f": {'; '.join(why)}" if why else ""))
    return "\n".join(lines) + "\n"


def changes_needed(decisions: Mapping[str, Any], principal: Mapping[str, Any], leads_tenant: bool) -> bool:
    """Whether the run writes anything for an account (the preflight's decisions), or creates V7's
    principal from it (the tenant's leading account, in a tenant without one). When not, what
    Azure answered to the preflight's read is the account's final state."""
    return bool(decisions["create_container"] or decisions["change_roles"] or decisions["change_cors"]
                or (leads_tenant and not principal.get("object_id")))


def verify_failure(state: Mapping[str, Any], v7_side_result: Any) -> Optional[str]:
    """Why verify fails an account after its summary, or None: not ready for V7 (blocked too,
    unless the firewall is taken as handled), or V7 set its side of the integration up
    differently."""
    reasons = []
    if state.get("state") != READY:
        reasons.append(str(state.get("msg") or state.get("state")))
    if isinstance(v7_side_result, Mapping) and v7_side_result.get("state") == "mismatch":
        reasons.append(str(v7_side_result.get("msg")))
    return " ".join(reasons) or None
