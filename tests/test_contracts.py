"""Contracts where users look: the JSON Schemas `ecoplan schema` prints, docs/contracts.md,
and the allowed values in `--help`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from ecoplan import contracts
from plan.grading import Assessment
from plan.incident import IncidentReport, IncidentType, ReportContent, ReportFile, Source
from plan.loader import load_plan
from tests.test_cli import here, one_line_error

DOC = Path(__file__).resolve().parent.parent / "docs" / "contracts.md"
MODELS = {"incident": IncidentReport, "assessment": Assessment, "report": ReportFile}


def _enum_values(model) -> dict[str, list[str]]:
    props = model.model_json_schema()["properties"].items()
    return {name: list(prop.get("enum") or prop["items"]["enum"]) for name, prop in props
            if "enum" in prop or "enum" in prop.get("items", {})}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_field_and_value_has_a_meaning(name):
    model = MODELS[name]
    assert set(contracts.FIELDS[name]) == set(model.model_fields)
    assert {f: list(v) for f, v in contracts.VALUES[name].items()} == _enum_values(model)


def test_the_reference_page_is_current_and_linked():
    assert DOC.read_text(encoding="utf-8") == contracts.render_markdown(), \
        "docs/contracts.md is stale: python -m ecoplan.contracts > docs/contracts.md"
    assert "](docs/contracts.md)" in (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    text = DOC.read_text(encoding="utf-8")
    for name, model in MODELS.items():
        for field in model.model_fields:
            assert f"| `{field}` |" in text, field
    for value in [*get_args(IncidentType), *get_args(Source), "function_loss_or_extinction", "county_dispute"]:
        assert f"`{value}`" in text, value
    assert "in yuan (元, not 万元)" in text


def test_schema_command_prints_each_schema():
    # in this process (tests.test_cli.here: the same cli.invoke); --help below is a real process
    results = [here("schema", n) for n in [*MODELS, "plan"]]
    for (name, model), p in zip(MODELS.items(), results):
        assert p.returncode == 0, p.stderr
        s = json.loads(p.stdout)
        assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert set(s["properties"]) == set(model.model_fields)
        assert set(s.get("required", [])) == {f for f, info in model.model_fields.items() if info.is_required()}
        assert all(prop.get("description") for prop in s["properties"].values()), name
        assert s["additionalProperties"] is False
    incident = json.loads(results[0].stdout)
    # a time without offset is accepted (Asia/Shanghai), so the schema must not demand RFC 3339
    assert "format" not in incident["properties"]["reported_at"]
    IncidentReport.model_validate({"title": "t", "discovered_at": incident["properties"]["discovered_at"]["examples"][0],
                                   "reported_at": "2026-11-23T03:05", "county": "平定县", "location": "x",
                                   "incident_type": "water", "source": "other", "reporter": "r"})
    assert "water = 水污染" in incident["properties"]["incident_type"]["description"]
    assert "in yuan" in incident["$defs"]["Assessment"]["properties"]["direct_loss_yuan"]["description"]
    bad = results[-1]
    assert bad.returncode == 2 and "incident、assessment、report" in one_line_error(bad)


def test_help_lists_the_allowed_values():
    env = {"COLUMNS": "80"}  # an ordinary terminal: nothing may be cut off
    # in this process (the same code as the program; each process cost ~1 CPU-s of the suite)
    grade, warn, report, start = (here(c, "--help", env_extra=env) for c in ("grade", "warn", "report", "start"))
    words = lambda p: set(re.findall(r"[a-z0-9_]+", p.stdout))  # noqa: E731
    assert set(Assessment.model_fields) | {v for vs in _enum_values(Assessment).values() for v in vs} <= words(grade)
    assert "万元" in grade.stdout
    assert {a.id for a in load_plan().plan.warning.actions} <= words(warn)
    assert set(ReportContent.model_fields) | {"initial", "progress", "final"} <= words(report)
    assert set(get_args(IncidentType)) | set(get_args(Source)) <= words(start)

