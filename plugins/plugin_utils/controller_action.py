# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's action plugins that only decide, on the controller."""
from __future__ import annotations

from typing import Any, Iterable

from ansible.plugins.action import ActionBase

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, failure_result


class ControllerAction(ActionBase):
    """No connection, no module; the same in check mode. A subclass sets ARGUMENT_SPEC and
    implements decide(args, task_vars), which returns the task's result, and fails through fail()."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    ARGUMENT_SPEC: dict = {}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(self.ARGUMENT_SPEC)
        return dict(result, **self.decide(args, task_vars or {}))

    def decide(self, args: dict, task_vars: dict) -> dict:
        raise NotImplementedError

    @staticmethod
    def fail(msg: str, code: str, secrets: Iterable[str] = (), **extra: Any) -> dict:
        """The task's failure, as every module of the collection fails (errors.failure_result):
        ``msg`` and ``extra`` scrubbed of ``secrets`` and of anything token-shaped, with ``error_code``."""
        return failure_result(AzureApiError(msg, code=code), secrets, **extra)
