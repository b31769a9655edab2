"""The Blob service's properties on the data plane: Get and Set Blob Service Properties
(`GET|PUT https://<account>.blob.core.windows.net/?restype=service&comp=properties`).

One state with ARM: CORS rules, the delete retention policy and the default service version are
the same settings as ARM's `blobServices/default` properties (`cors.corsRules`,
`deleteRetentionPolicy`, `defaultServiceVersion`), so a rule added on one plane shows up on the
other, each plane giving it back in its own shape:

- the data plane keeps each CORS list as one comma-separated string; an empty
  `<ExposedHeaders />` is the list `[""]` on ARM, exactly what ARM itself shows for a rule PUT with
  `exposedHeaders: []` (recordings/azure-cli_test_storage_account_blob_cors_rule.yaml: PUT `[]`,
  GET `[""]`), and what `az storage cors list` shows as `"ExposedHeaders": ""`;
- ARM's lists are joined with commas for the data plane (storage.py stores ARM's CORS rules in
  ARM's key order).

Logging, hour and minute metrics and the static website exist on the data plane only; they are
kept per account and given back by Get.

Set, from Microsoft's "Set Blob Service Properties" reference (learn.microsoft.com/rest/api/
storageservices/set-blob-service-properties): the body is `<StorageServiceProperties>` with any of
the root elements Logging, HourMetrics, MinuteMetrics, Cors, DefaultServiceVersion,
DeleteRetentionPolicy, StaticWebsite; a root element left out keeps its setting, a root element
sent replaces it whole (an empty `<Cors />` deletes every rule). It answers 202 Accepted with no
body. Limits of the CORS reference (".../cross-origin-resource-sharing--cors--support-for-the-azure-
storage-services"): at most five rules; per rule up to 64 allowed origins, and up to 64 allowed or
exposed headers of which at most two prefixed (`x-ms-meta-*`); methods among DELETE, GET, HEAD,
MERGE, POST, OPTIONS, PUT and PATCH; a non-negative MaxAgeInSeconds; at most 2 KiB of rule values
in all. Errors are the Blob service's XML `<Error>`: InvalidXmlDocument for a body that is not the
document (with LineNumber, LinePosition and Reason) and InvalidXmlNodeValue for a value out of its
range (with XmlNodeName and XmlNodeValue), both 400.

The element order of Get's reply is the one recorded from the live service (azure-sdk-for-js nock
recordings of getProperties): Logging, HourMetrics, MinuteMetrics, Cors, DefaultServiceVersion when
set, DeleteRetentionPolicy, StaticWebsite; in a CorsRule AllowedMethods, AllowedOrigins,
AllowedHeaders, ExposedHeaders, MaxAgeInSeconds.
"""
from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

DATA_PLANE_METHODS = ("DELETE", "GET", "HEAD", "MERGE", "POST", "OPTIONS", "PUT", "PATCH")
MAX_RULES = 5
MAX_VALUES = 64
MAX_PREFIXED_HEADERS = 2
MAX_RULES_SIZE = 2048
ROOTS = ("Logging", "HourMetrics", "MinuteMetrics", "Cors", "DefaultServiceVersion", "DeleteRetentionPolicy", "StaticWebsite")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")

DEFAULT_EXTRAS = {
    "logging": {"version": "1.0", "read": False, "write": False, "delete": False, "retention": None},
    "hour_metrics": {"version": "1.0", "enabled": False, "include_apis": None, "retention": None},
    "minute_metrics": {"version": "1.0", "enabled": False, "include_apis": None, "retention": None},
    "static_website": {"enabled": False},
}


class BlobXmlError(Exception):
    """A 400 of the Blob service, with the extra elements its <Error> carries."""

    def __init__(self, code: str, message: str, details: dict[str, str]):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _invalid_document(reason: str, line: int = 1, position: int = 1) -> BlobXmlError:
    return BlobXmlError(
        "InvalidXmlDocument",
        "XML specified is not syntactically valid.",
        {"LineNumber": str(line), "LinePosition": str(position), "Reason": reason},
    )


def _invalid_value(node: str, value: str) -> BlobXmlError:
    return BlobXmlError(
        "InvalidXmlNodeValue",
        "The value for one of the XML nodes is not in the correct format.",
        {"XmlNodeName": node, "XmlNodeValue": value},
    )


# ------------------------------------------------------------------ reading a Set request
def _child(element: ET.Element, name: str, *, required: bool = True) -> ET.Element | None:
    found = element.find(name)
    if found is None and required:
        raise _invalid_document(f"The element '{element.tag}' is missing its child element '{name}'.")
    return found


def _text(element: ET.Element, name: str, *, required: bool = True) -> str | None:
    found = _child(element, name, required=required)
    return None if found is None else (found.text or "").strip()


def _bool(element: ET.Element, name: str, *, required: bool = True) -> bool | None:
    value = _text(element, name, required=required)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise _invalid_value(name, value)
    return value.lower() == "true"


def _retention(element: ET.Element) -> dict | None:
    """A RetentionPolicy (Enabled, Days 1..365 when enabled); None when disabled."""
    policy = _child(element, "RetentionPolicy")
    if not _bool(policy, "Enabled"):
        return None
    days = _text(policy, "Days")
    if not days.isdigit() or not 1 <= int(days) <= 365:
        raise _invalid_value("Days", days)
    return {"days": int(days)}


def _version(element: ET.Element) -> str:
    value = _text(element, "Version")
    if value != "1.0":
        raise _invalid_value("Version", value)
    return value


def _metrics(element: ET.Element) -> dict:
    enabled = _bool(element, "Enabled")
    include = _bool(element, "IncludeAPIs", required=enabled)
    return {"version": _version(element), "enabled": enabled, "include_apis": include if enabled else None,
            "retention": _retention(element)}


def _split(value: str) -> list[str]:
    """A data-plane list as ARM keeps it: "" is [""], "a, b" is ["a", "b"]."""
    return [part.strip() for part in value.split(",")]


def _cors_rules(cors: ET.Element) -> list[dict]:
    rules = cors.findall("CorsRule")
    if len(rules) > MAX_RULES:
        raise _invalid_document(f"The number of CORS rules should not exceed {MAX_RULES}.")
    parsed, size = [], 0
    for rule in rules:
        origins, methods = _text(rule, "AllowedOrigins"), _text(rule, "AllowedMethods")
        allowed, exposed = _text(rule, "AllowedHeaders"), _text(rule, "ExposedHeaders")
        max_age = _text(rule, "MaxAgeInSeconds")
        size += sum(len(v) for v in (origins, methods, allowed, exposed, max_age))
        if not origins or len(_split(origins)) > MAX_VALUES or any(not o for o in _split(origins)):
            raise _invalid_value("AllowedOrigins", origins)
        if not methods or any(m.upper() not in DATA_PLANE_METHODS for m in _split(methods)):
            raise _invalid_value("AllowedMethods", methods)
        for name, value in (("AllowedHeaders", allowed), ("ExposedHeaders", exposed)):
            values = [v for v in _split(value) if v]
            prefixed = [v for v in values if v.endswith("*") and v != "*"]
            if len(values) - len(prefixed) > MAX_VALUES or len(prefixed) > MAX_PREFIXED_HEADERS or any(len(v) > 256 for v in values):
                raise _invalid_value(name, value)
        if not re.fullmatch(r"\d{1,10}", max_age) or int(max_age) > 2147483647:
            raise _invalid_value("MaxAgeInSeconds", max_age)
        # stored in ARM's key order (CorsRule of Microsoft.Storage common.json, as ARM's GET sends it)
        parsed.append({
            "allowedOrigins": _split(origins),
            "allowedMethods": _split(methods),
            "maxAgeInSeconds": int(max_age),
            "exposedHeaders": _split(exposed),
            "allowedHeaders": _split(allowed),
        })
    if size > MAX_RULES_SIZE:
        raise _invalid_document(f"The total size of the CORS rules should not exceed {MAX_RULES_SIZE} characters.")
    return parsed


def parse_set_request(body: bytes) -> dict:
    """The root elements a Set Blob Service Properties body sends, each parsed; raises
    BlobXmlError as the service answers a bad body."""
    if not body.strip():
        raise _invalid_document("The request body is empty.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        line, position = err.position
        raise _invalid_document(str(err), line, position + 1) from None
    if root.tag != "StorageServiceProperties":
        raise _invalid_document(f"The root element must be 'StorageServiceProperties', not '{root.tag}'.")
    unknown = [child.tag for child in root if child.tag not in ROOTS]
    if unknown:
        raise _invalid_document(f"The element '{unknown[0]}' is not expected.")
    changes: dict = {}
    for element in root:
        if element.tag == "Logging":
            retention = _retention(element)
            changes["logging"] = {"version": _version(element), "read": _bool(element, "Read"),
                                  "write": _bool(element, "Write"), "delete": _bool(element, "Delete"),
                                  "retention": retention}
        elif element.tag in ("HourMetrics", "MinuteMetrics"):
            changes["hour_metrics" if element.tag == "HourMetrics" else "minute_metrics"] = _metrics(element)
        elif element.tag == "Cors":
            changes["cors"] = _cors_rules(element)
        elif element.tag == "DefaultServiceVersion":
            value = (element.text or "").strip()
            if not _VERSION.match(value):
                raise _invalid_value("DefaultServiceVersion", value)
            changes["default_service_version"] = value
        elif element.tag == "DeleteRetentionPolicy":
            enabled = _bool(element, "Enabled")
            policy = {"enabled": enabled}
            if enabled:
                days = _text(element, "Days")
                if not days.isdigit() or not 1 <= int(days) <= 365:
                    raise _invalid_value("Days", days)
                policy["days"] = int(days)
            permanent = _bool(element, "AllowPermanentDelete", required=False)
            policy["allowPermanentDelete"] = bool(permanent)
            changes["delete_retention"] = policy
        elif element.tag == "StaticWebsite":
            enabled = _bool(element, "Enabled")
            site = {"enabled": enabled}
            if enabled:
                for name in ("IndexDocument", "ErrorDocument404Path", "DefaultIndexDocumentPath"):
                    value = _text(element, name, required=False)
                    if value:
                        site[name] = value
            changes["static_website"] = site
    return changes


def apply(acct: dict, changes: dict) -> None:
    """Stores what a Set sent: the shared settings in ARM's blob service properties, the others in
    the account's data-plane extras."""
    blob = acct["blob"]
    extras = acct.setdefault("blob_data_plane", copy.deepcopy(DEFAULT_EXTRAS))
    if "cors" in changes:
        blob["cors"] = {"corsRules": changes["cors"]}
    if "delete_retention" in changes:
        blob["deleteRetentionPolicy"] = changes["delete_retention"]
    if "default_service_version" in changes:
        blob["defaultServiceVersion"] = changes["default_service_version"]
    for key in ("logging", "hour_metrics", "minute_metrics", "static_website"):
        if key in changes:
            extras[key] = changes[key]


# ------------------------------------------------------------------ writing Get's reply
def _retention_xml(retention: dict | None) -> str:
    if not retention:
        return "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
    return f"<RetentionPolicy><Enabled>true</Enabled><Days>{retention['days']}</Days></RetentionPolicy>"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _metrics_xml(tag: str, metrics: dict) -> str:
    include = f"<IncludeAPIs>{_flag(metrics['include_apis'])}</IncludeAPIs>" if metrics["enabled"] else ""
    return (f"<{tag}><Version>{metrics['version']}</Version><Enabled>{_flag(metrics['enabled'])}</Enabled>{include}"
            f"{_retention_xml(metrics['retention'])}</{tag}>")


def service_properties_xml(acct: dict) -> str:
    """Get Blob Service Properties' body for the account."""
    blob = acct["blob"]
    extras = acct.get("blob_data_plane") or DEFAULT_EXTRAS
    log = extras["logging"]
    rules = "".join(
        "<CorsRule>"
        f"<AllowedMethods>{escape(','.join(rule.get('allowedMethods') or []))}</AllowedMethods>"
        f"<AllowedOrigins>{escape(','.join(rule.get('allowedOrigins') or []))}</AllowedOrigins>"
        f"<AllowedHeaders>{escape(','.join(rule.get('allowedHeaders') or []))}</AllowedHeaders>"
        f"<ExposedHeaders>{escape(','.join(rule.get('exposedHeaders') or []))}</ExposedHeaders>"
        f"<MaxAgeInSeconds>{int(rule.get('maxAgeInSeconds') or 0)}</MaxAgeInSeconds>"
        "</CorsRule>"
        for rule in (blob.get("cors") or {}).get("corsRules") or []
    )
    retention = blob.get("deleteRetentionPolicy") or {}
    deletion = "<Enabled>false</Enabled>"
    if retention.get("enabled"):
        deletion = f"<Enabled>true</Enabled><Days>{int(retention['days'])}</Days>"
    site = extras["static_website"]
    site_xml = f"<Enabled>{_flag(site['enabled'])}</Enabled>" + "".join(
        f"<{name}>{escape(site[name])}</{name}>"
        for name in ("IndexDocument", "ErrorDocument404Path", "DefaultIndexDocumentPath")
        if site.get(name)
    )
    version = blob.get("defaultServiceVersion")
    return (
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties>"
        f"<Logging><Version>{log['version']}</Version><Read>{_flag(log['read'])}</Read><Write>{_flag(log['write'])}</Write>"
        f"<Delete>{_flag(log['delete'])}</Delete>{_retention_xml(log['retention'])}</Logging>"
        + _metrics_xml("HourMetrics", extras["hour_metrics"])
        + _metrics_xml("MinuteMetrics", extras["minute_metrics"])
        + (f"<Cors>{rules}</Cors>" if rules else "<Cors />")
        + (f"<DefaultServiceVersion>{escape(version)}</DefaultServiceVersion>" if version else "")
        + f"<DeleteRetentionPolicy>{deletion}</DeleteRetentionPolicy>"
        f"<StaticWebsite>{site_xml}</StaticWebsite>"
        "</StorageServiceProperties>"
    )
