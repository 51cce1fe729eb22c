"""The application ``batterytrace serve`` runs in each server process: settings from the
environment, read in the process itself (uvicorn's worker processes import this)."""

from __future__ import annotations

from fastapi import FastAPI

from batterytrace.api.app import create_app


def app() -> FastAPI:
    return create_app()
