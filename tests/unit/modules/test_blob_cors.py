"""v7_blob_cors: read -> goal -> plan -> write, over an in-memory storage account (no network)."""
from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from fakes import ACCOUNT, FILE_STORAGE_REFUSAL, RG, SUB, FakeAccount, account_body, api_error, fake_module, rule

from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors, v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import NotFound
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_blob_cors as module
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_storage_account_info as info
from ansible_collections.v7labs.azure_storage.plugins.plugin_utils import storage_integration as si

V7 = v7.ORIGIN
IRL = "https://darwin.irl.v7labs.com"
# The guide's two `az storage cors add` rules.
GUIDE = [rule([V7], ["GET"]), rule([V7], ["PUT"])]
OURS = rule([V7], ["GET", "PUT"])
CONTOSO = rule(["https://www.contoso.com"], ["GET", "HEAD"], ["x-ms-meta-*"], ["x-ms-meta-*"], 200)
SHARED = rule([V7, "https://www.contoso.com"], ["GET", "PUT"])
STAR = rule(["*"], ["GET"])
NARROW = rule([V7], ["GET", "PUT"], ["x-ms-blob-type"])  # catches V7's requests first without allowing "*"
UPPER = rule(["HTTPS://DARWIN.V7LABS.COM"], ["GET", "PUT"])  # does not count as V7's, is taken out as V7's


def results(rules):
    return [r.to_result() for r in rules]


def run(account, **params):
    check, diff = params.pop("check", False), params.pop("diff", False)
    mod = fake_module(module.ARGUMENT_SPEC, check=check, diff=diff, **params)
    return module.ensure_cors(mod, account), mod


# ---------------------------------------------------------------- the plan, applied or predicted

CASES = {
    "fresh account gets one GET+PUT rule": (
        [], {}, [OURS], [OURS], []),
    "the guide's rules meet the goal: nothing written": (
        GUIDE, {}, GUIDE, [], []),
    "the customer's rule stays, ours goes after it": (
        [CONTOSO], {}, [CONTOSO, OURS], [OURS], []),
    "a rule that shadows V7 without allowing its headers gets ours before it": (
        [CONTOSO, NARROW], {}, [CONTOSO, OURS, NARROW], [OURS], []),
    "an uppercase spelling of V7's origin does not count": (
        [UPPER], {}, [OURS, UPPER], [OURS], []),
    "a second origin: one rule for it only": (
        GUIDE, {"origins": [V7, IRL]}, GUIDE + [rule([IRL], ["GET", "PUT"])], [rule([IRL], ["GET", "PUT"])], []),
    "origins are normalised as browsers send them": (
        GUIDE, {"origins": ["HTTPS://Darwin.V7labs.com:443/"], "methods": ["get", "put"]}, GUIDE, [], []),
    "a max age that is set must match exactly": (
        [OURS], {"max_age_seconds": 3600},
        [rule([V7], ["GET", "PUT"], max_age=3600), OURS], [rule([V7], ["GET", "PUT"], max_age=3600)], []),
    "purge drops the customer's rule and keeps the guide's": (
        GUIDE + [CONTOSO], {"purge": True}, GUIDE, [], [CONTOSO]),
    "absent takes out a rule that served only V7": (
        [CONTOSO, OURS], {"state": "absent"}, [CONTOSO], [], [OURS]),
    "absent keeps the other origins of a shared rule": (
        [SHARED], {"state": "absent"}, [replace(SHARED, origins=("https://www.contoso.com",))],
        [replace(SHARED, origins=("https://www.contoso.com",))], [SHARED]),
    "absent takes out V7's origin in any spelling": (
        [UPPER, CONTOSO], {"state": "absent"}, [CONTOSO], [], [UPPER]),
    "absent with purge removes every rule": (
        [CONTOSO, OURS], {"state": "absent", "purge": True}, [], [], [CONTOSO, OURS]),
    "absent with nothing of V7's: nothing written": (
        [CONTOSO], {"state": "absent"}, [CONTOSO], [], []),
}


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize(("before", "params", "after", "added", "removed"), CASES.values(), ids=CASES.keys())
def test_plan_applied_or_predicted(before, params, after, added, removed, check):
    account = FakeAccount(account_body(), cors=before)
    result, mod = run(account, check=check, diff=True, **params)
    changed = after != before
    assert result["changed"] is changed
    assert result["cors_rules"] == results(after)
    assert result["added"] == results(added) and result["removed"] == results(removed)
    assert result["diff"] == {"before": {"cors_rules": results(before)}, "after": {"cors_rules": results(after)}}
    assert account.writes == ([("set_cors_rules", after)] if changed and not check else [])
    assert account.rules == (before if check else after)
    assert mod.warnings == []


def test_no_diff_without_diff_mode():
    result, _module = run(FakeAccount(account_body()))
    assert "diff" not in result and result["changed"] is True


def test_second_run_changes_nothing():
    account = FakeAccount(account_body(), cors=[CONTOSO, NARROW])
    first, _module = run(account, origins=[V7, IRL])
    second, _module = run(account, origins=[V7, IRL])
    assert (first["changed"], second["changed"]) == (True, False)
    assert len(account.writes) == 1 and second["cors_rules"] == first["cors_rules"]


def test_result_is_what_azure_replied():
    """cors_rules after a write are the PUT's reply, not the request (ARM echoes "" for no exposed headers)."""
    def reply(rules):
        return [replace(r, methods=tuple(reversed(r.methods))) for r in rules]

    account = FakeAccount(account_body(), cors_reply=reply)
    result, _module = run(account)
    assert result["cors_rules"] == results([rule([V7], ["PUT", "GET"])])
    assert result["added"] == results([OURS])  # the plan, as asked


@pytest.mark.parametrize(
    ("before", "lingering"),
    [
        ([STAR, OURS], {0: ["*"]}),
        ([rule(["https://*.v7labs.com"], ["GET"]), rule(["https://*.V7LABS.com"], ["PUT"])],
         {0: ["https://*.v7labs.com"], 1: ["https://*.V7LABS.com"]}),
    ],
)
def test_absent_warns_about_rules_that_still_let_v7_in(before, lingering):
    account = FakeAccount(account_body(), cors=before)
    result, mod = run(account, state="absent", check=True)
    assert account.writes == []
    assert len(mod.warnings) == len(lingering)
    for warning, (index, origins) in zip(mod.warnings, lingering.items()):
        assert f"CORS rule #{index} ({', '.join(origins)})" in warning
        assert ACCOUNT in warning and f"still lets {V7} in" in warning
    assert all(r["allowed_origins"] != [V7] for r in result["cors_rules"])


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("check", [False, True])
def test_five_rule_limit_fails_before_writing(check):
    five = [rule([f"https://app{i}.example.org"], ["GET"]) for i in range(5)]
    account = FakeAccount(account_body(), cors=five)
    with pytest.raises(AzureApiError) as caught:
        run(account, check=check)
    assert caught.value.code == "CorsLimitExceeded"
    message = str(caught.value)
    assert "at most 5 CORS rules" in message and "would need 6" in message
    assert f"#5 ({V7}) [to be added]" in message and "purge: true" in message and "Nothing was changed" in message
    assert account.writes == []


def test_limit_does_not_stop_a_run_with_nothing_to_change():
    full = [rule([f"https://app{i}.example.org"], ["GET"]) for i in range(4)] + [OURS]
    account = FakeAccount(account_body(), cors=full)
    result, _module = run(account)
    assert result["changed"] is False and account.writes == []


@pytest.mark.parametrize(
    ("kind", "sku", "needle"),
    [
        ("FileStorage", "Premium_LRS", "kind FileStorage (sku Premium_LRS) has no Blob service"),
        ("StorageV2", "Premium_LRS", "premium sku Premium_LRS holds page blobs only"),
        ("Storage", "Premium_ZRS", "premium sku Premium_ZRS holds page blobs only"),
    ],
)
def test_account_that_cannot_carry_cors(kind, sku, needle):
    account = FakeAccount(account_body(kind, sku))
    with pytest.raises(AzureApiError) as caught:
        run(account)
    assert caught.value.code == "FeatureNotSupportedForAccount"
    assert str(caught.value).startswith(f"Storage account {ACCOUNT} cannot be used by V7: kind {kind} ")
    assert needle in str(caught.value)
    if kind == "FileStorage":
        assert str(caught.value) == FILE_STORAGE_REFUSAL
    assert account.reads == ["read"] and account.writes == []


@pytest.mark.parametrize(("kind", "sku"), [("BlockBlobStorage", "Premium_LRS"), ("BlobStorage", "Standard_GRS")])
def test_premium_block_blobs_and_blob_storage_carry_cors(kind, sku):
    account = FakeAccount(account_body(kind, sku))
    result, _module = run(account)
    assert result["changed"] is True and account.writes == [("set_cors_rules", [OURS])]


@pytest.mark.parametrize(
    ("account", "kind", "needle"),
    [
        (FakeAccount(None), "account", f"The storage account {ACCOUNT} was not found in resource group rg-data"),
        (FakeAccount(None, group_missing=True), "resource_group", "The resource group rg-data was not found"),
    ],
)
def test_missing_account_or_group(account, kind, needle):
    with pytest.raises(NotFound) as caught:
        run(account)
    assert caught.value.kind == kind and needle in str(caught.value)
    assert account.writes == [] and "cors_rules" not in account.reads


@pytest.mark.parametrize(
    ("params", "options"),
    [
        ({"origins": ["darwin.v7labs.com"]}, ["origins"]),
        ({"origins": []}, ["origins"]),
        ({"origins": ["*", V7]}, ["origins"]),
        ({"methods": ["GET", "FETCH"]}, ["methods"]),
        ({"allowed_headers": ["x-ms-meta,data"]}, ["allowed_headers"]),
        ({"exposed_headers": ["a*", "b*", "c*"]}, ["exposed_headers"]),
        ({"max_age_seconds": -1}, ["max_age_seconds"]),
        ({"storage_account": "Acme-1", "methods": ["FETCH"]}, ["storage_account", "methods"]),
        ({"resource_group": "rg."}, ["resource_group"]),
    ],
)
def test_bad_options_are_named_before_any_request(params, options):
    account = FakeAccount(account_body())
    with pytest.raises(InputError) as caught:
        run(account, **params)
    assert sorted(p.split(":")[0] for p in caught.value.problems) == sorted(options)
    assert "Nothing was sent to Azure" in str(caught.value)
    assert account.calls == []


def test_bad_sign_in_settings_are_named_with_the_options():
    from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AuthSettings

    account = FakeAccount(account_body())
    mod = fake_module(module.ARGUMENT_SPEC, origins=["ftp://x"],
                      auth=AuthSettings(credential_kind="secret", tenant="not a tenant", subscription_id="Prod"))
    with pytest.raises(InputError) as caught:
        module.ensure_cors(mod, account)
    assert [p.split(":")[0] for p in caught.value.problems] == ["subscription_id", "tenant", "origins"]
    assert account.calls == []


def test_write_refused_by_azure_is_raised_as_is():
    refused = api_error("AuthorizationFailed", 403, "The client does not have authorization")
    account = FakeAccount(account_body(), fail={"set_cors_rules": refused})
    with pytest.raises(AzureApiError) as caught:
        run(account)
    assert caught.value is refused and account.writes == [] and account.rules == []


# ---------------------------------------------------------------- V7's facts


def test_argument_spec_defaults_are_v7s_facts():
    spec = module.ARGUMENT_SPEC
    assert spec["origins"]["default"] == list(v7.ORIGINS)
    assert spec["methods"]["default"] == list(v7.CORS_METHODS)
    assert spec["allowed_headers"]["default"] == list(v7.CORS_ALLOWED_HEADERS)
    assert spec["exposed_headers"]["default"] == list(v7.CORS_EXPOSED_HEADERS)
    # lists, not v7's tuples: Ansible hands the module a mutable copy of a default it can compare
    assert all(isinstance(spec[o]["default"], list) for o in ("origins", "methods", "allowed_headers", "exposed_headers"))


# An inventory host of the storage_integration role that V7 writes to (GET and PUT by default).
ROLE_HOST = {"v7_tenant_id": "11111111-1111-4111-8111-111111111111", "v7_subscription_id": SUB,
             "v7_resource_group": RG, "v7_team": "Contoso Vision", "v7_write": True, "v7_prefix": "images/v7"}


@pytest.fixture
def reloaded():
    """Reload modules after V7's facts were changed; restore them exactly afterwards (the same
    classes and functions, so that other tests' imports keep working)."""
    saved = []

    def reload(*modules):
        for mod in modules:
            saved.append((mod, dict(mod.__dict__)))
            importlib.reload(mod)

    yield reload
    for mod, namespace in reversed(saved):
        mod.__dict__.clear()
        mod.__dict__.update(namespace)


def test_a_changed_v7_default_is_followed_by_the_plan_the_prediction_and_the_role(monkeypatch, reloaded):
    """With V7 also asking for HEAD, the guide's rules no longer meet the goal: v7_blob_cors adds a
    HEAD rule, v7_storage_account_info predicts exactly that change with the options the role gives
    it, and the role's verdict therefore runs v7_blob_cors (change_cors)."""
    monkeypatch.setattr(v7, "CORS_METHODS", ("GET", "PUT", "HEAD"))
    reloaded(cors, module, info)
    assert module.ARGUMENT_SPEC["methods"]["default"] == ["GET", "PUT", "HEAD"]
    head = rule([V7], ["HEAD"])

    writer = FakeAccount(account_body(), cors=GUIDE)
    result, _module = run(writer)
    assert result["changed"] is True and result["added"] == results([head])
    # compared as results: the reloaded cors module has its own CorsRule class
    assert [(w, results(rules)) for w, rules in writer.writes] == [("set_cors_rules", results(GUIDE + [head]))]

    # the role: its account (the methods it passes both modules) and its preflight read
    account = si.check_account_vars(ROLE_HOST, ACCOUNT)
    assert account["cors_methods"] == ["GET", "PUT", "HEAD"]
    reader = FakeAccount(account_body(), cors=GUIDE)
    predicted = info.account_info(fake_module(info.ARGUMENT_SPEC, v7_origins=account["origins"],
                                              v7_cors_methods=account["cors_methods"]), reader)
    assert predicted["blob_cors"]["up_to_date"] is False
    assert predicted["blob_cors"]["added"] == result["added"] and predicted["blob_cors"]["removed"] == []
    assert reader.writes == []
    assert si.cors_change(account, predicted) is True


def test_v7_defaults_are_back_after_the_reload_test():
    """The reload above must not leak: the guide's rules meet the default goal again, and the role
    skips v7_blob_cors on the prediction."""
    assert module.ARGUMENT_SPEC["methods"]["default"] == ["GET", "PUT"]
    result, _module = run(FakeAccount(account_body(), cors=GUIDE))
    assert result["changed"] is False
    account = si.check_account_vars(ROLE_HOST, ACCOUNT)
    predicted = info.account_info(fake_module(info.ARGUMENT_SPEC, v7_origins=account["origins"],
                                              v7_cors_methods=account["cors_methods"]), FakeAccount(account_body(), cors=GUIDE))
    assert predicted["blob_cors"]["up_to_date"] is True and si.cors_change(account, predicted) is False


# ---------------------------------------------------------------- the browsers' CORS preflight


@pytest.fixture()
def sent(monkeypatch):
    from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
    calls = []

    def send(settings, endpoint, path, probes, **kwargs):
        calls.append(dict(kwargs, endpoint=endpoint, path=path, pairs=[(p.origin, p.method) for p in probes]))
        return cp.outcome(endpoint, [cp.answer(p, 403, {}, "CorsPreflightFailure") for p in probes])

    monkeypatch.setattr(cp, "send", send)
    return calls


def test_preflight_after_the_rules_are_written(sent):
    account = FakeAccount(account_body(), cors=[])
    result, mod = run(account, preflight=True)
    assert account.writes and sent == [dict(after_write=True, endpoint=f"https://{ACCOUNT}.blob.core.windows.net/",
                                            path="/", pairs=[(V7, "GET"), (V7, "PUT")])]
    assert result["preflight"]["refused"] == [f"GET from {V7}", f"PUT from {V7}"]
    assert len(mod.warnings) == 1 and mod.warnings[0].startswith(f"The Blob service of {ACCOUNT} refuses the CORS preflight")


def test_preflight_without_a_write_is_not_asked_again(sent):
    result, _mod = run(FakeAccount(account_body(), cors=GUIDE), preflight=True)
    assert result["changed"] is False and sent[0]["after_write"] is False


def test_no_preflight_in_check_mode_or_when_taking_v7_out(sent):
    result, mod = run(FakeAccount(account_body(), cors=[]), preflight=True, check=True)
    assert sent == [] and result["preflight"]["checked"] is False and "check mode" in result["preflight"]["reason"]
    result, _mod = run(FakeAccount(account_body(), cors=GUIDE), preflight=True, state="absent")
    assert sent == [] and "preflight" not in result
