"""The base of the incident view's parts (workflows/incident_view.py): the strict model, the
actor, and the literal types every part shares. Pure pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# What the workflow keeps as ISO text (in the state's free-form records) is printed back
# exactly as recorded; the typed state's times are printed by pydantic (UTC as `Z`).
Stamp = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="json")]

Stage = Literal["reported", "warning", "responding", "on_site", "termination_pending", "post_event", "closed"]
Level = Literal["I", "II", "III", "IV"]
Outcome = Literal["warning_lifted", "completed"]


class View(BaseModel):
    """A part of the view: unknown keys are refused, so the view cannot drift from what the
    incident answers (tests/test_incident_view.py)."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- parts


class ActorView(View):
    """Who did something, as recorded with the action."""

    name: str = Field(description="the account's username (or the CLI operator's name; the reporter's name for the "
                                  "first entry)")
    role: str = Field(description="the role as the plan names it (值班员, 指挥…); `reporter` for the reporter")
    role_id: str | None = Field(default=None, description="the plan's role id: duty_officer, commander, "
                                                          "deputy_commander, lead, supervisor, partner, admin; "
                                                          "null for the reporter")
    display: str | None = Field(default=None, description="the account's display name (姓名), when it has one")
    via: str | None = Field(default=None, description="how the actor was authenticated: web, api, oidc, cli, "
                                                      "intake, schedule; null for the reporter")
