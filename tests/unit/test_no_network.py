"""The unit tests' network guard (tests/unit/conftest.py): loopback is allowed, the rest fails."""
from __future__ import annotations

import socket
import threading
import urllib.request

import pytest


def refused(caught) -> bool:
    return type(caught.value).__name__ == "NetworkInUnitTest"  # tests/unit/conftest.py


@pytest.mark.parametrize("target", [("203.0.113.7", 443), ("2001:db8::1", 443)])
def test_a_connection_beyond_loopback_fails(no_network, target):
    family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
    with socket.socket(family) as sock, pytest.raises(BaseException) as caught:
        sock.connect(target)
    assert refused(caught) and no_network == [target]
    no_network.clear()  # caught here on purpose


def test_a_name_look_up_fails_even_when_the_code_swallows_errors(no_network):
    with pytest.raises(BaseException) as caught:
        try:
            urllib.request.urlopen("https://darwin.v7labs.com/", timeout=1)  # noqa: S310 - the point of the test
        except Exception:  # noqa: BLE001 - what careless code would do; the guard is not an Exception
            pass
    assert refused(caught) and no_network == ["darwin.v7labs.com"]
    no_network.clear()


def test_loopback_servers_are_allowed(no_network):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def accept():
            server.accept()[0].close()

        accepted = threading.Thread(target=accept)
        accepted.start()
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5):
            pass
        accepted.join(5)
    assert no_network == []
