"""The figures of the agreement the demo scenario follows, each with where it comes from.

DESIGN.md: 5,000 t/yr of battery-grade CoSO4·7H2O for 7 years (2025-2031), up to 15 GWh/yr,
over 80 % of the supplier's energy from wind. ../shared/reference/battery.md §3: stoichiometry,
0.081 kg Co/kWh theoretical for NMC811 and real cells 5-15 % above it. Figures marked
"scenario" are this project's assumptions for the demo, stated so every output can show them.
"""

from __future__ import annotations

from batterytrace.units import mass_fractions

YEARS = tuple(range(2025, 2032))  # DESIGN.md: from 2025, for 7 years
SULFATE_T_PER_YEAR = 5_000.0  # DESIGN.md
SULFATE = "CoSO4·7H2O"
WIND_SHARE = 0.8  # DESIGN.md: "over 80 %"
AGREEMENT_GWH = 15.0  # DESIGN.md: "battery production of up to 15 GWh per year"
CONTRACT_TOLERANCE = 0.05  # scenario: ±5 % of the annual volume

CO_IN_SULFATE = mass_fractions(SULFATE)["Co"]
AGREEMENT_CO_KG = SULFATE_T_PER_YEAR * 1000 * CO_IN_SULFATE  # ≈ 1,048 t Co per year

# Cathode and battery (scenario; battery.md §3.2 for the chemistry)
PCAM = "Ni0.8Mn0.1Co0.1(OH)2"
CAM = "LiNi0.8Mn0.1Co0.1O2"
CHEMISTRY = "NMC811"
CO_KG_PER_KWH = 0.09  # battery.md §3.2: 0.081 theoretical, real cells 5-15 % higher
CELLS_PER_MODULE = 12
MODULES_PER_PACK = 8
PACK_KWH = 52.0
CELL_KWH = PACK_KWH / (CELLS_PER_MODULE * MODULES_PER_PACK)
CO_KG_PER_CELL = CELL_KWH * CO_KG_PER_KWH
CAM_KG_PER_CELL = CO_KG_PER_CELL / mass_fractions(CAM)["Co"]
# Masses (scenario): cells at 250 Wh/kg; a module adds 3 kg of housing, a pack 90 kg of tray,
# cooling and electronics (about 160 Wh/kg at pack level, as published high-nickel packs)
CELL_KG = round(CELL_KWH / 0.250, 3)
MODULE_KG = round(CELL_KG * CELLS_PER_MODULE + 3.0, 3)
PACK_KG = round(MODULE_KG * MODULES_PER_PACK + 90.0, 3)

# Sources of the precursor maker's cobalt, by cobalt mass (scenario)
AGREEMENT_SHARE = 0.80
CONVENTIONAL_SHARE = 0.15  # DRC hydroxide refined in China
RECYCLED_SHARE = 0.05  # end-of-life packs -> black mass -> recycled sulfate

# Process yields, kg element out per kg in (scenario; typical hydrometallurgy and cathode lines)
REFINERY_CO_YIELD = 0.90
PCAM_YIELD = 0.99
CAM_YIELD = 0.99
CAM_LI_YIELD = 0.96
LI_EXCESS = 1.03  # Li / (Ni + Mn + Co), molar
CELL_YIELD = 0.955
BLACK_MASS_CO_YIELD = 0.95
RECYCLED_SULFATE_CO_YIELD = 0.95
EOL_PACK_CO_FRACTION = 0.035  # kg Co per kg of end-of-life NMC pack material (scenario)
BLACK_MASS_CO_FRACTION = 0.12  # (scenario)

ORE_GRADE = (0.009, 0.013)  # kg Co per kg ore, drawn per lot (scenario)
ORE_LOT_KG = 1_000_000.0  # 1,000 t lots at full scale

# Lots per year at full scale (scenario)
ORE_LOTS = 105
REFINERY_CAMPAIGNS = 52
CONVENTIONAL_LOTS = 24
RECYCLING_CAMPAIGNS = 12
PCAM_LOTS = 104
CELLS_PER_BATCH = 500

# What the agreement's cobalt alone feeds at full scale
PACKS_FROM_AGREEMENT = AGREEMENT_CO_KG / (CO_KG_PER_CELL * CELLS_PER_MODULE * MODULES_PER_PACK)
