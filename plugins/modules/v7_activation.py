# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done on the controller by the action plugin of the same name (plugins/action).
from __future__ import annotations

DOCUMENTATION = r"""
module: v7_activation
short_description: Write the activation details V7 asks for, per V7 team, for the storage_integration role
version_added: 1.0.0
description:
  - The last step of the C(v7labs.azure_storage.storage_integration) role, run once for the play.
    For each V7 team, one C(<team>.json) (for a program) and one C(<team>.md) (for a person) in the
    accounts' C(v7_activation_dir) on the controller - each account's name, tenant ID, prefix,
    write access, origins, subscription and resource group, and its state (C(ready), C(blocked) or
    C(failed), with why). No secrets.
  - Merges with what the files hold - this run's accounts replace their own entries, and every
    other account keeps the entry an earlier run recorded - so C(--limit), a failed account or a
    run over one tenant never removes another account's details.
  - Files are replaced atomically, and only when their content changes. In check mode nothing is
    written, and the diff shows what would be.
  - Returns the activation details as job statistics (C(ansible_stats)), which AWX / Automation
    Controller keeps as the job's artifacts.
  - Also summarises every account of the run (RV(ready), RV(blocked), RV(not_ready)); with
    O(write=false) it only summarises.
options:
  hosts:
    description: The run's accounts (inventory host names), usually C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  write:
    description: Whether to write the files; V(false) only summarises.
    type: bool
    default: true
extends_documentation_fragment:
  - v7labs.azure_storage.attributes
  - v7labs.azure_storage.attributes.controller
  - v7labs.azure_storage.attributes.write
attributes:
  check_mode:
    details: Writes nothing; C(changed) says whether a file would change.
  diff_mode:
    details: Shows each file that changes (or would, in check mode), before and after.
  idempotent:
    details: A file is written only when its content changes, so a second run with the same accounts writes nothing.
author:
  - V7 platform integrations team (@v7labs)
"""

EXAMPLES = r"""
- name: Write the activation details of each V7 team
  v7labs.azure_storage.v7_activation:
    hosts: "{{ ansible_play_hosts_all }}"
  run_once: true
"""

RETURN = r"""
files:
  description: The files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
accounts:
  description:
    - Each account's state and why; in verify with a V7 API key also C(v7), V7's side
      (C(active), C(mismatch), C(not yet), or why it could not be read), from
      M(v7labs.azure_storage.v7_darwin_storage_info).
  returned: always
  type: dict
ready:
  description: The accounts ready for V7.
  returned: always
  type: list
  elements: str
blocked:
  description: The accounts configured for V7 but blocked by their network.
  returned: always
  type: list
  elements: str
not_ready:
  description: The accounts that are not ready (failed).
  returned: always
  type: list
  elements: str
"""
