"""`ecoplan … --help` speaks the plan's Chinese (issue 22): the help of every command and
subcommand, run in this process with typer's CliRunner against the app, is checked with
tests/foreign_words.py. What a person types stays as typed: command names, --options, JSON
keys and their allowed values, file names; English prose does not pass. Server-free."""

from __future__ import annotations

import re
import typing

import pydantic
import typer
from typer.testing import CliRunner

from ecoplan.audit import EVENT_NAMES
from ecoplan.cli import app
from ecoplan.documents import FILES
from ecoplan.intake.alert import Alert
from plan.grading import Assessment
from plan.incident import IncidentReport, ReportContent, ReportFile
from plan.loader import load_plan
from plan.stages import STAGES
import workflows.actions as actions
from tests.foreign_words import assert_chinese

# typer's own words that only a patch of the library could change (ecoplan/cli/typer_zh.py):
# none left ("[required]" is [必填])
TYPER_FIXED: list[str] = []


def commands(cmd=None, path: tuple = ()) -> list[tuple[str, ...]]:
    """The path of every command and group, the root's () first."""
    cmd = cmd or typer.main.get_command(app)
    out = [path]
    for name, sub in getattr(cmd, "commands", {}).items():
        out += commands(sub, (*path, name))
    return out


def _model_words(model: type[pydantic.BaseModel], seen: set) -> set[str]:
    """A model's field names and allowed values, its nested models' too."""
    if model in seen:
        return set()
    seen.add(model)
    out: set[str] = set()

    def walk(t):
        if isinstance(t, type) and issubclass(t, pydantic.BaseModel):
            out.update(_model_words(t, seen))
        elif typing.get_origin(t) is typing.Literal:
            out.update(str(v) for v in typing.get_args(t))
        for a in typing.get_args(t):
            walk(a)

    for name, f in model.model_fields.items():
        out.add(name)
        walk(f.annotation)
    return out


def typed_words() -> set[str]:
    """What a person types as is: command names, JSON keys and allowed values, plan ids."""
    seen: set = set()
    words = {w for path in commands() for w in path}
    for model in (IncidentReport, Assessment, ReportFile, ReportContent, Alert,
                  *{spec.input for spec in actions.ACTIONS.values()}):
        words |= _model_words(model, seen)
    for spec in actions.ACTIONS.values():
        words.add(spec.name)
        for o in spec.cli_options:
            if isinstance(o.value, (tuple, list)):
                words.update(map(str, o.value))
    words |= set(STAGES)
    plan = load_plan().plan
    words |= {a.id for a in plan.warning.actions} | {g.id for g in plan.groups}
    words |= {p.id for p in plan.linkage.partners}
    words |= set(EVENT_NAMES) | set(FILES)  # audit --event, documents --kind
    # schema's names, list --closed's columns and outcomes, report-period's halves, file names
    words |= {"incident", "assessment", "report", "closed_at", "outcome", "completed", "warning_lifted", "H1", "H2",
              "chart", "case_file", "info_report", "docs/contracts.md", "report-〈期间〉.md"}
    return {w for w in words if w}


def test_every_commands_help_speaks_chinese():
    runner = CliRunner()
    words = sorted(typed_words(), key=len, reverse=True)
    typed = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")
    texts = []
    for path in commands():
        # an ordinary terminal: an identifier cut short by the frame would show as a foreign fragment
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, prog_name="ecoplan")
        assert r.exit_code == 0, (path, r.output)
        assert "用法：" in r.output and "显示本说明后退出。" in r.output, path
        texts.append(typed.sub("〇", r.output))  # a whole word typed as is, not a word's part
    assert assert_chinese(texts, TYPER_FIXED, "ecoplan … --help") >= 60
