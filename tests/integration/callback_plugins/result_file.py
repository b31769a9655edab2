"""Writes every task result to the JSON file named by RESULT_FILE, so tests can assert on what
the user sees without parsing the screen output."""
from __future__ import annotations

DOCUMENTATION = """
name: result_file
type: aggregate
short_description: write task results to a JSON file (tests only)
description: Appends each task result, per host, to the file named by RESULT_FILE.
requirements: [RESULT_FILE in the environment]
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "result_file"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("RESULT_FILE")
        self._results = []

    def _add(self, result, status):
        self._results.append(
            {
                "host": result._host.get_name(),
                "task": result._task.get_name(),
                "status": status,
                "result": result._result,
            }
        )

    def v2_runner_on_ok(self, result):
        self._add(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._add(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._add(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        if self._path:
            with open(self._path, "w", encoding="utf-8") as handle:
                json.dump(self._results, handle, default=str)
