"""Drill scenarios (演练情景): what a drill starts from and what the people running it follow.

A scenario file (YAML, `plan/scenarios/<id>.yaml` or any path the caller gives) holds the
incident report a drill starts with, with its times as offsets from the moment the drill
starts (`discovered_minutes_ago: 30`), the assessment (附表1 fields), the plan sections it
exercises, a `script` of expected steps (who does what, citing the plan section) and
`injects` (情景注入) the drill director hands out while it runs. README.md in this
folder describes the format and the shipped scenarios.

Every failure is a ScenarioError with a one-line message naming the file and the field.
Pure domain code: no Temporal, no I/O but reading the scenario file itself.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints, ValidationError, model_validator

from plan import files
from plan.grading import Assessment
from plan.incident import SHANGHAI, IncidentReport, IncidentType, Model, Name, RequiredText, Source, Text
from plan.loader import validation_message
from plan.models import Level

__all__ = ["SCENARIOS_DIR", "Inject", "Scenario", "ScenarioError", "ScriptStep", "list_scenarios",
           "load_scenario", "resolve_scenario_path"]

SCENARIOS_DIR = Path(__file__).parent
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
MAX_MINUTES = 60 * 24 * 365  # a year: an offset beyond this is a typo

Minutes = Annotated[int, Field(strict=True, ge=0, le=MAX_MINUTES)]
ScenarioId = Annotated[str, StringConstraints(pattern=_ID.pattern)]


def _quoted_section(v: object) -> object:
    # YAML reads 4.1 as a number (and 4.10 as 4.1): a plan section must be written as text.
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        raise ValueError(f"write the plan section in quotes, e.g. \"{v}\" (YAML reads {v} as a number)")
    return v


Section = Annotated[Name, BeforeValidator(_quoted_section)]


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line."""


class IncidentSpec(Model):
    """The start report's fields (plan.incident.IncidentReport) with times as offsets from
    the moment the drill starts."""

    title: RequiredText
    discovered_minutes_ago: Minutes
    reported_minutes_ago: Minutes
    county: Name
    location: RequiredText
    incident_type: IncidentType
    description: Text = ""
    source: Source
    reporter: Name
    plan: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _order(self) -> "IncidentSpec":
        if self.reported_minutes_ago > self.discovered_minutes_ago:
            raise ValueError(f"reported_minutes_ago ({self.reported_minutes_ago}) is more than "
                             f"discovered_minutes_ago ({self.discovered_minutes_ago}): reported before discovered")
        return self


class ScriptStep(Model):
    """One expected step of the drill, for the people running it."""

    minute: Minutes  # T+ minutes after the drill starts
    who: Name  # the role or unit that acts
    action: RequiredText  # what they do
    section: Section  # the plan section it exercises (e.g. "4.2.2", "附件2")
    command: Text | None = None  # the ecoplan command that records it, if any


class Inject(Model):
    """A scenario inject (情景注入): information handed to the players during the drill."""

    minute: Minutes
    text: RequiredText
    expected_response: RequiredText
    section: Section


class Scenario(Model):
    id: ScenarioId
    title: RequiredText
    description: RequiredText
    exercises: list[Section] = Field(min_length=1)  # plan sections the drill exercises
    objectives: list[RequiredText] = []  # what the evaluation looks at (seed 003)
    incident: IncidentSpec
    assessment: Assessment = Field(default_factory=Assessment)
    expected_level: Level | None = None  # the level 附表1 should give; checked by the tests
    script: list[ScriptStep] = Field(min_length=1)
    injects: list[Inject] = []

    def new_incident_id(self, now: datetime | None = None) -> str:
        now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
        return f"drill-{self.id}-{now:%Y%m%d%H%M}-{secrets.token_hex(2)}"

    def incident_report(self, now: datetime | None = None) -> IncidentReport:
        """The start report of a drill starting at `now` (default: the wall clock):
        always drill=True, a fresh incident id, title and description marked 演练."""
        now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).replace(microsecond=0)
        inc = self.incident
        title = inc.title if "演练" in inc.title else f"【演练】{inc.title}"
        description = f"【演练】情景 {self.id}：{self.title}。{inc.description}".strip()
        return IncidentReport(
            incident_id=self.new_incident_id(now),
            title=title,
            discovered_at=now - timedelta(minutes=inc.discovered_minutes_ago),
            reported_at=now - timedelta(minutes=inc.reported_minutes_ago),
            county=inc.county,
            location=inc.location,
            incident_type=inc.incident_type,
            description=description,
            source=inc.source,
            reporter=inc.reporter,
            assessment=self.assessment,
            drill=True,
            plan=inc.plan,
        )


def list_scenarios() -> list[str]:
    """The ids of the shipped scenarios."""
    return files.shipped_ids(SCENARIOS_DIR)


def resolve_scenario_path(ref: str | Path) -> Path:
    """A scenario id -> plan/scenarios/<id>.yaml (or .yml); otherwise a file path."""
    return files.find(ref, SCENARIOS_DIR, "演练情景", ScenarioError, shipped=list_scenarios())


def load_scenario(ref: str | Path) -> Scenario:
    path = resolve_scenario_path(ref)
    label = f"演练情景文件 {path.name}"
    data = files.mapping(files.parse(files.read_bytes(path, label, ScenarioError), label, ScenarioError),
                         label, ScenarioError)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(validation_message(e, prefix=f"{label}：")) from None
