"""Unit tests import the collection as Ansible does: ansible_collections.v7labs.azure_storage.
They send nothing over the network: a connection to anything but this machine's loopback (where
some tests run their own small servers) fails the test."""
import ipaddress
import os
import socket
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "collections")
if os.path.isdir(_COLLECTIONS) and os.path.abspath(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))


class NetworkInUnitTest(BaseException):
    """Raised where a unit test reaches for the network; a BaseException, so that no ``except
    Exception`` of the code under test can take it for a network error and carry on."""


def _local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a name: resolving it would ask DNS


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Connections and name look-ups beyond loopback raise NetworkInUnitTest and fail the test (even
    if the code under test swallows the error). Yields the list of attempts."""
    attempts: list = []

    def guard(real, describe):
        def guarded(*args, **kwargs):
            target = describe(*args, **kwargs)
            if target is not None:
                attempts.append(target)
                raise NetworkInUnitTest(f"a unit test tried to reach {target!r}: use a fake client or a loopback server")
            return real(*args, **kwargs)
        return guarded

    def connecting(_sock, address, *_rest):
        if isinstance(address, (str, bytes)) or _local(address[0]):  # AF_UNIX paths are local too
            return None
        return address

    def resolving(host, *_args, **_kwargs):
        return None if _local(host) else host

    monkeypatch.setattr(socket.socket, "connect", guard(socket.socket.connect, connecting))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(socket.socket.connect_ex, connecting))
    monkeypatch.setattr(socket, "getaddrinfo", guard(socket.getaddrinfo, resolving))
    yield attempts
    if attempts:
        pytest.fail(f"the test reached for the network: {attempts}")
