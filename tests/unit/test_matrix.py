"""The version matrix's own rules (tests/matrix/run.py): which Python and which tests an entry
runs, and whether meta/runtime.yml's claim matches what the entries test."""
from __future__ import annotations

import os

from tests.matrix import run

MIDDLE = os.path.join(run.MATRIX, "middle.txt")


def test_an_entry_names_its_python_first_and_may_run_a_smaller_slice():
    text = "# python: 3.12\n# why\n# slice: tests/unit tests/integration/test_x.py\nansible-core<2.19\n"
    assert run.python_of(text) == "3.12"
    assert run.slice_of(text) == ("tests/unit", "tests/integration/test_x.py")
    assert run.slice_of("# python: 3.13\nansible-core\n") == tuple(run.SLICE)
    assert run.python_of("ansible-core\n# python: 3.13\n") is None


def test_the_ends_run_the_role_and_the_middle_the_modules():
    entries = {e.name: e for e in run.every_entry()}
    assert [e.name for e in run.every_entry()] == ["oldest", "middle", "newest"]
    for end in ("oldest", "newest"):
        assert "tests/integration/test_role.py" in entries[end].tests
    assert entries["middle"].tests == ("tests/unit", "tests/integration/test_service_principal.py")


def test_the_claim_must_start_at_the_oldest_release_tested():
    assert run.claim_problems(">=2.16.0", {"oldest": "2.16.19", "newest": "2.21.5"}) == []
    assert "add an entry for 2.15" in run.claim_problems(">=2.15.0", {"oldest": "2.16.19"})[0]
    assert "outside requires_ansible" in run.claim_problems(">=2.16.0,<2.21", {"newest": "2.21.5"})[0]
