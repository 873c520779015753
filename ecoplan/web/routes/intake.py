"""The 12369/119 intake on the console's port: the intake app (ecoplan/intake/, with its
own platform tokens) answers /alerts, dispatched to by ecoplan/web/layers.py, and its paths
are listed in the console's OpenAPI schema beside the API's."""

from __future__ import annotations

from fastapi import FastAPI

from ecoplan import intake
from ecoplan.web.context import Web


def intake_app(w: Web, tokens) -> FastAPI | None:
    """The intake app for these platform tokens; None without tokens (/alerts answers 503)."""
    if not tokens:
        return None
    return intake.create_app(client_factory=w.client, tokens=tokens, task_queue=w.task_queue,
                             wait_ready=w.wait_ready)


def merge_openapi(app: FastAPI, other: FastAPI) -> None:
    """One schema for the port: the intake's /alerts beside the API."""
    base_openapi = app.openapi

    def merged_openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base_openapi()
        theirs = other.openapi()
        schema["paths"].update(theirs.get("paths", {}))
        for kind, items in theirs.get("components", {}).items():
            schema.setdefault("components", {}).setdefault(kind, {}).update(items)
        app.openapi_schema = schema
        return schema

    app.openapi = merged_openapi
