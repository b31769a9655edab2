#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_blob_container
short_description: Make sure a blob container exists, for V7 Darwin's prefix
description:
  - Makes sure a blob container exists in a storage account, for example the container of the
    C(container/folder) prefix under which V7 Darwin writes the files it generates.
  - Reads the container through the management plane (ARM C(blobServices/default/containers)) and
    creates it only when Azure answers that it does not exist (C(ContainerNotFound)). A new
    container is private (no anonymous access) and has the account's default settings. An existing
    container is never changed.
  - Uses no account key and no data-plane role, so it works when shared-key access is disabled.
  - Fails with a clear message when the storage account does not exist, or has no Blob service
    (C(FileStorage)). Names (container, storage account, resource group) and O(subscription_id),
    O(tenant) and O(client_id) are checked against Azure's rules before any request.
version_added: 0.1.0
options:
  name:
    description:
      - Name of the container. Azure's rules - 3 to 63 characters; lowercase letters, digits and
        hyphens; starts and ends with a letter or digit; no two hyphens in a row.
    type: str
    required: true
  state:
    description:
      - V(present) creates the container when it does not exist.
      - V(absent) deletes the container, with every blob in it, but only when its metadata holds
        every key and value of O(metadata) (a marker set when it was created, such as the
        storage_integration role's C(createdby=v7labs.azure_storage)); a container without the
        marker, made by anyone else, is never deleted. A container that does not exist is fine.
    type: str
    choices: [present, absent]
    default: present
  metadata:
    description:
      - With O(state=present), the metadata (name-value pairs) of a container that this module
        creates; the metadata of an existing container is never changed.
      - With O(state=absent), required - the marker a container must carry to be deleted.
      - Names are C-identifiers (letters, digits, underscores, not starting with a digit),
        compared case-insensitively as Azure does.
    type: dict
    default: {}
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
    details: Reads the container and predicts the change (creation or deletion); writes nothing.
  diff_mode:
    details: Shows the container before (null when it does not exist) and after.
notes:
  - Needs C(Microsoft.Storage/storageAccounts/read), C(.../blobServices/containers/read) and
    C(.../blobServices/containers/write) on the account, for example through Storage Account
    Contributor or Storage Blob Data Contributor.
seealso:
  - module: v7labs.azure_storage.v7_storage_account_info
  - name: Naming containers
    description: Azure's rules for container names.
    link: https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: The container of V7's prefix images/v7-generated
  v7labs.azure_storage.v7_blob_container:
    resource_group: rg-data
    storage_account: stdarwinimages
    name: images
"""

RETURN = r"""
container:
  description: The container (predicted in check mode when it would be created).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the container.
      type: str
      sample: images
    id:
      description: ARM resource id of the container.
      type: str
      sample: >-
        /subscriptions/0000/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdarwinimages/blobServices/default/containers/images
    metadata:
      description: The container's metadata.
      returned: state is absent and the container exists
      type: dict
      sample: {createdby: v7labs.azure_storage}
marked:
  description: With O(state=absent), whether the container exists and carries O(metadata), so is (or would be) deleted.
  returned: state is absent
  type: bool
"""

import re

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import raise_problems
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import STORAGE_ACCOUNT_OPTIONS, AzureModule
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import require_blob_service
from ansible_collections.v7labs.azure_storage.plugins.module_utils.validation import (
    container_name_problem, settings_problems, storage_account_problems)

# Azure: metadata names are C# identifiers.
_METADATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

ARGUMENT_SPEC = dict(
    **STORAGE_ACCOUNT_OPTIONS,
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    metadata=dict(type="dict", default={}),
)


def check_inputs(module: AzureModule) -> None:
    """Fails naming every bad option, before any request."""
    params = module.params
    problems = settings_problems(module.auth) + storage_account_problems(params)
    problems += [p for p in [container_name_problem(params["name"])] if p]
    problems += [f"metadata: {name!r} is not a metadata name (letters, digits and underscores, not starting with "
                 "a digit)" for name in params["metadata"] if not _METADATA_NAME.match(str(name))]
    if params["state"] == "absent" and not params["metadata"]:
        problems.append("metadata: state=absent needs the marker (metadata) a container must carry to be deleted, "
                        "for example {createdby: v7labs.azure_storage}")
    raise_problems(problems)


def check_account(account) -> str:
    """The account's ARM id; fails when it does not exist or has no Blob service."""
    return require_blob_service(account)["id"]


def container_metadata(found: dict) -> dict:
    return dict((found.get("metadata") or (found.get("properties") or {}).get("metadata") or {}))


def carries(metadata: dict, marker: dict) -> bool:
    """Whether metadata holds every marker pair (names case-insensitive, values exact)."""
    held = {str(k).lower(): str(v) for k, v in metadata.items()}
    return all(held.get(str(k).lower()) == str(v) for k, v in marker.items())


def ensure_container(module: AzureModule, account) -> dict:
    name = module.params["name"]
    account_id = check_account(account)
    existing = account.container(name)
    after = {"name": name, "id": existing["id"] if existing else f"{account_id}/blobServices/default/containers/{name}"}
    changed = existing is None
    if changed and not module.check_mode:
        changed = account.create_container(name, module.params["metadata"])
    result = dict(changed=changed, container=after)
    if module.diff_mode:
        # a container another run created meanwhile (Azure's 200) was there before this run's write
        result["diff"] = dict(before=dict(container=None if changed else after), after=dict(container=after))
    return result


def remove_marked_container(module: AzureModule, account) -> dict:
    """state=absent: delete the container only when it carries the marker given as metadata."""
    name, marker = module.params["name"], module.params["metadata"]
    check_account(account)
    existing = account.container(name)
    found = None if existing is None else {"name": name, "id": existing["id"], "metadata": container_metadata(existing)}
    marked = found is not None and carries(found["metadata"], marker)
    if marked and not module.check_mode:
        account.delete_container(name)
    result = dict(changed=marked, marked=marked, container=found)
    if module.diff_mode:
        result["diff"] = dict(before=dict(container=found), after=dict(container=None if marked else found))
    return result


def run(module: AzureModule, account=None) -> dict:
    check_inputs(module)
    account = account or module.storage_account()
    if module.params["state"] == "absent":
        return remove_marked_container(module, account)
    return ensure_container(module, account)


def main() -> None:
    AzureModule(ARGUMENT_SPEC).run(run)


if __name__ == "__main__":
    main()
