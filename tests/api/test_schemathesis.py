"""The HTTP API under schemathesis, on a store holding the agreement's scenario (small: master
data, events, custody rules, the agreement, the carbon model), a capture job, a named query and
a subscription.

1. Our OpenAPI document (``GET /openapi.json``), every route and method: cases schemathesis
   draws from it, schema-valid and schema-violating, some with path parameters naming stored
   things so that they get past the 404, each sent with an admin token. Every answer goes
   through schemathesis's checks: no 5xx; status code, content type, headers and body as
   documented (every error as the ``Problem`` schema); a schema-violating request refused; the
   token enforced (a route that answered 2xx is asked again without the token and with a
   forged one: 401). Then a stateful run, bounded: schemathesis's state machine follows links
   from the lists to their members and from a query made to its routes (:func:`_linked`), so
   each answer feeds the next request, and checks too that what was made can be read and
   what was deleted is gone.
2. GS1's ``openapi.yaml`` (the conformance data), copied with its 21 references to GS1's web
   stub pointed at the local ``EPCIS-JSON-Schema.json``: the same run over the routes it
   declares (``OPTIONS`` too: its ``Allow`` against the methods declared), with the admin token
   (GS1 declares no security scheme), asking for ``application/json``, with the same checks:
   answers as GS1 declares them (query documents against GS1's EPCIS JSON Schema, capture
   jobs, collections, problems, the version and paging headers), the token enforced.

Each run must also have had a 2xx from most operations (four in five; three in five for the
stateful run, whose links lead to deleted things too): a run answered 401 or 404 throughout
would pass every check while testing nothing.

Left out, and why:

- ``positive_data_acceptance`` (every schema-valid request accepted): our routes check more
  than a JSON Schema can say (the EPCIS rules on a captured document, CBV terms and URIs, time
  zone offsets within EPCIS's ±14:00, opaque page tokens) and answer from the store's state
  (no such lot, a closed period): those refusals are checked as documented problems instead.
- ``negative_data_rejection`` forgives one request (:func:`_negative_data_rejection`): one
  whose only "violation" is a type change of a pipe-delimited array parameter, which is a
  valid array as sent (``EQ_eventID=false``).
- schemathesis's examples and coverage phases: they come with its pytest loader for a schema
  a fixture makes (``schemathesis.pytest.from_fixture``: each backend has its store), which
  fails under pytest 9.2 (it sets the item's ``_nodeid``, gone); the cases are drawn from each
  operation's strategy instead (``as_strategy``), as the fuzzing phase draws them.
- GS1 run, schema-violating requests: GS1 declares a 400 on few routes (none on ``GET /``,
  ``GET /events`` or the lists), while any server refuses a malformed request with one. Our
  own run sends them.
- GS1's ``DELETE /nextPageToken/{token}``: optional in GS1's own words, and not served: a page
  token here is a position in its list, held by no server, so there is nothing to release.
- GS1 declares ``application/json`` for query documents, not JSON-LD, which our server answers
  to ``*/*`` (``answers.EVENT_TYPES``, JSON-LD first): the GS1 run asks for
  ``application/json``, as a client of GS1's description would.
- GS1's ``GET /queries/{queryName}`` answer is declared an array (its example is one object):
  the server answers a one-item array for that reason, so nothing is left out there.
- Defects of GS1's document, each mended in the copy, where it is (:func:`_mend`), so that
  everything else GS1 declares there is still checked.
"""

from __future__ import annotations

import copy
import json
import re
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from jsonschema import Draft202012Validator
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.schemas import APIOperation, BaseSchema

from api.conftest import Api
from batterytrace.api.problems import PACT_PATHS
from batterytrace.scenario.generator import AGREEMENT_ID, ORE, generate
from factories import document, object_event, scenario_store

# Bounded for the whole file to run in about three minutes on two cores, both backends
_HEALTH = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]
FUZZ = settings(max_examples=25, deadline=None, database=None, suppress_health_check=_HEALTH)
# Generation alone, as schemathesis runs its state machines: the store's answers steer the
# steps, so replaying a scenario to shrink it would not replay the same scenario
STATEFUL = settings(
    phases=[Phase.generate],
    max_examples=40,
    stateful_step_count=10,
    deadline=None,
    database=None,
    suppress_health_check=_HEALTH,
)
EXCLUDED = [
    schemathesis.checks.positive_data_acceptance,  # why: the module's docstring
    schemathesis.checks.negative_data_rejection,  # as _negative_data_rejection below
]
PUBLIC = {"/health", "/oauth/token", "/auth/token", "/.well-known/openid-configuration"}  # no token
QUERY = {"name": "shipments", "query": {"EQ_bizStep": ["shipping"]}}
HOOK = {"dest": "http://127.0.0.1:9/hook", "stream": True}  # no one there: deliveries retried
STUB = "https://gs1.github.io/EPCIS/REST%20Bindings/JSON-Schema-Stub.json#"


def _negative_data_rejection(ctx: Any, response: Any, case: Case) -> bool | None:
    """schemathesis's ``negative_data_rejection``, forgiving a request that is valid as sent:
    it takes a type change of a pipe-delimited array query parameter for an invalid request,
    though the text sent is a valid array all the same (``EQ_eventID=false``: one eventID)."""
    try:
        return schemathesis.checks.negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if not _valid_as_sent(case, response):
            raise
    return None


def _valid_as_sent(case: Case, response: Any) -> bool:
    """Whether every mutation of ``case`` changed the type of a query parameter either left off
    the wire (an empty object) or pipe-delimited whose text is a valid array."""
    mutations = getattr(case.meta.phase.data, "mutations", ()) if case.meta else ()
    sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    declared = {p.name: p.definition for p in case.operation.query}
    for mutation in mutations:
        if mutation.parameter_location != "query" or mutation.operator != "change_type":
            return False
        definition = declared[mutation.parameter]
        texts = sent.get(mutation.parameter)
        if texts is None:
            if definition.get("required"):
                return False
            continue
        schema = definition["schema"]
        if schema.get("type") != "array" or definition.get("style") != "pipeDelimited":
            return False
        if not Draft202012Validator(schema).is_valid([v for t in texts for v in t.split("|")]):
            return False
    return bool(mutations)


class _Requests:
    """The application as schemathesis's ASGI transport reaches it: requests only. The test
    client runs its lifespan (the capture-job runner, the deliveries); the transport would
    start another, once per process, and keep it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("the lifespan is the test client's")  # taken as unsupported
        await self.app(scope, receive, send)


@dataclass
class Served:
    """The API over the filled store; stored things by path parameter name; the statuses
    each operation answered."""

    api: Api
    known: dict[str, list[str]]
    seen: dict[str, Counter[int]] = field(default_factory=dict)
    probed: set[str] = field(default_factory=set)

    @property
    def admin(self) -> dict[str, str]:
        return self.api.headers["admin"]

    @property
    def app(self) -> _Requests:
        return _Requests(self.api.http.app)

    def answered(self, label: str, status: int) -> None:
        self.seen.setdefault(label, Counter())[status] += 1

    @property
    def checks(self) -> list[Any]:
        """The checks added to schemathesis's."""
        return [_negative_data_rejection, self.token_enforced]

    def token_enforced(self, ctx: Any, response: Any, case: Case) -> None:
        """A route that answered 2xx with the token answers 401 without it and with a forged
        one (a PACT route: 400 BadRequest, as PACT wants), asked once per operation
        (schemathesis's ``ignored_auth`` leaves OAuth2 alone)."""
        label = case.operation.label
        if case.operation.path in PUBLIC or label in self.probed:
            return
        if not 200 <= response.status_code < 300:
            return
        self.probed.add(label)
        pact = case.operation.path.startswith(PACT_PATHS)
        for sent in ({}, {"Authorization": "Bearer " + ".".join(["forged"] * 3)}):
            refused = case.call(headers=sent)
            expected = 400 if pact else 401
            assert refused.status_code == expected, f"{label}: {refused.status_code} with {sent}"
            if pact:
                assert refused.json()["code"] == "BadRequest", label

    def assert_most_succeeded(self, share: float) -> None:
        """At least ``share`` of the operations answered some request with a 2xx."""
        failing = sorted(k for k, v in self.seen.items() if not any(200 <= s < 300 for s in v))
        assert len(failing) <= (1 - share) * len(self.seen), f"no 2xx from {failing}"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemathesis-scenario")
    generate(out, 0.00005, seed=11)
    return out


def _members(api: Api, path: str) -> list[str]:
    answer = api.http.get(f"{path}?perPage=3", headers=api.headers["admin"])
    assert answer.status_code == 200, answer.text
    members: list[str] = answer.json()["member"]
    assert members, path
    return members


@pytest.fixture
def served(api: Api, scenario: Path) -> Served:
    pack = scenario_store(api.uow, scenario)
    h = api.headers["admin"]
    job = api.http.post(
        "/capture",
        content=orjson.dumps(document([object_event(1)])),
        headers=h | {"Content-Type": "application/ld+json"},
    )
    assert api.job(job.headers["location"], scope="admin")["success"]
    assert api.http.post("/queries", json=QUERY, headers=h).status_code == 201
    made = api.http.post("/queries/shipments/subscriptions", json=HOOK, headers=h)
    assert made.status_code == 201, made.text
    page = api.http.get("/events?perPage=2", headers=h).json()
    listed = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ore = ORE.lot("BA2025-0000")
    known = {
        "eventID": [e["eventID"] for e in listed],
        "eventType": ["ObjectEvent", "TransformationEvent"],
        "epc": _members(api, "/epcs"),
        "bizStep": _members(api, "/bizSteps"),
        "bizLocation": _members(api, "/bizLocations"),
        "readPoint": _members(api, "/readPoints"),
        "disposition": _members(api, "/dispositions"),
        "captureID": [job.headers["location"].rsplit("/", 1)[1]],
        "queryName": ["shipments"],
        "subscriptionID": [made.json()["subscriptionID"]],
        "identifier": [pack, ore],
        "lot": [ore],
        "battery": [pack],
        "contract": [AGREEMENT_ID],
    }
    return Served(api, known)


# --- the runs -------------------------------------------------------------------------------


def _cases(
    operation: APIOperation, mode: GenerationMode, known: dict[str, list[str]]
) -> SearchStrategy[Case]:
    """Cases of ``operation``: with generated path parameters, and with stored things."""
    strategies = [operation.as_strategy(generation_mode=mode)]
    names = [p.name for p in operation.path_parameters]
    if names and all(n in known for n in names):
        for i in range(max(len(known[n]) for n in names)):
            stored = {n: known[n][i % len(known[n])] for n in names}
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=stored))
    return st.one_of(*strategies)


def _order(operation: APIOperation) -> tuple[bool, int]:
    """Deletions last, the deepest first (a subscription before its query)."""
    deleting = operation.method.upper() == "DELETE"
    return deleting, -len(operation.path) if deleting else 0


def _exercise(
    served: Served, schema: BaseSchema, headers: dict[str, str], modes: list[GenerationMode]
) -> None:
    """Every operation of ``schema``, FUZZ's cases of each in ``modes``, each answer checked;
    one failure reported per operation, all of them at the end."""
    failures = []
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())  # raises on an operation schemathesis cannot read
    for operation in sorted(operations, key=_order):
        strategy = st.one_of(*[_cases(operation, mode, served.known) for mode in modes])

        @FUZZ
        @given(case=strategy)
        def exercise(case: Case) -> None:
            answer = case.call_and_validate(
                headers=headers, excluded_checks=EXCLUDED, additional_checks=served.checks
            )
            served.answered(operation.label, answer.status_code)  # noqa: B023

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup is one
            # Hypothesis's Flaky (an answer that changed on replay: the store moved) holds it
            failures.append(f"{operation.label}:\n{''.join(traceback.format_exception(exc))}")
    assert not failures, "\n\n".join(failures)
    served.assert_most_succeeded(0.8)


def test_our_api_answers_as_its_openapi_document_says(served: Served) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", served.app)
    _exercise(served, schema, served.admin, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


def _linked(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the OpenAPI links the state machine follows: our document declares
    none, and those schemathesis infers guess members our answers do not have."""
    linked = copy.deepcopy(document)

    def link(source: str, status: str, target: str, parameters: dict[str, str]) -> None:
        method, path = source.split(" ", 1)
        to_method, to_path = target.split(" ", 1)
        pointer = to_path.replace("~", "~0").replace("/", "~1")
        responses = linked["paths"][path][method.lower()]["responses"][status]
        responses.setdefault("links", {})[re.sub(r"\W+", "_", target).strip("_")] = {
            "operationRef": f"#/paths/{pointer}/{to_method.lower()}",
            "parameters": parameters,
        }

    first_event = "$response.body#/epcisBody/queryResults/resultsBody/eventList/0/eventID"
    for resource, name in (
        ("eventTypes", "eventType"),
        ("epcs", "epc"),
        ("bizSteps", "bizStep"),
        ("bizLocations", "bizLocation"),
        ("readPoints", "readPoint"),
        ("dispositions", "disposition"),
    ):
        for target in (f"GET /{resource}/{{{name}}}", f"GET /{resource}/{{{name}}}/events"):
            link(f"GET /{resource}", "200", target, {name: "$response.body#/member/0"})
        events_of = f"GET /{resource}/{{{name}}}/events"
        link(events_of, "200", "GET /events/{eventID}", {"eventID": first_event})
    for source in ("GET /events", "GET /queries/{queryName}/events"):
        link(source, "200", "GET /events/{eventID}", {"eventID": first_event})
    job = {"captureID": "$response.body#/0/captureID"}
    link("GET /capture", "200", "GET /capture/{captureID}", job)
    for target in (
        "GET /queries/{queryName}",
        "DELETE /queries/{queryName}",
        "GET /queries/{queryName}/events",
        "GET /queries/{queryName}/subscriptions",
        "POST /queries/{queryName}/subscriptions",
    ):
        link("POST /queries", "201", target, {"queryName": "$request.body#/name"})
        link("GET /queries", "200", target, {"queryName": "$response.body#/0/name"})
    subscription = "/queries/{queryName}/subscriptions/{subscriptionID}"
    for target in (
        f"GET {subscription}",
        f"DELETE {subscription}",
        f"GET {subscription}/deadLetters",
    ):
        for source, status, pointer in (
            ("POST /queries/{queryName}/subscriptions", "201", "#/subscriptionID"),
            ("GET /queries/{queryName}/subscriptions", "200", "#/0/subscriptionID"),
        ):
            parameters = {
                "queryName": "$request.path.queryName",
                "subscriptionID": f"$response.body{pointer}",
            }
            link(source, status, target, parameters)
    return linked


def _restore(api: Api) -> None:
    """The named queries as the fixture left them: 'shipments' with one subscription."""
    h = api.headers["admin"]
    names = [q["name"] for q in api.http.get("/queries?perPage=1000", headers=h).json()]
    for name in names:
        if name != QUERY["name"]:
            assert api.http.delete(f"/queries/{name}", headers=h).status_code == 204
    if QUERY["name"] not in names:
        assert api.http.post("/queries", json=QUERY, headers=h).status_code == 201
    route = "/queries/shipments/subscriptions"
    subscriptions = api.http.get(f"{route}?perPage=1000", headers=h).json()
    for extra in subscriptions[1:]:
        gone = api.http.delete(f"{route}/{extra['subscriptionID']}", headers=h)
        assert gone.status_code == 204
    if not subscriptions:
        assert api.http.post(route, json=HOOK, headers=h).status_code == 201


def test_our_api_holds_up_in_sequences_of_requests(served: Served) -> None:
    document = served.api.http.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(_linked(document))
    schema.app = served.app
    headers = served.admin

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(
            self, response: Any, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            served.answered(case.operation.label, response.status_code)
            case.validate_response(  # the headers named, so that the token counts as given
                response,
                additional_checks=[*(additional_checks or ()), *served.checks],
                excluded_checks=EXCLUDED,
                headers=headers,
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

        def teardown(self) -> None:
            # each scenario starts from the same named queries: which steps can follow which
            # depends on the answers, and Hypothesis needs them alike from one scenario to
            # the next
            _restore(served.api)
            super().teardown()

    Workflow.run(settings=STATEFUL)
    served.assert_most_succeeded(0.6)


# --- GS1's document ---------------------------------------------------------------------------


def test_our_api_answers_as_gs1s_openapi_document_says(
    served: Served, conformance: Path, tmp_path: Path
) -> None:
    gs1 = conformance / "epcis" / "gs1"
    text = (gs1 / "openapi" / "openapi.yaml").read_text()
    assert text.count(STUB) == 21
    local = (gs1 / "json-schema" / "EPCIS-JSON-Schema.json").as_uri() + "#"
    spec = yaml.safe_load(text.replace(STUB, local))
    _mend(spec)
    copied = tmp_path / "openapi.json"
    copied.write_text(json.dumps(spec))
    schema = schemathesis.openapi.from_path(copied).exclude(
        method="DELETE", path="/nextPageToken/{token}"
    )
    schema.app = served.app
    asking = served.admin | {"Accept": "application/json"}
    _exercise(served, schema, asking, [GenerationMode.POSITIVE])


def _problem_field(spec: dict[str, Any], response: str, name: str) -> list[dict[str, Any]]:
    """The ``name`` member schemas of GS1's problem response ``response`` (one per media
    type)."""
    content = spec["components"]["responses"][response]["content"]
    return [body["schema"]["allOf"][0]["properties"][name] for body in content.values()]


def _mend(spec: dict[str, Any]) -> None:
    """Mend, in GS1's document, each of its defects an answer of ours runs into."""
    components = spec["components"]
    paths = spec["paths"]
    # The GS1-Extensions response header is an object without `explode: true`, so it would be
    # written "prefix,namespace"; its own example and the request parameter of the same name
    # (exploded) write "prefix=namespace".
    components["headers"]["GS1-Extensions"]["explode"] = True
    # 404: the type's enum names NoSuchNameException alone, while its own application/
    # problem+json example is NoSuchResourceException, the binding's exception for an unknown
    # resource (NoSuchName: a named query or subscription, which we answer too).
    for member in _problem_field(spec, "404ResourceNotFound", "type"):
        member["enum"].append("epcisException:NoSuchResourceException")
    # 409: the status's enum is [406], a slip for 409 (its example says 409).
    for member in _problem_field(spec, "409ResourceAlreadyExistsException", "status"):
        member["enum"] = [409]
    # CaptureJob: oneOf an `errors` variant and an `errorFile` variant, neither requiring its
    # member, so every job matches both and fails oneOf; each made to require its member.
    errors, error_file = components["schemas"]["CaptureJob"]["allOf"][1]["oneOf"]
    errors["required"], error_file["required"] = ["errors"], ["errorFile"]
    # A subscription requires `secret`, a member it does not define: its properties, its
    # example and the description of POST …/subscriptions name the token `signatureToken`.
    components["schemas"]["AbstractQuerySubscription"]["required"] = ["dest"]
    # 400SubscriptionIssues is a problem served as application/json and application/xml,
    # where every other problem response of GS1's is application/problem+json (+xml).
    issues = components["responses"]["400SubscriptionIssues"]
    issues["content"] = {
        media.replace("application/", "application/problem+"): body
        for media, body in issues["content"].items()
    }
    # POST /queries declares no 400, though a query "SHALL validate against" GS1's query
    # schema (GS1's description of queries); POST …/subscriptions none, though one without
    # stream nor schedule "is invalid" (its own description). Their 400 responses added.
    paths["/queries"]["post"]["responses"]["400"] = {
        "$ref": "#/components/responses/400QueryIssues"
    }
    subscribe = paths["/queries/{queryName}/subscriptions"]["post"]["responses"]
    subscribe["400"] = {"$ref": "#/components/responses/400SubscriptionIssues"}
    # The routes taking a query's parameters (maxEventCount among them): GET /events declares
    # no 400 (its siblings do, 400QueryIssues), none declares the 413 QueryTooLargeException
    # that maxEventCount is for (GS1 has it, 413QueryScopeOrSize). Both added.
    for operation in _operations(spec):
        if {"$ref": "#/components/parameters/maxEventCount"} in operation.get("parameters", ()):
            answers = operation["responses"]
            answers.setdefault("400", {"$ref": "#/components/responses/400QueryIssues"})
            answers.setdefault("413", {"$ref": "#/components/responses/413QueryScopeOrSize"})
    # POST /events' 201 declares an event as body, while its description says the answer is
    # the event's URL in Location, as POST /queries and POST /capture answer, with no body.
    del paths["/events"]["post"]["responses"]["201"]["content"]
    # The Link header is declared `format: uri`, while its own example is an RFC 8288 link,
    # `<…>; rel="next"`, which no URI is.
    del components["schemas"]["Link"]["format"]
    # The Location of a subscription is declared `format: uri` (absolute), where GS1's other
    # Location headers are "absolute or relative", as RFC 9110 lets them be.
    subscribe["201"]["headers"]["Location"]["schema"]["format"] = "uri-reference"
    # Left out of the cases (not a defect): a nextPageToken is opaque, only one a server issued
    # means anything, and GS1 declares no 400 for another on most lists; a perPage below 1,
    # which its PerPage allows and any server refuses, with a 400 GS1 declares on few lists.
    components["schemas"]["PerPage"]["minimum"] = 1
    token = {"$ref": "#/components/parameters/NextPageToken"}
    for operation in _operations(spec):
        if token in operation.get("parameters", ()):
            operation["parameters"].remove(token)


def _operations(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
                yield operation
