# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""V7 Darwin's facts, in one place: the modules' option defaults, the preflight's predictions and
the role's defaults all read them from here. Sources: V7's Azure setup guide and its darwin-py SDK.
"""
from __future__ import annotations

import re

# V7's multi-tenant application ("darwin-storage"); `az ad sp create --id <APP_ID>` in V7's guide.
APP_ID = "95e63529-38cc-435c-b247-32a1d62f321d"
APP_NAME = "darwin-storage"

# V7's web app, which loads and uploads blobs through signed URLs from the browser.
ORIGIN = "https://darwin.v7labs.com"
ORIGINS = (ORIGIN,)
# What V7's guide's two `az storage cors add` commands allow.
CORS_METHODS = ("GET", "PUT")
CORS_ALLOWED_HEADERS = ("*",)
CORS_EXPOSED_HEADERS: tuple[str, ...] = ()

# Azure's built-in storage roles V7 needs (role definition GUIDs are the same in every cloud).
READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"        # Storage Blob Data Reader: read
CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"   # Storage Blob Data Contributor: write (optional)
DELEGATOR = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"     # Storage Blob Delegator: user delegation keys
ROLE_NAMES: dict[str, str] = {
    READER: "Storage Blob Data Reader",
    CONTRIBUTOR: "Storage Blob Data Contributor",
    DELEGATOR: "Storage Blob Delegator",
}

# The metadata this collection puts on a container it creates, so that offboarding can tell it
# from the customer's own containers.
CREATED_BY = {"createdby": "v7labs.azure_storage"}

# How long Azure Resource Manager may take to see a service principal just created (seconds).
REPLICATION_TIMEOUT = 120

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: object) -> bool:
    return isinstance(value, str) and bool(GUID.fullmatch(value))


def data_roles(write: bool) -> list[str]:
    """The data roles V7 needs: Reader, and Contributor when V7 writes generated files."""
    return [READER, CONTRIBUTOR] if write else [READER]
