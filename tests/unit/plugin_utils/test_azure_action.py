"""The stand-in for AnsibleModule that runs a module inside Ansible's worker (no Ansible run, no
network): arguments validated as AnsibleModule validates them, results as it returns them."""
from __future__ import annotations

import os

import pytest

from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import azure_action
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils.azure_action import ModuleExit, WorkerModule

SPEC = {
    "name": {"type": "str", "required": True},
    "secret": {"type": "str", "no_log": True},
    "count": {"type": "int", "default": 3},
    "mode": {"type": "str", "choices": ["a", "b"], "default": "a"},
}
MODULE = "v7labs.azure_storage.example"


def worker(args, check=False, diff=False, **kwargs):
    return WorkerModule(MODULE, args, check, diff, argument_spec=SPEC, supports_check_mode=True, **kwargs)


def result_of(call):
    with pytest.raises(ModuleExit) as done:
        call()
    return done.value.result


def test_arguments_get_their_defaults_and_types():
    module = worker({"name": "x", "count": "5"}, check=True, diff=True)
    assert module.params == {"name": "x", "secret": None, "count": 5, "mode": "a"}
    assert module.check_mode is True and module._diff is True


@pytest.mark.parametrize("args, message", [
    ({"name": "x", "nmae": "y"}, f"Unsupported parameters for ({MODULE}) module: nmae."),
    ({}, "missing required arguments: name"),
    ({"name": "x", "mode": "c"}, "value of mode must be one of: a, b, got: c"),
    ({"name": "x", "count": "many"}, "count"),
])
def test_argument_errors_fail_as_ansible_module_fails(args, message):
    result = result_of(lambda: worker(args))
    assert result["failed"] is True and message in result["msg"]


def test_mutually_exclusive_options_are_checked():
    result = result_of(lambda: worker({"name": "x", "secret": "Long-Secret-2", "count": 1},
                                      mutually_exclusive=[["secret", "count"]]))
    assert "mutually exclusive" in result["msg"]


def test_the_result_hides_no_log_values_keeps_booleans_and_carries_warnings():
    module = worker({"name": "x", "secret": "Very-Secret-1"})
    module.warn("careful")
    result = result_of(lambda: module.exit_json(changed=False, echo="got Very-Secret-1", ok=True, none=None))
    assert "Very-Secret-1" not in repr(result)
    assert result["changed"] is False and result["ok"] is True and result["none"] is None
    assert result["warnings"] == ["careful"]
    assert result["invocation"]["module_args"]["name"] == "x"


def test_a_failure_is_a_result_with_failed_and_msg():
    module = worker({"name": "x", "secret": "Very-Secret-1"})
    result = result_of(lambda: module.fail_json(msg="no: Very-Secret-1", error_code="Code"))
    assert result["failed"] is True and result["error_code"] == "Code"
    assert "Very-Secret-1" not in result["msg"]


def test_check_mode_without_support_skips():
    result = result_of(lambda: WorkerModule(MODULE, {"name": "x"}, True, False, argument_spec=SPEC))
    assert result["skipped"] is True


def test_the_tasks_environment_is_set_for_the_run_and_put_back(monkeypatch):
    monkeypatch.setenv("V7_TEST_KEPT", "before")
    monkeypatch.delenv("V7_TEST_NEW", raising=False)
    with azure_action._environment({"V7_TEST_KEPT": "during", "V7_TEST_NEW": 1}):
        assert os.environ["V7_TEST_KEPT"] == "during" and os.environ["V7_TEST_NEW"] == "1"
    assert os.environ["V7_TEST_KEPT"] == "before" and "V7_TEST_NEW" not in os.environ


def test_the_sdk_is_loaded_when_the_plugin_is():
    assert azure_action.SDK_LOADED is True
