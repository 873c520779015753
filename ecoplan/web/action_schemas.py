"""The API's action endpoints in /openapi.json, made from the action registry: one
`POST /api/incidents/{incident_id}/actions/<action>` per action, each with its body's schema
(the action's input model without `by`, which the server fills from the account, nor
`approver`, which it fills from `approved_by`). The body is still read and checked by
ecoplan/web/actions.py `perform`, so its refusals stay the API's (422 with the field named)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import create_model
from pydantic.json_schema import models_json_schema

from workflows.actions import ACTIONS
from workflows.actions.spec import ActionSpec

SERVER_FILLS = ("by", "approver")
REF = "#/components/schemas/{model}"


def path_of(name: str) -> str:
    return f"/api/incidents/{{incident_id}}/actions/{name}"


def body_model(spec: ActionSpec) -> type:
    """The action's input as a request body: its fields without those the server fills."""
    fields = {k: (f.annotation, f) for k, f in spec.input.model_fields.items() if k not in SERVER_FILLS}
    return create_model(f"{spec.input.__name__}Body", __doc__=spec.input.__doc__ or spec.title, **fields)


def describe(spec: ActionSpec) -> dict[str, Any]:
    """The operation's words: summary and description from the registry."""
    return {"summary": f"{spec.title}（{spec.source}）",
            "description": f"{spec.cli_help}\n\nThe incident's action `{spec.name}` (= `ecoplan {spec.cli}`); "
                           "the body is its fields without `by` (the server fills it from the account)."}


def merge_action_schemas(app: FastAPI) -> None:
    """Give each action's operation its body schema, with the models it refers to."""
    base_openapi = app.openapi

    def with_actions() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = base_openapi()
        models = {name: body_model(spec) for name, spec in ACTIONS.items()}
        refs, defs = models_json_schema([(m, "validation") for m in models.values()], ref_template=REF)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs.get("$defs", {}))
        for (name, model), ref in zip(models.items(), refs.values()):
            op = doc["paths"].get(path_of(name), {}).get("post")
            if op is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
        app.openapi_schema = doc
        return doc

    app.openapi = with_actions
