"""The examples the OpenAPI document shows: a small cobalt chain's values (the project's
``examples/``: Managem's Bou Azzer mine and Guemassa refinery, a cathode plant, Renault's
packs), each one its route takes (``tests/api/test_openapi_examples.py`` sends them)."""

from __future__ import annotations

from typing import Any

ORE_LOT = "urn:epc:class:lgtin:6111111.000101.BA-2025-0108"
SULFATE_LOT = "urn:epc:class:lgtin:6111111.000201.GCS-2025-0205"
PACK = "urn:epc:id:sgtin:3700000.030001.P2503130001"
MINE = "urn:epc:id:sgln:6111111.00100.0"
REFINERY = "urn:epc:id:sgln:6111111.00200.0"
CATHODE_PLANT = "urn:epc:id:sgln:3012345.00100.0"

EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2025-01-22T16:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "action": "ADD",
    "bizStep": "commissioning",
    "disposition": "active",
    "quantityList": [
        {"epcClass": "urn:epc:class:lgtin:6111111.000101.BA-2025-0122", "quantity": 58000,
         "uom": "KGM"}
    ],
    "readPoint": {"id": "urn:epc:id:sgln:6111111.00100.STOCKPILE"},
    "bizLocation": {"id": MINE},
    "ilmd": {"cbvmda:countryOfOrigin": "MA", "cbvmda:lotNumber": "BA-2025-0122"},
}  # fmt: skip
"""Ore lot BA-2025-0122 made at the Bou Azzer mine: 58 t."""

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]

DOCUMENT: dict[str, Any] = {
    "@context": CONTEXT,
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2025-01-22T17:00:00.000+01:00",
    "epcisBody": {"eventList": [EVENT]},
}

XML_DOCUMENT = """\
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
    creationDate="2025-01-20T08:00:00.000+01:00">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2025-01-20T07:30:00.000+01:00</eventTime>
    <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
    <epcList/>
    <action>OBSERVE</action>
    <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
    <disposition>urn:epcglobal:cbv:disp:in_transit</disposition>
    <readPoint><id>urn:epc:id:sgln:6111111.00100.0</id></readPoint>
    <quantityList><quantityElement>
      <epcClass>urn:epc:class:lgtin:6111111.000101.BA-2025-0108</epcClass>
      <quantity>60000</quantity><uom>KGM</uom>
    </quantityElement></quantityList>
  </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>
"""
"""The ore lot shipped from the mine to the refinery."""

MASTER_DATA: dict[str, Any] = {
    "parties": [{"id": "urn:epc:id:pgln:6111111.00000", "name": "Managem", "country": "MA"}],
    "sites": [
        {"id": MINE, "name": "Bou Azzer", "party": "urn:epc:id:pgln:6111111.00000",
         "role": "mine", "country": "MA", "latitude": 30.52, "longitude": -6.91},
        {"id": REFINERY, "name": "Guemassa", "party": "urn:epc:id:pgln:6111111.00000",
         "role": "refinery", "country": "MA", "latitude": 31.42, "longitude": -8.23},
    ],
    "materials": [
        {"id": "urn:epc:idpat:sgtin:3700000.030001.*", "name": "NMC811 pack", "kind": "pack",
         "chemistry": "NMC811", "energy_kwh": 52, "mass_kg": 394},
    ],
}  # fmt: skip
"""Managem's mine and refinery, and a pack model."""

ALLOCATION: dict[str, Any] = {
    "lot": SULFATE_LOT, "claim": "low-carbon", "site": REFINERY, "co": 500, "at": "2025-02-07",
}  # fmt: skip
"""500 kg of the sulfate lot's cobalt claimed low-carbon (wind power) from the refinery's
account."""

TRANSFER: dict[str, Any] = {
    "source": REFINERY, "target": CATHODE_PLANT, "claim": "low-carbon", "co": 100,
    "at": "2025-03-31",
}  # fmt: skip
"""100 kg of low-carbon cobalt credits moved from the refinery to the cathode plant (book and
claim)."""

QUERY: dict[str, Any] = {
    "name": "sulfateShipments",
    "query": {"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping", "receiving"],
              "MATCH_anyEPCClass": ["urn:epc:idpat:sgtin:6111111.000201.*"]},
}  # fmt: skip
"""Every shipment and receipt of the refinery's cobalt sulfate."""

SUBSCRIPTION: dict[str, Any] = {
    "dest": "https://erp.cathodes.example/epcis/sulfate",
    "signatureToken": "a-secret-of-the-subscriber-0123456789",
    "stream": True,
    "initialRecordTime": "2025-01-01T00:00:00Z",
}
"""Each new shipment or receipt posted to the cathode maker's system as it is captured,
signed with the subscriber's token."""
