# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module of the collection shares, documented once. A module adds the
variants that fit it: what it talks to (azure, v7_api or controller) and whether it writes (write
or info); and, where it helps, its own details."""
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
"""

    # A module of the action group v7labs.azure_storage.azure (the Azure modules).
    AZURE = r"""
attributes:
  action_group:
    description: Use C(group/v7labs.azure_storage.azure) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - v7labs.azure_storage.azure
  platform:
    details:
      - "Runs wherever Python and the Azure SDK packages are, usually the Ansible controller
        (C(connection: local) or C(delegate_to: localhost)); it talks to Azure over HTTPS."
"""

    # A module that reads V7's REST API (and nothing of Azure).
    V7_API = r"""
attributes:
  platform:
    details:
      - "Runs wherever Python, azure-core and requests are, usually the Ansible controller
        (C(connection: local) or C(delegate_to: localhost)); it talks to V7's API over HTTPS and
        sends nothing to Azure."
"""

    # A module whose action plugin does all of the work on the controller (no module is sent).
    CONTROLLER = r"""
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: All of it runs in the action plugin, on the controller; nothing is sent to the host.
  platform:
    details:
      - "Runs on the Ansible controller only, whatever the host is: it needs no connection and no Azure
        SDK, and sends nothing to Azure or V7."
"""

    # A module that changes something (Azure resources, or the controller's files).
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
