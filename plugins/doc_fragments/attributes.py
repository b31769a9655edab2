# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module of the collection shares, documented once. A module adds the
variants that fit it (azure; write or info) and, where it helps, its own details."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description: When run twice in a row with the same options, the second run changes nothing and reports no change.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
    details:
      - "Runs wherever Python and the Azure SDK packages are, usually the Ansible controller
        (C(connection: local) or C(delegate_to: localhost)); it talks to Azure over HTTPS."
"""

    # A module of the action group v7labs.azure_storage.azure (the Azure modules).
    AZURE = r"""
attributes:
  action_group:
    description: Use C(group/v7labs.azure_storage.azure) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - v7labs.azure_storage.azure
"""

    # A module that changes Azure resources.
    WRITE = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
"""

    # A module that only reads.
    INFO = r"""
attributes:
  check_mode:
    support: full
    details: Reads only, in check mode as in a normal run.
  diff_mode:
    support: N/A
    details: Changes nothing, so there is no difference to show.
  idempotent:
    support: full
"""
