#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_darwin_storage_info
short_description: Tell whether V7 Darwin has turned on the storage integration of an Azure storage account
version_added: 1.1.0
description:
  - "Reads a V7 team's storage integrations from V7's API (C(GET {base_url}/api/teams/{team_slug}/storage),
    with the header C(Authorization: ApiKey <key>)) and returns them. Changes nothing; V7 has no public
    API to create an integration."
  - With O(storage_account), also says what V7 has done with the account's activation details.
    C(active) means an Azure integration of the team has the account as its bucket and agrees with
    O(tenant_id), O(prefix) and the access (O(write)). C(mismatch) means an Azure integration is about
    the account (same bucket or, when none has it, same prefix) but a field differs; RV(differences)
    gives each field with V7's value and the account's. C(not yet) means the team has no such
    integration, so V7 has not acted on the activation details yet.
  - V7's listing does not return the tenant (V7's Python SDK, darwin-py, reads none from it); the
    module then asks V7's "Show External Storage" endpoint (C(.../storage/{slug})), which does, when
    the listing gives the integration's slug. When V7 returns the tenant neither way it is not
    compared, and RV(unchecked) and RV(msg) say so.
  - A read-only integration (O(write=false) and no O(prefix)) must be read-only in V7; with O(write=true)
    it must not be; with O(write=false) and a prefix, either will do.
  - V7's answers 401 (bad key), 403 (key not allowed), 404 (no such team), 429 (rate limited) and
    5xx (V7 down) each fail the task with what to do; 429 and 5xx are retried first (O(api_retries)),
    honouring C(Retry-After), as darwin-py does.
  - The API key never appears in the result, in an error or in a log.
options:
  api_key:
    description:
      - A V7 API key of the team (V7, Settings, API Keys).
      - When not set, the environment variable E(V7_API_KEY) is used (the collection's AWX credential
        type injects it).
    type: str
    required: true
  team_slug:
    description: The V7 team's slug, as in V7's addresses.
    type: str
    required: true
  base_url:
    description:
      - V7's address; the API is under C(/api). V7 has more than one host, for example
        C(https://darwin.irl.v7labs.com).
      - When not set, E(DARWIN_BASE_URL) (darwin-py's variable), else V(https://darwin.v7labs.com).
    type: str
  storage_account:
    description: The Azure storage account whose integration to look for (V7's C(bucket) for Azure).
    type: str
  tenant_id:
    description: The tenant (directory) ID of the storage account, compared with V7's C(tenant_id) when V7 returns one.
    type: str
  prefix:
    description:
      - The prefix the account was set up with (C(container-name/folder-name)), compared with V7's C(prefix).
        Not set for a read-only integration.
    type: str
  write:
    description: Whether V7 was given write access (Storage Blob Data Contributor).
    type: bool
    default: false
  ca_bundle:
    description:
      - A CA bundle to verify V7's certificate with, instead of the system's CAs.
      - When not set, E(REQUESTS_CA_BUNDLE), then E(SSL_CERT_FILE). Certificate verification is always on.
    type: path
  api_retries:
    description: How many times to retry an answer 429 or 5xx (and a dropped connection) before failing.
    type: int
    default: 3
  api_timeout:
    description: Seconds to wait for V7 to connect and to answer.
    type: int
    default: 30
  option_names:
    description:
      - How the caller names this module's options, for messages (the storage_integration role passes
        its inventory variables).
    type: dict
    default: {}
extends_documentation_fragment:
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.v7_api
  - v7labs.azure_storage.attributes.info
requirements:
  - python >= 3.10
  - azure-core (its HTTP pipeline sends the requests, with retries and TLS verification; azure-identity installs it)
  - requests (azure-core's transport)
seealso:
  - name: darwin-py, V7's Python SDK
    description: C(Client.list_external_storage_connections) reads the same listing.
    link: https://github.com/v7labs/darwin-py
  - name: V7's Show External Storage endpoint
    description: The fields of one storage integration, the tenant among them.
    link: https://docs.v7labs.com/reference/show-external-storage-endpoint-2
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Has V7 turned on the integration of stdarwinimages?
  v7labs.azure_storage.v7_darwin_storage_info:
    team_slug: my-team
    storage_account: stdarwinimages
    tenant_id: 11111111-1111-4111-8111-111111111111
    prefix: images/v7
    write: true
  environment:
    V7_API_KEY: "{{ vault_v7_api_key }}"
  register: v7_side

- name: Say it
  ansible.builtin.debug:
    msg: "{{ v7_side.msg }}"
"""

RETURN = r"""
integrations:
  description: The team's storage integrations, every provider, as V7 lists them.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: images, slug: images, provider: azure, bucket: stdarwinimages, prefix: images/v7,
       readonly: false, default: true, region: null, tenant_id: null}
state:
  description: C(active), C(mismatch) or C(not yet); null without O(storage_account).
  returned: success
  type: str
  sample: active
integration:
  description: The team's integration for the account (the closest one for C(mismatch)), with its C(tenant_id) when V7 gave it.
  returned: when state is active or mismatch
  type: dict
differences:
  description: For C(mismatch), each field that differs (C(bucket), C(tenant_id), C(prefix), C(readonly)), V7's value and the account's.
  returned: when O(storage_account) is set
  type: list
  elements: dict
  sample: [{field: prefix, v7: images/old, expected: images/v7}]
unchecked:
  description: Fields that could not be compared because V7 did not return them (C(tenant_id)).
  returned: when O(storage_account) is set
  type: list
  elements: str
msg:
  description: What V7 has done, in one sentence.
  returned: always
  type: str
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.v7labs.azure_storage.plugins.module_utils import darwin_api
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import (
    AzureApiError, AzureConfigError, failure_result, scrub)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import rename_options

ARGUMENT_SPEC = dict(
    api_key=dict(type="str", required=True, no_log=True, fallback=(env_fallback, [v7.API_KEY_ENV])),
    team_slug=dict(type="str", required=True),
    base_url=dict(type="str", fallback=(env_fallback, [v7.API_BASE_URL_ENV])),
    storage_account=dict(type="str"),
    tenant_id=dict(type="str"),
    prefix=dict(type="str"),
    write=dict(type="bool", default=False),
    ca_bundle=dict(type="path", fallback=(env_fallback, ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])),
    api_retries=dict(type="int", default=3),
    api_timeout=dict(type="int", default=30),
    option_names=dict(type="dict", default={}),
)


def inputs_problems(params: dict) -> list[str]:
    problems = [p for p in (darwin_api.base_url_problem(params["base_url"]),
                            darwin_api.team_slug_problem(params["team_slug"])) if p]
    if params["ca_bundle"] and not os.path.exists(params["ca_bundle"]):
        problems.append(f"ca_bundle: {params['ca_bundle']} does not exist: fix the path or unset it "
                        "(and REQUESTS_CA_BUNDLE, SSL_CERT_FILE)")
    for name in ("api_retries", "api_timeout"):
        if params[name] < (1 if name == "api_timeout" else 0):
            problems.append(f"{name}: {params[name]} is too small")
    if params["tenant_id"] and not v7.is_guid(params["tenant_id"]):
        problems.append(f"tenant_id: {params['tenant_id']!r} is not a tenant (directory) ID, a GUID")
    return problems


def client_for(params: dict) -> darwin_api.DarwinClient:
    return darwin_api.DarwinClient(params["base_url"], params["api_key"], ca_bundle=params["ca_bundle"],
                                   retries=params["api_retries"], timeout=params["api_timeout"])


def run(params: dict, client=None) -> dict:
    """Reads V7's side through ``client`` (a DarwinClient unless a test gives its own)."""
    client = client or client_for(params)
    want = None
    if params["storage_account"]:
        want = darwin_api.expected(params["storage_account"], params["tenant_id"], params["prefix"], params["write"])
    found = darwin_api.read_side(client, params["team_slug"], want)
    if want is None:
        found.update(state=None, msg=f"V7 team {params['team_slug']} has {len(found['integrations'])} storage "
                                     "integration(s).")
    return dict(changed=False, **found)


def respond(params: dict, client=None) -> tuple[dict, list[str]]:
    """(the task's result, its warnings): V7's side, or the failure (errors.failure_result) with
    what to do. Every text is said with the caller's option names, the API key scrubbed."""
    secrets = (params["api_key"],)

    def say(text: str) -> str:
        return scrub(rename_options(text, params["option_names"] or {}), secrets)

    problems = inputs_problems(params)
    if problems:
        err = AzureConfigError("Invalid options: " + "; ".join(problems) + ". Nothing was sent to V7.", code="InvalidInput")
        return failure_result(err, secrets, say), []
    try:
        result = run(params, client)
    except AzureApiError as err:  # a DarwinApiError, mostly
        return failure_result(err, secrets, say), []
    except Exception as exc:  # noqa: BLE001 - say what happened, the key scrubbed
        err = AzureApiError(f"Unexpected error reading V7's storage integrations: {type(exc).__name__}: {exc}",
                            code="UnexpectedError")
        return failure_result(err, secrets, say, exception=traceback.format_exc()), []
    result["msg"] = say(result["msg"])
    warnings = [result["msg"]] if result.get("state") in (darwin_api.MISMATCH, darwin_api.NOT_YET) else []
    return result, warnings


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = dict(module.params)
    params["base_url"] = params["base_url"] or v7.API_BASE_URL
    result, warnings = respond(params)
    for warning in warnings:
        module.warn(warning)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
