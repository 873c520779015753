"""The plan tools: `ecoplan grade`, `plan check`, `drill start|report`, and the services
`server` (the embedded Temporal dev server) and `intake` (the 12369/119 HTTP intake).
`calendar …` is in ecoplan/cli/calendar.py, `web` in ecoplan/web/command.py."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

import typer

from ecoplan import server as embedded
from ecoplan.cli.common import ByOpt, JsonOpt, RoleOpt, actor, cli_user, emit, parse, read_data, run
from ecoplan.errors import Fail, bad
from plan.check import check_plan
from plan.drill import evaluate, render_markdown
from plan.grading import Assessment, classify
from plan.loader import PlanError, load_plan
from plan.scenarios import ScenarioError, load_scenario

app = typer.Typer()
plan_app = typer.Typer(no_args_is_help=True, help="Plan files.")
drill_app = typer.Typer(no_args_is_help=True, help="Drills (演练, seed 003).")
app.add_typer(plan_app, name="plan")
app.add_typer(drill_app, name="drill")


@app.command()
def grade(file: str = typer.Argument(..., help="assessment JSON/YAML, every field optional: deaths, poisoned_or_injured, "
                                      "evacuated (persons); direct_loss_yuan (yuan, not 万元); drinking_water_interrupted: "
                                      "none | township | county | city; cross_boundary: none | county_dispute | city | "
                                      "province; ecological_impact: none | protected_species_damaged | "
                                      "partial_function_loss | function_loss_or_extinction. An incident file works too. "
                                      "See `ecoplan schema assessment` and docs/contracts.md"),
          plan: Optional[str] = typer.Option(None, "--plan", help="plan id or path"), as_json: bool = JsonOpt):
    """Grade an assessment against 附表1: level I–IV with the reasons."""
    data = read_data(file)
    if "assessment" in data and isinstance(data["assessment"], dict):
        data = data["assessment"]  # an incident report file works too
    a = parse(Assessment, data)
    try:
        loaded = load_plan(plan)
    except PlanError as e:
        raise bad(str(e)) from None
    g = classify(a, loaded.plan)
    emit(g, as_json, lambda d: f"{d['level']}级（{d['level_name']}）\n" + "\n".join(f"  - {r}" for r in d["reasons"]))


@plan_app.command("check")
def plan_check(plan: Optional[str] = typer.Option(None, "--plan", help="plan id or path"), as_json: bool = JsonOpt):
    """Validate a plan file and report problems (errors exit 2; warnings alone exit 0)."""
    loaded, problems = check_plan(plan)
    out = {"plan": loaded.ref if loaded else None, "problems": [p.model_dump() for p in problems]}
    def text(d):
        head = f"plan {d['plan']['id']} {d['plan']['version']} {d['plan']['hash'][:19]}" if d["plan"] else "plan not loaded"
        return "\n".join([head, *(f"{p['severity']}: {p['where']}: {p['message']}" for p in d["problems"])] or [head])
    emit(out, as_json, text)
    if any(p.severity == "error" for p in problems):
        raise Fail("", 2)


@app.command()
def server(port: int = typer.Option(7233, "--port"), ui_port: int = typer.Option(8233, "--ui-port"),
           db: Optional[str] = typer.Option(None, "--db", help="SQLite file (kept across restarts; default: "
                                             "$ECOPLAN_HOME/temporal.db)")):
    """Run the embedded Temporal dev server in the foreground (Ctrl-C, SIGTERM or SIGHUP stops it)."""
    code, stopped_by = embedded.run_dev_server(port=port, ui_port=ui_port, db=db or embedded.default_db())
    if stopped_by is None and code != 0:
        raise Fail(f"Temporal 开发服务器已退出，退出码 {code}")
    if code == -signal.SIGKILL:
        raise Fail("Temporal 开发服务器未能按时停止，已强行终止")


@drill_app.command("start")
def drill_start(scenario: str = typer.Argument(..., help="a scenario id from plan/scenarios/ or a path"),
                participants: list[str] = typer.Option([], "--participants", help="the drill's participants: "
                                                       "account usernames (or 姓名), comma-separated; only they are "
                                                       "paged; you (--by or $ECOPLAN_USER) always take part"),
                by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, as_json: bool = JsonOpt):
    """Start an incident flagged as a drill from a scenario file; prints the incident id. Its pages
    go to its participants only (the people each event would reach, among them; README, 演练)."""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help
    from ecoplan import people
    from ecoplan.accounts import AccountError, AccountStore, store_target
    from plan.incident import Actor

    try:
        sc = load_scenario(scenario)
    except ScenarioError as e:
        raise bad(str(e)) from None
    who = by or cli_user()
    started_by = Actor(**actor(who, role, "start_incident")) if who and who.strip() else None
    target = store_target()
    try:  # no accounts file (the CLI alone): every participant named is unknown
        store = None if isinstance(target, Path) and not target.exists() else AccountStore(target)
        named, why = people.drill_participants(store, participants, started_by.name if started_by else None)
    except AccountError as e:
        raise bad(str(e)) from None
    if why:
        raise bad(why)
    iid = run(api.start_incident, sc.incident_report(), api.TASK_QUEUE, 30.0, started_by, named)
    emit({"incident_id": iid, "scenario": sc.id}, as_json, lambda d: d["incident_id"])


@drill_app.command("report")
def drill_report(incident_id: str, as_json: bool = JsonOpt):
    """The after-action evaluation of a drill (seed 003), as Markdown or JSON."""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help

    st = run(api.status, incident_id)
    if not st.get("drill"):
        raise Fail(f"事件 {incident_id} 不是演练")
    emit(evaluate(st), as_json, render_markdown)


@app.command()
def intake(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8080, "--port")):
    """The HTTP intake for the 12369 and 119 platforms (OpenAPI schema at /openapi.json)."""
    from ecoplan import intake as service  # lazy: FastAPI and the client API (~1.5 s)

    service.serve(host=host, port=port)
