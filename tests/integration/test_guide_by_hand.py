"""An account set up by hand with V7's guide, then verify and configure.

V7's guide (docs: "Azure Blob Storage configuration") sets an account up with `az` commands:
`az ad sp create --id <V7's app id>`, role assignments for V7's service principal, and two
`az storage cors add --services b` (one for GET, one for PUT). Here those commands' requests are
sent to the emulator in the order the commands send them, so the world is the one Azure would
hold after them (not a seeded copy of it):

1. `az ad sp create --id 95e63529-...`: Graph `GET /applications?$filter=appId eq '<id>'` (an app
   of another tenant: an empty list), `GET /applications/<id>` (404), then
   `POST /servicePrincipals {"appId": ..., "accountEnabled": true}` (azure-cli
   `command_modules/role/custom.py`, `_create_service_principal`; the same look-ups and that body
   are recorded in tests/fidelity/reference/recordings/azure-cli_test_service_principal_scenario.yaml);
2. `az role assignment create --role "Storage Blob Data Reader" --assignee-object-id <sp>
   --assignee-principal-type ServicePrincipal --scope <container>`: the role's definition by name
   at the scope, then the assignment PUT with `principalType`; and Storage Blob Delegator at the
   account the same way, as the guide recommends for signing. Storage Blob Data Contributor is
   given with `--assignee <app id>` the way older az releases sent it (their
   `create_role_assignment` passed the assignee on with `resolve_assignee` and no type): the
   role's definition, then the principal looked up in Graph by servicePrincipalNames, then the
   PUT without `principalType`. Current az resolves `--assignee` first
   (`_resolve_object_id_and_type`: the same servicePrincipalNames look-up, which also gives the
   type; Azure/azure-cli#17669, April 2021) and sends `principalType: ServicePrincipal`, as the
   two other PUTs do. Every az of the recordings in tests/fidelity/reference (2.24 to 2.77) is of
   that kind: their role assignment PUTs all carry `principalType`. Both forms are kept, since
   ARM accepts both and a customer's older az sends the one without;
3. each `az storage cors add` without a key: ARM `listKeys`, then on the Blob endpoint Get Blob
   Service Properties and Set Blob Service Properties with the rules read plus the new one
   (azure-cli's `add_cors`), sent here by the real azure-storage-blob client (the SDK azure-cli
   uses for the Blob service), its HTTPS transport pointed at the emulator.

Then verify.yml must find the account ready (exit 0, and the account's state `ready` in its
summary and in its verdict) and configure.yml must send no write.
"""
from __future__ import annotations

import copy
import os
import uuid

import pytest
import requests
import yaml
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobServiceClient, CorsRule

from tests.conftest import CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.fidelity.spec_check import arm_problems
from tests.integration.blob_endpoint import ToTheEmulator
from tests.integration.runner import ROOT, run_playbook
from tests.integration.v7_side import inventory as v7_inventory

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
V7 = "https://darwin.v7labs.com"
ACCOUNT, GROUP, CONTAINER = "contosoimages", "rg-data", "images"
ACCOUNT_SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
CONTAINER_SCOPE = f"{ACCOUNT_SCOPE}/blobServices/default/containers/{CONTAINER}"
ROLE_API, STORAGE_API = "2022-04-01", "2023-05-01"
PLAYBOOKS = os.path.join(ROOT, "playbooks")
ROLE = "v7labs.azure_storage.storage_integration : "  # how the role's task names show


class Guide:
    """The guide's `az` commands, as the requests they send."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.session = requests.Session()
        self.credential = ClientSecretCredential(
            CONTOSO, OPERATOR["client_id"], OPERATOR["secret"], authority=emulator.url,
            disable_instance_discovery=True, connection_verify=emulator.ca_bundle,
        )
        # Graph's address as a client derives it: the cloud metadata's microsoftGraphResourceId
        metadata = self.session.get(emulator.metadata_url, timeout=30, verify=emulator.ca_bundle).json()
        self.arm = metadata["resourceManager"].rstrip("/")
        self.graph = metadata["microsoftGraphResourceId"]
        self.arm_scope = metadata["authentication"]["audiences"][0].rstrip("/") + "/.default"

    def _call(self, method, url, scope, body=None, **params):
        token = self.credential.get_token(scope).token
        reply = self.session.request(method, url, json=body, params=params, timeout=30, verify=self.emulator.ca_bundle,
                                     headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code < 500, reply.text
        return reply

    def graph_call(self, method, path, body=None, **params):
        return self._call(method, self.graph + "v1.0" + path, self.graph.rstrip("/") + "/.default", body, **params)

    def arm_call(self, method, path, body=None, api_version=ROLE_API, **params):
        return self._call(method, self.arm + path, self.arm_scope, body, **{"api-version": api_version, **params})

    def ad_sp_create(self, app_id: str) -> str:
        listed = self.graph_call("GET", "/applications", **{"$filter": f"appId eq '{app_id}'"})
        assert listed.status_code == 200 and listed.json()["value"] == []
        assert self.graph_call("GET", f"/applications/{app_id}").status_code == 404
        # what az sends (azure-cli `_create_service_principal`; recording #3 of
        # azure-cli_test_service_principal_scenario.yaml carries the same body)
        created = self.graph_call("POST", "/servicePrincipals", {"appId": app_id, "accountEnabled": True})
        assert created.status_code == 201, created.text
        return created.json()["id"]

    def role_assignment_create(self, role: str, scope: str, *, object_id: str | None = None, assignee: str | None = None):
        definitions = self.arm_call("GET", f"{scope}/providers/Microsoft.Authorization/roleDefinitions",
                                    **{"$filter": f"roleName eq '{role}'"}).json()["value"]
        assert len(definitions) == 1, definitions
        properties = {"roleDefinitionId": definitions[0]["id"]}
        if object_id:   # --assignee-object-id with --assignee-principal-type ServicePrincipal
            properties.update(principalId=object_id, principalType="ServicePrincipal")
        else:           # --assignee <app id> as older az sends it: looked up in Graph, PUT without principalType
            found = self.graph_call("GET", "/servicePrincipals",
                                    **{"$filter": f"servicePrincipalNames/any(c:c eq '{assignee}')"}).json()["value"]
            properties["principalId"] = found[0]["id"]
        reply = self.arm_call("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                              {"properties": properties})
        assert reply.status_code == 201, reply.text

    def storage_cors_add(self, methods: list[str], origins: list[str], allowed_headers: list[str]) -> None:
        keys = self.arm_call("POST", f"{ACCOUNT_SCOPE}/listKeys", api_version=STORAGE_API).json()["keys"]
        client = BlobServiceClient(
            f"https://{ACCOUNT}.blob.core.windows.net",
            credential={"account_name": ACCOUNT, "account_key": keys[0]["value"]},
            transport=ToTheEmulator(self.emulator.url, connection_verify=self.emulator.ca_bundle),
        )
        rules = client.get_service_properties()["cors"]
        rules.append(CorsRule(origins, methods, allowed_headers=allowed_headers, exposed_headers=[], max_age_in_seconds=0))
        client.set_service_properties(cors=rules)


def _world() -> dict:
    """The default world: Contoso's operator (Owner on the subscription), contosoimages with a
    container `images`, and no service principal of V7's app yet."""
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _calls(log: list[dict]) -> list[tuple[str, str, str, int]]:
    """(kind, method, what, status) of each request, ids and tokens left out."""
    out = []
    for e in log:
        what = e["path"].rsplit("/providers/", 1)[-1] if "/providers/" in e["path"] else e["path"]
        if "roleAssignments/" in what:
            what = "Microsoft.Authorization/roleAssignments/{name}"
        what = what.replace(V7_APP, "{app}")
        out.append((e["kind"], e["method"], what, e["status"]))
    return out


@pytest.fixture
def guided(emulator):
    """The world after V7's guide was followed by hand; the guide's requests, as logged."""
    emulator.load_state(copy.deepcopy(_world()))
    emulator.clear_log()
    guide = Guide(emulator)
    sp = guide.ad_sp_create(V7_APP)
    guide.role_assignment_create("Storage Blob Data Reader", CONTAINER_SCOPE, object_id=sp)
    guide.role_assignment_create("Storage Blob Data Contributor", CONTAINER_SCOPE, assignee=V7_APP)
    guide.role_assignment_create("Storage Blob Delegator", ACCOUNT_SCOPE, object_id=sp)
    guide.storage_cors_add(["GET"], [V7], ["*"])
    guide.storage_cors_add(["PUT"], [V7], ["*"])
    log = [e for e in emulator.log() if e["kind"] not in ("entra", "metadata")]
    return sp, log


def test_the_guides_requests_build_the_state_azure_would_hold(emulator, guided):
    sp, log = guided
    definitions = ("arm", "GET", "Microsoft.Authorization/roleDefinitions", 200)
    assignment = ("arm", "PUT", "Microsoft.Authorization/roleAssignments/{name}", 201)
    cors_add = [("arm", "POST", "Microsoft.Storage/storageAccounts/contosoimages/listKeys", 200),
                ("blob", "GET", "/", 200), ("blob", "PUT", "/", 202)]
    assert _calls(log) == [
        ("graph", "GET", "/graph/v1.0/applications", 200),
        ("graph", "GET", "/graph/v1.0/applications/{app}", 404),
        ("graph", "POST", "/graph/v1.0/servicePrincipals", 201),
        definitions, assignment,
        definitions, ("graph", "GET", "/graph/v1.0/servicePrincipals", 200), assignment,
        definitions, assignment,
        *cors_add, *cors_add,
    ]
    (sp_post,) = [e for e in log if e["method"] == "POST" and e["kind"] == "graph"]
    assert sp_post["request_body"] == {"appId": V7_APP, "accountEnabled": True}
    sent = [e["request_body"]["properties"] for e in log if e["method"] == "PUT" and e["kind"] == "arm"]
    assert [p.get("principalType") for p in sent] == ["ServicePrincipal", None, "ServicePrincipal"]
    assert all(p["principalId"] == sp for p in sent)
    assert arm_problems(log, emulator.url) == []
    # ARM shows the guide's two CORS rules in its own shape
    world = emulator.state()
    (account,) = [a for s in world["tenants"][0]["subscriptions"] for g in s["resource_groups"]
                  for a in g["storage_accounts"] if a["name"] == ACCOUNT]
    assert account["cors_rules"] == [
        {"allowedOrigins": [V7], "allowedMethods": [method], "maxAgeInSeconds": 0, "exposedHeaders": [""], "allowedHeaders": ["*"]}
        for method in ("GET", "PUT")
    ]


def test_verify_finds_the_hand_made_account_ready_and_configure_writes_nothing(emulator, guided, tmp_path):
    inventory = v7_inventory(tmp_path, write=True)
    extra = {"v7_activation_dir": str(tmp_path / "activation")}
    emulator.clear_log()
    verify = run_playbook(os.path.join(PLAYBOOKS, "verify.yml"), env=emulator.env(), inventory=inventory, extra_vars=extra)
    assert verify.rc == 0, verify.output
    assert emulator.writes() == []
    # the account's state as verify reports it: its own verdict, and the summary of every account
    assert verify.task(ROLE + "Say whether V7 can use the account", ACCOUNT)["state"] == "ready"
    summary = verify.task(ROLE + "Summarise every account")
    assert summary["ready"] == [ACCOUNT] and summary["not_ready"] == [] and summary["blocked"] == []
    assert summary["accounts"][ACCOUNT]["state"] == "ready", summary["accounts"][ACCOUNT]
    configure = run_playbook(os.path.join(PLAYBOOKS, "configure.yml"), env=emulator.env(), inventory=inventory, extra_vars=extra)
    assert configure.rc == 0, configure.output
    assert emulator.writes() == [], [(e["method"], e["path"]) for e in emulator.writes()]
