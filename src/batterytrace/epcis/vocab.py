"""CBV 2.0 and GS1 Web Vocabulary terms used in EPCIS events, and their normalisation.

A standard term may be written as the bare JSON-LD term (``shipping``), the CBV URN
(``urn:epcglobal:cbv:bizstep:shipping``), the Web URI (``https://ref.gs1.org/cbv/BizStep-shipping``)
or a CURIE (``cbv:BizStep-shipping``). The model holds the bare term; any other value must be
an absolute URI (a user-defined vocabulary, CBV 2.0 §6.1), else the value is rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from batterytrace.limits import IDENTIFIER

_BARE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

CBV = "https://ref.gs1.org/cbv/"
GS1 = "https://gs1.org/voc/"

# Prefixes every EPCIS 2.0 JSON-LD document knows through the standard context.
STANDARD_PREFIXES: dict[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """One CBV vocabulary: its terms, Web URI prefix and (for the older ones) URN prefix."""

    name: str
    terms: frozenset[str]
    web_prefix: str
    urn_prefix: str | None = None
    # The GS1 Web Vocabulary grows between EPCIS releases: any bare word is taken as its term.
    open_ended: bool = False

    def is_term(self, value: str) -> bool:
        return value in self.terms or (self.open_ended and _BARE_WORD.fullmatch(value) is not None)

    def normalise(self, value: str) -> str:
        """The bare term for a standard term in any spelling; the value as written otherwise.

        Only the standard prefixes (``gs1:``, ``cbv:``…) are expanded: a user CURIE such as
        ``example:Abc`` is kept as written, as the CBV 2.0 event hash expects.
        Raises ValueError (the caller names the field) for a bare word that is not a term.
        """
        rule = IDENTIFIER.over(len(value))
        if rule is not None:
            raise ValueError(rule)
        value = value.strip()
        if self.is_term(value):
            return value
        uri = expand_curie(value)
        for prefix in (self.web_prefix, self.urn_prefix):
            if prefix and uri.startswith(prefix) and self.is_term(uri[len(prefix) :]):
                return uri[len(prefix) :]
        if not is_absolute_uri(uri):
            raise ValueError(f"{value!r} is neither a CBV {self.name} term nor an absolute URI")
        return uri

    def web_uri(self, value: str) -> str:
        """The Web URI of a normalised value (CBV 2.0 §8.9 uses these in the event hash)."""
        return self.web_prefix + value if self.is_term(value) else value

    def urn(self, value: str) -> str:
        """The URN form of a normalised value where the vocabulary has one (EPCIS XML)."""
        if self.is_term(value):
            return (self.urn_prefix or self.web_prefix) + value
        return value


def _terms(text: str) -> frozenset[str]:
    return frozenset(text.split())


BIZ_STEP = Vocabulary(
    "bizStep",
    _terms(
        """accepting arriving assembling collecting commissioning consigning
        creating_class_instance cycle_counting decommissioning departing destroying disassembling
        dispensing encoding entering_exiting holding inspecting installing killing loading other
        packing picking receiving removing repackaging repairing replacing reserving
        retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking
        storing transporting unloading unpacking void_shipping"""
    ),
    CBV + "BizStep-",
    "urn:epcglobal:cbv:bizstep:",
)
DISPOSITION = Vocabulary(
    "disposition",
    _terms(
        """active available completeness_inferred completeness_verified conformant
        container_closed container_open damaged destroyed dispensed disposed encoded expired
        in_progress in_transit inactive mismatch_class mismatch_instance mismatch_quantity
        needs_replacement no_pedigree_match non_conformant non_sellable_other partially_dispensed
        recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen
        unavailable unknown"""
    ),
    CBV + "Disp-",
    "urn:epcglobal:cbv:disp:",
)
BIZ_TRANSACTION_TYPE = Vocabulary(
    "bizTransaction type",
    _terms("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"),
    CBV + "BTT-",
    "urn:epcglobal:cbv:btt:",
)
SOURCE_DEST_TYPE = Vocabulary(
    "source/destination type",
    _terms("location owning_party possessing_party"),
    CBV + "SDT-",
    "urn:epcglobal:cbv:sdt:",
)
ERROR_REASON = Vocabulary(
    "error reason",
    _terms("did_not_occur incorrect_data"),
    CBV + "ER-",
    "urn:epcglobal:cbv:er:",
)
COMPONENT = Vocabulary(
    "sensor component",
    _terms(
        """x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle
        easting northing latitude longitude altitude"""
    ),
    CBV + "Comp-",
)
MEASUREMENT_TYPE = Vocabulary(
    "sensor measurement type",
    _terms(
        """AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Altitude
        AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum
        AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless
        DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent
        ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance
        Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux
        LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass
        MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute
        MolarEnergy MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity
        Radioactivity RelativeHumidity Resistance Resistivity SolidAngle SpecificVolume Speed
        SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume VolumeFlowRate
        VolumeFraction VolumetricFlux Wavenumber"""
    ),
    GS1,
    open_ended=True,
)
SENSOR_ALERT = Vocabulary("sensor exception", _terms("ALARM_CONDITION ERROR_CONDITION"), GS1)


_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def is_absolute_uri(value: str) -> bool:
    """RFC 3986 absolute URI: a scheme, a colon, and no whitespace."""
    return _ABSOLUTE_URI.fullmatch(value) is not None


@cache
def _split_curie(value: str) -> tuple[str, str] | None:
    prefix, sep, local = value.partition(":")
    if not sep or local.startswith("//") or not prefix:
        return None
    return prefix, local


def expand_curie(value: str) -> str:
    """``prefix:local`` to the full URI when ``prefix`` is a standard EPCIS context prefix."""
    parts = _split_curie(value)
    if parts is not None:
        ns = STANDARD_PREFIXES.get(parts[0])
        if ns is not None:
            return ns + parts[1]
    return value
