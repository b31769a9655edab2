"""Replaying a recording against the emulator: the requests to send, and how to judge replies.

Identifiers of the recording (subscription, resource group, account, tenant, principal ids,
names) are rewritten through one mapping, in URLs and in JSON bodies (keys and string values),
case-insensitively because ARM ids are. The mapping is plain substring replacement, so it can
also rewrite a query parameter (`"api-version=2018-01-01-preview": "api-version=2022-04-01"`).

Replies are compared by shape, not value: status code, the ARM/Graph `error.code`, and the set
of JSON key paths (lists contribute the union of their items' key paths).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Collection, Iterable, Mapping
from urllib.parse import urlsplit

from .recordings import Interaction, parse_body
from .swagger import json_path


@dataclass(frozen=True)
class ReplayRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: Any                # JSON to send, or None
    expected: Interaction    # the recorded interaction with the same identifiers mapped


def _mapping_pattern(mapping: Mapping[str, str]) -> re.Pattern | None:
    if not mapping:
        return None
    lowered = [key.lower() for key in mapping]
    if len(set(lowered)) != len(lowered):
        raise ValueError("mapping has keys that differ only by case")
    if "" in lowered:
        raise ValueError("mapping has an empty key")
    # Longest first, so "clitest000002" is not eaten by a mapping for "clitest00000".
    keys = sorted(mapping, key=len, reverse=True)
    return re.compile("|".join(re.escape(key) for key in keys), flags=re.IGNORECASE)


def map_text(text: str, mapping: Mapping[str, str]) -> str:
    pattern = _mapping_pattern(mapping)
    if pattern is None:
        return text
    lookup = {key.lower(): value for key, value in mapping.items()}
    return pattern.sub(lambda match: lookup[match.group(0).lower()], text)


def map_json(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return map_text(value, mapping)
    if isinstance(value, list):
        return [map_json(item, mapping) for item in value]
    if isinstance(value, dict):
        return {map_text(key, mapping): map_json(item, mapping) for key, item in value.items()}
    return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def map_url(url: str, mapping: Mapping[str, str], origins: Mapping[str, str]) -> str:
    """Rewrites the origin through `origins` (refusing unknown ones) and identifiers through `mapping`."""
    recorded_origin = _origin(url)
    targets = {origin.lower().rstrip("/"): target.rstrip("/") for origin, target in origins.items()}
    if recorded_origin not in targets:
        raise ValueError(f"no emulator origin given for {recorded_origin}")
    rest = url[len(recorded_origin):]
    return targets[recorded_origin] + map_text(rest, mapping)


def map_interaction(interaction: Interaction, mapping: Mapping[str, str], origins: Mapping[str, str]) -> Interaction:
    return replace(
        interaction,
        url=map_url(interaction.url, mapping, origins),
        request_body=map_json(interaction.request_body, mapping),
        response_body=map_json(interaction.response_body, mapping),
    )


def replay_requests(
    interactions: Iterable[Interaction],
    mapping: Mapping[str, str],
    origins: Mapping[str, str],
    kinds: Collection[str] = ("arm", "graph"),
) -> list[ReplayRequest]:
    """The requests to send, in recorded order, for the interactions of the given kinds."""
    requests = []
    for interaction in interactions:
        if interaction.kind not in kinds:
            continue
        expected = map_interaction(interaction, mapping, origins)
        headers = {"Accept": "application/json"}
        if expected.request_body is not None:
            headers["Content-Type"] = "application/json"
        requests.append(ReplayRequest(expected.method, expected.url, headers, expected.request_body, expected))
    return requests


def key_paths(value: Any, prefix: str = "$") -> frozenset[str]:
    """Every key path of a JSON value, e.g. `$.properties.cors.corsRules[].allowedOrigins`."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = prefix + json_path([key])[1:]
            paths.add(path)
            paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, prefix + "[]")
    return frozenset(paths)


def error_code(body: Any) -> str | None:
    """`error.code` of an ARM or Graph error body, or `error` of an OAuth error body."""
    if not isinstance(body, dict) or "error" not in body:
        return None
    error = body["error"]
    if isinstance(error, dict):
        code = error.get("code")
        return None if code is None else str(code)
    return str(error)


def compare(recorded: Interaction, status: int, body: Any) -> list[str]:
    """Differences between a recorded reply and a replayed one; empty when they agree."""
    if isinstance(body, (str, bytes)):
        body = parse_body(body)
    problems = []
    if int(status) != recorded.status:
        problems.append(f"status: recorded {recorded.status}, got {status}")
    recorded_code, code = error_code(recorded.response_body), error_code(body)
    if recorded_code != code:
        problems.append(f"error.code: recorded {recorded_code!r}, got {code!r}")
    if (recorded.response_body is None) != (body is None):
        recorded_says = "no body" if recorded.response_body is None else "a body"
        got = "none" if body is None else "one"
        problems.append(f"body: recorded {recorded_says}, got {got}")
    expected, actual = key_paths(recorded.response_body), key_paths(body)
    problems += [f"key {path}: recorded, missing from the reply" for path in sorted(expected - actual)]
    problems += [f"key {path}: in the reply, not recorded" for path in sorted(actual - expected)]
    return problems
