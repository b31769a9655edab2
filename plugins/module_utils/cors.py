# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CORS rules of a Blob service: what V7 needs, what is missing, what to write.

Pure functions only (no Azure SDK imports). Rules travel as plain dicts in the ARM camelCase shape
(``allowedOrigins``, ``allowedMethods``, ``allowedHeaders``, ``exposedHeaders``,
``maxAgeInSeconds``) and are handled here as immutable ``CorsRule`` values.

How Azure evaluates CORS rules (Microsoft's "CORS support for Azure Storage"): in the order they
are stored, the first rule whose origins and methods match the request is selected and no other
rule is looked at; the request's headers must then be allowed by that rule. So "V7 is allowed"
means: for every wanted (origin, method) pair, the *first* rule that matches the pair also allows
the wanted headers. A later, wider rule does not help.

Origins. Browsers send the serialised origin (lowercase scheme and host, no default port, no
slash). Microsoft documents the origin match as exact and case-sensitive, while Azurite compares
case-insensitively; rules also accept ``*`` and subdomain wildcards (``https://*.contoso.com``).
This module is conservative both ways: a rule *may* match an origin if it does so under either
reading (case-insensitive, wildcards), and *surely* matches it only if it does so under both
(``*``, the exact origin, or a wildcard matched case-sensitively). A pair counts as allowed only
when the first rule that may match it surely matches it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import InputError

# CorsRule.allowedMethods in the Microsoft.Storage spec (common.json).
METHODS = ("DELETE", "GET", "HEAD", "MERGE", "POST", "OPTIONS", "PUT", "PATCH", "CONNECT", "TRACE")

# Microsoft's documented limits for the CORS rules of one storage service.
MAX_RULES = 5
MAX_ORIGINS = 64
MAX_VALUE_LENGTH = 256       # one origin or one header name
MAX_LITERAL_HEADERS = 64     # per allowed/exposed header list
MAX_PREFIXED_HEADERS = 2     # per allowed/exposed header list ("x-ms-meta-*", "*")
MAX_SETTINGS_CHARS = 2048    # all rule values together, without the XML tags
MAX_AGE = 2**31 - 1          # maxAgeInSeconds is a 32-bit integer

Pair = Tuple[str, str]  # (origin, METHOD)

_ORIGIN = re.compile(
    r"^(?P<scheme>https?)://"
    r"(?P<host>(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# An HTTP header name (RFC 9110 token), optionally ending in "*" to make it a prefix; "*" alone
# means every header. A comma would split the name in the service's comma-separated storage.
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'+.^_`|~-]*\*?$")


@dataclass(frozen=True)
class CorsRule:
    origins: Tuple[str, ...]
    methods: Tuple[str, ...]
    allowed_headers: Tuple[str, ...] = ()
    exposed_headers: Tuple[str, ...] = ()
    max_age: int = 0

    @classmethod
    def from_arm(cls, data: Mapping[str, Any]) -> "CorsRule":
        """A rule from ARM (camelCase; snake_case accepted too).

        ARM returns ``exposedHeaders: []`` as ``[""]`` on GET: empty names mean "none" and are
        dropped, so a rule reads the same whichever way it was stored.
        """
        def field(camel: str, snake: str) -> Any:
            return data.get(camel, data.get(snake))

        return cls(
            origins=_strings(field("allowedOrigins", "allowed_origins")),
            methods=_strings(field("allowedMethods", "allowed_methods")),
            allowed_headers=_strings(field("allowedHeaders", "allowed_headers")),
            exposed_headers=_strings(field("exposedHeaders", "exposed_headers")),
            max_age=int(field("maxAgeInSeconds", "max_age_in_seconds") or 0),
        )

    def to_arm(self) -> dict[str, Any]:
        return {
            "allowedOrigins": list(self.origins),
            "allowedMethods": list(self.methods),
            "allowedHeaders": list(self.allowed_headers),
            "exposedHeaders": list(self.exposed_headers),
            "maxAgeInSeconds": self.max_age,
        }

    def to_result(self) -> dict[str, Any]:
        """The snake_case shape of the module's options and return values."""
        return {
            "allowed_origins": list(self.origins),
            "allowed_methods": list(self.methods),
            "allowed_headers": list(self.allowed_headers),
            "exposed_headers": list(self.exposed_headers),
            "max_age_in_seconds": self.max_age,
        }


@dataclass(frozen=True)
class CorsGoal:
    """What must be allowed. ``max_age`` None: any max age will do (new rules get 0)."""
    origins: Tuple[str, ...]
    methods: Tuple[str, ...]
    allowed_headers: Tuple[str, ...]
    exposed_headers: Tuple[str, ...] = ()
    max_age: Optional[int] = None

    def pairs(self) -> list[Pair]:
        return [(o, m) for o in self.origins for m in self.methods]


def _strings(values: Optional[Iterable[Any]]) -> Tuple[str, ...]:
    return tuple(str(v).strip() for v in (values or ()) if v is not None and str(v).strip())


# ---------------------------------------------------------------- input validation


def normalise_origin(origin: str) -> Optional[str]:
    """The origin as a browser sends it, or None if it is not ``*`` or an http(s) origin."""
    origin = origin.strip()
    if origin == "*":
        return origin
    match = _ORIGIN.match(origin)
    if not match:
        return None
    scheme, host, port = match.group("scheme").lower(), match.group("host").lower(), match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        return None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _header_list_problems(option: str, headers: Sequence[str]) -> list[str]:
    problems = []
    for header in headers:
        if not header or not _HEADER.match(header):
            problems.append(f"{option}: {header!r} is not a header name (letters, digits and "
                            f"-_.!#$%&'+^`|~, optionally ending in '*' to match a prefix)")
        elif len(header) > MAX_VALUE_LENGTH:
            problems.append(f"{option}: {header[:40]!r}... is longer than Azure's "
                            f"{MAX_VALUE_LENGTH} characters per header name")
    problems.extend(f"{option}: {p}" for p in _header_count_problems(headers))
    return problems


def _header_count_problems(headers: Sequence[str]) -> list[str]:
    prefixed = [h for h in headers if h.endswith("*")]
    literal = len(headers) - len(prefixed)
    problems = []
    if literal > MAX_LITERAL_HEADERS:
        problems.append(f"{literal} header names, Azure allows at most {MAX_LITERAL_HEADERS}")
    if len(prefixed) > MAX_PREFIXED_HEADERS:
        problems.append(f"{len(prefixed)} prefixed headers ({', '.join(prefixed)}), Azure allows "
                        f"at most {MAX_PREFIXED_HEADERS}")
    return problems


def _unique(values: Iterable[str], key=lambda v: v) -> Tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for value in values:
        if key(value) not in seen:
            seen.add(key(value))
            out.append(value)
    return tuple(out)


def validate_goal(origins: Sequence[str], methods: Optional[Sequence[str]] = None,
                  allowed_headers: Optional[Sequence[str]] = None, exposed_headers: Optional[Sequence[str]] = None,
                  max_age: Optional[int] = None) -> CorsGoal:
    """The goal from the module's options, normalised; InputError naming every bad option. The
    defaults are V7's (v7.CORS_*), which v7_blob_cors's options default to as well.

    Origins are lowercased (scheme and host), lose a trailing slash and a default port; methods
    are uppercased; duplicates go.
    """
    methods = v7.CORS_METHODS if methods is None else methods
    allowed_headers = v7.CORS_ALLOWED_HEADERS if allowed_headers is None else allowed_headers
    exposed_headers = v7.CORS_EXPOSED_HEADERS if exposed_headers is None else exposed_headers
    problems: list[str] = []
    normal: list[str] = []
    if not origins:
        problems.append("origins: give at least one origin")
    for origin in origins:
        value = normalise_origin(str(origin))
        if value is None:
            problems.append(f"origins: {origin!r} is not '*' or an http(s) origin such as "
                            f"{v7.ORIGIN} (scheme and host, optional port, no path)")
        elif len(value) > MAX_VALUE_LENGTH:
            problems.append(f"origins: {origin[:40]!r}... is longer than Azure's "
                            f"{MAX_VALUE_LENGTH} characters per origin")
        else:
            normal.append(value)
    unique_origins = _unique(normal)
    if "*" in unique_origins and len(unique_origins) > 1:
        problems.append("origins: '*' already allows every origin; give it alone")
    if len(unique_origins) > MAX_ORIGINS:
        problems.append(f"origins: {len(unique_origins)} origins, Azure allows at most {MAX_ORIGINS} per rule")

    upper = _unique(str(m).strip().upper() for m in methods)
    if not upper:
        problems.append("methods: give at least one method")
    bad = [m for m in upper if m not in METHODS]
    if bad:
        problems.append(f"methods: {', '.join(bad)} not among Azure's CORS methods {', '.join(METHODS)}")

    allowed = _unique((str(h).strip() for h in allowed_headers), key=str.lower)
    exposed = _unique((str(h).strip() for h in exposed_headers), key=str.lower)
    problems += _header_list_problems("allowed_headers", allowed)
    problems += _header_list_problems("exposed_headers", exposed)

    if max_age is not None and not 0 <= max_age <= MAX_AGE:
        problems.append(f"max_age_seconds: {max_age} is outside 0..{MAX_AGE}")

    if not problems:
        # A goal whose own rule cannot be stored must fail before any request, not after reading.
        size = _settings_chars(CorsRule(unique_origins, upper, allowed, exposed, max_age or 0))
        if size > MAX_SETTINGS_CHARS:
            problems.append(f"origins, methods, allowed_headers and exposed_headers together make a rule of "
                            f"{size} characters, Azure allows at most {MAX_SETTINGS_CHARS} for all the CORS "
                            f"rules of a service")

    if problems:
        raise InputError(problems)
    return CorsGoal(unique_origins, upper, allowed, exposed, max_age)


# ---------------------------------------------------------------- matching


def _origin_key(origin: str) -> str:
    """How an origin is recognised as V7's when taking it out: any case, with or without '/'."""
    return origin.strip().rstrip("/").lower()


def _wildcard_matches(pattern: str, origin: str) -> bool:
    scheme, sep, host = pattern.partition("://")
    if not sep or not host.startswith("*."):
        return False
    prefix, suffix = f"{scheme}://", host[1:]
    return (origin.startswith(prefix) and origin.endswith(suffix)
            and len(origin) > len(prefix) + len(suffix))


def _may_match_origin(rule_origin: str, origin: str) -> bool:
    if rule_origin == "*":
        return True
    if origin == "*":
        return False
    rule_origin, origin = rule_origin.rstrip("/").lower(), origin.lower()
    return rule_origin == origin or _wildcard_matches(rule_origin, origin)


def _surely_matches_origin(rule_origin: str, origin: str) -> bool:
    if rule_origin == "*":
        return True
    if origin == "*":
        return False
    return rule_origin == origin or _wildcard_matches(rule_origin, origin)


def _has_method(rule: CorsRule, method: str) -> bool:
    return any(m.upper() == method for m in rule.methods)


def header_covered(rule_headers: Iterable[str], wanted: str) -> bool:
    """Whether a rule's header list allows (or exposes) ``wanted``, itself a name or prefix."""
    wanted = wanted.lower()
    for header in (h.lower() for h in rule_headers):
        if header == "*" or header == wanted:
            return True
        if header.endswith("*") and wanted.startswith(header[:-1]):
            return True
    return False


def _first_candidate(rules: Sequence[CorsRule], pair: Pair) -> Optional[int]:
    origin, method = pair
    for index, rule in enumerate(rules):
        if _has_method(rule, method) and any(_may_match_origin(o, origin) for o in rule.origins):
            return index
    return None


def _serves(rule: CorsRule, pair: Pair, goal: CorsGoal) -> bool:
    origin, method = pair
    return (_has_method(rule, method)
            and any(_surely_matches_origin(o, origin) for o in rule.origins)
            and all(header_covered(rule.allowed_headers, h) for h in goal.allowed_headers)
            and all(header_covered(rule.exposed_headers, h) for h in goal.exposed_headers)
            and (goal.max_age is None or rule.max_age == goal.max_age))


def _served(rules: Sequence[CorsRule], pair: Pair, goal: CorsGoal) -> bool:
    index = _first_candidate(rules, pair)
    return index is not None and _serves(rules[index], pair, goal)


def missing_pairs(rules: Sequence[CorsRule], goal: CorsGoal) -> list[Pair]:
    """The wanted (origin, method) pairs that the rules, as Azure evaluates them, do not allow."""
    return [pair for pair in goal.pairs() if not _served(rules, pair, goal)]


# ---------------------------------------------------------------- planning


def _conforms(rule: CorsRule, goal: CorsGoal) -> bool:
    """A rule made only of wanted pairs, each of which it serves as wanted."""
    pairs = [(o, m.upper()) for o in rule.origins for m in rule.methods]
    return (bool(pairs) and all(o in goal.origins for o in rule.origins)
            and all(m.upper() in goal.methods for m in rule.methods)
            and all(_serves(rule, pair, goal) for pair in pairs))


def plan_present(rules: Sequence[CorsRule], goal: CorsGoal, purge: bool = False) -> list[CorsRule]:
    """The rules to store so that the goal is met.

    Without purge every existing rule stays, unchanged and in its order. Then:

    1. Find the missing pairs (``missing_pairs``). None missing: the rules stay as they are; this
       is the case for rules made by hand with the guide's ``az storage cors add`` commands.
    2. Add exactly one rule: the origins that miss anything times every method missed by any of
       them, with the wanted headers and max age (0 when not given). One rule always suffices
       and none is fewer: a pair it adds that was already allowed stays allowed, since the new
       rule grants the wanted headers itself. Keeping to one matters because Azure allows five.
    3. Put it at the end, or, when an existing rule is the first match of a missing pair without
       allowing it (it shadows that pair, e.g. narrower headers), just before the first such
       rule. Nothing before that point may match any missing pair, so the new rule becomes their
       first match; for every other origin and method the outcome is unchanged, because the new
       rule matches only wanted origins.

    With purge the result is exactly what the goal needs: existing rules that conform to it
    (only wanted origins and methods, serving each of their pairs) are kept, in order, unless
    earlier kept rules already serve all their pairs; everything else goes; steps 1-3 then
    complete the kept rules. Rules set by hand with the guide's commands conform, so purge keeps
    them.
    """
    if purge:
        base: list[CorsRule] = []
        for rule in rules:
            pairs = [(o, m.upper()) for o in rule.origins for m in rule.methods]
            if _conforms(rule, goal) and not all(_served(base, p, goal) for p in pairs):
                base.append(rule)
    else:
        base = list(rules)

    missing = missing_pairs(base, goal)
    if not missing:
        return base
    missing_origins = {o for o, _unused0 in missing}
    missing_methods = {m for _unused0, m in missing}
    new = CorsRule(
        origins=tuple(o for o in goal.origins if o in missing_origins),
        methods=tuple(m for m in goal.methods if m in missing_methods),
        allowed_headers=goal.allowed_headers,
        exposed_headers=goal.exposed_headers,
        max_age=goal.max_age if goal.max_age is not None else 0,
    )
    shadows = [i for i in (_first_candidate(base, p) for p in missing) if i is not None]
    at = min(shadows, default=len(base))
    return base[:at] + [new] + base[at:]


def plan_absent(rules: Sequence[CorsRule], origins: Iterable[str], purge: bool = False) -> list[CorsRule]:
    """The rules to store once ``origins`` are taken out.

    A rule that serves only those origins goes; a rule shared with other origins stays in place
    with the other origins and its methods and headers unchanged. Origins are recognised in any
    case and with or without a trailing slash. Rules with ``*`` or a wildcard origin are not
    removed (see ``still_allowed``). With purge no rule remains at all.
    """
    if purge:
        return []
    keys = {_origin_key(o) for o in origins}
    out: list[CorsRule] = []
    for rule in rules:
        kept = tuple(o for o in rule.origins if _origin_key(o) not in keys)
        if kept == rule.origins:
            out.append(rule)
        elif kept:
            out.append(replace(rule, origins=kept))
    return out


def still_allowed(rules: Sequence[CorsRule], origins: Iterable[str]) -> list[Tuple[int, str]]:
    """(index, origin) for each rule that may still let one of ``origins`` in."""
    found = []
    for index, rule in enumerate(rules):
        for origin in origins:
            if origin != "*" and any(_may_match_origin(o, origin) for o in rule.origins):
                found.append((index, origin))
    return found


def changes(before: Sequence[CorsRule], after: Sequence[CorsRule]) -> Tuple[list[CorsRule], list[CorsRule]]:
    """(added, removed): the rules only in ``after`` and only in ``before``, counting repeats."""
    old, new = Counter(before), Counter(after)
    added = [r for r in _unique_rules(after) for _unused0 in range(new[r] - old[r])]
    removed = [r for r in _unique_rules(before) for _unused0 in range(old[r] - new[r])]
    return added, removed


def _unique_rules(rules: Sequence[CorsRule]) -> list[CorsRule]:
    return list(dict.fromkeys(rules))


# ---------------------------------------------------------------- Azure's limits


def rule_label(index: int, rule: CorsRule) -> str:
    return f"#{index} ({', '.join(rule.origins) or 'no origins'})"


def _settings_chars(rule: CorsRule) -> int:
    return sum(len(",".join(values)) for values in
               (rule.origins, rule.methods, rule.allowed_headers, rule.exposed_headers)) + len(str(rule.max_age))


def check_limits(rules: Sequence[CorsRule], added: Iterable[CorsRule] = ()) -> list[str]:
    """Every way ``rules`` break Azure's documented CORS limits; each names the rules concerned.

    ``added`` marks the rules this run would add, so that a message can tell them apart from
    the rules already stored.
    """
    new = set(added)

    def name(index: int, rule: CorsRule) -> str:
        return rule_label(index, rule) + (" [to be added]" if rule in new else "")

    problems: list[str] = []
    if len(rules) > MAX_RULES:
        listed = ", ".join(name(i, r) for i, r in enumerate(rules))
        problems.append(f"Azure allows at most {MAX_RULES} CORS rules per service and this would "
                        f"need {len(rules)}: {listed}")
    for index, rule in enumerate(rules):
        label = name(index, rule)
        if not rule.origins or not rule.methods:
            problems.append(f"rule {label} needs at least one origin and one method")
        if len(rule.origins) > MAX_ORIGINS:
            problems.append(f"rule {label} has {len(rule.origins)} origins, Azure allows at most {MAX_ORIGINS}")
        for value in (*rule.origins, *rule.allowed_headers, *rule.exposed_headers):
            if len(value) > MAX_VALUE_LENGTH:
                problems.append(f"rule {label} has {value[:40]!r}..., longer than Azure's "
                                f"{MAX_VALUE_LENGTH} characters per origin or header")
        bad = [m for m in rule.methods if m.upper() not in METHODS]
        if bad:
            problems.append(f"rule {label} has methods {', '.join(bad)}, not among {', '.join(METHODS)}")
        for field, headers in (("allowed", rule.allowed_headers), ("exposed", rule.exposed_headers)):
            problems.extend(f"rule {label} {field} headers: {p}" for p in _header_count_problems(headers))
        if not 0 <= rule.max_age <= MAX_AGE:
            problems.append(f"rule {label} has max age {rule.max_age}, outside 0..{MAX_AGE}")
    total = sum(_settings_chars(r) for r in rules)
    if total > MAX_SETTINGS_CHARS:
        problems.append(f"the CORS rules together hold {total} characters, Azure allows at most "
                        f"{MAX_SETTINGS_CHARS}: {', '.join(name(i, r) for i, r in enumerate(rules))}")
    return problems


# ---------------------------------------------------------------- the plan both modules use


@dataclass(frozen=True)
class CorsPlan:
    """What v7_blob_cors would store, and the limits that stop it (only when something changes)."""
    before: Tuple[CorsRule, ...]
    after: Tuple[CorsRule, ...]
    added: Tuple[CorsRule, ...]
    removed: Tuple[CorsRule, ...]
    limit_problems: Tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.after != self.before


def plan(rules: Sequence[CorsRule], goal: CorsGoal, state: str = "present", purge: bool = False) -> CorsPlan:
    """The one plan of a Blob service's CORS rules: v7_blob_cors applies it, and
    v7_storage_account_info predicts with it."""
    after = plan_present(rules, goal, purge) if state == "present" else plan_absent(rules, goal.origins, purge)
    added, removed = changes(rules, after)
    problems = check_limits(after, added) if list(after) != list(rules) else []
    return CorsPlan(tuple(rules), tuple(after), tuple(added), tuple(removed), tuple(problems))


def limits_message(account: str, problems: Sequence[str]) -> str:
    return (f"Cannot set the Blob CORS rules of storage account {account}: {'; '.join(problems)}. Nothing was "
            "changed. Remove or merge rules that are no longer needed, or set purge: true to keep only the rules "
            "V7 needs.")


# ---------------------------------------------------------------- account kinds


def has_blob_service(kind: Optional[str]) -> bool:
    """Whether an account of this kind has a Blob service: FileStorage (premium file shares) has none."""
    return kind != "FileStorage"


def account_problem(kind: Optional[str], sku_name: Optional[str], sku_tier: Optional[str]) -> Optional[str]:
    """Why an account of this kind and SKU cannot carry V7's Blob CORS rules, or None.

    Microsoft: CORS is supported for all storage account types except general-purpose v1 or v2
    accounts in the premium performance tier (those hold page blobs only). FileStorage accounts
    (premium file shares) have no Blob service at all. BlockBlobStorage (premium block blobs),
    BlobStorage and standard general-purpose accounts support Blob CORS.
    """
    wanted = ("V7 needs an account with a Blob service that supports CORS: general-purpose v2 "
              "(StorageV2) with a Standard SKU, BlockBlobStorage or BlobStorage")
    if not has_blob_service(kind):
        return f"kind {kind} (sku {sku_name}) has no Blob service. {wanted}"
    premium = (sku_tier or "").lower() == "premium" or (sku_name or "").lower().startswith("premium")
    if kind in ("Storage", "StorageV2") and premium:
        return (f"kind {kind} with premium sku {sku_name} holds page blobs only and Azure does not "
                f"support CORS on it. {wanted}")
    return None
