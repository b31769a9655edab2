"""Shared fixtures: a running emulator per test session (and per xdist worker)."""
from __future__ import annotations

import os

import pytest

from tests.emulator import EmulatorProcess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_STATE = os.path.join(ROOT, "tests", "emulator", "states", "default.yml")

CONTOSO = "11111111-1111-4111-8111-111111111111"
SUBSCRIPTION = "22222222-2222-4222-8222-222222222222"
OPERATOR = {
    "client_id": "aaaaaaaa-0000-4000-8000-000000000001",
    "object_id": "aaaaaaaa-0000-4000-8000-0000000000a1",
    "secret": "Em9-operator-Secret.contoso~0001",
}
AUDITOR = {
    "client_id": "aaaaaaaa-0000-4000-8000-000000000002",
    "object_id": "aaaaaaaa-0000-4000-8000-0000000000a2",
    "secret": "Em9-auditor-Secret.contoso~0002",
}


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory):
    with EmulatorProcess(DEFAULT_STATE, workdir=str(tmp_path_factory.mktemp("emulator"))) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_process):
    """The session's emulator, reset to the default state (log and faults cleared).

    After the test, every ARM reply it provoked is validated against Microsoft's OpenAPI specs
    (tests/fidelity/reference): a reply that does not validate fails the test."""
    from tests.fidelity.spec_check import arm_problems

    emulator_process.reset()
    yield emulator_process
    problems = arm_problems(emulator_process.log(kind="arm"), emulator_process.url)
    if problems:
        pytest.fail("ARM replies that do not match the specs:\n" + "\n".join(problems[:20]), pytrace=False)


@pytest.fixture(scope="session")
def v7api_process(tmp_path_factory):
    from tests.v7api import running

    with running(workdir=str(tmp_path_factory.mktemp("v7api"))) as fake:
        yield fake


@pytest.fixture
def v7api(v7api_process):
    """The session's fake V7 API, with no team until the test loads its world."""
    v7api_process.load({})
    yield v7api_process


def pytest_configure(config):
    config.addinivalue_line("markers", "offboard_story: reads the role's offboard story (three offboard runs after "
                                       "the configure story); the version matrix's short form leaves these out")


def pytest_collection_modifyitems(items):
    for item in items:
        if "offboarded" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.offboard_story)
