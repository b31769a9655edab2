# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins of the collection's Azure modules: each module runs inside Ansible's worker
process on the controller, where the module would have run anyway (a local connection), so no
module process is started and the Azure SDK is imported once for the whole run.

The module's own code runs, with the same options, check mode, diff and failures: only the part
of AnsibleModule it uses is provided here (WorkerModule). Where the module would not run on the
controller as the controller's user (another connection, become, async), or the SDK is not
installed in the controller's Python, the task runs the module the usual way; so it does
everywhere when the controller's environment sets V7LABS_AZURE_STORAGE_MODULE_PROCESS=true.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.v7labs.azure_storage.plugins.module_utils import clients, module as azure_module
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, failure_result

# Imported when Ansible first loads one of these action plugins, which its linear and free
# strategies do in the process that forks the workers: every worker starts with the SDK loaded.
SDK_LOADED = clients.preload_sdk()
# ...and what is loaded so far is kept out of the garbage collector's walks: a worker's collector
# would otherwise write to every object's header and so copy each page it shares with that process.
gc.freeze()

_COLLECTION = "ansible_collections.v7labs.azure_storage.plugins.modules."
MODULE_PROCESS_SWITCH = "V7LABS_AZURE_STORAGE_MODULE_PROCESS"
# Loggers of the SDK and its HTTP stack: in a module process nobody listens to them, and here
# Ansible's log file (ANSIBLE_LOG_PATH) would get their request lines, tenant ids in URLs included.
_QUIET_LOGGERS = ("azure", "msal", "urllib3")
_VALIDATION_OPTIONS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ModuleExit(Exception):
    """Carries the module's result out of exit_json / fail_json, as SystemExit does in a module
    process."""

    def __init__(self, result: dict) -> None:
        super().__init__("module exit")
        self.result = result


class WorkerModule:
    """What AzureModule uses of AnsibleModule, for a module run by its action plugin: the task's
    arguments validated against the module's argument spec (the same validator AnsibleModule
    uses), check and diff mode from the task, warnings, and the result with no_log values removed."""

    def __init__(self, name: str, args: dict, check_mode: bool, diff: bool, *, argument_spec: dict,
                 supports_check_mode: bool = False, **kwargs) -> None:
        self.check_mode = check_mode
        self._diff = diff
        self._warnings: list[str] = []
        validator = ArgumentSpecValidator(argument_spec, **{k: kwargs[k] for k in _VALIDATION_OPTIONS if k in kwargs})
        validated = validator.validate(args)
        self.params: dict = validated.validated_parameters
        self.no_log_values: set = set(validated._no_log_values)
        if validated.error_messages:
            msg = validated.errors.msg
            if isinstance(validated.errors[0], UnsupportedError):
                msg = f"Unsupported parameters for ({name}) module: {msg}"
            self.fail_json(msg=msg)
        if check_mode and not supports_check_mode:
            self.exit_json(skipped=True, msg=f"module ({name}) does not support check mode")

    def warn(self, warning: str) -> None:
        self._warnings.append(warning)

    def exit_json(self, **kwargs):
        raise ModuleExit(self._result(kwargs))

    def fail_json(self, msg: str, **kwargs):
        raise ModuleExit(self._result(dict(kwargs, failed=True, msg=msg)))

    def _result(self, result: dict) -> dict:
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(result.get("warnings") or []) + self._warnings
        # as AnsibleModule does: no_log values go, booleans and None stay
        kept = {k: v for k, v in result.items() if v is None or isinstance(v, bool)}
        result = remove_values(result, self.no_log_values)
        result.update(kept)
        return result


@contextlib.contextmanager
def _quiet_sdk_loggers():
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    saved = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, saved):
            logger.propagate = propagate


@contextlib.contextmanager
def _environment(values: dict):
    """The task's ``environment`` for the module's code, as a module process would get it."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class AzureModuleAction(NormalAction):
    """The action plugin of one Azure module; a subclass names it in MODULE."""

    MODULE = ""

    def run(self, tmp=None, task_vars=None):
        if not self._runs_in_worker():
            return super().run(tmp, task_vars)
        result = super(NormalAction, self).run(tmp, task_vars)  # pylint: disable=bad-super-call
        module = importlib.import_module(_COLLECTION + self.MODULE)

        def worker_module(**kwargs):
            return WorkerModule(self._task.resolved_action or self.MODULE, dict(self._task.args),
                                bool(self._task.check_mode), bool(self._task.diff), **kwargs)

        token = azure_module.IN_WORKER.set(worker_module)
        try:
            with _environment(self._task_environment()), _quiet_sdk_loggers():
                module.main()
        except ModuleExit as done:
            result.update(done.result)
        else:
            result.update(failure_result(AzureApiError(f"{self.MODULE} ended without a result", code="UnexpectedError")))
        finally:
            azure_module.IN_WORKER.reset(token)
        return result

    def _runs_in_worker(self) -> bool:
        connection = getattr(self._connection, "_load_name", "") or getattr(self._connection, "transport", "")
        forced = os.environ.get(MODULE_PROCESS_SWITCH, "").strip().lower() in ("1", "true", "yes", "on")
        return (SDK_LOADED and not forced and connection.rsplit(".", 1)[-1] == "local"
                and not self._play_context.become and not self._task.async_val)

    def _task_environment(self) -> dict:
        values: dict = {}
        for entry in self._task.environment or []:
            entry = self._templar.template(entry)
            if isinstance(entry, dict):
                values.update(entry)
        return values
