"""examples/awx/credential_types/v7_api_key.yml: AWX injects the key where the module reads it."""
from __future__ import annotations

import os

import yaml

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_darwin_storage_info as module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_credential_type_injects_the_variable_the_module_reads():
    with open(os.path.join(ROOT, "examples", "awx", "credential_types", "v7_api_key.yml"), encoding="utf-8") as f:
        kind = yaml.safe_load(f)
    fields = {f["id"]: f for f in kind["inputs"]["fields"]}
    assert fields["api_key"]["secret"] is True and kind["inputs"]["required"] == ["api_key"]
    assert kind["injectors"] == {"env": {v7.API_KEY_ENV: "{{ api_key }}"}}
    spec = module.ARGUMENT_SPEC["api_key"]
    assert spec["no_log"] is True and spec["fallback"][1] == [v7.API_KEY_ENV]
