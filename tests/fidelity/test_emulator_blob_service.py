"""Set Blob Service Properties on the data plane, and one state with ARM's blobServices/default
(issue 15, gap 4). The evidence for each behaviour is in tests/emulator/blob_service.py."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
import requests

from tests.emulator.app import shared_key_signature, shared_key_string_to_sign

from .conftest import account_path
from .test_emulator_arm_audience import _blob_get, _error_code, _keys

PROPS = "?restype=service&comp=properties"
V7 = "https://darwin.v7labs.com"


def blob_put(emulator, account: str, key: str, body: str) -> requests.Response:
    """Set Blob Service Properties, signed with Shared Key as the Storage SDK signs a PUT."""
    data = body.encode("utf-8")
    headers = {
        "Host": f"{account}.blob.core.windows.net",
        "Content-Type": "application/xml",
        "Content-Length": str(len(data)),
        "x-ms-date": format_datetime(datetime.now(timezone.utc), usegmt=True),
        "x-ms-version": "2025-01-05",
    }
    to_sign = shared_key_string_to_sign("PUT", headers, account, "/", [("restype", "service"), ("comp", "properties")])
    headers["Authorization"] = f"SharedKey {account}:{shared_key_signature(key, to_sign)}"
    return requests.put(emulator.url + PROPS, data=data, headers=headers, verify=emulator.ca_bundle, timeout=30)


def cors_rule_xml(methods: str, origins: str = V7, allowed: str = "*", exposed: str = "", max_age: int = 0) -> str:
    """A CorsRule as azure-storage-blob writes it (element order of its generated CorsRule model)."""
    return (f"<CorsRule><AllowedOrigins>{origins}</AllowedOrigins><AllowedMethods>{methods}</AllowedMethods>"
            f"<AllowedHeaders>{allowed}</AllowedHeaders><ExposedHeaders>{exposed}</ExposedHeaders>"
            f"<MaxAgeInSeconds>{max_age}</MaxAgeInSeconds></CorsRule>")


def properties_xml(*elements: str) -> str:
    return "<?xml version='1.0' encoding='utf-8'?>\n<StorageServiceProperties>" + "".join(elements) + "</StorageServiceProperties>"


def cors_of(reply) -> list[dict]:
    assert reply.status_code == 200, reply.text
    root = ET.fromstring(reply.content)
    return [{child.tag: child.text or "" for child in rule} for rule in root.findall("Cors/CorsRule")]


def test_the_guides_cors_add_is_get_then_set_and_arm_sees_it(emulator, arm):
    """`az storage cors add --methods GET ...` then `--methods PUT ...`: each reads the rules, adds
    one, and sets them all (202, no body). ARM then shows both rules with exposedHeaders [""]."""
    key = _keys(arm, "contosoimages")[0]
    assert cors_of(_blob_get(emulator, "contosoimages", key)) == []
    first = blob_put(emulator, "contosoimages", key, properties_xml("<Cors>" + cors_rule_xml("GET") + "</Cors>"))
    assert first.status_code == 202, first.text
    assert first.content == b"" and first.headers["x-ms-request-id"] and first.headers["x-ms-version"] == "2025-01-05"
    existing = cors_of(_blob_get(emulator, "contosoimages", key))
    assert existing == [{"AllowedMethods": "GET", "AllowedOrigins": V7, "AllowedHeaders": "*", "ExposedHeaders": "",
                         "MaxAgeInSeconds": "0"}]
    second = blob_put(emulator, "contosoimages", key,
                      properties_xml("<Cors>" + cors_rule_xml("GET") + cors_rule_xml("PUT") + "</Cors>"))
    assert second.status_code == 202
    over_arm = arm.call("GET", account_path() + "/blobServices/default").json()["properties"]["cors"]["corsRules"]
    assert over_arm == [
        {"allowedOrigins": [V7], "allowedMethods": [method], "maxAgeInSeconds": 0, "exposedHeaders": [""], "allowedHeaders": ["*"]}
        for method in ("GET", "PUT")
    ]
    writes = [(e["kind"], e["method"], e["status"]) for e in emulator.writes() if e["kind"] == "blob"]
    assert writes == [("blob", "PUT", 202), ("blob", "PUT", 202)]


def test_a_rule_put_over_arm_reads_back_on_the_data_plane_and_survives_a_round_trip(emulator, arm):
    rule = {"allowedOrigins": [V7], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"], "exposedHeaders": [],
            "maxAgeInSeconds": 0}
    assert arm.call("PUT", account_path() + "/blobServices/default", {"properties": {"cors": {"corsRules": [rule]}}}).status_code == 200
    key = _keys(arm, "contosoimages")[0]
    (seen,) = cors_of(_blob_get(emulator, "contosoimages", key))
    assert seen == {"AllowedMethods": "GET,PUT", "AllowedOrigins": V7, "AllowedHeaders": "*", "ExposedHeaders": "", "MaxAgeInSeconds": "0"}
    # the rule sent back unchanged (as cors add does with the rules it read) stays the same rule
    echo = cors_rule_xml(seen["AllowedMethods"], seen["AllowedOrigins"], seen["AllowedHeaders"], seen["ExposedHeaders"])
    assert blob_put(emulator, "contosoimages", key, properties_xml("<Cors>" + echo + "</Cors>")).status_code == 202
    got = arm.call("GET", account_path() + "/blobServices/default").json()["properties"]["cors"]["corsRules"]
    assert got == [{**rule, "exposedHeaders": [""]}]


def test_root_elements_left_out_are_kept_and_an_empty_cors_deletes_every_rule(emulator, arm):
    key = _keys(arm, "contosovideos")[0]
    retention = "<DeleteRetentionPolicy><Enabled>true</Enabled><Days>7</Days></DeleteRetentionPolicy>"
    logging = ("<Logging><Version>1.0</Version><Delete>true</Delete><Read>false</Read><Write>true</Write>"
               "<RetentionPolicy><Enabled>true</Enabled><Days>5</Days></RetentionPolicy></Logging>")
    assert blob_put(emulator, "contosovideos", key, properties_xml(logging, retention)).status_code == 202
    root = ET.fromstring(_blob_get(emulator, "contosovideos", key).content)
    assert len(root.findall("Cors/CorsRule")) == 1  # the seeded rule is still there
    assert (root.findtext("Logging/Write"), root.findtext("Logging/RetentionPolicy/Days")) == ("true", "5")
    assert root.findtext("DeleteRetentionPolicy/Days") == "7"
    props = arm.call("GET", account_path("contosovideos") + "/blobServices/default").json()["properties"]
    assert props["deleteRetentionPolicy"] == {"enabled": True, "days": 7, "allowPermanentDelete": False}
    assert blob_put(emulator, "contosovideos", key, properties_xml("<Cors />")).status_code == 202
    assert cors_of(_blob_get(emulator, "contosovideos", key)) == []
    assert arm.call("GET", account_path("contosovideos") + "/blobServices/default").json()["properties"]["cors"] == {"corsRules": []}


@pytest.mark.parametrize(
    "body, code, detail",
    [
        (properties_xml("<Cors>" + cors_rule_xml("GET") * 6 + "</Cors>"), "InvalidXmlDocument", ("Reason", "exceed 5")),
        (properties_xml("<Cors>" + cors_rule_xml("FETCH") + "</Cors>"), "InvalidXmlNodeValue", ("XmlNodeName", "AllowedMethods")),
        (properties_xml("<Cors>" + cors_rule_xml("GET", max_age=-1) + "</Cors>"), "InvalidXmlNodeValue", ("XmlNodeName", "MaxAgeInSeconds")),
        (properties_xml("<Cors>" + cors_rule_xml("GET", allowed="x-ms-a*,x-ms-b*,x-ms-c*") + "</Cors>"), "InvalidXmlNodeValue",
         ("XmlNodeName", "AllowedHeaders")),
        (properties_xml("<Cors>" + cors_rule_xml("GET", origins=",".join(f"https://h{i}.example" for i in range(65))) + "</Cors>"),
         "InvalidXmlNodeValue", ("XmlNodeName", "AllowedOrigins")),
        (properties_xml("<Cors>" + cors_rule_xml("GET", origins=",".join(f"https://host-{i}.example.com" for i in range(60))) * 2 + "</Cors>"),
         "InvalidXmlDocument", ("Reason", "2048")),
        (properties_xml("<Cors><CorsRule><AllowedOrigins>*</AllowedOrigins></CorsRule></Cors>"), "InvalidXmlDocument",
         ("Reason", "AllowedMethods")),
        (properties_xml("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>366</Days></DeleteRetentionPolicy>"),
         "InvalidXmlNodeValue", ("XmlNodeName", "Days")),
        ("<StorageServiceProperties><Cors>", "InvalidXmlDocument", ("LineNumber", "1")),
        ("", "InvalidXmlDocument", ("Reason", "empty")),
    ],
)
def test_set_refuses_what_azure_refuses_with_its_xml_errors(emulator, arm, body, code, detail):
    key = _keys(arm, "contosovideos")[0]
    reply = blob_put(emulator, "contosovideos", key, body)
    assert reply.status_code == 400, reply.text
    assert _error_code(reply) == code
    assert detail[1] in ET.fromstring(reply.content).findtext(detail[0])
    # nothing changed
    assert len(cors_of(_blob_get(emulator, "contosovideos", key))) == 1
