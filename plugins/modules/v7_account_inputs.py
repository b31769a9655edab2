# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done on the controller by the action plugin of the same name (plugins/action).
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_account_inputs
short_description: Check a storage account's inventory variables for the storage_integration role
version_added: 1.0.0
description:
  - The first step of the C(v7labs.azure_storage.storage_integration) role. Reads the host's C(v7_*)
    inventory variables, applies the role's defaults (V7's facts, from the collection's Python),
    and checks each value with the same checks the modules make, before any request to Azure.
    Every bad variable is named at once, with how to write it.
  - A C(v7_*) variable the role does not know fails the account, naming the closest known one
    (a typo such as C(v7_writ) would otherwise be ignored).
  - Fails when the run's C(--tags) select none of the role's steps.
  - Adds the host to the group C(v7_tenant_<tenant id>), whose first account looks after V7's
    service principal for the tenant.
  - Runs on the controller; sends nothing to Azure.
options: {}
extends_documentation_fragment:
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.controller
  - v7labs.azure_storage.attributes.info
attributes:
  check_mode:
    details: Decides only; the same in check mode.
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Check the account's inventory variables
  v7labs.azure_storage.v7_account_inputs:
  register: __v7_inputs
"""

RETURN = r"""
account:
  description: The account as the role uses it, every default applied and every value in one form.
  returned: success
  type: dict
  sample:
    storage_account: contosofresh
    tenant_id: 11111111-1111-4111-8111-111111111111
    subscription_id: 22222222-2222-4222-8222-222222222222
    resource_group: rg-vision
    containers: [images]
    prefix: images/v7-generated
    prefix_container: images
    role_containers: [images]
    write: true
    team: contoso-vision
    team_slug: contoso-vision
    origins: [https://darwin.v7labs.com]
    ips: []
    firewall_policy: warn
    activation_dir: ~/v7-activation
    replication_timeout: 120
    remove_service_principal: true
    remove_created_containers: false
    principal_object_id: null
    tenant_group: v7_tenant_11111111_1111_4111_8111_111111111111
option_names:
  description: How the role's module calls name their options in messages (their O(v7labs.azure_storage.v7_blob_cors#module:option_names)).
  returned: success
  type: dict
created_by:
  description: The metadata the role puts on a container it creates.
  returned: success
  type: dict
  sample: {createdby: v7labs.azure_storage}
problems:
  description: Each bad variable and how to write it.
  returned: failure
  type: list
  elements: str
"""
