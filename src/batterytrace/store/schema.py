"""The store's tables (SQLAlchemy Core). The Alembic migrations create exactly these.

``event`` holds each captured event once, in ledger order (``seq``), with its canonical JSON-LD
``content`` and the columns the EPCIS query parameters filter on; ``event_key`` indexes the
repeated values (EPCs and classes by role, business transactions, sources and destinations,
persistent dispositions, extension names). The ledger lives in the same rows: ``entry_hash``
chains each entry to the previous one, and ``checkpoint`` holds signed chain heads.
``owner`` is the organisation that captured an event (filled once organisations exist).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

capture = Table(
    "capture",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_time", BigInteger, nullable=False),  # ms since epoch, UTC
    Column("source", Text),
    Column("owner", String(200)),
    Column("captured", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("namespaces", Text, nullable=False),  # JSON prefix -> URI used by the content
)

event = Table(
    "event",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", Text, nullable=False, unique=True),
    Column("hash_id", String(100), nullable=False),
    Column("content_digest", String(64), nullable=False),  # sha256 of content without recordTime
    Column("event_type", String(20), nullable=False),
    Column("event_time", BigInteger, nullable=False),  # ms since epoch, UTC
    Column("record_time", BigInteger, nullable=False),
    Column("action", String(8)),
    Column("biz_step", Text),
    Column("disposition", Text),
    Column("read_point", Text),
    Column("biz_location", Text),
    Column("transformation_id", Text),
    Column("owner", String(200)),
    Column("capture_id", Integer, nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON-LD of the event
    # eventTimeZoneOffset: with event_time, the event's local time (periods, decision 014)
    Column("event_time_zone_offset", String(6), nullable=False),
    Column("entry_hash", String(64), nullable=False),  # ledger: sha256 chained entry
    Index("ix_event_hash_id", "hash_id"),
    Index("ix_event_event_time", "event_time"),
    Index("ix_event_record_time", "record_time"),
    Index("ix_event_biz_step", "biz_step", "event_time"),
    Index("ix_event_disposition", "disposition"),
    Index("ix_event_read_point", "read_point"),
    Index("ix_event_biz_location", "biz_location"),
    Index("ix_event_transformation_id", "transformation_id"),
)

# One row per (role, value) of an event; value is the canonical GS1 Digital Link for identifiers.
event_key = Table(
    "event_key",
    metadata,
    Column("role", String(120), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)
Index("ix_event_key_seq", event_key.c.seq)

# Derived from each event's content at capture (records.figures): the quantities and element
# figures a genealogy trace reads, so it never parses the content; only events that have some.
event_figure = Table(
    "event_figure",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("figures", Text, nullable=False),
)

# Derived from the events (store.holdings): containers holding serialised items, per event that
# made the items (source seq), by the container's class (``…/01/<GTIN>``, "" for none), with the
# fewest containment steps between them; level 0: the items made, by class.
holding = Table(
    "holding",
    metadata,
    Column("source", BigInteger, primary_key=True),
    Column("container_class", Text, primary_key=True),
    Column("container", Text, primary_key=True),
    Column("items", BigInteger, nullable=False),
    Column("level", Integer, nullable=False),
    sqlite_with_rowid=False,
)
# By container, covering what a backward trace reads (the items each source put directly in
# it, level 1) and what capture reads (what a new child brings).
Index(
    "ix_holding_contents", *(holding.c[name] for name in ("container", "level", "source", "items"))
)

# Signed heads (ledger.checkpoint, decision 015): numbered 1, 2, 3… with no gap; since format 2
# each covers both chains, the events' and the import records'.
checkpoint = Table(
    "checkpoint",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", BigInteger, nullable=False),  # 1, 2, 3… in signing order
    Column("seq", BigInteger, nullable=False),  # chain length covered
    Column("head", String(64), nullable=False),  # entry_hash of entry seq (or the genesis)
    Column("imports_seq", BigInteger),  # import records covered (None: format 1, events only)
    Column("imports_head", String(64)),  # entry_hash of import record imports_seq
    Column("created", BigInteger, nullable=False),
    Column("key_id", String(64), nullable=False),  # sha256 of the raw Ed25519 public key
    Column("signature", String(128), nullable=False),  # hex Ed25519 signature
    UniqueConstraint("number", name="uq_checkpoint_number"),
)

# Every import (master data, carbon model, custody rules, contracts, factor sets, supplier
# footprints), removal and key rotation, in order, hash-chained like the events
# (ledger.imports): what was imported (canonical JSON), its hash, when, from where, its effect.
import_record = Table(
    "import_record",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(20), nullable=False),  # masterdata, carbon, custody, contracts, ...
    Column("action", String(20), nullable=False),  # import, replace, remove, rotate, adopt
    Column("source", Text),
    Column("recorded", BigInteger, nullable=False),  # ms since the epoch
    Column("owner", String(200)),
    Column("content", Text, nullable=False),  # canonical JSON of what was imported
    Column("content_hash", String(64), nullable=False),  # sha256 of content
    Column("effect", Text, nullable=False),  # JSON: counts of what it wrote
    Column("entry_hash", String(64), nullable=False),  # chained like event.entry_hash
)

# EPCIS master data (§7.2) as captured in document headers; issue-3 master data builds on it.
vocabulary_element = Table(
    "vocabulary_element",
    metadata,
    Column("vtype", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("content", Text, nullable=False),  # JSON: attributes and children as captured
)
vocabulary_child = Table(
    "vocabulary_child",
    metadata,
    Column("parent", Text, primary_key=True),
    Column("child", Text, primary_key=True),
    sqlite_with_rowid=False,
)

# Supply-chain master data (batterytrace.masterdata): typed keys, the whole record as JSON.
party = Table(
    "party",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner", String(200)),
    Column("content", Text, nullable=False),
)
site = Table(
    "site",
    metadata,
    Column("id", Text, primary_key=True),
    Column("party_id", Text, nullable=False),
    Column("role", String(40), nullable=False),
    Column("owner", String(200)),
    Column("content", Text, nullable=False),
    Index("ix_site_party", "party_id"),
)
# Organisations (decision 040), as their ledger records wrote them: each one's name, each
# site's owner, and the capture rights owners delegated. Keys are canonical Digital Links.
organisation = Table(
    "organisation",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
)
site_owner = Table(
    "site_owner",
    metadata,
    Column("site", Text, primary_key=True),
    Column("organisation", Text, nullable=False),
)
capture_delegation = Table(
    "capture_delegation",
    metadata,
    Column("site", Text, primary_key=True),
    Column("organisation", Text, primary_key=True),
)
# Sharing agreements (decision 041): each one's content as granted, kept until revoked.
share = Table(
    "share",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # its grant's record seq
    Column("owner", Text, nullable=False),
    Column("grantee", Text, nullable=False, index=True),
    Column("content", Text, nullable=False),  # canonical JSON (sharing.Share.to_json)
)
material = Table(
    "material",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("owner", String(200)),
    Column("content", Text, nullable=False),
)

# Chain-of-custody rules (custody.rules): each origin and site policy as its JSON.
custody_rule = Table(
    "custody_rule",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # origin | policy
    Column("site", Text, nullable=False),
    Column("claim", Text, nullable=False),
    Column("owner", String(200)),
    Column("content", Text, nullable=False),
)

# Offtake agreements (contracts.agreement): each as its JSON.
contract = Table(
    "contract",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner", String(200)),
    Column("content", Text, nullable=False),
)

# Accounting periods the operator of a site closed, per claim (custody.ledger): entries
# recorded later in a closed period are refused.
custody_close = Table(
    "custody_close",
    metadata,
    Column("site", Text, primary_key=True),
    Column("claim", Text, primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("closed_at", BigInteger, nullable=False),  # ms since the epoch
    Column("owner", String(200)),
)

# Book-and-claim transfers of credits between sites' accounts (custody.flows.Transfer).
custody_transfer = Table(
    "custody_transfer",
    metadata,
    Column("ref", Text, primary_key=True),
    Column("at", BigInteger, nullable=False),  # ms since the epoch
    Column("source", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("claim", Text, nullable=False),
    Column("kg", Text, nullable=False),  # JSON: element -> kg
    Column("owner", String(200)),
)

# Carbon footprint (issue 5): the model (activity data, allocation, lanes, proxies) as imported,
# one JSON document per import, applied in import order; emission-factor sets users added
# (the shipped set is in the package); suppliers' PACT footprints with the product they stand for.
carbon_model = Table(
    "carbon_model",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # the import record it was written under (decision 017): what `carbon remove` names, the
    # same on every backend and in verify's replay; none for rows adopted from before records
    Column("record", Integer),
    Column("source", Text, nullable=False),
    Column("imported", BigInteger, nullable=False),  # ms since the epoch
    Column("content", Text, nullable=False),
    Column("owner", String(200)),
    Index("ix_carbon_model_record", "record", unique=True),
)
factor_set = Table(
    "factor_set",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("version", String(50), primary_key=True),
    Column("content", Text, nullable=False),  # CSV, the columns of carbon.factors
    Column("owner", String(200)),
)
# The factor set the kept footprints are figured with (decision 032): no row, the shipped set.
factor_use = Table(
    "factor_use",
    metadata,
    Column("label", String(160), primary_key=True),  # name@version of a set in factor_set
)
supplier_footprint = Table(
    "supplier_footprint",
    metadata,
    Column("id", Text, primary_key=True),  # the PACT ProductFootprint id
    Column("product", Text, nullable=False),  # class or lot Digital Link it stands for
    Column("content", Text, nullable=False),  # the PACT document as received
    Column("owner", String(200)),
)

certificate = Table(  # certificates, assessments, ratings, memberships (decision 044)
    "certificate",
    metadata,
    Column("id", Text, primary_key=True),  # the certificate's URI
    Column("seq", Integer, primary_key=True),  # the import record that stated this version
    Column("holder", Text, nullable=False, index=True),  # the party (canonical)
    Column("content", Text, nullable=False),  # canonical JSON (Certificate.to_json)
)
pact_footprint = Table(  # the PACT footprints this store publishes (decision 042)
    "pact_footprint",
    metadata,
    Column("id", String(36), primary_key=True),  # the ProductFootprint id, a UUID
    Column("product", Text, nullable=False, index=True),  # the lot, item or pack (Digital Link)
    Column("number", Integer, nullable=False),  # the product's 1st, 2nd... publication
    Column("created", String(20), nullable=False),  # YYYY-MM-DDTHH:MM:SSZ, as PACT writes it
    Column("status", String(10), nullable=False),  # Active, or Deprecated once published again
    Column("updated", String(20)),  # when it was deprecated
    Column("content", Text, nullable=False),  # JSON: {"2": v2.3 document, "3": v3.0 document}
)

# Kept derived state (decision 029): the answers readers ask for, per area, as rows brought up
# to date after each write. ``derived_state`` names the ledger version each area reflects.
derived_state = Table(
    "derived_state",
    metadata,
    Column("area", String(40), primary_key=True),  # custody, ...
    Column("version", BigInteger, nullable=False),  # the ledger version the rows reflect
    Column("refreshed", BigInteger, nullable=False),  # ms since the epoch
    # what the rows were recomputed from: the newest event and import record of the kinds the
    # unit reads (store.derived.inputs_of); null before the first recomputation
    Column("inputs", String(100)),
)
# One answer of an area: ``key`` identifies it, ``scope`` is what readers select it by (a site,
# a lot), ``content`` its JSON (the result model the services return).
derived_row = Table(
    "derived_row",
    metadata,
    Column("area", String(40), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("content", Text, nullable=False),
    Index("ix_derived_row_scope", "area", "scope"),
)
# What each refresh changed, row by row (``batterytrace changes``): content before and after,
# null for a row that was not there or is gone.
derived_change = Table(
    "derived_change",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", BigInteger, nullable=False),  # the ledger version the refresh reached
    Column("area", String(40), nullable=False),
    Column("key", Text, nullable=False),
    Column("before", Text),
    Column("after", Text),
    Column("at", BigInteger, nullable=False),  # ms since the epoch
    Index("ix_derived_change_version", "version"),
)

# The HTTP server's own state (decision 039): API clients, capture jobs, named queries and their
# subscriptions. None of it is supply-chain data: it is outside the ledger and `verify`.
api_client = Table(
    "api_client",
    metadata,
    Column("id", String(64), primary_key=True),  # the OAuth2 client_id
    Column("name", Text, nullable=False),
    Column("scopes", Text, nullable=False),  # space-separated, as OAuth2 writes them
    Column("secret_hash", Text, nullable=False),  # scrypt, salted: never the secret
    Column("organisation", Text),  # the organisation it acts for; None: the operator
    Column("created_at", BigInteger, nullable=False),  # ms since the epoch
    Column("revoked_at", BigInteger),
)
capture_job = Table(
    "capture_job",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("organisation", Text),  # the client's, when the job was made: the events' owner
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Column("state", String(10), nullable=False),  # queued, running, done
    Column("success", Integer, nullable=False),  # 0 once an error is known
    Column("behaviour", String(10), nullable=False),  # rollback or proceed
    Column("document", LargeBinary),  # the body as received, until the job is done
    Column("errors", Text, nullable=False),  # JSON list of problem objects
    Column("result", Text),  # JSON: what the capture stored
    Column("claimed_by", String(100)),  # host:pid of the process running it
    Index("ix_capture_job_state", "state"),
)
named_query = Table(
    "named_query",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("query", Text, nullable=False),  # JSON: the EPCIS query body
    Column("created_at", BigInteger, nullable=False),
)
subscription = Table(
    "subscription",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("query_name", String(200), nullable=False, index=True),
    Column("client_id", String(64), nullable=False),
    Column("dest", Text, nullable=False),
    Column("secret", Text),  # the signatureToken, encrypted with the server's token key
    Column("stream", Integer, nullable=False),
    Column("schedule", Text),  # JSON: second, minute, hour, dayOfMonth, month, dayOfWeek
    Column("report_if_empty", Integer, nullable=False),
    Column("initial_record_time", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("last_notified_at", BigInteger),
    Column("cursor", BigInteger, nullable=False),  # seq of the last event acknowledged
    Column("failures", Integer, nullable=False),  # consecutive failed deliveries
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("next_run_at", BigInteger),  # a scheduled subscription's next run
    Column("lease_owner", String(100)),  # the server process delivering it
    Column("lease_until", BigInteger),
)
pact_partner = Table(  # PACT hosts of partners and this store's credentials there (decision 042)
    "pact_partner",
    metadata,
    Column("base_url", Text, primary_key=True),  # https://host[/path], no trailing slash
    Column("client_id", Text, nullable=False),
    Column("secret", Text, nullable=False),  # encrypted with the server's token key
    Column("created_at", BigInteger, nullable=False),
)
pact_exchange = Table(  # PACT events received, until acted on (decision 042)
    "pact_exchange",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("client_id", String(64), nullable=False),  # who sent it
    Column("organisation", Text),  # the client's: what the answer may show
    Column("event_id", Text, nullable=False),  # the CloudEvent's id, answered as requestEventId
    Column("kind", String(10), nullable=False),  # request (to answer), published (to note)
    Column("version", String(1), nullable=False),  # 2 or 3: the routes it came by
    Column("source", Text, nullable=False),  # the sender's host, where the answer goes
    Column("content", Text, nullable=False),  # JSON: the event's data
    Column("created_at", BigInteger, nullable=False),
    Column("state", String(10), nullable=False),  # queued, done, dead
    Column("failures", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("outcome", Text),  # what was sent (the answer's type) or the last failure
    UniqueConstraint("client_id", "event_id", name="uq_pact_exchange_event"),
    Index("ix_pact_exchange_state", "state", "next_attempt_at"),
)
dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(40), nullable=False, index=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("failed_at", BigInteger, nullable=False),
)
