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


def read_only(write: bool, prefix: object) -> bool:
    """V7's read-only integration (V7's newer Azure page): V7 registers existing files and writes
    nothing back, so it needs no write access and no prefix."""
    return not write and prefix in (None, "")


def cors_methods(write: bool, prefix: object) -> list[str]:
    """The methods V7's origins need in the Blob CORS rules: GET to load files in the browser, and
    PUT (uploads through signed URLs) unless the integration is read-only."""
    return ["GET"] if read_only(write, prefix) else list(CORS_METHODS)


# V7's REST API (read only: V7 has no public API to create a storage integration).
# darwin-py: Client.default_base_url() is DARWIN_BASE_URL or https://darwin.v7labs.com, and
# Client.default_api_url() appends /api/ (darwin/client.py).
API_BASE_URL = "https://darwin.v7labs.com"
API_BASE_URL_ENV = "DARWIN_BASE_URL"
API_KEY_ENV = "V7_API_KEY"
# darwin-py: Client._get_headers sends "Authorization: ApiKey <key>" (darwin/client.py).
API_KEY_SCHEME = "ApiKey"
# darwin-py: Client.list_external_storage_connections GETs /teams/{team_slug}/storage (darwin/client.py);
# V7's API reference "Show External Storage endpoint": GET /teams/{team_slug}/storage/{storage_slug}.
STORAGE_LIST_PATH = "/api/teams/{team}/storage"
STORAGE_SHOW_PATH = "/api/teams/{team}/storage/{slug}"
