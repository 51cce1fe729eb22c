"""The PACT host (decision 042): the footprints published, as each reader may see them, and
the PACT events partners send (requests to answer, footprints of theirs to use)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from batterytrace.carbon import pact
from batterytrace.carbon.publications import (
    PARAMETERS,
    VERSIONS,
    Document,
    Filter,
    Publication,
    footprint_id,
    moment,
    same_figures,
)
from batterytrace.errors import ImportConflict, InvalidIdentifier, PactError
from batterytrace.services import carbon
from batterytrace.services.masterdata import master_data
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.sharing import figures_level
from batterytrace.store import organisations, readers
from batterytrace.store import pact as pact_store
from batterytrace.store.pact import Exchange, Partner
from batterytrace.trace.lineage import class_of, node_id

# CloudEvents types of the PACT events (TS v2.3 §6.8 "Action Events", TS v3.0 §6.8)
EVENTS = {
    "2": {
        "request": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
        "fulfilled": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
        "rejected": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
        "published": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
    },
    "3": {
        "request": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "fulfilled": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
        "rejected": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
        "published": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
    },
}
# What each event asks of its sender's token: a request reads, the others bring data
SCOPES = {"request": "query", "fulfilled": "capture", "rejected": "capture", "published": "capture"}


def publish(
    uow: UnitOfWork, identifier: str, factors: str | None = None
) -> tuple[Publication, bool]:
    """Publish the footprint of a lot, item or pack as a PACT ProductFootprint (both
    versions), as its kept footprint states it now; the product's previous publication, if
    any, is named in ``precedingPfIds`` and deprecated. Publishing figures unchanged since
    the last publication changes nothing (False)."""
    product = node_id(identifier)
    with uow.reading() as conn:
        before = pact_store.publications(conn, product)
    latest = max(before, key=lambda p: p.number, default=None)
    number = 1 if latest is None else latest.number + 1
    now = datetime.now(UTC).replace(microsecond=0)
    declared = dataclasses.replace(
        carbon.pact_declared(uow, identifier, factors),
        id=footprint_id(product, number),
        created=now,
        version=number,
        preceding=() if latest is None else (latest.id,),
    )
    documents = {v: pact.export(declared, v) for v in VERSIONS}
    if latest and all(same_figures(latest.documents[v], documents[v]) for v in VERSIONS):
        return latest, False
    content = {"product": product, "number": number, "created": moment(now), "documents": documents}
    uow.record("pact", "publish", content)
    with uow.reading() as conn:
        made = pact_store.publication(conn, footprint_id(product, number))
    assert made is not None
    return made, True


def published(uow: UnitOfWork, reader: str | None = None) -> list[Publication]:
    """The publications ``reader`` may see (all for the operator): those of products it made,
    or whose maker shares their footprint with it, at ``total`` or more (decision 041)."""
    with uow.reading() as conn:
        found = pact_store.publications(conn)
        shown = _shown(conn, reader, {p.product for p in found})
    return [p for p in found if p.product in shown]


def _shown(conn: Connection, reader: str | None, products: set[str]) -> set[str]:
    """The products of those given whose footprints ``reader`` may see."""
    grants = organisations.grants(conn, reader)
    if grants is None:
        return products
    return {
        product
        for product in products
        if figures_level(grants, readers.makers(conn, product), "footprint") != "none"
    }


def footprints(
    uow: UnitOfWork, version: str, reader: str | None, keep: Callable[[Document], bool]
) -> list[dict[str, Any]]:
    """The ProductFootprints in ``version`` that ``reader`` may see and ``keep`` keeps, in a
    stable order (oldest first, then by id)."""
    documents = (p.document(version) for p in published(uow, reader))
    return [d for d in documents if keep(d)]


def footprint(uow: UnitOfWork, version: str, reader: str | None, id: str) -> dict[str, Any] | None:
    """One ProductFootprint by id, or None when there is none ``reader`` may see (an unknown
    id and a hidden one answer alike)."""
    with uow.reading() as conn:
        found = pact_store.publication(conn, id)
        if found is None or not _shown(conn, reader, {found.product}):
            return None
    return found.document(version)


# ---- PACT events received ----------------------------------------------------------------------


def kind_of(version: str, envelope: object) -> str:
    """Which PACT event a CloudEvent is (request, fulfilled, rejected, published): PactError
    naming the field when it is no CloudEvent of the version's types."""
    if not isinstance(envelope, Mapping):
        raise PactError("event: must be a JSON object (a CloudEvent)")
    kinds = {t: k for k, t in EVENTS[version].items()}
    kind = kinds.get(envelope.get("type"))  # type: ignore[arg-type]
    if kind is None:
        raise PactError(
            f"type: {envelope.get('type')!r} is not a PACT v{pact.SPEC_VERSIONS[version]} event "
            f"({', '.join(kinds)})"
        )
    return kind


def receive(
    uow: UnitOfWork,
    version: str,
    envelope: Mapping[str, Any],
    client_id: str,
    organisation: str | None,
    host: str,
) -> Exchange:
    """Take a PACT event the client ``client_id`` sent to this host (whose base URL is
    ``host``), once per event id: a request is kept to be answered (:func:`answer`); the
    footprints of an update published or of a request fulfilled are read from the sender's
    host when it is a partner's (:func:`keep` then), else noted as not kept. PactError (400)
    naming the field and rule for a malformed event."""
    kind = kind_of(version, envelope)
    if envelope.get("specversion") != "1.0":
        raise PactError(f"specversion: must be '1.0', not {envelope.get('specversion')!r}")
    for name in ("id", "source"):
        if not isinstance(envelope.get(name), str) or not envelope[name].strip():
            raise PactError(f"{name}: must be a non-empty string")
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        raise PactError("data: must be a JSON object")
    source: str = envelope["source"]
    now = _now_ms()
    exchange = Exchange(
        id=uuid.uuid4().hex, client_id=client_id, organisation=organisation,
        event_id=envelope["id"], kind=kind, version=version, source=source, data=dict(data),
        created_at=now, state="done", failures=0, next_attempt_at=now, outcome=None,
    )  # fmt: skip
    if kind == "request":
        _criteria(version, data)  # checked now: a bad request is a 400, never a rejection
        if urlsplit(source).scheme not in ("http", "https") or not urlsplit(source).netloc:
            raise PactError(f"source: {source!r} is not an http(s) URL to answer at")
        exchange = dataclasses.replace(exchange, state="queued", data=dict(data) | {"_host": host})
    elif kind in ("published", "fulfilled"):
        ids = _footprint_ids(kind, data)
        if partner_for(uow, source) is not None:  # read from there by the server, then kept
            exchange = dataclasses.replace(exchange, state="queued", data={"pfIds": ids})
        else:
            exchange = dataclasses.replace(
                exchange,
                outcome=f"not kept: {len(ids)} footprint(s) of {source}, which is no partner's "
                "host this store holds credentials for (pact partner add); footprints are "
                "read from their publisher's host, never taken from an event",
            )
    else:
        error = data.get("error")
        if not isinstance(error, Mapping):
            raise PactError("data.error: must be an object with code and message")
        exchange = dataclasses.replace(
            exchange, outcome=f"rejected: {error.get('code')}: {error.get('message')}"
        )
    with uow.keeping("pact event") as conn:
        pact_store.receive(conn, exchange)
    return exchange


def _footprint_ids(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The ids of the footprints an update (``data.pfIds``) or a fulfilled request (the
    schema-valid footprints of ``data.pfs``) names."""
    if kind == "published":
        ids = data.get("pfIds")
        if not isinstance(ids, list) or not ids or not all(_is_uuid(i) for i in ids):
            raise PactError("data.pfIds: must be a non-empty list of ProductFootprint ids (UUIDs)")
        return ids
    pfs = data.get("pfs")
    if not isinstance(pfs, list) or not pfs:
        raise PactError("data.pfs: must be a non-empty list of ProductFootprints")
    return [_read(document, f"data.pfs[{i}]").id for i, document in enumerate(pfs)]


def _read(document: object, where: str) -> pact.SupplierFootprint:
    try:
        return pact.read(document)  # type: ignore[arg-type]
    except PactError as exc:
        raise PactError(f"{where}.{exc}") from None


def keep(uow: UnitOfWork, pfs: list[Any], organisation: str | None, where: str) -> str:
    """Keep partners' footprints (read from their host after an update was published or a
    request fulfilled) as the supplier footprints of the products of ours they name, as
    ``pact import`` does:
    the roll-up uses them. What was kept and what not, in words; PactError naming the
    footprint (``where[i]``) that fails its schema, nothing kept."""
    for i, document in enumerate(pfs):
        _read(document, f"{where}[{i}]")
    classes = {node_id(m.id) for m in master_data(uow).materials.values()}
    kept, unused = [], []
    for document in pfs:
        product = next(
            (n for n in map(_node, document["productIds"]) if n and class_of(n) in classes), None
        )
        if product is None:
            unused.append(document["id"])
            continue
        try:
            carbon.import_supplier_footprint(uow, document, product, "pact event", organisation)
        except ImportConflict as exc:
            unused.append(f"{document['id']} ({exc})")
            continue
        kept.append(f"{document['id']} for {product}")
    return "; ".join(
        [f"kept {', '.join(kept)}"] * bool(kept)
        + [f"not used (no product of ours among its productIds): {', '.join(unused)}"]
        * bool(unused)
    )


def _node(product_id: object) -> str | None:
    try:
        return node_id(str(product_id))
    except InvalidIdentifier:  # no GS1 key: not one of our products
        return None


def _criteria(version: str, data: Mapping[str, Any]) -> Callable[[Document], bool]:
    """What a RequestCreated event asks for: v3.0, the ListFootprints filters in ``data``
    (productId, companyId, ...); v2.3, a fragment of a ProductFootprint in ``data.pf`` that
    a footprint matches where its lists share an element and its other values are equal."""
    if version == "3":
        query = {k: v if isinstance(v, list) else [v] for k, v in data.items() if k in PARAMETERS}
        if not query or not all(isinstance(x, str) for v in query.values() for x in v):
            raise PactError(
                "data: a request names what it asks for (productId, companyId, geography, "
                "classification, validOn, validAfter, validBefore: strings or lists of them)"
            )
        return Filter.of(query)
    pf = data.get("pf")
    if not isinstance(pf, Mapping) or not pf:
        raise PactError("data.pf: must be a non-empty fragment of a ProductFootprint")

    def matches(document: Document) -> bool:
        for key, wanted in pf.items():
            held = document.get(key)
            if isinstance(wanted, list):
                if not isinstance(held, list) or not set(map(str, wanted)) & set(map(str, held)):
                    return False
            elif held != wanted:
                return False
        return True

    return matches


def answer(uow: UnitOfWork, exchange: Exchange) -> dict[str, Any]:
    """The CloudEvent that answers a request: RequestFulfilled with the Active footprints it
    asks for that its sender may see, else RequestRejected (NotFound)."""
    keep = _criteria(exchange.version, exchange.data)
    found = [
        d
        for d in footprints(uow, exchange.version, exchange.organisation, keep)
        if d["status"] == "Active"
    ]
    kind = "fulfilled" if found else "rejected"
    data: dict[str, Any] = {"requestEventId": exchange.event_id}
    if found:
        data["pfs"] = found
    else:
        data["error"] = {
            "code": "NotFound",
            "message": "no footprint this host publishes to you matches the request",
        }
    return {
        "type": EVENTS[exchange.version][kind],
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"{exchange.data['_host'].rstrip('/')}/{exchange.version}/events",
        "time": moment(datetime.now(UTC)),
        "data": data,
    }


def due(uow: UnitOfWork, lease_ms: int) -> list[Exchange]:
    """The events due to be acted on (requests to answer, updates to fetch), each taken by
    this process for ``lease_ms`` (another server process skips it meanwhile)."""
    now = _now_ms()
    with uow.reading() as conn:  # most rounds find nothing: no write transaction for them
        if not pact_store.due(conn, now, limit=1):
            return []
    with uow.keeping("pact answers") as conn:
        return [x for x in pact_store.due(conn, now) if pact_store.claim(conn, x, now + lease_ms)]


def settle(
    uow: UnitOfWork, exchange: Exchange, done: str | None, failure: str | None, attempts: int,
    backoff_s: float,
) -> None:  # fmt: skip
    """Record how acting on an event went: ``done`` (what was done), or ``failure`` (tried
    again after a back-off doubled at each failure, until ``attempts`` failures: dead)."""
    with uow.keeping("pact answers") as conn:
        if failure is None:
            pact_store.settle(conn, exchange.id, "done", exchange.failures, _now_ms(), str(done))
            return
        failures = exchange.failures + 1
        wait = int(backoff_s * 1000 * 2 ** (failures - 1))
        state = "dead" if failures >= attempts else "queued"
        pact_store.settle(conn, exchange.id, state, failures, _now_ms() + wait, failure)


def add_partner(uow: UnitOfWork, base_url: str, client_id: str, sealed: str) -> Partner:
    """Keep a partner's PACT host (``https://host[/path]``) and this store's client id and
    secret there (``sealed`` by the server's token key): updates it publishes are fetched,
    and answers sent to it carry a token."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise PactError(f"base URL: {base_url!r} is not an http(s) URL of a host (and path)")
    if not client_id:
        raise PactError("client id: must not be empty")
    partner = Partner(base_url.rstrip("/"), client_id, sealed, _now_ms())
    with uow.keeping("pact partner") as conn:
        pact_store.save_partner(conn, partner)
    return partner


def remove_partner(uow: UnitOfWork, base_url: str) -> bool:
    with uow.keeping("pact partner") as conn:
        return pact_store.remove_partner(conn, base_url.rstrip("/"))


def partners(uow: UnitOfWork) -> list[Partner]:
    with uow.reading() as conn:
        return pact_store.partners(conn)


def partner_for(uow: UnitOfWork, source: str) -> Partner | None:
    """The partner whose host ``source`` (an event's) is, or is under: the longest base URL."""
    source = source.rstrip("/")
    found = [
        p for p in partners(uow) if source == p.base_url or source.startswith(p.base_url + "/")
    ]
    return max(found, key=lambda p: len(p.base_url), default=None)


def received(uow: UnitOfWork, limit: int = 100) -> list[Exchange]:
    with uow.reading() as conn:
        return pact_store.exchanges(conn, limit)


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str) and len(value) == 36


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
