"""One failure path: every module and action plugin fails through errors.failure_result, which
scrubs secrets and sets error_code and status. A failure written by hand anywhere else in plugins/
(a fail_json call, a result with failed set to True) fails this test."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AuthSettings
from ansible_collections.v7labs.azure_storage.plugins.module_utils.darwin_api import DarwinApiError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import (
    REDACTED, AzureApiError, AzureConfigError, failure_result)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.module import AzureModule
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.controller_action import ControllerAction

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
FAIL_JSON = re.compile(r"\bfail_json\(")
FAILED_TRUE = re.compile(r"""\bfailed\s*=\s*True|["']failed["']\s*\]?\s*[:=]\s*True""")
# The only places that may fail a task, each exactly once: AzureModule.fail, the V7 module (which
# has no Azure sign-in, so no AzureModule) with the result of failure_result, and failure_result.
ALLOWED = {
    ("module_utils/module.py", "self.ansible.fail_json(**failure_result(err, say=self._say, writes=self.writes, **extra))"),
    ("modules/v7_darwin_storage_info.py", "module.fail_json(**result)"),
    ("module_utils/errors.py", "result.update(msg=clean(msg), error_code=err.code, status=err.status, failed=True)"),
    # the stand-in for AnsibleModule when a module runs inside Ansible's worker: what AnsibleModule
    # itself does (its fail_json, and its failure on arguments that do not fit the spec)
    ("plugin_utils/azure_action.py", "def fail_json(self, msg: str, **kwargs):"),
    ("plugin_utils/azure_action.py", "raise ModuleExit(self._result(dict(kwargs, failed=True, msg=msg)))"),
    ("plugin_utils/azure_action.py", "self.fail_json(msg=msg)"),
}
SECRET = "Sup3r~Secret.value-0042"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"


def failures_in_plugins() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PLUGINS.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if FAIL_JSON.search(line) or FAILED_TRUE.search(line):
                found.add((path.relative_to(PLUGINS).as_posix(), line.strip()))
    return found


def test_no_failure_outside_the_one_path():
    assert failures_in_plugins() == ALLOWED


@pytest.mark.parametrize(
    ("err", "code", "status"),
    [
        (AzureApiError(f"Failed to read it: refused with Bearer {TOKEN} and {SECRET}.", status=403,
                       code="AuthorizationFailed"), "AuthorizationFailed", 403),
        (AzureConfigError(f"secret: {SECRET} is not allowed here."), "InvalidConfiguration", None),
        (DarwinApiError(f"V7 refused the API key {SECRET} (HTTP 401).", 401, "Unauthorized"), "Unauthorized", 401),
    ],
)
def test_the_failure_is_scrubbed_and_coded(err, code, status):
    result = failure_result(err, [SECRET], exception=f"Traceback: {SECRET} {TOKEN}", problems=[f"secret: {SECRET}"])
    assert (result["failed"], result["error_code"], result["status"]) == (True, code, status)
    for text in (result["msg"], result["exception"], *result["problems"]):
        assert SECRET not in text and TOKEN not in text and REDACTED in text


def test_a_writer_that_changed_nothing_says_so_once():
    said = failure_result(AzureApiError("Failed to write it."), writes=True)
    assert said["msg"] == "Failed to write it. Nothing was changed."
    assert failure_result(AzureApiError("Failed to write it. Nothing was changed."), writes=True)["msg"] == \
        "Failed to write it. Nothing was changed."
    done = failure_result(AzureApiError("Failed half way.", result={"changed": True, "created": [{"id": "x"}]}),
                          writes=True)
    assert done["msg"] == "Failed half way." and done["changed"] is True and done["created"] == [{"id": "x"}]
    assert failure_result(AzureApiError("Failed to read it."))["msg"] == "Failed to read it."


def test_azure_modules_fail_through_it():
    """AzureModule.fail as a task sees it: the options named as the caller knows them, the signed-in
    identity's secret scrubbed, error_code and status set."""
    failed = {}

    def fail_json(**kwargs):
        failed.update(kwargs)
        raise SystemExit(1)

    module = object.__new__(AzureModule)
    module.ansible = SimpleNamespace(fail_json=fail_json)
    module.params = {"option_names": {"subscription_id": "v7_subscription_id"}}
    module.auth = AuthSettings(credential_kind="secret", secret=SECRET)
    module.writes = True
    with pytest.raises(SystemExit):
        module.fail(AzureApiError(f"Check subscription_id; the secret {SECRET} was refused.", status=404,
                                  code="SubscriptionNotFound"))
    assert failed == {"msg": f"Check v7_subscription_id; the secret {REDACTED} was refused. Nothing was changed.",
                      "error_code": "SubscriptionNotFound", "status": 404, "failed": True}


def test_controller_actions_fail_through_it():
    result = ControllerAction.fail(f"Invalid inventory variables: v7_api_key {SECRET} is wrong.", "InvalidInput",
                                   [SECRET], problems=[f"v7_api_key: {SECRET}"])
    assert result == {"msg": f"Invalid inventory variables: v7_api_key {REDACTED} is wrong.", "error_code": "InvalidInput",
                      "status": None, "failed": True, "problems": [f"v7_api_key: {REDACTED}"]}
