# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done on the controller by the action plugin of the same name (plugins/action).
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_account_verdict
short_description: Decide, for the storage_integration role, what a storage account's findings mean
version_added: 1.0.0
description:
  - With O(stage=preflight), before the account's first write - from what
    M(v7labs.azure_storage.v7_storage_account_info) read, fails the account when anything stops it
    (account not found, no Blob CORS, CORS limits, missing containers other than the prefix's, the
    operator's rights, and the network when C(v7_firewall_policy) is C(fail)), and says which steps
    have something to do.
  - With O(stage=final), after the writes - says whether the account is C(ready), C(blocked)
    (configured, but its network keeps V7 out) or C(failed), from what Azure answered (the write
    modules' replies where they ran, the preflight's reads where they did not). A blocked account
    is an Ansible warning in configure and a failure in verify; a failed one fails.
  - Runs on the controller; sends nothing to Azure.
options:
  stage:
    description: V(preflight) before the first write, V(final) after the writes.
    type: str
    choices: [preflight, final]
    required: true
  mode:
    description: V(configure) or V(verify); verify fails a blocked account too.
    type: str
    choices: [configure, verify]
    default: configure
  account:
    description: The account, as RV(v7labs.azure_storage.v7_account_inputs#module:account) returned it.
    type: dict
    required: true
  info:
    description: The registered result of M(v7labs.azure_storage.v7_storage_account_info).
    type: dict
    required: true
  principal:
    description: What is known of V7's service principal (filter C(v7labs.azure_storage.tenant_principal)).
    type: dict
    default: {}
  container:
    description: The registered result of M(v7labs.azure_storage.v7_blob_container), when it ran.
    type: dict
    default: {}
  roles:
    description: The registered result of M(v7labs.azure_storage.v7_storage_roles), when it ran.
    type: dict
    default: {}
  cors:
    description: The registered result of M(v7labs.azure_storage.v7_blob_cors), when it ran.
    type: dict
    default: {}
  fail:
    description: With O(stage=final), whether to fail an account that is not ready; V(false) only reports.
    type: bool
    default: true
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
- name: Stop before the first write where the account cannot be made ready
  v7labs.azure_storage.v7_account_verdict:
    stage: preflight
    account: "{{ __v7_inputs.account }}"
    info: "{{ __v7_info }}"
  register: __v7_verdict
"""

RETURN = r"""
blockers:
  description: What stops the account before its first write (O(stage=preflight)).
  returned: always
  type: list
  elements: str
blocked_by:
  description: What keeps V7 out of an account that is otherwise configured (the network).
  returned: always
  type: list
  elements: str
cautions:
  description: Warnings that do not block.
  returned: always
  type: list
  elements: str
create_container:
  description: Whether the prefix's container must be created (O(stage=preflight)).
  returned: O(stage=preflight)
  type: bool
change_roles:
  description: Whether V7's roles must change, or are not known (O(stage=preflight)).
  returned: O(stage=preflight)
  type: bool
change_cors:
  description: Whether the Blob CORS rules must change (O(stage=preflight)).
  returned: O(stage=preflight)
  type: bool
state:
  description: V(ready), V(blocked) or V(failed) (O(stage=final)).
  returned: O(stage=final)
  type: str
lacks:
  description: What V7 still lacks on the account, from Azure's answers (O(stage=final)).
  returned: O(stage=final)
  type: list
  elements: str
msg:
  description: The account's state in one sentence, or why it stops.
  returned: when failed, and with O(stage=final)
  type: str
"""
