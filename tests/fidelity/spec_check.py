"""Validates the ARM replies the emulator gave against Microsoft's OpenAPI specs.

Used by the `emulator` fixture after every test, so every ARM exchange the test suite provokes
is checked. Two gaps of the specs are bridged explicitly: the storage operations declare no
error response at all (real Azure still answers 4xx with ARM's CloudError envelope), and no
operation declares 429/5xx (the throttling and server errors injected as faults)."""
from __future__ import annotations

import re
from typing import Iterable

from .swagger import SpecIndex

# Where real Azure departs from its own spec, the emulator follows Azure: the recorded
# roleDefinitions reply (recordings/azure-cli_test_create_for_rbac_idempotent...yaml,
# interactions 0 and 2) carries audit fields that RoleDefinitionProperties does not declare.
_REAL_AZURE_DEVIATIONS = {
    "RoleDefinitions_": re.compile(
        r"properties\.(createdBy|createdOn|updatedBy|updatedOn): OBJECT_ADDITIONAL_PROPERTIES"
    ),
    # subscriptions.json (2022-12-01) requires `nextLink` on SubscriptionListResult and
    # TenantListResult and declares no `count`; live ARM sends `"count": {"type": "Total", ...}` with
    # the subscriptions and no `nextLink` on the last page (tests/emulator/resources.py cites the
    # evidence). azure-core's pager stops when nextLink is absent.
    "Subscriptions_List": re.compile(
        r"response \$(\.count: OBJECT_ADDITIONAL_PROPERTIES|: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'nextLink')"
    ),
    "Tenants_List": re.compile(r"response \$: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'nextLink'"),
}


def _known_deviation(operation_id: str, problem: str) -> bool:
    return any(
        operation_id.startswith(prefix) and pattern.search(problem)
        for prefix, pattern in _REAL_AZURE_DEVIATIONS.items()
    )


_ERROR_KEYS = {"code", "message", "target", "details", "additionalInfo"}


def _error_envelope_problems(where: str, body) -> list[str]:
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"{where}: error reply is not ARM's {{'error': {{...}}}} envelope"]
    error = body["error"]
    problems = []
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        problems.append(f"{where}: error.code and error.message must be strings")
    extra = set(error) - _ERROR_KEYS
    if extra:
        problems.append(f"{where}: unknown error properties {sorted(extra)}")
    return problems


def arm_problems(entries: Iterable[dict], base_url: str) -> list[str]:
    index = SpecIndex.load()
    problems: list[str] = []
    for entry in entries:
        if entry["kind"] != "arm" or entry["status"] is None:
            continue
        url = f"{base_url.rstrip('/')}{entry['path']}?{entry['query']}"
        where = f"{entry['method']} {entry['path']} -> {entry['status']}"
        operation = index.find(entry["method"], url)
        if operation is None:
            if entry["status"] >= 400:
                problems += _error_envelope_problems(where, entry["response_body"])
            else:
                problems.append(f"{where}: no operation of the specs matches")
            continue
        status = str(entry["status"])
        if entry["fault"] or (status not in operation.responses and "default" not in operation.responses and entry["status"] >= 400):
            problems += _error_envelope_problems(where, entry["response_body"])
            continue
        body = entry["response_body"]
        request_body = entry["request_body"] if entry["method"] in ("PUT", "PATCH", "POST") else None
        problems += [
            f"{where}: {p}"
            for p in operation.validate(entry["status"], body, request_body)
            if not _known_deviation(operation.operation_id, p)
        ]
    return problems
