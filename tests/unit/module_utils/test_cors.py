from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cors import CorsRule

V7 = "https://darwin.v7labs.com"
IRL = "https://darwin.irl.v7labs.com"


def rule(origins, methods, headers=("*",), exposed=(), max_age=0) -> CorsRule:
    return CorsRule(tuple(origins), tuple(methods), tuple(headers), tuple(exposed), max_age)


def goal(origins=(V7,), methods=("GET", "PUT"), headers=("*",), exposed=(), max_age=None) -> cors.CorsGoal:
    return cors.validate_goal(list(origins), list(methods), list(headers), list(exposed), max_age)


def from_get(origins, methods, headers=("*",), max_age=0) -> CorsRule:
    """A rule as ARM's GET returns it: exposedHeaders [] comes back as [""]."""
    return CorsRule.from_arm({"allowedOrigins": list(origins), "allowedMethods": list(methods),
                              "allowedHeaders": list(headers), "exposedHeaders": [""],
                              "maxAgeInSeconds": max_age})


# The two rules V7's guide makes with `az storage cors add`, as a later GET shows them.
GUIDE = [from_get([V7], ["GET"]), from_get([V7], ["PUT"])]
OURS = rule([V7], ["GET", "PUT"])
CONTOSO = rule(["https://www.contoso.com"], ["GET", "HEAD"], ["x-ms-meta-*"], ["x-ms-meta-*"], 200)
FABRIKAM = rule(["http://*.fabrikam.com", "http://www.fabrikam.com"], ["PUT", "GET"], ["x-ms-meta-data*"])
APP = rule(["https://app.example.org"], ["DELETE"], ["*"], [], 60)
LOCAL = rule(["http://localhost:5173"], ["GET", "PUT", "POST"], ["*"], ["*"], 3600)
EXTRA = rule(["https://extra.example.org"], ["GET"])
UNRELATED = [CONTOSO, FABRIKAM, APP, LOCAL]


# ---------------------------------------------------------------- present

PRESENT_CASES = {
    "fresh account gets one rule for GET and PUT": (
        [], goal(), False, [OURS]),
    "the guide's two rules meet the goal": (
        GUIDE, goal(), False, GUIDE),
    "the guide's rules in the other order meet it too": (
        GUIDE[::-1], goal(), False, GUIDE[::-1]),
    "four unrelated rules and ours: nothing changes": (
        UNRELATED + [OURS], goal(), False, UNRELATED + [OURS]),
    "four unrelated rules: ours is appended, theirs unchanged": (
        UNRELATED, goal(), False, UNRELATED + [OURS]),
    "only the guide's GET rule: one PUT rule is added": (
        GUIDE[:1], goal(), False, GUIDE[:1] + [rule([V7], ["PUT"])]),
    "a second origin gets one rule, the first is left alone": (
        GUIDE, goal(origins=(V7, IRL)), False, GUIDE + [rule([IRL], ["GET", "PUT"])]),
    "origins missing different methods still need only one rule": (
        GUIDE[:1], goal(origins=(V7, IRL)), False, GUIDE[:1] + [rule([V7, IRL], ["GET", "PUT"])]),
    "origin * with any header covers V7": (
        [rule(["*"], ["GET", "PUT", "HEAD"])], goal(), False, [rule(["*"], ["GET", "PUT", "HEAD"])]),
    "a wildcard subdomain rule covers V7": (
        [rule(["https://*.v7labs.com"], ["GET", "PUT"])], goal(), False,
        [rule(["https://*.v7labs.com"], ["GET", "PUT"])]),
    "origin * with narrow headers catches V7 first: ours goes before it": (
        [CONTOSO, rule(["*"], ["GET", "PUT"], ["x-ms-meta-*"])], goal(), False,
        [CONTOSO, OURS, rule(["*"], ["GET", "PUT"], ["x-ms-meta-*"])]),
    "a shared rule with narrow headers shadows V7's GET: the new rule goes before it": (
        [APP, rule(["https://www.contoso.com", V7], ["GET"], ["x-ms-meta-*"]), GUIDE[1]], goal(), False,
        [APP, rule([V7], ["GET"]), rule(["https://www.contoso.com", V7], ["GET"], ["x-ms-meta-*"]), GUIDE[1]]),
    "a rule that would allow V7 is no help behind one that catches V7 first": (
        [rule(["*"], ["PUT"], ["x-ms-meta-*"]), OURS], goal(), False,
        [rule([V7], ["PUT"]), rule(["*"], ["PUT"], ["x-ms-meta-*"]), OURS]),
    "a prefix rule covers the header names it starts": (
        [rule([V7], ["GET", "PUT"], ["x-ms-*"])], goal(headers=("x-ms-blob-type", "x-ms-meta-*")), False,
        [rule([V7], ["GET", "PUT"], ["x-ms-*"])]),
    "a narrower header list does not cover '*'": (
        [rule([V7], ["GET", "PUT"], ["x-ms-*"])], goal(), False,
        [OURS, rule([V7], ["GET", "PUT"], ["x-ms-*"])]),
    "header names match in any case": (
        [rule([V7], ["GET", "PUT"], ["X-MS-Blob-Type", "Content-Type"])],
        goal(headers=("x-ms-blob-type", "CONTENT-TYPE")), False,
        [rule([V7], ["GET", "PUT"], ["X-MS-Blob-Type", "Content-Type"])]),
    "methods match in any case": (
        [rule([V7], ["get", "put"])], goal(), False, [rule([V7], ["get", "put"])]),
    "an uppercase spelling of V7's origin does not count": (
        [rule(["HTTPS://DARWIN.V7LABS.COM"], ["GET", "PUT"])], goal(), False,
        [OURS, rule(["HTTPS://DARWIN.V7LABS.COM"], ["GET", "PUT"])]),
    "the goal's origin is normalised before matching": (
        GUIDE, goal(origins=("HTTPS://Darwin.V7labs.com:443/",)), False, GUIDE),
    "wanted exposed headers must be exposed": (
        GUIDE, goal(exposed=("x-ms-meta-*",)), False,
        [rule([V7], ["GET", "PUT"], ["*"], ["x-ms-meta-*"]), *GUIDE]),
    "a max age that is not set counts any max age": (
        [rule([V7], ["GET", "PUT"], max_age=86400)], goal(), False, [rule([V7], ["GET", "PUT"], max_age=86400)]),
    "a max age that is set must match": (
        GUIDE, goal(max_age=3600), False, [rule([V7], ["GET", "PUT"], max_age=3600), *GUIDE]),
    "purge keeps the guide's rules and drops the others": (
        UNRELATED[:2] + GUIDE + UNRELATED[2:], goal(), True, GUIDE),
    "purge on unrelated rules leaves only ours": (
        UNRELATED, goal(), True, [OURS]),
    "purge drops a duplicate of a rule that serves the same pairs": (
        [OURS, OURS, GUIDE[0]], goal(), True, [OURS]),
    "purge drops a V7 rule with narrower headers and adds one that meets the goal": (
        [rule([V7], ["GET", "PUT"], ["x-ms-*"])], goal(), True, [OURS]),
    "purge drops V7 rules with methods that are not wanted": (
        [rule([V7], ["GET", "PUT", "DELETE"])], goal(), True, [OURS]),
    "purge drops a shared rule": (
        [rule(["https://www.contoso.com", V7], ["GET", "PUT"])], goal(), True, [OURS]),
}


@pytest.mark.parametrize("rules, wanted, purge, expected", PRESENT_CASES.values(), ids=PRESENT_CASES.keys())
def test_plan_present(rules, wanted, purge, expected):
    after = cors.plan_present(rules, wanted, purge)
    assert after == expected
    assert not cors.missing_pairs(after, wanted)
    assert cors.plan_present(after, wanted, purge) == after


def test_five_unrelated_rules_break_the_limit_before_any_write():
    five = UNRELATED + [EXTRA]
    after = cors.plan_present(five, goal(), purge=False)
    added, _unused0 = cors.changes(five, after)
    problems = cors.check_limits(after, added)
    assert len(problems) == 1
    assert "at most 5 CORS rules" in problems[0]
    assert "#0 (https://www.contoso.com)" in problems[0]
    assert "#4 (https://extra.example.org)" in problems[0]
    assert f"#5 ({V7}) [to be added]" in problems[0]


def test_four_unrelated_rules_and_ours_fit():
    after = cors.plan_present(UNRELATED, goal(), purge=False)
    assert len(after) == 5
    assert cors.check_limits(after, [OURS]) == []


# ---------------------------------------------------------------- absent

ABSENT_CASES = {
    "nothing there": ([], [V7], False, []),
    "the guide's rules go": (GUIDE, [V7], False, []),
    "other rules stay, in order": (
        [CONTOSO, GUIDE[0], FABRIKAM, GUIDE[1], APP], [V7], False, [CONTOSO, FABRIKAM, APP]),
    "a shared rule keeps the other origins, methods and headers": (
        [rule(["https://www.contoso.com", V7, "https://b.example"], ["GET"], ["x-ms-*"], ["x"], 5)], [V7], False,
        [rule(["https://www.contoso.com", "https://b.example"], ["GET"], ["x-ms-*"], ["x"], 5)]),
    "any spelling of V7's origin goes": (
        [rule(["HTTPS://DARWIN.V7LABS.COM/", "https://a.example"], ["GET"])], [V7], False,
        [rule(["https://a.example"], ["GET"])]),
    "origin * is not V7's and stays": (
        [rule(["*"], ["GET"]), OURS], [V7], False, [rule(["*"], ["GET"])]),
    "only the given origins go": (
        [OURS, rule([IRL], ["GET", "PUT"])], [IRL], False, [OURS]),
    "purge removes every rule": (UNRELATED + [OURS], [V7], True, []),
}


@pytest.mark.parametrize("rules, origins, purge, expected", ABSENT_CASES.values(), ids=ABSENT_CASES.keys())
def test_plan_absent(rules, origins, purge, expected):
    assert cors.plan_absent(rules, origins, purge) == expected


@pytest.mark.parametrize("rules, expected", [
    ([CONTOSO], []),
    ([CONTOSO, rule(["*"], ["GET"])], [(1, V7)]),
    ([rule(["https://*.V7LABS.com"], ["GET"])], [(0, V7)]),
])
def test_still_allowed(rules, expected):
    assert cors.still_allowed(rules, [V7]) == expected


# ---------------------------------------------------------------- the ARM shape


def test_exposed_headers_quirk_reads_as_none():
    stored = {"allowedOrigins": [V7], "allowedMethods": ["GET"], "allowedHeaders": ["*"],
              "exposedHeaders": [""], "maxAgeInSeconds": 0}
    assert CorsRule.from_arm(stored) == rule([V7], ["GET"])
    assert CorsRule.from_arm(stored).to_arm()["exposedHeaders"] == []
    assert CorsRule.from_arm({**stored, "exposedHeaders": []}) == CorsRule.from_arm(stored)


def test_round_trip_keeps_a_customer_rule_as_it_was():
    stored = {"allowedOrigins": ["http://*.contoso.com", "http://www.fabrikam.com"],
              "allowedMethods": ["PUT", "GET"], "maxAgeInSeconds": 200, "exposedHeaders": ["x-ms-meta-*"],
              "allowedHeaders": ["x-ms-meta-data*"]}
    assert CorsRule.from_arm(stored).to_arm() == stored


def test_snake_case_input_and_result_shape():
    snake = {"allowed_origins": [V7], "allowed_methods": ["GET"], "allowed_headers": ["*"],
             "exposed_headers": [], "max_age_in_seconds": 7}
    assert CorsRule.from_arm(snake).to_result() == snake


def test_changes_counts_repeats_and_shared_rules():
    shared = rule(["https://a.example", V7], ["GET"])
    before = [shared, OURS, OURS]
    after = cors.plan_absent(before, [V7])
    added, removed = cors.changes(before, after)
    assert added == [rule(["https://a.example"], ["GET"])]
    assert removed == [shared, OURS, OURS]


# ---------------------------------------------------------------- input and limits

GOOD_INPUT = {
    "defaults": (dict(), (V7,), ("GET", "PUT")),
    "case, default port, trailing slash": (
        dict(origins=["HTTPS://Darwin.V7Labs.com:443/"], methods=["get", "Put"]), (V7,), ("GET", "PUT")),
    "other port kept, duplicates dropped": (
        dict(origins=["http://localhost:8080", "http://LOCALHOST:8080/"], methods=["GET", "get"]),
        ("http://localhost:8080",), ("GET",)),
    "star alone": (dict(origins=["*"]), ("*",), ("GET", "PUT")),
    "wildcard subdomain": (dict(origins=["https://*.v7labs.com"]), ("https://*.v7labs.com",), ("GET", "PUT")),
}


@pytest.mark.parametrize("options, origins, methods", GOOD_INPUT.values(), ids=GOOD_INPUT.keys())
def test_validate_goal_normalises(options, origins, methods):
    wanted = goal(**options)
    assert (wanted.origins, wanted.methods) == (origins, methods)


BAD_INPUT = {
    "path": (dict(origins=["https://darwin.v7labs.com/app"]), "origins: 'https://darwin.v7labs.com/app'"),
    "scheme": (dict(origins=["ftp://darwin.v7labs.com"]), "origins: 'ftp://darwin.v7labs.com'"),
    "bare host": (dict(origins=["darwin.v7labs.com"]), "origins: 'darwin.v7labs.com'"),
    "no origins": (dict(origins=[]), "origins: give at least one"),
    "star with others": (dict(origins=["*", V7]), "give it alone"),
    "long origin": (dict(origins=["https://" + "a" * 250 + ".com"]), "256 characters per origin"),
    "65 origins": (dict(origins=[f"https://h{i}.example" for i in range(65)]), "at most 64"),
    "method": (dict(methods=["GET", "FETCH"]), "methods: FETCH not among"),
    "no methods": (dict(methods=[]), "methods: give at least one"),
    "comma in a header": (dict(headers=["x-a,x-b"]), "allowed_headers: 'x-a,x-b'"),
    "star inside a header": (dict(exposed=["x-*-a"]), "exposed_headers: 'x-*-a'"),
    "three prefixed headers": (dict(headers=["a*", "b*", "c*"]), "allowed_headers: 3 prefixed headers"),
    "65 header names": (dict(exposed=[f"x-h{i}" for i in range(65)]), "exposed_headers: 65 header names"),
    "long header": (dict(headers=["x" * 257]), "256 characters per header name"),
    "negative max age": (dict(max_age=-1), "max_age_seconds: -1 is outside 0..2147483647"),
    "huge max age": (dict(max_age=2**31), "max_age_seconds: 2147483648"),
    "origins over 2 KB together": (
        dict(origins=[f"https://{i}{'a' * 230}.example" for i in range(9)]), "at most 2048 for all the CORS rules"),
}


@pytest.mark.parametrize("options, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_validate_goal_rejects(options, message):
    with pytest.raises(InputError) as err:
        goal(**options)
    assert message in str(err.value)


def test_validate_goal_names_every_bad_option_at_once():
    with pytest.raises(InputError) as err:
        goal(origins=["nope"], methods=["NOPE"], max_age=-5)
    assert all(name in str(err.value) for name in ("origins:", "methods:", "max_age_seconds:"))


LIMIT_CASES = {
    "fine": ([OURS, CONTOSO], []),
    "six rules": ([OURS] * 6, ["at most 5 CORS rules"]),
    "too many prefixed headers in a stored rule": (
        [rule([V7], ["GET"], ["a*", "b*", "c*"])], ["#0 (https://darwin.v7labs.com) allowed headers: 3 prefixed"]),
    "unknown method": ([rule([V7], ["FETCH"])], ["methods FETCH"]),
    "long origin": ([rule(["https://" + "a" * 260], ["GET"])], ["256 characters"]),
    "max age": ([rule([V7], ["GET"], max_age=-1)], ["max age -1"]),
    "2 KB together": (
        [rule([f"https://h{i:02d}.example.org" for i in range(50)], ["GET"]),
         rule([f"https://k{i:02d}.example.org" for i in range(50)], ["GET"])], ["at most 2048"]),
    "no origins": ([rule([], ["GET"])], ["at least one origin"]),
}


@pytest.mark.parametrize("rules, messages", LIMIT_CASES.values(), ids=LIMIT_CASES.keys())
def test_check_limits(rules, messages):
    problems = cors.check_limits(rules)
    assert len(problems) == len(messages)
    for problem, message in zip(problems, messages):
        assert message in problem


ACCOUNT_CASES = {
    "standard v2": ("StorageV2", "Standard_LRS", "Standard", None),
    "standard v1": ("Storage", "Standard_GRS", "Standard", None),
    "premium block blobs": ("BlockBlobStorage", "Premium_LRS", "Premium", None),
    "legacy blob storage": ("BlobStorage", "Standard_RAGRS", "Standard", None),
    "premium file shares": ("FileStorage", "Premium_ZRS", "Premium", "kind FileStorage"),
    "premium page blobs v2": ("StorageV2", "Premium_LRS", "Premium", "premium sku Premium_LRS"),
    "premium page blobs v1": ("Storage", "Premium_LRS", None, "kind Storage with premium"),
}


@pytest.mark.parametrize("kind, sku, tier, message", ACCOUNT_CASES.values(), ids=ACCOUNT_CASES.keys())
def test_account_problem(kind, sku, tier, message):
    problem = cors.account_problem(kind, sku, tier)
    if message is None:
        assert problem is None
    else:
        assert message in problem and "StorageV2" in problem


# ---------------------------------------------------------------- properties

V7_ORIGINS = [V7, IRL]
CUSTOMER_ORIGINS = ["https://www.contoso.com", "http://localhost:3000", "https://app.example.org:8443",
                    "http://*.fabrikam.com", "https://*.v7labs.com", "*"]
HEADERS = ["*", "x-ms-*", "x-ms-blob-type", "x-ms-meta-*", "content-type", "X-MS-BLOB-TYPE"]

customer_rules = st.lists(
    st.builds(
        CorsRule,
        origins=st.lists(st.sampled_from(CUSTOMER_ORIGINS), min_size=1, max_size=3, unique=True).map(tuple),
        methods=st.lists(st.sampled_from(cors.METHODS), min_size=1, max_size=4, unique=True).map(tuple),
        allowed_headers=st.lists(st.sampled_from(HEADERS), max_size=2, unique=True).map(tuple),
        exposed_headers=st.lists(st.sampled_from(HEADERS), max_size=2, unique=True).map(tuple),
        max_age=st.sampled_from([0, 200, 3600]),
    ),
    max_size=5,
)

goals = st.builds(
    cors.validate_goal,
    origins=st.lists(st.sampled_from(V7_ORIGINS + [o.upper() + "/" for o in V7_ORIGINS]), min_size=1, max_size=2),
    methods=st.lists(st.sampled_from(["GET", "PUT", "HEAD", "get"]), min_size=1, max_size=3),
    allowed_headers=st.lists(st.sampled_from(["*", "x-ms-*", "x-ms-blob-type"]), max_size=2),
    exposed_headers=st.lists(st.sampled_from(["x-ms-meta-*", "etag"]), max_size=1),
    max_age=st.sampled_from([None, None, 0, 600]),
)

operations = st.lists(
    st.one_of(st.tuples(st.just("present"), goals),
              st.tuples(st.just("absent"), st.lists(st.sampled_from(V7_ORIGINS), min_size=1, unique=True))),
    max_size=6,
)


def is_ours(r: CorsRule) -> bool:
    return all(o in V7_ORIGINS for o in r.origins)


@settings(max_examples=300, deadline=None)
@given(customer_rules, operations)
def test_customer_rules_survive_any_sequence(customers, ops):
    rules = list(customers)
    for op, arg in ops:
        rules = cors.plan_present(rules, arg, purge=False) if op == "present" else cors.plan_absent(rules, arg)
        assert [r for r in rules if not is_ours(r)] == customers
        if op == "present":
            assert not cors.missing_pairs(rules, arg)
    assert cors.plan_absent(rules, V7_ORIGINS) == customers


@settings(max_examples=300, deadline=None)
@given(customer_rules, goals, st.booleans())
def test_present_twice_changes_nothing_the_second_time(customers, wanted, purge):
    once = cors.plan_present(customers, wanted, purge)
    assert not cors.missing_pairs(once, wanted)
    assert cors.plan_present(once, wanted, purge) == once
    assert len(once) - len(customers) <= 1 or purge


@settings(max_examples=300, deadline=None)
@given(customer_rules, goals)
def test_absent_after_present_leaves_exactly_the_customer_rules(customers, wanted):
    present = cors.plan_present(customers, wanted, purge=False)
    assert cors.plan_absent(present, wanted.origins) == customers


@settings(max_examples=200, deadline=None)
@given(customer_rules, goals)
def test_purge_keeps_only_what_the_goal_needs(customers, wanted):
    purged = cors.plan_present(customers + cors.plan_present([], wanted), wanted, purge=True)
    assert purged == [cors.plan_present([], wanted)[0]]
