"""V7's side, end to end: after configure.yml, V7's service principal signs URLs that work.

V7's signing service signs in to the customer's tenant as its multi-tenant app (app id
95e63529-…; the emulator's world gives the app a client secret, kept in V7's home tenant, and
Entra issues a token for the app's service principal in the customer's tenant), asks the account's
Blob endpoint for a user delegation key, and signs a user delegation SAS with Microsoft's
azure-storage-blob SDK. The SAS URL then goes to whoever loads or uploads (an annotator's
browser; here the same SDK). What the emulator's request log shows is what Azure received.

- with Storage Blob Data Reader (v7_write false), a signed URL reads, and an upload with a URL
  signed for writing is refused (403 AuthorizationPermissionMismatch): a SAS carries only the rights
  its signer holds;
- with v7_write true (Storage Blob Data Contributor), the upload lands;
- with container-scoped roles only and no Storage Blob Delegator at the account, the delegation key
  is refused with 403, as V7's "Payload Signing Permissions" note warns; before configure.yml
  V7's app cannot even sign in to the tenant (its service principal does not exist there).
"""
from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobSasPermissions

from tests.integration.v7_side import (
    ACCOUNT, CONTAINER, EXISTING, EXISTING_TEXT, V7Signer, account_blobs, playbook, with_v7_roles, world,
)


def blob_calls(emulator) -> list[tuple[str, str, str, int]]:
    """(method, path, what, status) of the Blob data plane requests, as the emulator logged them."""
    calls = []
    for entry in emulator.log(kind="blob"):
        what = "userdelegationkey" if "comp=userdelegationkey" in entry["query"] else ("sas" if "sig=" in entry["query"] else "")
        calls.append((entry["method"], entry["path"], what, entry["status"]))
    return calls


def test_reader_reads_and_cannot_upload(emulator, tmp_path):
    emulator.load_state(world())
    playbook(emulator, tmp_path, write=False)
    emulator.clear_log()
    v7 = V7Signer(emulator)
    assert v7.endpoint == f"https://{ACCOUNT}.blob.core.windows.net/"

    read_url = v7.sign(EXISTING, BlobSasPermissions(read=True))
    assert v7.client(read_url).download_blob().readall().decode() == EXISTING_TEXT

    upload_url = v7.sign("v7/new-upload.txt", BlobSasPermissions(create=True, write=True))
    with pytest.raises(HttpResponseError) as refused:
        v7.client(upload_url).upload_blob(b"annotation output", overwrite=True)
    assert refused.value.status_code == 403
    assert refused.value.error_code == "AuthorizationPermissionMismatch"

    assert blob_calls(emulator) == [
        ("POST", "/", "userdelegationkey", 200), ("GET", f"/{CONTAINER}/{EXISTING}", "sas", 206),
        ("POST", "/", "userdelegationkey", 200), ("PUT", f"/{CONTAINER}/v7/new-upload.txt", "sas", 403),
    ]
    # the log never keeps the signature, and the refused upload wrote nothing
    assert all("REDACTED" in e["query"] for e in emulator.log(kind="blob") if "sig=" in e["query"])
    assert "v7/new-upload.txt" not in account_blobs(emulator)


def test_with_v7_write_the_upload_lands(emulator, tmp_path):
    emulator.load_state(world())
    playbook(emulator, tmp_path, write=True)
    emulator.clear_log()
    v7 = V7Signer(emulator)

    upload_url = v7.sign("v7/new-upload.txt", BlobSasPermissions(create=True, write=True))
    v7.client(upload_url).upload_blob(b"annotation output", overwrite=True)
    assert account_blobs(emulator)["v7/new-upload.txt"] == "annotation output"

    # a URL signed for reading only does not let anyone write, whatever V7 itself may do
    read_only = v7.sign("v7/other.txt", BlobSasPermissions(read=True))
    with pytest.raises(HttpResponseError) as refused:
        v7.client(read_only).upload_blob(b"x", overwrite=True)
    assert refused.value.error_code == "AuthorizationPermissionMismatch"
    assert [(m, s) for m, _path, what, s in blob_calls(emulator) if what == "sas"] == [("PUT", 201), ("PUT", 403)]


def test_container_roles_without_the_delegator_cannot_sign(emulator):
    """The world V7's "Payload Signing Permissions" note warns about: the data roles on the
    container, no Storage Blob Delegator (nor any role with the key action) at the account."""
    doc = world()
    emulator.load_state(doc)
    # before the service principal exists, V7's app cannot sign in to the tenant at all
    # (asked of the credential itself: the Blob client would retry the refusal for a minute and more)
    with pytest.raises(ClientAuthenticationError) as no_principal:
        V7Signer(emulator).credential.get_token("https://storage.azure.com/.default")
    assert "AADSTS700016" in str(no_principal.value)

    emulator.load_state(with_v7_roles(doc, delegator=False))
    emulator.clear_log()
    with pytest.raises(HttpResponseError) as refused:
        V7Signer(emulator).delegation_key()
    assert refused.value.status_code == 403
    assert refused.value.error_code == "AuthorizationPermissionMismatch"
    assert blob_calls(emulator) == [("POST", "/", "userdelegationkey", 403)]
