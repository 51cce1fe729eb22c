"""Capture (EPCIS 2.0 REST binding): ``POST /capture`` takes a document as a job and answers
202 at once, ``GET /capture[/{captureID}]`` follows the jobs, ``POST /events`` captures one
event and answers 201. The size limits are checked before anything is kept."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from batterytrace import json_input
from batterytrace.api import answers, examples, problems
from batterytrace.api.problems import Problem
from batterytrace.api.security import Caller, needs
from batterytrace.errors import InvalidDocument
from batterytrace.services import events, jobs
from batterytrace.services.jobs import CaptureJob

DOCUMENT_TYPES = ("application/ld+json", "application/json", "application/xml", "text/xml")
_DOCUMENT_SCHEMA = {"type": "object", "description": "An EPCISDocument or EPCISQueryDocument."}

router = APIRouter(tags=["Capture"])


async def _body(request: Request, media_types: tuple[str, ...]) -> bytes:
    """The request body, if its media type is one of ``media_types`` (415 otherwise) and it
    is within the file-size limit (413 CaptureLimitExceededException otherwise, read no
    further than the limit)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in media_types:
        raise Problem(
            415,
            "UnsupportedMediaTypeException",
            f"Content-Type: {media or 'none'!r}; send {', '.join(media_types)}",
        )
    limit = request.app.state.settings.capture_file_size_limit
    too_large = Problem(
        413,
        "CaptureLimitExceededException",
        f"body: more than {limit:,} bytes (GS1-EPCIS-Capture-File-Size-Limit)",
        request.app.state.negotiation.capture_limits,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/capture",
    status_code=202,
    response_class=Response,  # no body
    summary="Capture a document of events as a job (asynchronous).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {
                    "schema": _DOCUMENT_SCHEMA,
                    "example": examples.XML_DOCUMENT if "xml" in t else examples.DOCUMENT,
                }
                for t in DOCUMENT_TYPES
            },
        }
    },
    responses={
        202: {"description": "Accepted: the job's URL is in `Location`."},
        400: {"description": "The body is no EPCIS document (syntax)."},
        413: {"description": "More events or bytes than the capture limits."},
        415: {"description": "Not JSON-LD, JSON or XML."},
    },
)
async def capture(
    request: Request,
    who: Annotated[Caller, needs("capture")],
    behaviour: Annotated[
        str, Header(alias="GS1-Capture-Error-Behaviour", pattern="^(rollback|proceed)$")
    ] = "rollback",
) -> Response:
    answers.only(request, ())
    body = await _body(request, DOCUMENT_TYPES)
    settings = request.app.state.settings
    await run_in_threadpool(jobs.received, body, settings.capture_limit)
    uow = request.app.state.uow
    job = await run_in_threadpool(
        jobs.submit, uow, who.client_id, who.organisation, body, behaviour
    )
    request.app.state.jobs.wake.set()
    headers = {"Location": f"/capture/{job.captureID}"}
    return Response(status_code=202, headers=headers)


def job_json(job: CaptureJob) -> dict[str, Any]:
    """A job as the binding's ``CaptureJob``: each error a problem object."""
    shown = job.model_dump(mode="json", exclude_none=True, exclude={"errors"})
    shown["errors"] = [
        problems.of_class(e.error, e.detail)
        | ({"eventIndex": e.event_index} if e.event_index is not None else {})
        for e in job.errors
    ]
    return shown


@router.get(
    "/capture",
    summary="Capture jobs, newest first (paged).",
    openapi_extra={"parameters": answers.PAGING_PARAMETERS},
)
def capture_jobs(request: Request, who: Annotated[Caller, needs("capture")]) -> Response:
    answers.only(request, answers.PAGING)
    at = answers.position(request, "capture")
    size = answers.per_page(request)
    after = (int(at[0]), str(at[1])) if at else None
    found, last = jobs.page(
        request.app.state.uow, None if who.admin else who.client_id, after, size
    )
    headers = (
        {"Link": answers.next_link(request, answers.page_token("capture", list(last)))}
        if last
        else None
    )
    return answers.json([job_json(j) for j in found], headers=headers)


@router.get("/capture/{captureID}", summary="A capture job: running, success, errors.")
def capture_job(
    request: Request, captureID: str, who: Annotated[Caller, needs("capture")]
) -> Response:
    answers.only(request, ())
    answers.accepted(request)
    job = jobs.get(request.app.state.uow, captureID, None if who.admin else who.client_id)
    return answers.json(job_json(job))


@router.post(
    "/events",
    status_code=201,
    response_class=Response,  # no body
    summary="Capture one event (synchronous).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": examples.EVENT},
                "application/ld+json": {"schema": {"type": "object"}, "example": examples.EVENT},
            },
        }
    },
    responses={
        201: {"description": "Captured: the event's URL is in `Location`."},
        400: {"description": "The body is no EPCIS event."},
        409: {"description": "This event (or its eventID, with other content) is stored."},
        413: {"description": "More bytes than the capture file-size limit."},
        415: {"description": "Not JSON-LD or JSON."},
    },
)
async def capture_event(request: Request, who: Annotated[Caller, needs("capture")]) -> Response:
    answers.only(request, ())
    body = await _body(request, ("application/json", "application/ld+json"))
    event = json_input.loads(body, "body", InvalidDocument)
    if not isinstance(event, dict):
        raise Problem(400, "ValidationException", "body: must be one event, a JSON object")
    stored, new = await run_in_threadpool(
        events.capture_event, request.app.state.uow, event, who.organisation
    )
    location = f"/events/{quote(stored, safe='')}"
    if not new:
        raise Problem(
            409,
            "ResourceAlreadyExistsException",
            f"event {stored}: stored already",
            {"Location": location},
        )
    return Response(status_code=201, headers={"Location": location})
