"""Replays Azure CLI's real recorded traffic against the emulator and compares each reply with
the recorded one: status code, ARM/Graph error code and the set of JSON keys."""
from __future__ import annotations

import os

import pytest
import requests
import yaml
from azure.identity import ClientSecretCredential

from tests.conftest import ROOT

from .recordings import load_recording, recording_paths
from .replay import compare, replay_requests
from .swagger import SpecIndex

STATE = os.path.join(ROOT, "tests", "emulator", "states", "recordings.yml")
RECORDER = {"client_id": "0d504196-0000-4000-8000-0000000000c1", "secret": "Replay-Secret.0001"}
TENANT = "54826b22-38d6-4fb2-bad9-b7b93a3e9c5a"


def _emulated(interaction) -> bool:
    """The recorded calls the emulator serves: Graph servicePrincipals, and ARM operations of the
    providers it emulates (the recordings also create a managed identity and Graph applications
    as set-up, which the emulator's seed state stands in for)."""
    path = interaction.url.split("?")[0]
    if interaction.kind == "graph":
        return "/servicePrincipals" in path
    return interaction.kind == "arm" and SpecIndex.load().find(interaction.method, interaction.url) is not None


@pytest.mark.parametrize("recording", [p.name for p in recording_paths()])
def test_replay_matches_the_recording(emulator, recording):
    with open(STATE, encoding="utf-8") as handle:
        emulator.load_state(yaml.safe_load(handle))
    base = emulator.url.rstrip("/")
    credential = ClientSecretCredential(
        TENANT, RECORDER["client_id"], RECORDER["secret"], authority=base, disable_instance_discovery=True, connection_verify=emulator.ca_bundle
    )
    scopes = {"arm": "https://management.core.windows.net/.default", "graph": emulator.graph_url + ".default"}
    origins = {"https://management.azure.com": base, "https://graph.microsoft.com": emulator.graph_url.rstrip("/")}
    mapping: dict[str, str] = {}
    interactions = [i for i in load_recording(recording_paths()[[p.name for p in recording_paths()].index(recording)]) if _emulated(i)]
    assert interactions, "every recording has calls the emulator serves"
    differences = []
    for index, interaction in enumerate(interactions):
        # built one at a time: ids the emulator hands out (a new principal) join the mapping
        (request,) = replay_requests([interaction], mapping, origins, kinds=(interaction.kind,))
        token = credential.get_token(scopes[interaction.kind]).token
        reply = requests.request(
            request.method,
            request.url,
            json=request.body,
            headers={**request.headers, "Authorization": f"Bearer {token}"},
            verify=emulator.ca_bundle,
            timeout=30,
        )
        body = reply.json() if reply.content else None
        differences += [f"#{index} {request.method} {request.url.split('?')[0]}: {d}" for d in compare(request.expected, reply.status_code, body)]
        if request.method == "POST" and reply.status_code == 201 and isinstance(body, dict):
            mapping[interaction.response_body["id"]] = body["id"]
    assert differences == []
