# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of v7_service_principal: the action to take, the predicted principal, the diff and
the result. No Azure calls here."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from ansible_collections.v7labs.azure_storage.plugins.module_utils.v7 import APP_ID as V7_APP_ID
from ansible_collections.v7labs.azure_storage.plugins.module_utils.v7 import is_guid

CREATE = "create"
DELETE = "delete"

T = TypeVar("T")


def normalize_app_id(value: str | None) -> str:
    """The app id in lower case; ValueError naming app_id when it is no GUID."""
    text = (value or "").strip().lower()
    if not is_guid(text):
        raise ValueError(
            f"app_id: '{value}' is not a GUID; it must be an application (client) id such as "
            f"{V7_APP_ID} (V7's darwin-storage application)"
        )
    return text


def principal_path(app_id: str) -> str:
    """Graph v1.0 path addressing a service principal by its appId alternate key."""
    return f"servicePrincipals(appId='{app_id}')"


def object_path(object_id: str) -> str:
    return f"servicePrincipals/{object_id}"


def summarize(principal: dict | None) -> dict | None:
    """The fields the module reports, from a Graph servicePrincipal (None stays None)."""
    if principal is None:
        return None
    return {
        "object_id": principal.get("id"),
        "app_id": (principal.get("appId") or "").lower() or None,
        "display_name": principal.get("displayName"),
    }


def plan_action(current: dict | None, state: str) -> str | None:
    """CREATE, DELETE, or None when the tenant already matches `state`."""
    if state == "present" and current is None:
        return CREATE
    if state == "absent" and current is not None:
        return DELETE
    return None


def predict(current: dict | None, state: str, app_id: str) -> dict | None:
    """The summary after the change; a principal that would be created has no object id yet."""
    action = plan_action(current, state)
    if action == CREATE:
        return {"object_id": None, "app_id": app_id, "display_name": None}
    if action == DELETE:
        return None
    return current


def diff_view(summary: dict | None, app_id: str) -> dict:
    if summary is None:
        return {"state": "absent", "app_id": app_id, "object_id": None, "display_name": None}
    return {
        "state": "present",
        "app_id": summary.get("app_id") or app_id,
        "object_id": summary.get("object_id"),
        "display_name": summary.get("display_name"),
    }


def build_diff(before: dict | None, after: dict | None, app_id: str) -> dict:
    return {"before": diff_view(before, app_id), "after": diff_view(after, app_id)}


def build_result(
    *,
    changed: bool,
    app_id: str,
    tenant_id: str | None,
    reported: dict | None,
    before: dict | None = None,
    after: dict | None = None,
    with_diff: bool = False,
) -> dict:
    """The module's return value. `reported` is the principal the result describes: the one that
    exists (or would be created) for present, the one deleted (or that would be) for absent."""
    reported = reported or {}
    result = {
        "changed": changed,
        "app_id": reported.get("app_id") or app_id,
        "object_id": reported.get("object_id"),
        "display_name": reported.get("display_name"),
        "tenant_id": tenant_id,
    }
    if with_diff:
        result["diff"] = build_diff(before, after, app_id)
    return result


def is_already_exists(status: int | None, code: str | None) -> bool:
    """Graph's answer when another run created the principal first."""
    return status == 409 and code == "Request_MultipleObjectsWithSameKeyValue"


def is_not_an_application(status: int | None, code: str | None, message: str | None) -> bool:
    """Graph's 400 for an appId with no multi-tenant application behind it."""
    text = (message or "").lower()
    return (
        status == 400
        and code in (None, "Request_BadRequest")
        and ("valid application object" in text or "nobackingapplicationobject" in text)
    )


def not_an_application_message(app_id: str, service_message: str | None) -> str:
    return (
        f"Failed to create the service principal of app_id {app_id}: Request_BadRequest: "
        f"{(service_message or '').strip()} The app id is not a multi-tenant application visible to "
        f"this tenant: check app_id (V7's darwin-storage application is {V7_APP_ID}) and that the "
        "cloud_environment is the one V7's application lives in."
    )


def wait_until(
    read: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = 2.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> T | None:
    """Call read() until it returns something or `timeout` seconds pass; at least once."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + max(timeout, 0)
    while True:
        value = read()
        if value is not None:
            return value
        remaining = deadline - clock()
        if remaining <= 0:
            return None
        sleep(min(interval, remaining))
