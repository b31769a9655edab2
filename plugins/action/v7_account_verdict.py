# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of v7labs.azure_storage.v7_account_verdict (documented in plugins/modules)."""
from __future__ import annotations

from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.controller_action import ControllerAction

ARGUMENT_SPEC = {
    "stage": {"type": "str", "choices": ["preflight", "final"], "required": True},
    "mode": {"type": "str", "choices": ["configure", "verify"], "default": "configure"},
    "account": {"type": "dict", "required": True},
    "info": {"type": "dict", "required": True},
    "principal": {"type": "dict", "default": {}},
    "container": {"type": "dict", "default": {}},
    "roles": {"type": "dict", "default": {}},
    "cors": {"type": "dict", "default": {}},
    "v7_side": {"type": "dict", "default": {}},
    "leads_tenant": {"type": "bool", "default": False},
    "fail": {"type": "bool", "default": True},
}


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def decide(self, args: dict, task_vars: dict) -> dict:
        account, info = args["account"], args["info"]
        if args["stage"] == "preflight":
            return self._preflight(args, account, info)
        return self._final(args, account, info)

    def _preflight(self, args: dict, account: dict, info: dict) -> dict:
        verdict = si.preflight_verdict(account, info)
        out = dict(
            changed=False,
            create_container=si.needs_container(account, info),
            change_roles=si.roles_change(info),
            change_cors=si.cors_change(account, info),
            **verdict,
        )
        if verdict["blockers"]:
            return self.fail(si.preflight_failure_message(account, verdict["blockers"]), "AccountNotUsable", **out)
        out["changes_needed"] = si.changes_needed(out, args["principal"], args["leads_tenant"])
        if not out["changes_needed"]:
            # nothing to write: the preflight's read is Azure's last word on the account
            out.update(self._final(args, account, info))
        return out

    def _final(self, args: dict, account: dict, info: dict) -> dict:
        state = si.account_state(account, info, args["principal"], container=args["container"],
                                 roles=args["roles"], cors=args["cors"])
        msg = si.state_message(account, state)
        if self._task.check_mode and args["mode"] == "configure":
            msg = "(predicted) " + msg
        warnings = [f"Storage account {account['storage_account']}: {c}" for c in state["cautions"]]
        if state["state"] == si.BLOCKED and args["mode"] == "configure":
            warnings.append(msg)
        out = dict(changed=False, warnings=warnings, **state)
        if args["mode"] == "verify":
            out["verify_failure"] = si.verify_failure(dict(out, msg=msg), args["v7_side"])
        fails = state["state"] == si.FAILED or (state["state"] == si.BLOCKED and args["mode"] == "verify")
        if fails and args["fail"]:
            return self.fail(msg, "AccountBlocked" if state["state"] == si.BLOCKED else "AccountNotReady", **out)
        return dict(out, msg=msg)
