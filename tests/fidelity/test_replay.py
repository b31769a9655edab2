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

STATE = os.path.join(ROOT, "tests", "emulator", "states", "recordings.yml")
RECORDER = {"client_id": "0d504196-0000-4000-8000-0000000000c1", "secret": "Replay-Secret.0001"}
TENANT = "54826b22-38d6-4fb2-bad9-b7b93a3e9c5a"


# Recorded calls left out of the replay, each with its reason. Everything else of every recording
# is replayed and compared (test_every_recorded_call_is_replayed_or_has_a_reason checks that).
NOT_REPLAYED = {
    ("azure-cli_test_role_assignment_at_scope.yaml", 0): (
        "PUT Microsoft.ManagedIdentity/userAssignedIdentities: the recording creates a managed identity "
        "as set-up for the role assignment; the emulator does not serve Microsoft.ManagedIdentity, and "
        "its seed state (states/recordings.yml) holds that identity's service principal instead"
    ),
}


def _replayed(recording: str) -> list:
    return [
        interaction
        for index, interaction in enumerate(load_recording(_path(recording)))
        if (recording, index) not in NOT_REPLAYED
    ]


def _path(recording: str):
    return next(p for p in recording_paths() if p.name == recording)


def test_every_recorded_call_is_replayed_or_has_a_reason():
    for recording, index in NOT_REPLAYED:
        assert index < len(load_recording(_path(recording))), (recording, index)
    for path in recording_paths():
        for interaction in load_recording(path):
            assert interaction.kind in ("arm", "graph"), (path.name, interaction.url)


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
    interactions = _replayed(recording)
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
            # ids the emulator handed out stand for the recorded ones from here on (an application's
            # object id and appId, a service principal's object id)
            for key in ("id", "appId"):
                recorded = interaction.response_body.get(key)
                if recorded and body.get(key) and recorded.lower() not in (k.lower() for k in mapping):
                    mapping[recorded] = body[key]
    assert differences == []
