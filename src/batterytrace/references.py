"""What an import names that the stored master data lack (decision 021).

Custody rules, contracts and the carbon model name sites, parties and products; each must be a
record of the stored master data, or the import is refused and every missing one listed. The
check runs when a file is imported, not when ``verify`` replays the import records: the replay
reproduces what was stored, whatever the master data became since.
"""

from __future__ import annotations

from collections.abc import Iterable

from batterytrace.carbon.activity import Model
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.rules import CustodyRules
from batterytrace.errors import MissingMasterData
from batterytrace.masterdata import MasterData
from batterytrace.trace.lineage import class_of, node_id

Named = tuple[str, str]  # (site | party | product, identifier)


def custody_names(rules: CustodyRules) -> list[Named]:
    return [("site", o.site) for o in rules.origins] + [
        ("site", site) for site, _ in rules.policies
    ]


def contract_names(agreements: Iterable[Agreement]) -> list[Named]:
    names: list[Named] = []
    for a in agreements:
        names += [("party", a.seller), ("party", a.buyer), ("site", a.delivery_site)]
        names.append(("product", a.product))
    return names


def carbon_names(model: Model) -> list[Named]:
    return [
        *(("site", a.site) for a in model.activities if a.event is None),
        *(("site", end) for lane in model.lanes for end in lane),
        *(("site", site) for site in model.allocation),
        *(("product", c) for a in model.allocation.values() for c in a.values),
        *(("product", product) for product in model.proxies),
    ]


def require(data: MasterData, names: Iterable[Named], source: str) -> None:
    """Refuse an import naming records ``data`` do not have, listing each missing one once."""
    known = {
        "site": {node_id(s) for s in data.sites},
        "party": {node_id(p) for p in data.parties},
        "product": {class_of(node_id(m)) for m in data.materials},
    }
    missing: dict[str, None] = {}
    for kind, identifier in names:
        key = node_id(identifier)
        if (class_of(key) if kind == "product" else key) not in known[kind]:
            missing[f"{kind} {identifier}"] = None
    if missing:
        raise MissingMasterData(
            f"{source}: names {len(missing)} record(s) the stored master data do not have "
            f"(import them first with `masterdata import`): {', '.join(missing)}"
        )
