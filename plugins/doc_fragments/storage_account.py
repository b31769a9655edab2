# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage account a module works on, documented once for every module that takes one."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  resource_group:
    description: Resource group of the storage account.
    type: str
    required: true
  storage_account:
    description:
      - Name of the storage account (Azure's rules - 3 to 24 lowercase letters and digits).
      - The subscription is O(subscription_id).
    type: str
    required: true
"""
