#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_blob_cors
short_description: Let V7 Darwin's web app reach a storage account's Blob service (CORS)
description:
  - Annotators' browsers load and upload files straight from the storage account, from V7's
    origin, through signed URLs. This module makes the Blob service's CORS rules allow that, the
    same as V7's guide does by hand with two C(az storage cors add) commands (one rule for GET,
    one for PUT, origin U(https://darwin.v7labs.com), allowed headers C(*)).
  - Uses the management plane only (ARM C(blobServices/default) GET and PUT), so it needs no
    account key and works when shared-key access is disabled. The PUT sends only the C(cors)
    property; other Blob service settings (soft delete, versioning, ...) are left as they are.
  - The goal, not an exact rule list, decides whether anything changes. Azure picks the first
    rule whose origins and methods match a request, and that rule must also allow the request's
    headers. The goal is met when, for every wanted origin and method, that first rule allows the
    wanted headers (a rule with C(*) headers allows any; header names match in any case; a rule
    with origin C(*) or a matching wildcard such as C(https://*.v7labs.com) counts). Rules set by
    hand with the guide's commands meet the default goal, so nothing changes and nothing is
    duplicated.
  - When something is missing, one rule is added, for the origins that miss anything and every
    method any of them misses. It goes at the end, or just before an existing rule that would
    otherwise catch V7's requests first without allowing them.
  - The customer's other rules are never changed, dropped or reordered unless O(purge=true).
  - Azure's limits (5 rules per service, 64 origins per rule, 256 characters per origin or
    header, 64 header names and 2 prefixed headers per header list, 2 KB for all rule values
    together, the allowed methods) are checked before anything is written; the error names the
    limit and the rules in the way.
  - Fails with a clear message for an account whose Blob service cannot carry CORS rules
    (FileStorage, or a premium general-purpose account that holds page blobs only).
  - The storage account and resource group names, O(subscription_id), O(tenant) and O(client_id)
    are checked against Azure's rules before any request; every bad option is named at once.
version_added: 0.1.0
options:
  origins:
    description:
      - Origins V7's web app is served from. Each is C(*) or an http(s) origin (scheme, host,
        optional port, no path); scheme and host are lowercased, and a trailing slash and a
        default port are dropped, because that is how browsers send an origin.
      - Other V7 hosts exist (for example U(https://darwin.irl.v7labs.com)).
    type: list
    elements: str
    default: [https://darwin.v7labs.com]
  methods:
    description: HTTP methods to allow; uppercased. Among DELETE GET HEAD MERGE POST OPTIONS PUT PATCH CONNECT TRACE.
    type: list
    elements: str
    default: [GET, PUT]
  allowed_headers:
    description:
      - Request headers the browser may send. C(*) allows any; C(x-ms-meta-*) allows a prefix.
      - An existing rule counts when it allows every header listed here.
    type: list
    elements: str
    default: ['*']
  exposed_headers:
    description:
      - Response headers the browser may show to V7's app. An existing rule counts when it
        exposes every header listed here; the default asks for none.
    type: list
    elements: str
    default: []
  max_age_seconds:
    description:
      - How long browsers may cache a preflight answer, 0 to 2147483647 seconds.
      - When not set, existing rules count whatever their max age, and a rule this module adds
        gets 0, the same as C(az storage cors add) gives the guide's rules.
      - When set, an existing rule counts only with exactly this max age.
    type: int
  state:
    description:
      - V(present) makes sure the origins are allowed.
      - V(absent) takes the origins out of every rule; a rule that served only them goes, a rule
        shared with other origins keeps the other origins. Rules with origin C(*) or a wildcard
        origin are not V7's and stay; a warning says that they still let V7 in.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With V(present), keep only the rules the goal needs, so rules for other origins go. Rules
        made only of wanted origins and methods that meet the goal (such as the guide's) stay.
      - With V(absent), remove every CORS rule of the Blob service.
    type: bool
    default: false
  preflight:
    description:
      - With O(state=present), once the rules are in place, send the CORS preflight a browser on each of
        O(origins) sends before each of O(methods) (an unauthenticated C(OPTIONS) request to the
        account's Blob endpoint) and return the Blob service's answers in RV(preflight).
      - A refused preflight, or an endpoint this controller cannot reach, is a warning; the task does not fail.
      - A refusal right after the rules were written is asked again for up to 30 seconds, in case the
        Blob service has not applied them yet. Nothing is sent in check mode.
    type: bool
    default: false
extends_documentation_fragment:
  - v7labs.azure_storage.azure_auth
  - v7labs.azure_storage.storage_account
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.azure
  - v7labs.azure_storage.attributes.write
requirements:
  - azure-mgmt-storage >= 21.0.0
attributes:
  check_mode:
    details: Predicts the rules, the change and the limit errors; writes nothing.
  diff_mode:
    details: Shows the Blob service's CORS rules before and after.
notes:
  - Needs C(Microsoft.Storage/storageAccounts/read),
    C(Microsoft.Storage/storageAccounts/blobServices/read) and C(.../blobServices/write) on the
    account (for example the Storage Account Contributor role). No data-plane role or account key.
  - An uppercase or trailing-slash spelling of V7's origin in an existing rule does not count as
    allowing V7 (Microsoft documents the origin match as case-sensitive, and browsers send the
    lowercase origin); V(absent) does take such spellings out.
seealso:
  - name: CORS support for Azure Storage
    description: How Azure evaluates CORS rules, and their limits.
    link: https://learn.microsoft.com/rest/api/storageservices/cross-origin-resource-sharing--cors--support-for-the-azure-storage-services
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Allow V7 Darwin to read and upload through signed URLs
  v7labs.azure_storage.v7_blob_cors:
    resource_group: rg-data
    storage_account: stdarwinimages

- name: Also allow V7's IRL host, and cache preflight answers for an hour
  v7labs.azure_storage.v7_blob_cors:
    resource_group: rg-data
    storage_account: stdarwinimages
    origins:
      - https://darwin.v7labs.com
      - https://darwin.irl.v7labs.com
    max_age_seconds: 3600

- name: Offboarding, take V7's origins out and keep every other rule
  v7labs.azure_storage.v7_blob_cors:
    resource_group: rg-data
    storage_account: stdarwinimages
    origins: [https://darwin.v7labs.com, https://darwin.irl.v7labs.com]
    state: absent
"""

RETURN = r"""
cors_rules:
  description: The Blob service's CORS rules after the run (predicted in check mode), in order.
  returned: success
  type: list
  elements: dict
  contains:
    allowed_origins:
      description: Origins the rule allows.
      type: list
      elements: str
      sample: [https://darwin.v7labs.com]
    allowed_methods:
      description: Methods the rule allows.
      type: list
      elements: str
      sample: [GET, PUT]
    allowed_headers:
      description: Request headers the rule allows.
      type: list
      elements: str
      sample: ['*']
    exposed_headers:
      description: Response headers the rule exposes (Azure's C([""]) for none is returned as C([])).
      type: list
      elements: str
      sample: []
    max_age_in_seconds:
      description: Preflight cache time.
      type: int
      sample: 0
added:
  description: Rules the run added (a shared rule that lost V7's origins appears here and in RV(removed)).
  returned: success
  type: list
  elements: dict
  sample: [{allowed_origins: [https://darwin.v7labs.com], allowed_methods: [PUT], allowed_headers: ['*'],
            exposed_headers: [], max_age_in_seconds: 0}]
removed:
  description: Rules the run removed, in the same shape.
  returned: success
  type: list
  elements: dict
  sample: []
preflight:
  description:
    - The CORS preflights sent with O(preflight) and the Blob service's answers, the same shape as
      RV(v7labs.azure_storage.v7_storage_account_info#module:cors_preflight) of M(v7labs.azure_storage.v7_storage_account_info)
      (C(checked), C(endpoint), C(reason), C(refused), C(answers)).
  returned: with O(preflight) and O(state=present)
  type: dict
"""

from ansible_collections.v7labs.azure_storage.plugins.module_utils import account_readiness as readiness
from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import (
    limits_message, plan, still_allowed, validate_goal)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, InputError, raise_problems
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import STORAGE_ACCOUNT_OPTIONS, AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import require_blob_service
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import settings_problems, storage_account_problems

ARGUMENT_SPEC = dict(
    **STORAGE_ACCOUNT_OPTIONS,
    origins=dict(type="list", elements="str", default=list(v7.ORIGINS)),
    methods=dict(type="list", elements="str", default=list(v7.CORS_METHODS)),
    allowed_headers=dict(type="list", elements="str", default=list(v7.CORS_ALLOWED_HEADERS)),
    exposed_headers=dict(type="list", elements="str", default=list(v7.CORS_EXPOSED_HEADERS)),
    max_age_seconds=dict(type="int"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    purge=dict(type="bool", default=False),
    preflight=dict(type="bool", default=False),
)


def goal_of(params: dict):
    """The CORS goal from the module's options; InputError naming every bad one."""
    return validate_goal(params["origins"], params["methods"], params["allowed_headers"],
                         params["exposed_headers"], params["max_age_seconds"])


def check_inputs(module: AzureModule):
    """The goal; fails naming every bad option, before any request."""
    problems = settings_problems(module.auth) + storage_account_problems(module.params)
    try:
        goal = goal_of(module.params)
    except InputError as err:
        goal, problems = None, problems + err.problems
    raise_problems(problems)
    return goal


def ensure_cors(module: AzureModule, account=None) -> dict:
    params = module.params
    goal = check_inputs(module)
    account = account or module.storage_account()
    found = require_blob_service(account, cors=True)
    before = account.cors_rules()
    wanted = plan(before, goal, params["state"], params["purge"])
    if params["state"] == "absent":
        lingering: dict[int, list[str]] = {}
        for index, origin in still_allowed(wanted.after, goal.origins):
            lingering.setdefault(index, []).append(origin)
        for index, origins in lingering.items():
            module.warn(f"CORS rule #{index} ({', '.join(wanted.after[index].origins)}) of storage account "
                        f"{account.name} is not V7's and was kept, but it still lets {', '.join(origins)} in.")
    if wanted.limit_problems:
        raise AzureApiError(limits_message(account.name, wanted.limit_problems), code="CorsLimitExceeded")
    after = list(wanted.after)
    if wanted.changed and not module.check_mode:
        after = account.set_cors_rules(after)  # as Azure's reply has them

    result = dict(
        changed=wanted.changed,
        cors_rules=[r.to_result() for r in after],
        added=[r.to_result() for r in wanted.added],
        removed=[r.to_result() for r in wanted.removed],
    )
    if params["preflight"] and params["state"] == "present":
        result["preflight"] = preflight(module, account.name, found, goal, after_write=wanted.changed)
    if module.diff_mode:
        result["diff"] = dict(before=dict(cors_rules=[r.to_result() for r in before]),
                              after=dict(cors_rules=result["cors_rules"]))
    return result


def preflight(module: AzureModule, name: str, found: dict, goal, *, after_write: bool) -> dict:
    """The browsers' CORS preflight, sent once the rules are in place (not in check mode)."""
    endpoint = readiness.blob_endpoint(found)
    if module.check_mode:
        return cp.not_checked(endpoint, "check mode: the preflight is sent once the rules are in place")
    result = cp.send(module.auth, endpoint, cp.probe_path(None), cp.probes(goal.origins, goal.methods),
                     after_write=after_write)
    if not result["checked"]:
        module.warn(cp.unreachable_message(name, result) + ".")
    elif result["refused"]:
        message = cp.refused_message(name, result)
        module.warn(message[:1].upper() + message[1:] + ".")
    return result


def main() -> None:
    AzureModule(ARGUMENT_SPEC).run(ensure_cors)


if __name__ == "__main__":
    main()
