# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of v7labs.azure_storage.v7_account_inputs (documented in plugins/modules)."""
from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "?")
        problem = si.tag_problem(task_vars.get("ansible_run_tags") or [])
        if problem:
            return dict(result, failed=True, msg=problem)
        names = [n for n in task_vars if isinstance(n, str) and n.startswith("v7_")]
        values = {n: self._templar.template(task_vars[n]) for n in names}
        try:
            account = si.check_account_vars(values, host)
        except InputError as err:
            return dict(result, failed=True, msg=si.input_failure_message(host, err), problems=err.problems)
        return dict(
            result,
            changed=False,
            account=account,
            option_names=dict(si.OPTION_NAMES),
            created_by=dict(v7.CREATED_BY),
            # the tenant's accounts share V7's service principal: one of them looks after it
            add_group=account["tenant_group"],
            parent_groups=["all"],
        )
