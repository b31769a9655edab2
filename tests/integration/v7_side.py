"""V7's side of the end-to-end tests: the test world with V7's app credential, configure.yml run
on one account, and V7's signing service (azure-identity and azure-storage-blob, Microsoft's own
clients) reaching the account's Blob endpoint in the emulator."""
from __future__ import annotations

import copy
import os
from datetime import datetime, timedelta, timezone

import requests
import yaml
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobClient, BlobSasPermissions, BlobServiceClient, generate_blob_sas

from tests.conftest import CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.integration.blob_endpoint import ToTheEmulator
from tests.integration.runner import ROOT, run_playbook

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
# V7's client secret in the test world only (a made-up value, like the identities' secrets)
V7_SECRET = "Em9-darwin-storage~signing.0001"
V7 = "https://darwin.v7labs.com"
ACCOUNT, GROUP, CONTAINER = "contosoimages", "rg-data", "images"
ACCOUNT_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
EXISTING = "v7/scan-0001.txt"
EXISTING_TEXT = "a customer's image, already in the container"
PLAYBOOKS = os.path.join(ROOT, "playbooks")


def world(**account_extra) -> dict:
    """The default world, with V7's app given its client secret and one blob in `images`."""
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    doc = copy.deepcopy(doc)
    (app,) = [a for a in doc["applications"] if a["app_id"] == V7_APP]
    app["secret"] = V7_SECRET
    (account,) = [a for s in doc["tenants"][0]["subscriptions"] for g in s["resource_groups"]
                  for a in g["storage_accounts"] if a["name"] == ACCOUNT]
    account["blobs"] = {CONTAINER: {EXISTING: EXISTING_TEXT}}
    account.update(account_extra)
    return doc


def inventory(tmp_path, *, write: bool) -> str:
    account = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "v7_azure_auth": {"client_id": OPERATOR["client_id"], "secret": OPERATOR["secret"]},
        "v7_tenant_id": CONTOSO,
        "v7_subscription_id": SUBSCRIPTION,
        "v7_resource_group": GROUP,
        "v7_team": "contoso-vision",
        "v7_containers": [CONTAINER],
        "v7_prefix": f"{CONTAINER}/v7",
        "v7_write": write,
        "v7_origins": [V7],
        "v7_ips": [],
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"v7_storage_accounts": {"hosts": {ACCOUNT: account}}}}}))
    return str(path)


def playbook(emulator, tmp_path, name: str = "configure.yml", *, write: bool) -> None:
    """configure.yml (or offboard.yml) on the one account, as the operator runs it."""
    run = run_playbook(os.path.join(PLAYBOOKS, name), env=emulator.env(),
                       inventory=inventory(tmp_path, write=write),
                       extra_vars={"v7_activation_dir": str(tmp_path / "activation")})
    assert run.rc == 0, run.output


def blob_endpoint(emulator) -> str:
    """The account's Blob endpoint as a client takes it from ARM: primaryEndpoints.blob."""
    credential = ClientSecretCredential(CONTOSO, OPERATOR["client_id"], OPERATOR["secret"], authority=emulator.url,
                                        disable_instance_discovery=True, connection_verify=emulator.ca_bundle)
    token = credential.get_token(emulator.url + ".default").token
    reply = requests.get(emulator.url.rstrip("/") + ACCOUNT_ID, params={"api-version": "2023-05-01"}, timeout=30,
                         headers={"Authorization": f"Bearer {token}"}, verify=emulator.ca_bundle)
    assert reply.status_code == 200, reply.text
    return reply.json()["properties"]["primaryEndpoints"]["blob"]


class V7Signer:
    """V7's signing service: its app's credential in the customer's tenant, a user delegation key
    from the account, and SAS URLs signed with it (azure-storage-blob's generate_blob_sas)."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.endpoint = blob_endpoint(emulator)
        self.credential = ClientSecretCredential(CONTOSO, V7_APP, V7_SECRET, authority=emulator.url,
                                                 disable_instance_discovery=True, connection_verify=emulator.ca_bundle)

    def transport(self) -> ToTheEmulator:
        return ToTheEmulator(self.emulator.url, connection_verify=self.emulator.ca_bundle)

    def delegation_key(self):
        service = BlobServiceClient(self.endpoint, credential=self.credential, transport=self.transport())
        now = datetime.now(timezone.utc)
        return service.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))

    def sign(self, blob: str, permission: BlobSasPermissions) -> str:
        sas = generate_blob_sas(ACCOUNT, CONTAINER, blob, user_delegation_key=self.delegation_key(),
                                permission=permission, expiry=datetime.now(timezone.utc) + timedelta(minutes=30))
        return f"{self.endpoint}{CONTAINER}/{blob}?{sas}"

    def client(self, url: str) -> BlobClient:
        """What the annotator's side holds: the signed URL, and no credential of its own."""
        return BlobClient.from_blob_url(url, transport=self.transport())


def account_blobs(emulator) -> dict:
    (account,) = [a for s in emulator.state()["tenants"][0]["subscriptions"] for g in s["resource_groups"]
                  for a in g["storage_accounts"] if a["name"] == ACCOUNT]
    return (account.get("blobs") or {}).get(CONTAINER, {})


V7_PRINCIPAL = "dddddddd-0000-4000-8000-0000000000d7"


def with_v7_roles(doc: dict, *, delegator: bool = True, cors_rules: list | None = None) -> dict:
    """The world after V7's guide's role commands were run by hand: V7's service principal with
    Storage Blob Data Reader and Contributor on the container, and (unless `delegator` is false)
    Storage Blob Delegator on the account; the account's CORS rules as given (none by default)."""
    tenant = doc["tenants"][0]
    tenant["service_principals"] = [{"app_id": V7_APP, "object_id": V7_PRINCIPAL}]
    container = f"{ACCOUNT_ID}/blobServices/default/containers/{CONTAINER}"
    tenant["role_assignments"] += [
        {"scope": container, "role": "Storage Blob Data Reader", "principal_id": V7_PRINCIPAL},
        {"scope": container, "role": "Storage Blob Data Contributor", "principal_id": V7_PRINCIPAL},
    ]
    if delegator:
        tenant["role_assignments"].append({"scope": ACCOUNT_ID, "role": "Storage Blob Delegator", "principal_id": V7_PRINCIPAL})
    (account,) = [a for s in tenant["subscriptions"] for g in s["resource_groups"]
                  for a in g["storage_accounts"] if a["name"] == ACCOUNT]
    account["cors_rules"] = list(cors_rules or [])
    return doc
