# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the module v7_storage_account_info inside Ansible's worker on the controller (see plugin_utils/azure_action)."""
from __future__ import annotations

from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.azure_action import AzureModuleAction


class ActionModule(AzureModuleAction):
    MODULE = "v7_storage_account_info"
