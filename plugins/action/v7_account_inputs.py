# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of v7labs.azure_storage.v7_account_inputs (documented in plugins/modules)."""
from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):
    def decide(self, args: dict, task_vars: dict) -> dict:
        host = task_vars.get("inventory_hostname", "?")
        problem = si.tag_problem(task_vars.get("ansible_run_tags") or [])
        if problem:
            return self.fail(problem, "InvalidInput")
        names = [n for n in task_vars if isinstance(n, str) and n.startswith("v7_")]
        values = {n: self._templar.template(task_vars[n]) for n in names}
        try:
            account = si.check_account_vars(values, host)
        except InputError as err:
            return self.fail(si.input_failure_message(host, err), err.code, si.secret_values(values),
                             problems=err.problems)
        # the tenant's accounts share V7's service principal: one of them looks after it
        group, parents = account["tenant_group"], ["all"]
        if hasattr(ActionBase, "add_group"):
            # ansible-core 2.21 and later add groups through this call and ignore the result keys
            self.add_group(group, parent_group_names=parents)
        return dict(
            changed=False,
            account=account,
            option_names=dict(si.OPTION_NAMES),
            created_by=dict(v7.CREATED_BY),
            v7_api=si.v7_api_check(values, os.environ),
            add_group=group,
            parent_groups=parents,
        )
