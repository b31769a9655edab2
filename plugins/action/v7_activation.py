# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of v7labs.azure_storage.v7_activation (documented in plugins/modules)."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping

from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.controller_action import ControllerAction

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "write": {"type": "bool", "default": True},
}
# The registered results that carry an account's state: the verdict after the writes, or the
# preflight's for an account that needed none.
FINAL_STEPS = ("__v7_state", "__v7_verdict")
# The registered results of the role's steps, latest first: the first failed one says why an
# account stopped.
STEPS = ("__v7_state", "__v7_cors", "__v7_roles", "__v7_container", "__v7_principal_created", "__v7_verdict",
         "__v7_info")


def _get(host_vars, name):
    try:
        value = host_vars[name]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, Mapping) else None


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def decide(self, args: dict, task_vars: dict) -> dict:
        hostvars = task_vars["hostvars"]
        teams: dict[tuple[str, str, str], list[dict]] = {}
        summary: dict[str, dict] = {}
        for host in args["hosts"]:
            host_vars = hostvars[host]
            inputs = _get(host_vars, "__v7_inputs")
            if not inputs or "account" not in inputs:
                why = str((inputs or {}).get("msg") or "the run stopped before its inventory variables were checked")
                summary[host] = {"state": si.FAILED, "why": [why]}
                team = host_vars.get("v7_team") if hasattr(host_vars, "get") else None
                if isinstance(team, str) and si.team_slug(team):
                    directory = os.path.expanduser(str(host_vars.get("v7_activation_dir") or si.DEFAULTS["v7_activation_dir"]))
                    teams.setdefault((directory, si.team_slug(team), team), []).append(
                        {"storage_account": host, "state": si.FAILED, "why": [why]})
                continue
            account = inputs["account"]
            state = next((r for r in (_get(host_vars, step) for step in FINAL_STEPS) if r and "state" in r), None)
            failure = None
            if state is None:
                failed = [_get(host_vars, step) for step in STEPS]
                failure = next((str(r.get("msg")) for r in failed if r and r.get("failed") and r.get("msg")), None)
            entry = si.activation_entry(account, state, failure)
            summary[account["storage_account"]] = {"state": entry["state"], "why": entry["why"]}
            side = si.v7_side(_get(host_vars, "__v7_darwin"))
            if side is not None:
                summary[account["storage_account"]]["v7"] = side
            directory = os.path.expanduser(account["activation_dir"])
            teams.setdefault((directory, account["team_slug"], account["team"]), []).append(entry)

        changed, files, diffs, warnings = False, [], [], []
        if args["write"]:
            for (directory, slug, team), entries in sorted(teams.items()):
                path = os.path.join(directory, slug)
                details = si.merge_team(self._read(path + ".json", warnings), team, entries)
                for suffix, text in ((".json", json.dumps(details, indent=2) + "\n"),
                                     (".md", si.activation_markdown(details))):
                    before = self._read_text(path + suffix)
                    if before != text:
                        changed = True
                        diffs.append({"before_header": path + suffix, "after_header": path + suffix,
                                      "before": before or "", "after": text})
                        if not self._task.check_mode:
                            self._write(path + suffix, text)
                    files.append(path + suffix)
        by_state = {key: sorted(n for n, v in summary.items() if v["state"] == state)
                    for key, state in (("ready", si.READY), ("blocked", si.BLOCKED), ("not_ready", si.FAILED))}
        out = dict(changed=changed, files=files, accounts=summary, warnings=warnings, **by_state)
        if diffs and self._task.diff:
            out["diff"] = diffs
        if args["write"] and not self._task.check_mode:
            # AWX / Automation Controller keeps these as the job's artifacts; a sliced job's hold every slice's accounts.
            entries = {e["storage_account"]: dict(e, team=team) for (_d, _s, team), es in teams.items() for e in es}
            out["ansible_stats"] = {"data": {"v7_activation": entries}, "per_host": False, "aggregate": True}
        return out

    @staticmethod
    def _read_text(path: str):
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def _read(self, path: str, warnings: list):
        text = self._read_text(path)
        if text is None:
            return None
        try:
            found = json.loads(text)
        except ValueError:
            warnings.append(f"{path} is not JSON; it is written anew from this run's accounts only.")
            return None
        return found if isinstance(found, dict) else None

    @staticmethod
    def _write(path: str, text: str) -> None:
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=directory, prefix=".v7-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
