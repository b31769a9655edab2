"""v7_service_principal: pure prediction, diff and result; and the create/delete flow over a
tiny in-memory stand-in for Graph (no network)."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import service_principal as sp
from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AuthSettings
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_service_principal as module

APP = sp.V7_APP_ID
OID = "6f3d2a1c-8a4e-4b9e-9f0a-2c7d5e1b3a44"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
EXISTING = {"object_id": OID, "app_id": APP, "display_name": "darwin-storage"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (APP, APP),
        (APP.upper(), APP),
        (f"  {APP} ", APP),
    ],
)
def test_normalize_app_id(value, expected):
    assert sp.normalize_app_id(value) == expected


@pytest.mark.parametrize("value", ["", None, "darwin-storage", APP[:-1], APP + "0", "{" + APP + "}", APP.replace("-", "")])
def test_normalize_app_id_rejects_non_guids(value):
    with pytest.raises(ValueError) as caught:
        sp.normalize_app_id(value)
    assert "app_id" in str(caught.value) and "GUID" in str(caught.value)


@pytest.mark.parametrize(
    ("current", "state", "action", "predicted"),
    [
        (None, "present", sp.CREATE, {"object_id": None, "app_id": APP, "display_name": None}),
        (EXISTING, "present", None, EXISTING),
        (EXISTING, "absent", sp.DELETE, None),
        (None, "absent", None, None),
    ],
)
def test_plan_and_predict(current, state, action, predicted):
    assert sp.plan_action(current, state) == action
    assert sp.predict(current, state, APP) == predicted


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, {"object_id": None, "app_id": APP, "display_name": None},
         {"before": {"state": "absent", "app_id": APP, "object_id": None, "display_name": None},
          "after": {"state": "present", "app_id": APP, "object_id": None, "display_name": None}}),
        (EXISTING, None,
         {"before": {"state": "present", "app_id": APP, "object_id": OID, "display_name": "darwin-storage"},
          "after": {"state": "absent", "app_id": APP, "object_id": None, "display_name": None}}),
        (EXISTING, EXISTING,
         {"before": {"state": "present", "app_id": APP, "object_id": OID, "display_name": "darwin-storage"},
          "after": {"state": "present", "app_id": APP, "object_id": OID, "display_name": "darwin-storage"}}),
    ],
)
def test_build_diff(before, after, expected):
    assert sp.build_diff(before, after, APP) == expected


def test_summarize_graph_body():
    body = {"id": OID, "appId": APP.upper(), "displayName": "darwin-storage", "servicePrincipalType": "Application"}
    assert sp.summarize(body) == EXISTING
    assert sp.summarize(None) is None


@pytest.mark.parametrize("with_diff", [True, False])
def test_build_result_has_every_key(with_diff):
    result = sp.build_result(changed=False, app_id=APP, tenant_id=TENANT, reported=None, with_diff=with_diff)
    assert set(result) == {"changed", "app_id", "object_id", "display_name", "tenant_id"} | ({"diff"} if with_diff else set())
    assert result["object_id"] is None and result["app_id"] == APP


@pytest.mark.parametrize(
    ("status", "code", "message", "exists", "not_app"),
    [
        (409, "Request_MultipleObjectsWithSameKeyValue", "already in use", True, False),
        (409, "Conflict", "", False, False),
        (400, "Request_BadRequest",
         f"The appId '{APP}' of the service principal does not reference a valid application object.", False, True),
        (400, "Request_BadRequest", "Property appId is invalid. NoBackingApplicationObject", False, True),
        (400, "Request_BadRequest", "Invalid value specified for property 'appId'.", False, False),
        (403, "Authorization_RequestDenied", "Insufficient privileges", False, False),
    ],
)
def test_error_classification(status, code, message, exists, not_app):
    assert sp.is_already_exists(status, code) is exists
    assert sp.is_not_an_application(status, code, message) is not_app


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("answers", "timeout", "expected", "reads"),
    [
        (["x"], 60, "x", 1),
        ([None, None, "x"], 60, "x", 3),
        ([None] * 100, 5, None, 4),  # reads at 0, 2, 4, 5 s
        ([None], 0, None, 1),  # always at least one read
    ],
)
def test_wait_until(answers, timeout, expected, reads):
    clock, calls = FakeClock(), []

    def read():
        calls.append(clock.now)
        return answers[len(calls) - 1]

    assert sp.wait_until(read, timeout, sleep=clock.sleep, clock=clock) == expected
    assert len(calls) == reads
    assert clock.now <= timeout


class FakeGraph:
    """servicePrincipals in one tenant, with the quirks the module must handle."""

    def __init__(self, principals=(), *, post_error=None, hidden_reads: int = 0, created_by_other_run: bool = False):
        self.principals = {p["appId"]: dict(p) for p in principals}
        self.post_error = post_error
        self.hidden_reads = hidden_reads  # 404s before a principal made by another run shows
        self.created_by_other_run = created_by_other_run
        self.calls: list[tuple[str, str]] = []

    def get(self, path, params=None):
        self.calls.append(("GET", path))
        app_id = re.fullmatch(r"servicePrincipals\(appId='(.+)'\)", path).group(1)
        if self.hidden_reads and app_id in self.principals:
            self.hidden_reads -= 1
            return None
        return self.principals.get(app_id)

    def post(self, path, body):
        self.calls.append(("POST", path))
        assert path == "servicePrincipals" and set(body) == {"appId"}
        if self.post_error:
            raise self.post_error
        if self.created_by_other_run:
            self.principals[body["appId"]] = {"id": OID, "appId": body["appId"], "displayName": "darwin-storage"}
            raise AzureApiError("409", status=409, code="Request_MultipleObjectsWithSameKeyValue",
                                service_message="already in use", described=False)
        principal = {"id": OID, "appId": body["appId"], "displayName": "darwin-storage"}
        self.principals[body["appId"]] = principal
        return principal

    def delete(self, path):
        self.calls.append(("DELETE", path))
        for app_id, principal in list(self.principals.items()):
            if path == f"servicePrincipals/{principal['id']}":
                del self.principals[app_id]
                return True
        return False

    @property
    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]


def fake_module(graph, *, state="present", check=False, diff=False, app_id=APP, timeout=60):
    return SimpleNamespace(
        params={"app_id": app_id, "state": state, "visibility_timeout": timeout, "keep_if_assigned": False,
                "ignore_scopes": []},
        check_mode=check,
        diff_mode=diff,
        clients=SimpleNamespace(graph=graph, tenant_id=TENANT),
        auth=AuthSettings(credential_kind="secret", tenant=TENANT),
    )


SP_BODY = {"id": OID, "appId": APP, "displayName": "darwin-storage"}


@pytest.mark.parametrize(
    ("existing", "state", "check", "changed", "object_id", "writes"),
    [
        ([], "present", True, True, None, []),
        ([], "present", False, True, OID, [("POST", "servicePrincipals")]),
        ([SP_BODY], "present", False, False, OID, []),
        ([SP_BODY], "present", True, False, OID, []),
        ([SP_BODY], "absent", True, True, OID, []),
        ([SP_BODY], "absent", False, True, OID, [("DELETE", f"servicePrincipals/{OID}")]),
        ([], "absent", False, False, None, []),
        ([], "absent", True, False, None, []),
    ],
)
def test_ensure(existing, state, check, changed, object_id, writes):
    graph = FakeGraph(existing)
    result = module.ensure(fake_module(graph, state=state, check=check, diff=True))
    assert result["changed"] is changed
    assert result["object_id"] == object_id
    assert result["tenant_id"] == TENANT and result["app_id"] == APP
    assert graph.writes == writes
    assert result["diff"]["before"]["state"] == ("present" if existing else "absent")
    assert result["diff"]["after"]["state"] == state


def test_ensure_is_idempotent():
    graph = FakeGraph()
    first = module.ensure(fake_module(graph))
    second = module.ensure(fake_module(graph))
    assert (first["changed"], second["changed"]) == (True, False)
    assert first["object_id"] == second["object_id"] == OID


def test_conflict_from_another_run_reads_again_until_visible(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(sp.time, "sleep", clock.sleep)
    monkeypatch.setattr(sp.time, "monotonic", clock)
    graph = FakeGraph(created_by_other_run=True, hidden_reads=2)
    result = module.ensure(fake_module(graph, diff=True))
    assert result["changed"] is False and result["object_id"] == OID
    assert [c[0] for c in graph.calls] == ["GET", "POST", "GET", "GET", "GET"]
    # not changed, so no change in the diff either: the principal was there before this run
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["diff"]["after"]["state"] == "present" and result["diff"]["after"]["object_id"] == OID


def test_principal_deleted_by_another_run_meanwhile():
    class RacedGraph(FakeGraph):
        def delete(self, path):
            self.calls.append(("DELETE", path))
            return False  # Graph's 404: gone between our read and our delete

    graph = RacedGraph([SP_BODY])
    result = module.ensure(fake_module(graph, state="absent", diff=True))
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["diff"]["after"]["state"] == "absent"


def test_conflict_that_never_shows_fails_after_the_timeout(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(sp.time, "sleep", clock.sleep)
    monkeypatch.setattr(sp.time, "monotonic", clock)
    graph = FakeGraph(created_by_other_run=True, hidden_reads=1000)
    with pytest.raises(AzureApiError) as caught:
        module.ensure(fake_module(graph, timeout=10))
    assert "visibility_timeout" in str(caught.value) and "10 s" in str(caught.value)
    assert clock.now == 10


@pytest.mark.parametrize(
    ("error", "needles"),
    [
        (AzureApiError("400", status=400, code="Request_BadRequest", described=False,
                       service_message=f"The appId '{APP}' of the service principal does not reference a valid application object."),
         ["not a multi-tenant application visible to this tenant", "app_id"]),
        (AzureApiError("403", status=403, code="Authorization_RequestDenied", described=False,
                       service_message="Insufficient privileges to complete the operation."),
         ["Failed to create the service principal", "Application.ReadWrite.All", "Cloud Application Administrator"]),
    ],
)
def test_create_errors(error, needles):
    graph = FakeGraph(post_error=error)
    with pytest.raises(AzureApiError) as caught:
        module.ensure(fake_module(graph))
    for needle in needles:
        assert needle in str(caught.value)
    assert caught.value.status == error.status


def test_bad_app_id_fails_before_any_call():
    graph = FakeGraph()
    with pytest.raises(AzureApiError) as caught:
        module.ensure(fake_module(graph, app_id="darwin-storage"))
    assert "app_id" in str(caught.value)
    assert graph.calls == []
