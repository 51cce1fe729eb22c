"""Units of measure: UN/CEFACT Recommendation 20 codes, as EPCIS quantities and sensor reports use.

The table holds the Rec. 20 common codes this field meets (mass, volume, energy, power, length,
area, time, temperature, counts, concentrations, electrical and sensor units), each with its
name. Source: UNECE Recommendation No. 20, Codes for Units of Measure Used in International
Trade, Revision 17 (2021), Annexes II/III. A code outside the table is rejected as unknown;
extend the table (with the Rec. 20 name) when a partner needs another one.
"""

from __future__ import annotations

REC20: dict[str, str] = {
    # mass
    "KGM": "kilogram", "GRM": "gram", "MGM": "milligram", "MC": "microgram", "TNE": "tonne",
    "KTN": "kilotonne", "DTN": "decitonne", "LBR": "pound", "ONZ": "ounce",
    "STN": "ton (US) or short ton", "LTN": "ton (UK) or long ton",
    # volume
    "LTR": "litre", "MLT": "millilitre", "CLT": "centilitre", "DLT": "decilitre",
    "HLT": "hectolitre", "MTQ": "cubic metre", "DMQ": "cubic decimetre",
    "CMQ": "cubic centimetre", "MMQ": "cubic millimetre", "GLL": "gallon (US)",
    "GLI": "gallon (UK)", "BLL": "barrel (US)",
    # length, area, speed
    "MTR": "metre", "KMT": "kilometre", "CMT": "centimetre", "MMT": "millimetre",
    "DMT": "decimetre", "4H": "micrometre", "INH": "inch", "FOT": "foot", "YRD": "yard",
    "SMI": "mile (statute mile)", "NMI": "nautical mile", "MTK": "square metre",
    "KMK": "square kilometre", "CMK": "square centimetre", "HAR": "hectare",
    "MTS": "metre per second", "KMH": "kilometre per hour", "KNT": "knot",
    # energy and power
    "JOU": "joule", "KJO": "kilojoule", "3B": "megajoule", "GV": "gigajoule",
    "WHR": "watt hour", "KWH": "kilowatt hour", "MWH": "megawatt hour (1000 kW.h)",
    "GWH": "gigawatt hour", "WTT": "watt", "KWT": "kilowatt", "MAW": "megawatt",
    "A90": "gigawatt", "D32": "terawatt hour", "BTU": "British thermal unit (international table)",
    # electrical
    "AMP": "ampere", "4K": "milliampere", "AMH": "ampere hour", "E09": "milliampere hour",
    "VLT": "volt", "KVT": "kilovolt", "2Z": "millivolt", "OHM": "ohm", "FAR": "farad",
    "COU": "coulomb", "SIE": "siemens", "D10": "siemens per metre",
    # time
    "SEC": "second [unit of time]", "MIN": "minute [unit of time]", "HUR": "hour",
    "DAY": "day", "WEE": "week", "MON": "month", "ANN": "year", "C26": "millisecond",
    # temperature
    "CEL": "degree Celsius", "FAH": "degree Fahrenheit", "KEL": "kelvin",
    # counts and ratios
    "C62": "one", "H87": "piece", "EA": "each", "PR": "pair", "SET": "set",
    "NAR": "number of articles",
    "P1": "percent", "59": "part per million", "61": "part per billion",
    "NX": "part per thousand", "E40": "part per hundred thousand",
    # mass / volume concentrations and densities
    "KMQ": "kilogram per cubic metre", "23": "gram per cubic centimetre",
    "GL": "gram per litre", "M1": "milligram per litre", "A93": "gram per cubic metre",
    "GP": "milligram per cubic metre", "H29": "microgram per litre",
    "C35": "mole per cubic metre", "C38": "mole per litre", "C18": "millimole",
    "C34": "mole", "NA": "milligram per kilogram", "GJ": "gram per millilitre",
    # pressure, force, angle, light, sound, radiation
    "PAL": "pascal", "KPA": "kilopascal", "A97": "hectopascal", "MPA": "megapascal",
    "BAR": "bar [unit of pressure]", "MBR": "millibar", "NEW": "newton",
    "DD": "degree [unit of angle]",
    "C81": "radian", "LUX": "lux", "CDL": "candela", "LUM": "lumen", "2N": "decibel",
    "P71": "nanosievert per hour", "D13": "sievert", "P70": "nanosievert", "CUR": "curie",
    "BQL": "becquerel", "HTZ": "hertz", "KHZ": "kilohertz", "RPM": "revolutions per minute",
    # transport work and emissions
    "TKM": "tonne kilometre", "KWN": "kilogram of named substance",
}  # fmt: skip


def is_rec20(code: str) -> bool:
    """True when ``code`` is a UN/CEFACT Rec. 20 code known to the table."""
    return code in REC20
