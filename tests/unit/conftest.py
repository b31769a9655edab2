"""Unit tests import the collection as Ansible does: ansible_collections.v7labs.azure_storage."""
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "collections")
if os.path.isdir(_COLLECTIONS) and os.path.abspath(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))
