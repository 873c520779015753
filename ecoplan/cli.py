"""`ecoplan`: the one command for the command centre, group leads, the commander and supervisors.

Exit codes: 0 done; 1 refused (the incident said no, or it does not exist, or Temporal is
not reachable); 2 bad input (a file, a field, a date). Errors are one line, never a
traceback. Every command takes --json for machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date, datetime
from typing import Any, Callable, Optional

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from ecoplan.errors import Fail, bad
from ecoplan.users_cli import users_app
from ecoplan.web.command import web
from plan.grading import validation_message

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="ecoplan: run the ecology bureau's emergency plan (突发环境事件应急预案).")
plan_app = typer.Typer(no_args_is_help=True, help="Plan files.")
from ecoplan.calendar_cli import calendar_app  # noqa: E402  calendar due, calendar add-year
app.add_typer(calendar_app, name="calendar")
app.add_typer(plan_app, name="plan")
from ecoplan.records_cli import app as records_commands  # noqa: E402  records, report-period, schema
app.add_typer(records_commands)
app.add_typer(users_app, name="users")
app.command("web")(web)


# ------------------------------------------------------------------ output


def emit(data: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text(data) if text else data)


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) if c is not None else "—" for c in r] for r in [header, *rows]]
    width = [max(_w(r[i]) for r in cells) for i in range(len(header))]
    pad = lambda s, w: s + " " * (w - _w(s))  # noqa: E731
    lines = ["  ".join(pad(c, width[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(lines)


def _w(s: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


# ------------------------------------------------------------------ input


def read_data(path: str) -> Any:
    """A JSON or YAML file ("-" for stdin), as data; one-line errors."""
    from plan import files

    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        raw = files.read_bytes(path, path, bad)
    data = files.parse(raw, path, bad, as_json=not path.endswith((".yaml", ".yml")))
    if not isinstance(data, dict):
        raise bad(f"{path}: expected an object with named fields, got {type(data).__name__}")
    return data


def parse(model: type[BaseModel], data: Any, what: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise bad(validation_message(e, prefix=what)) from None


def parse_time(value: Optional[str], option: str = "--at") -> Optional[datetime]:
    if value is None:
        return None
    from plan.incident import Time

    try:
        return TypeAdapter(Time).validate_python(value)
    except ValidationError:
        raise bad(f"{option}: {value!r} is not an ISO 8601 time (e.g. 2026-11-23T03:10 or 2026-11-23T03:10+08:00)") from None


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"{option}: {value!r} is not a date YYYY-MM-DD") from None


def actor(by: Optional[str], role: Optional[str], action: str) -> dict:
    """Who acts through the CLI: the operator's name (--by or $ECOPLAN_USER) and the plan role
    they act in (--as, or $ECOPLAN_ROLE; a role id such as commander or the plan's name such
    as 指挥); without one, the first role the authority table gives the action, recorded as
    such. The CLI talks to Temporal directly: its endpoint (mTLS or API key) is the trust
    boundary, and every action it sends is recorded with `via: cli`."""
    from plan import authority

    name = by or os.environ.get("ECOPLAN_USER")
    if not name or not name.strip():
        raise bad("who is acting? give --by NAME (or set ECOPLAN_USER)")
    plan = _default_plan()
    stated = (role or os.environ.get("ECOPLAN_ROLE") or "").strip()
    if stated:
        spec = next((r for r in plan.roles if stated in (r.id, r.name)), None)
        if spec is None:
            raise bad(f"--as: {stated!r} is not a role of the plan; the roles are "
                      + ", ".join(f"{r.id} ({r.name})" for r in plan.roles))
    else:
        rule = authority.rule(action, plan)
        spec = authority.role(rule.roles[0], plan) if rule else None
        if spec is None:
            raise bad(f"--as: say which role you act in; the roles are {', '.join(r.id for r in plan.roles)}")
    return {"name": name.strip(), "role": spec.name, "role_id": spec.id, "via": "cli"}


def approver(name: Optional[str]) -> Optional[dict]:
    """The 总指挥 the operator names as having approved (附件1): recorded with the plan's
    approving role; the operator answers for it (the CLI is the administrators' tool)."""
    from plan import authority

    if name is None:
        return None
    if not name.strip():
        raise bad("--approved-by: give the approver's name")
    plan = _default_plan()
    rule = authority.rule("activate_response", plan)
    role_id = rule.approver_roles[0] if rule and rule.approver_roles else "commander"
    spec = authority.role(role_id, plan)
    return {"name": name.strip(), "role": spec.name if spec else role_id, "role_id": role_id}


_PLAN = []


def _default_plan():
    from plan.loader import PlanError, load_plan

    if not _PLAN:
        try:
            _PLAN.append(load_plan().plan)
        except PlanError as e:
            raise bad(f"plan: {e}") from None
    return _PLAN[0]


# ------------------------------------------------------------------ running against Temporal


def run(coro_fn: Callable[..., Any], *args) -> Any:
    from temporalio.service import RPCError

    from ecoplan import api
    from ecoplan.errors import connect_or_fail

    async def go():
        client = await connect_or_fail()
        try:
            return await coro_fn(client, *args)
        except api.EcoplanError as e:
            raise Fail(str(e), e.exit_code) from None
        except RPCError as e:
            raise Fail(f"Temporal refused: {e.message}") from None

    return asyncio.run(go())


def do_action(incident_id: str, action: str, model: type[BaseModel], fields: dict, as_json: bool) -> None:
    from ecoplan import api

    inp = parse(model, fields)
    result = run(api.act, incident_id, action, inp)
    emit(result, as_json, lambda r: f"{r['incident_id']}: {r['message']} [stage: {r['stage']}]")


JsonOpt = typer.Option(False, "--json", help="machine-readable output")
ByOpt = typer.Option(None, "--by", help="who acts (default: $ECOPLAN_USER)")
RoleOpt = typer.Option(None, "--as", "--role", help="the plan role you act in: an id (duty_officer, commander, "
                       "deputy_commander, lead) or its name (值班员, 指挥…) (default: $ECOPLAN_ROLE, else the first role "
                       "the authority table gives the action)")
AtOpt = typer.Option(None, "--at", help="when it happened, ISO 8601; without offset = Asia/Shanghai (default: now)")
IssuedByOpt = typer.Option(None, "--issued-by", help="the authority that issued or lifted it (3.3: 市人民政府 or whom it authorises)")
DocumentOpt = typer.Option(None, "--document-number", help="that authority's document number (文号)")
BackdateOpt = typer.Option(None, "--backdate-reason",
                           help="补录说明: why the action is entered more than 1 hour after --at (required then)")


# ------------------------------------------------------------------ foundation commands


@app.command()
def grade(file: str = typer.Argument(..., help="assessment JSON/YAML, every field optional: deaths, poisoned_or_injured, "
                                      "evacuated (persons); direct_loss_yuan (yuan, not 万元); drinking_water_interrupted: "
                                      "none | township | county | city; cross_boundary: none | county_dispute | city | "
                                      "province; ecological_impact: none | protected_species_damaged | "
                                      "partial_function_loss | function_loss_or_extinction. An incident file works too. "
                                      "See `ecoplan schema assessment` and docs/contracts.md"),
          plan: Optional[str] = typer.Option(None, "--plan", help="plan id or path"), as_json: bool = JsonOpt):
    """Grade an assessment against 附表1: level I–IV with the reasons."""
    from plan.grading import Assessment, classify
    from plan.loader import PlanError, load_plan

    data = read_data(file)
    if "assessment" in data and isinstance(data["assessment"], dict):
        data = data["assessment"]  # an incident report file works too
    a = parse(Assessment, data)
    try:
        loaded = load_plan(plan)
    except PlanError as e:
        raise bad(str(e)) from None
    g = classify(a, loaded.plan)
    emit(g, as_json, lambda d: f"level {d['level']} ({d['level_name']})\n" + "\n".join(f"  - {r}" for r in d["reasons"]))


@plan_app.command("check")
def plan_check(plan: Optional[str] = typer.Option(None, "--plan", help="plan id or path"), as_json: bool = JsonOpt):
    """Validate a plan file and report problems (errors exit 2; warnings alone exit 0)."""
    from plan.check import check_plan

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
           db: str = typer.Option(".ecoplan/temporal.db", "--db", help="SQLite file (kept across restarts)")):
    """Run the embedded Temporal dev server in the foreground (Ctrl-C, SIGTERM or SIGHUP stops it)."""
    import signal

    from ecoplan import server as embedded

    code, stopped_by = embedded.run_dev_server(port=port, ui_port=ui_port, db=db)
    if stopped_by is None and code != 0:
        raise Fail(f"the dev server exited with code {code}")
    if code == -signal.SIGKILL:
        raise Fail("the dev server did not stop in time and was killed")


# ------------------------------------------------------------------ incidents


@app.command()
def start(file: str = typer.Argument(..., help="incident report JSON/YAML ('-' for stdin); incident_type: water | air | "
                                      "soil | hazardous_chemicals | solid_waste | other; source: hotline_12369 | "
                                      "linkage_119 | inspection | county_bureau | other. Every field: "
                                      "`ecoplan schema incident` and docs/contracts.md"),
          by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, as_json: bool = JsonOpt):
    """Start an incident from a report file; prints the incident id. With --by (or
    $ECOPLAN_USER) the operator who entered it is recorded beside the reporter."""
    from ecoplan import api
    from plan.incident import Actor, IncidentReport

    report = parse(IncidentReport, read_data(file))
    who = by or os.environ.get("ECOPLAN_USER")
    started_by = Actor(**actor(who, role, "start_incident")) if who and who.strip() else None
    iid = run(api.start_incident, report, api.TASK_QUEUE, 30.0, started_by)
    emit({"incident_id": iid}, as_json, lambda d: d["incident_id"])


def _status_text(s: dict) -> str:
    lines = [
        f"{s['incident_id']}  {s['title']}{'  【演练】' if s.get('drill') else ''}",
        f"stage {s['stage']}  level {s.get('level') or '—'} (graded {s['graded_level']})  county {s['county']}"
        + (f"  outcome {s['outcome']}" if s.get("outcome") else ""),
        f"plan {s['plan']['id']} {s['plan']['version']}",
    ]
    if s.get("leads"):
        lines.append("leads: " + ", ".join(f"{g}={n}" for g, n in s["leads"].items()))
    if s.get("pending_signoffs"):
        lines.append(f"waiting for sign-off (round {s.get('round')}): " + ", ".join(s["pending_signoffs"]))
    if s.get("waiting_on"):
        lines.append("waiting on: " + ", ".join(s["waiting_on"]))
    for f in s.get("faults") or []:
        lines.append(f"FAULT {f['fault']} since {f['since'][:16]}: " + str(f.get("error") or f.get("last") or
                                                                        f"{f.get('count')} deliveries"))
    if s.get("duties"):
        lines += ["", f"duties at level {s['duties'][0]['level']} (the plan's duties; * = close waits for it):"]
        for d in s["duties"]:
            other = d.get("recorded_as_other")
            state = (f"recorded: {other['body']}, {other['document']}, {other['at'][:16]}" if other
                     else "done by the bureau" if d["done"] else "—")
            whose = {"performs": "the bureau's", "optional": "the bureau's if it decides (视情况)",
                     "records": f"{d['body']}'s, recorded by the bureau", "assists": f"{d['body']}'s, the bureau assists"}
            lines.append(f"  {'*' if d['needed_to_close'] else ' '} {d['step']:<13} {whose[d['mode']]}: {state}"
                         f"  [{d['source'][:60]}]")
    if s.get("deadlines"):
        lines += ["", table([[d["name"], d["status"], d["due_date"] or (d["due_at"] or "computing")[:16],
                              "yes" if d["provisional"] else "",
                              (d["met_at"] or "")[:16] + (" backdated" if d.get("met_backdated") else "")]
                             for d in s["deadlines"]], ["deadline", "status", "due", "provisional", "met"])]
    lines += ["", table([[e["seq"], e["at"][:16], (e["by"] or {}).get("name", "system"), e["action"]
                          + (" (REJECTED)" if e["rejected"] else "")
                          + (f" (backdated, recorded {e['recorded_at'][:16]}: {e['backdate_reason']})"
                             if e.get("backdate_reason") else ""), f"{e['from_stage']}→{e['to_stage']}"]
                         for e in s["timeline"][-10:]], ["#", "at", "by", "action", "stage"])]
    return "\n".join(lines)


@app.command()
def status(incident_id: str, as_json: bool = JsonOpt):
    """One incident's full record (read from the workflow itself, not the visibility index);
    an incident Temporal no longer has is answered from the records store, marked so."""
    from ecoplan import api, records_cli

    async def go(client):
        try:
            return await api.status(client, incident_id)
        except api.IncidentNotFound:
            if (st := records_cli.status_from_records(incident_id)) is None:
                raise
            return st

    st = run(go)
    emit(st, as_json, lambda s: _status_text(s) + ("\n" + records_cli.record_note(s) if s.get("from_records") else ""))


@app.command()
def documents(incident_id: str,
              kind: Optional[list[str]] = typer.Option(None, "--kind", help="activation_notice, termination_form, "
                                                       "info_report, case_file or chart (repeatable; default: all)"),
              out: Optional[str] = typer.Option(None, "--out", help="folder to write into (default: ./ID-documents)"),
              as_json: bool = JsonOpt):
    """The incident's printed documents: 附件1, 附件2, each report, the case file (案卷) as PDF and
    the deadline chart (SVG, PNG). A running incident prints as of now; a closed one, also one
    Temporal no longer has (records store, archive dossier), gives the copies it filed."""
    from ecoplan import api, records_cli
    from ecoplan import documents as docs

    try:
        kinds = docs.kinds_of(kind)
    except docs.DocumentsError as e:
        raise bad(str(e)) from None

    async def go(client):
        try:
            return await api.status(client, incident_id)
        except api.IncidentNotFound:
            st = records_cli.status_from_records(incident_id) or docs.from_dossier(incident_id)
            if st is None:
                raise
            return st

    st = run(go)
    if st.get("loading"):
        raise Fail(f"incident {incident_id} is still loading its plan: no documents yet")
    try:
        written = docs.write(st, out or f"{incident_id}-documents", kinds)
    except docs.DocumentsError as e:
        raise bad(str(e)) from None
    except Exception as e:  # a renderer that fails (a missing font): one line
        raise Fail(f"cannot print the documents: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    emit([str(p) for p in written], as_json,
         lambda ps: "\n".join(ps) if ps else f"{incident_id}: no documents of {', '.join(kinds)} yet")


@app.command()
def warn(incident_id: str, recommendation: str = typer.Option("", "--recommendation", help="预警信息发布建议 (3.1)"),
         action: list[str] = typer.Option([], "--action", help="3.2 action already under way (repeatable); the "
                                          "shipped plan's: analysis (分析研判), prevention (防范处置), preparation "
                                          "(应急准备), public_opinion (舆论引导)"),
         issued_by: Optional[str] = IssuedByOpt, document_number: Optional[str] = DocumentOpt,
         by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record the warning the city government issued (预警, 3.1–3.3): the bureau records it with
    the issuing authority and its document number; its own proposal is `propose-warning`."""
    from workflows.messages import IssueWarning

    do_action(incident_id, "issue_warning", IssueWarning, dict(by=actor(by, role, "issue_warning"), at=parse_time(at), backdate_reason=backdate_reason,
              recommendation=recommendation, actions_done=action, issued_by=issued_by,
              document_number=document_number), as_json)


@app.command("propose-warning")
def propose_warning(incident_id: str, proposal: str = typer.Option(..., "--proposal", help="the bureau's 建议, in words"),
                    lift: bool = typer.Option(False, "--lift", help="propose lifting the warning (3.3) instead of issuing one (3.1)"),
                    by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                    backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """The bureau proposes a warning to the city and provincial headquarters (3.1), or its lifting (3.3)."""
    from workflows.messages import ProposeWarning

    do_action(incident_id, "propose_warning", ProposeWarning, dict(
        by=actor(by, role, "propose_warning"), at=parse_time(at), backdate_reason=backdate_reason, proposal=proposal,
        lift=lift), as_json)


@app.command("lift-warning")
def lift_warning(incident_id: str, reason: str = typer.Option(..., "--reason"),
                 issued_by: Optional[str] = IssuedByOpt, document_number: Optional[str] = DocumentOpt,
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                 as_json: bool = JsonOpt):
    """Record the lifting of the warning by the city government (3.3): closes the incident
    with outcome warning_lifted."""
    from workflows.messages import LiftWarning

    do_action(incident_id, "lift_warning", LiftWarning, dict(by=actor(by, role, "lift_warning"), at=parse_time(at), backdate_reason=backdate_reason,
              reason=reason, issued_by=issued_by, document_number=document_number), as_json)


@app.command()
def activate(incident_id: str, level: Optional[str] = typer.Option(None, "--level", help="I–IV (default: graded)"),
             reason: Optional[str] = typer.Option(None, "--reason", help="why another level than graded (4.1.5)"),
             city_started: bool = typer.Option(False, "--city-started", help="the city government started its response"),
             approved_by: Optional[str] = typer.Option(None, "--approved-by", help="the 总指挥 who approved (附件1), "
                                                      "when you enter it for them (then --as defaults to duty_officer)"),
             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Activate the response at a level (4.1)."""
    from workflows.messages import ActivateResponse

    named = approver(approved_by)
    who = actor(by, role or ("duty_officer" if named else None), "activate_response")
    if named and who["role_id"] != "duty_officer" and named["name"] == who["name"]:
        named = None  # the approver entering their own approval
    do_action(incident_id, "activate_response", ActivateResponse, dict(
        by=who, at=parse_time(at), backdate_reason=backdate_reason, level=level, reason=reason,
        city_started=city_started, approver=named), as_json)


@app.command("city-started")
def city_started(incident_id: str, note: str = typer.Option("", "--note"),
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                 as_json: bool = JsonOpt):
    """Record that the city government started its own response (4.1.2–4.1.4, 4.4)."""
    from workflows.messages import RecordCityStarted

    do_action(incident_id, "record_city_started", RecordCityStarted,
              dict(by=actor(by, role, "record_city_started"), at=parse_time(at), backdate_reason=backdate_reason, note=note), as_json)


@app.command("adjust-level")
def adjust_level(incident_id: str, level: str = typer.Option(..., "--level"), reason: str = typer.Option(..., "--reason"),
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                 as_json: bool = JsonOpt):
    """Raise or lower the response level (4.1.5)."""
    from workflows.messages import AdjustLevel

    do_action(incident_id, "adjust_level", AdjustLevel,
              dict(by=actor(by, role, "adjust_level"), at=parse_time(at), backdate_reason=backdate_reason, level=level, reason=reason), as_json)


@app.command()
def dispatch(incident_id: str,
             lead: list[str] = typer.Option(..., "--lead", help="GROUP=NAME, repeatable; monitoring, disposal and investigation are required"),
             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Send the work groups out, naming each group's lead (2.3, 4.3) → on_site."""
    from workflows.messages import Dispatch

    leads: dict[str, str] = {}
    for item in lead:
        group, sep, name = item.partition("=")
        if not sep or not group.strip() or not name.strip():
            raise bad(f"--lead: {item!r} is not GROUP=NAME")
        if group.strip() in leads:
            raise bad(f"--lead: {group.strip()} named twice")
        leads[group.strip()] = name.strip()
    do_action(incident_id, "dispatch", Dispatch, dict(by=actor(by, role, "dispatch"), at=parse_time(at), backdate_reason=backdate_reason, leads=leads), as_json)


CircumstanceOpt = typer.Option(None, "--circumstance", help="17号令 第四条 case (repeatable): drinking_water_source, "
                               "sensitive_area, heavy_metal, cross_province, mass_incident, other")


@app.command()
def report(incident_id: str, kind: str = typer.Option(..., "--kind", help="initial, progress or final: 初报, 续报 or 处理结果报告"),
           file: str = typer.Option(..., "--file", help="report JSON/YAML: summary required; time, place, source, "
                                    "cause_and_nature, basic_process, main_pollutants, monitoring_data, casualties, "
                                    "drinking_water_sources_affected, trend, actions_taken, next_measures, "
                                    "sensitive_points_map (初报); progress (续报); measures_process_result, "
                                    "potential_harm_and_losses, social_impact, remaining_problems, accountability "
                                    "(处理结果报告); fire_forces, fire_water_used, hidden_dangers, affected_area "
                                    "optional (text, 17号令 第十三条); the header reporting_unit, signed_by, "
                                    "contact_person, contact_phone (第十四条) here or as flags. "
                                    "See `ecoplan schema report` and docs/contracts.md"),
           reporting_unit: Optional[str] = typer.Option(None, "--reporting-unit", help="报告单位 (default: the plan's, the bureau)"),
           signed_by: Optional[str] = typer.Option(None, "--signed-by", help="报告签发人 (17号令 第十四条)"),
           contact_person: Optional[str] = typer.Option(None, "--contact-person", help="联系人"),
           contact_phone: Optional[str] = typer.Option(None, "--contact-phone", help="联系方式, e.g. 0353-2020000"),
           circumstance: Optional[list[str]] = CircumstanceOpt,
           by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Submit an information report (4.2; 17号令 第十二条–第十四条)."""
    from plan.incident import ReportFile
    from workflows.messages import SubmitReport

    content, head = parse(ReportFile, read_data(file)).split()
    flags = dict(reporting_unit=reporting_unit, signed_by=signed_by, contact_person=contact_person,
                 contact_phone=contact_phone)
    header = {**head.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
    do_action(incident_id, "submit_report", SubmitReport,
              dict(by=actor(by, role, "submit_report"), at=parse_time(at), backdate_reason=backdate_reason, kind=kind,
                   content=content, circumstances=circumstance or [], **header), as_json)


@app.command()
def circumstances(incident_id: str, circumstance: list[str] = typer.Option(..., "--circumstance", help=CircumstanceOpt.help),
                  note: str = typer.Option("", "--note"),
                  by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                  backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record 17号令 第四条 cases learned after the start: reports go by the II/I procedure (2 h, the ministry too)."""
    from workflows.messages import RecordCircumstances

    do_action(incident_id, "record_circumstances", RecordCircumstances,
              dict(by=actor(by, role, "record_circumstances"), at=parse_time(at), backdate_reason=backdate_reason,
                   circumstances=circumstance, note=note), as_json)


@app.command("propose-termination")
def propose_termination(incident_id: str, reason: str = typer.Option(..., "--reason"),
                        by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                        as_json: bool = JsonOpt):
    """Propose ending the response (4.4); the three group leads then sign 附件2."""
    from workflows.messages import ProposeTermination

    do_action(incident_id, "propose_termination", ProposeTermination,
              dict(by=actor(by, role, "propose_termination"), at=parse_time(at), backdate_reason=backdate_reason, reason=reason), as_json)


@app.command("sign-off")
def sign_off(incident_id: str, group: str = typer.Option(..., "--group", help="monitoring | disposal | investigation"),
             lead: str = typer.Option(..., "--lead", help="your name, as named at dispatch"),
             round_: Optional[int] = typer.Option(None, "--round", help="the termination round you sign (status shows the open one)"),
             reject: bool = typer.Option(False, "--reject", help="refuse termination (give --opinion)"),
             opinion: str = typer.Option("", "--opinion"),
             no_wait: bool = typer.Option(False, "--no-wait", help="send as a signal and return at once"),
             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Sign the termination form (附件2) for your group: approve, or --reject with an opinion."""
    from ecoplan import api
    from workflows.messages import SignOff

    fields = dict(by=actor(by or lead, role, "sign_off"), at=parse_time(at), backdate_reason=backdate_reason, group=group, lead=lead,
                  decision="reject" if reject else "approve", opinion=opinion, round=round_)
    if no_wait:
        run(api.signal_sign_off, incident_id, parse(SignOff, fields))
        emit({"incident_id": incident_id, "sent": True}, as_json,
             lambda d: f"{incident_id}: sign-off sent; check `ecoplan status {incident_id}`")
        return
    do_action(incident_id, "sign_off", SignOff, fields, as_json)


@app.command("approve-termination")
def approve_termination(incident_id: str, instruction: str = typer.Option("", "--instruction", help="指挥批示"),
                        city_decision: Optional[str] = typer.Option(None, "--city-decision",
                                                                    help="who at the city HQ decided, and what (4.4)"),
                        follow_up: Optional[str] = typer.Option(None, "--follow-up", help="continue | stop: follow-up "
                                                                "monitoring after termination (4.4)"),
                        follow_up_by: Optional[str] = typer.Option(None, "--follow-up-by", help="who decided it (4.4: "
                                                                   "市应急指挥部会同专家组)"),
                        follow_up_until: Optional[str] = typer.Option(None, "--follow-up-until",
                                                                      help="YYYY-MM-DD: until when monitoring continues"),
                        by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                        as_json: bool = JsonOpt):
    """The commander approves termination (附件2 指挥批示) → post_event, recording the decision
    on follow-up monitoring (4.4)."""
    from workflows.messages import ApproveTermination

    decision = None
    if follow_up is not None:
        if follow_up not in ("continue", "stop"):
            raise bad(f"--follow-up: {follow_up!r} is not continue or stop")
        decision = {"continue_monitoring": follow_up == "continue", "decided_by": follow_up_by or "",
                    "until": parse_date(follow_up_until, "--follow-up-until") if follow_up_until else None}
    elif follow_up_by or follow_up_until:
        raise bad("--follow-up: say continue or stop (4.4)")
    do_action(incident_id, "approve_termination", ApproveTermination, dict(
        by=actor(by, role, "approve_termination"), at=parse_time(at), backdate_reason=backdate_reason, instruction=instruction,
        city_decision=city_decision, follow_up=decision), as_json)


@app.command()
def aftercare(incident_id: str, note: str = typer.Option(..., "--note"),
              by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record aftercare work (善后处置, 5.1)."""
    from workflows.messages import RecordAftercare

    do_action(incident_id, "record_aftercare", RecordAftercare,
              dict(by=actor(by, role, "record_aftercare"), at=parse_time(at), backdate_reason=backdate_reason, note=note), as_json)


@app.command("complete-investigation")
def complete_investigation(incident_id: str, summary: str = typer.Option("", "--summary"),
                           by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                           as_json: bool = JsonOpt):
    """Record that the investigation (事件调查, 5.2) is complete."""
    from workflows.messages import CompleteInvestigation

    do_action(incident_id, "complete_investigation", CompleteInvestigation,
              dict(by=actor(by, role, "complete_investigation"), at=parse_time(at), backdate_reason=backdate_reason, summary=summary), as_json)


@app.command("review-passed")
def review_passed(incident_id: str, date_: str = typer.Option(..., "--date", help="the date the assessment report passed review"),
                  by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                  as_json: bool = JsonOpt):
    """The damage-assessment report passed review: starts the 20-working-day report deadline (5.3)."""
    from workflows.messages import AssessmentReviewPassed

    do_action(incident_id, "assessment_review_passed", AssessmentReviewPassed, dict(
        by=actor(by, role, "assessment_review_passed"), at=parse_time(at), backdate_reason=backdate_reason, review_date=parse_date(date_, "--date")), as_json)


@app.command("submit-assessment-report")
def submit_assessment_report(incident_id: str,
                             recipient: list[str] = typer.Option([], "--to", help="recipient (default: the plan's, 5.3)"),
                             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                             as_json: bool = JsonOpt):
    """Send the damage-assessment report to the city government and the provincial department (5.3)."""
    from workflows.messages import SubmitAssessmentReport

    do_action(incident_id, "submit_assessment_report", SubmitAssessmentReport,
              dict(by=actor(by, role, "submit_assessment_report"), at=parse_time(at), backdate_reason=backdate_reason, recipients=recipient or None), as_json)


@app.command()
def close(incident_id: str, note: str = typer.Option("", "--note"),
          by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Close the incident once the investigation is complete and the assessment report submitted."""
    from workflows.messages import Close

    do_action(incident_id, "close", Close, dict(by=actor(by, role, "close"), at=parse_time(at), backdate_reason=backdate_reason, note=note), as_json)


@app.command("recompute-deadlines")
def recompute_deadlines(incident_id: str, by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt,
                        as_json: bool = JsonOpt):
    """Recompute provisional working-day due dates after a calendar update."""
    from workflows.messages import RecomputeDeadlines

    do_action(incident_id, "recompute_deadlines", RecomputeDeadlines, dict(by=actor(by, role, "recompute_deadlines")), as_json)


@app.command("cross-boundary")
def cross_boundary(incident_id: str, scope: str = typer.Option(..., "--scope", help="county_dispute | city | province"),
                   neighbour: list[str] = typer.Option([], "--neighbour", help="a neighbouring government/bureau (repeatable)"),
                   note: str = typer.Option("", "--note"),
                   by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """The incident crosses (or may cross) a boundary: notify the neighbours (4.2.3)."""
    from workflows.messages import RecordCrossBoundary

    do_action(incident_id, "record_cross_boundary", RecordCrossBoundary, dict(
        by=actor(by, role, "record_cross_boundary"), at=parse_time(at), backdate_reason=backdate_reason, scope=scope, neighbours=neighbour, note=note), as_json)


@app.command("request-support")
def request_support(incident_id: str, partner: str = typer.Option(..., "--partner", help="a linkage partner id, e.g. fire_brigade"),
                    request: str = typer.Option(..., "--request", help="what is asked: experts, rescue teams …"),
                    by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """商请: ask a linkage partner for experts or rescue teams (协议 二.6)."""
    from workflows.messages import RequestSupport

    do_action(incident_id, "request_support", RequestSupport, dict(
        by=actor(by, role, "request_support"), at=parse_time(at), backdate_reason=backdate_reason, partner=partner, request=request), as_json)


@app.command("answer-support")
def answer_support(incident_id: str, request_no: int = typer.Option(..., "--request", help="the request number"),
                   declined: bool = typer.Option(False, "--declined"), note: str = typer.Option("", "--note"),
                   by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record a partner's answer to a support request."""
    from workflows.messages import SupportAnswer

    do_action(incident_id, "answer_support", SupportAnswer, dict(
        by=actor(by, role, "answer_support"), at=parse_time(at), backdate_reason=backdate_reason, request_no=request_no,
        answer="declined" if declined else "accepted", note=note), as_json)


@app.command("joint-investigation")
def joint_investigation(incident_id: str, member: list[str] = typer.Option(..., "--member", help="repeatable"),
                        note: str = typer.Option("", "--note"),
                        by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                        as_json: bool = JsonOpt):
    """Record the joint investigation group with the fire brigade (联合调查组, 协议 二.5)."""
    from workflows.messages import RecordJointInvestigation

    do_action(incident_id, "record_joint_investigation", RecordJointInvestigation, dict(
        by=actor(by, role, "record_joint_investigation"), at=parse_time(at), backdate_reason=backdate_reason, members=member, note=note), as_json)


@app.command("record-termination")
def record_termination(incident_id: str,
                       document: str = typer.Option(..., "--document", help="the other body's document (文号 or title)"),
                       body: Optional[str] = typer.Option(None, "--body", help="who ended the response (default: the plan's)"),
                       note: str = typer.Option("", "--note"),
                       by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                       backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record that the body that led the response ended it (plan duties: the county at IV, 4.1.1)."""
    from workflows.messages import RecordOtherTermination

    do_action(incident_id, "record_other_termination", RecordOtherTermination, dict(
        by=actor(by, role, "record_other_termination"), at=parse_time(at), backdate_reason=backdate_reason, body=body, document=document,
        note=note), as_json)


@app.command("record-other")
def record_other(incident_id: str,
                 step: str = typer.Option(..., "--step", help="investigation | assessment | aftercare"),
                 document: str = typer.Option(..., "--document", help="the other body's document (文号 or title)"),
                 body: Optional[str] = typer.Option(None, "--body", help="who did it (default: the plan's)"),
                 note: str = typer.Option("", "--note"),
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                 backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record a post-event step that is another body's act at this level (plan duties; 32号令 第四条)."""
    from workflows.messages import RecordOtherAct

    do_action(incident_id, "record_other_act", RecordOtherAct, dict(
        by=actor(by, role, "record_other_act"), at=parse_time(at), backdate_reason=backdate_reason, step=step, body=body,
        document=document, note=note), as_json)


# ------------------------------------------------------------------ supervisors


def _ago(seconds: int) -> str:
    m = abs(seconds) // 60
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    return (f"{d}d" if d else "") + (f"{h}h" if h or d else "") + f"{m:02d}m"


def _stage(row: dict) -> str:
    """The stage, marked with the incident's internal faults (details: `ecoplan faults`)."""
    return row["stage"] + (f" [{','.join(row['faults'])}]" if row.get("faults") else "")


DEFAULT_LIMIT = 50  # rows a supervisor view shows unless told --limit N or --all
LimitOpt = typer.Option(DEFAULT_LIMIT, "--limit", min=1, help="show at most this many, most urgent first")
AllOpt = typer.Option(False, "--all", help="show every row, however many")


def _more(page, what: str, shown: str) -> None:
    """A one-line note on stderr when a view shows only part of its answer."""
    if page.complete:
        return
    total = f"{page.total} {what} in all" if page.total is not None else f"more {what} than shown"
    print(f"ecoplan: {total}; shown: {shown}. --limit N or --all for more.", file=sys.stderr)


@app.command()
def overdue(drills: bool = typer.Option(False, "--drills", help="include drills"),
            limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents with an overdue deadline, most late first, and who must act."""
    from ecoplan import views

    rows = run(lambda c: views.overdue(c, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], r["county"], r["level"], _stage(r), r["deadline"], r["due_at"][:16],
          _ago(r["late_by_seconds"]), "、".join(r["waiting_on"])] for r in rs],
        ["incident", "title", "county", "level", "stage", "deadline", "due", "late by", "who must act"])
        if rs else "nothing overdue")
    _more(rows, "incidents overdue", f"the {len(rows)} most late deadlines")


@app.command()
def stuck(idle: Optional[str] = typer.Option(None, "--idle", help="e.g. 6h, 3d, 90m (default: the plan's per-stage expectation)"),
          drills: bool = typer.Option(False, "--drills", help="include drills"),
          limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents whose stage has not changed for too long, longest first, and what they wait for."""
    from ecoplan import views

    try:
        after = views.parse_duration(idle) if idle is not None else None
    except ValueError as e:
        raise bad(f"--idle: {e}") from None
    rows = run(lambda c: views.stuck(c, idle=after, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], _stage(r), r["since"][:16], _ago(r["idle_seconds"]),
          "、".join(r["waiting_on"])] for r in rs],
        ["incident", "title", "stage", "since", "idle", "waiting on"]) if rs else "nothing stuck")
    _more(rows, "incidents stuck", f"the {len(rows)} longest idle")


@app.command("list")
def list_(stage: Optional[str] = typer.Option(None, "--stage"), level: Optional[str] = typer.Option(None, "--level"),
          county: Optional[str] = typer.Option(None, "--county"),
          drills: bool = typer.Option(False, "--drills", help="include drills"),
          closed: bool = typer.Option(False, "--closed", help="closed incidents, from the records store"),
          include_closed: bool = typer.Option(False, "--include-closed",
                                              help="every incident in the records store, closed or not"),
          from_: Optional[str] = typer.Option(None, "--from", help="reported on or after YYYY-MM-DD (with --closed)"),
          to: Optional[str] = typer.Option(None, "--to", help="reported on or before YYYY-MM-DD (with --closed)"),
          type_: Optional[str] = typer.Option(None, "--type", help="incident_type, e.g. water (with --closed)"),
          outcome: Optional[str] = typer.Option(None, "--outcome", help="completed | warning_lifted (with --closed)"),
          limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents by incident id, filterable by stage, level and county (with more than
    --limit, the most recently started). --closed searches the records store for closed
    incidents (most recently reported first); rows add closed_at and outcome."""
    from ecoplan import views
    from workflows.lifecycle import STAGES

    if stage and stage not in STAGES:
        raise bad(f"--stage: {stage!r} is not a stage ({', '.join(STAGES)})")
    if level and level not in ("I", "II", "III", "IV"):
        raise bad(f"--level: {level!r} is not one of I, II, III, IV")
    if closed or include_closed:
        from ecoplan import records_cli

        return records_cli.list_closed(include_running=include_closed, stage=stage, level=level, county=county,
                                       date_from=from_, date_to=to, incident_type=type_, outcome=outcome,
                                       drills=drills, limit=None if all_ else limit, as_json=as_json)
    if any(v is not None for v in (from_, to, type_, outcome)):
        raise bad("--from, --to, --type and --outcome search the records store: add --closed or --include-closed")
    rows = run(lambda c: views.list_incidents(c, stage=stage, level=level, county=county, drills=drills,
                                                    limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], r["stage"], r["level"], r["county"], "演练" if r["drill"] else "",
          f"{r['next_deadline']['name']} {r['next_deadline']['due_at'][:16]}" if r["next_deadline"] else ""]
         for r in rs], ["incident", "title", "stage", "level", "county", "drill", "next deadline"])
        if rs else "no running incidents")
    _more(rows, "running incidents", f"the {len(rows)} most recently started")


@app.command()
def faults(drills: bool = typer.Option(False, "--drills", help="include drills"),
           limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents with an internal fault (calendar unavailable, deliveries overdue or failed)."""
    from ecoplan import views

    rows = run(lambda c: views.faults(c, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], r["stage"], r["fault"], r["since"][:16], r["detail"]] for r in rs],
        ["incident", "title", "stage", "fault", "since", "detail"]) if rs else "no faults")
    _more(rows, "incidents with faults", f"the {len(rows)} oldest faults")


def _entry_line(e: dict) -> str:
    who = (e.get("by") or {}).get("name", "system")
    flag = " REJECTED" if e["rejected"] else ""
    if e.get("backdate_reason"):
        flag += f" BACKDATED (recorded {e['recorded_at'][:19]}: {e['backdate_reason']})"
    move = f" {e['from_stage']}→{e['to_stage']}" if e["from_stage"] != e["to_stage"] else ""
    detail = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
    return f"#{e['seq']:<4} {e['at'][:19]}  {who}  {e['action']}{flag}{move}  {detail}"


@app.command()
def timeline(incident_id: str, follow: bool = typer.Option(False, "--follow", "-f",
                                                           help="print new entries as they happen until closed"),
             as_json: bool = JsonOpt):
    """The incident's timeline; with --follow, new entries as they happen (Ctrl-C to stop)."""
    from ecoplan import api

    async def go(client):
        seen = 0
        while True:
            st = await api.status(client, incident_id)
            for e in st["timeline"][seen:]:
                print(json.dumps(e, ensure_ascii=False) if as_json else _entry_line(e), flush=True)
            seen = len(st["timeline"])
            if not follow or st.get("outcome"):
                return
            await asyncio.sleep(1.0)

    run(go)


@app.command("daily-report")
def daily_report_cmd(date_: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD (default today)"),
                     as_json: bool = JsonOpt):
    """The daily duty report (零报告/日报告), the same one the 08:00 schedule produces. A past
    --date: the incidents reported that day and the state at its end, from the records store."""
    from ecoplan import records, views

    from plan.loader import load_plan

    day = parse_date(date_, "--date") if date_ else None
    spec = load_plan().plan.daily_report  # its time, period and contents are the plan's
    try:
        report = run(lambda c: views.daily_report(c, day, spec=spec))
    except records.RecordError as e:
        raise Fail(f"the records store cannot be read: {e}") from None
    emit(report, as_json, views.render_daily_report)


schedule_app = typer.Typer(no_args_is_help=True, help="Temporal Schedules.")
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("daily-report")
def schedule_daily_report(as_json: bool = JsonOpt):
    """Create the 08:00 Asia/Shanghai daily-report schedule if it is missing (idempotent)."""
    from ecoplan.schedules import ensure_daily_report_schedule

    created = run(ensure_daily_report_schedule)
    emit({"schedule": "ecoplan-daily-report", "created": created}, as_json,
         lambda d: f"schedule {d['schedule']} {'created' if d['created'] else 'already exists'} (08:00 Asia/Shanghai)")


# ------------------------------------------------------------------ drills and intake

drill_app = typer.Typer(no_args_is_help=True, help="Drills (演练, seed 003).")
app.add_typer(drill_app, name="drill")


@drill_app.command("start")
def drill_start(scenario: str = typer.Argument(..., help="a scenario id from plan/scenarios/ or a path"),
                as_json: bool = JsonOpt):
    """Start an incident flagged as a drill from a scenario file; prints the incident id."""
    from ecoplan import api
    from plan.scenarios import ScenarioError, load_scenario

    try:
        sc = load_scenario(scenario)
    except ScenarioError as e:
        raise bad(str(e)) from None
    iid = run(api.start_incident, sc.incident_report())
    emit({"incident_id": iid, "scenario": sc.id}, as_json, lambda d: d["incident_id"])


@drill_app.command("report")
def drill_report(incident_id: str, as_json: bool = JsonOpt):
    """The after-action evaluation of a drill (seed 003), as Markdown or JSON."""
    from ecoplan import api
    from plan.drill import evaluate, render_markdown

    st = run(api.status, incident_id)
    if not st.get("drill"):
        raise Fail(f"incident {incident_id} is not a drill")
    emit(evaluate(st), as_json, render_markdown)


@app.command()
def intake(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8080, "--port")):
    """The HTTP intake for the 12369 and 119 platforms (OpenAPI schema at /openapi.json)."""
    from ecoplan import intake as service

    service.serve(host=host, port=port)


# ------------------------------------------------------------------ entry point


def invoke(argv: list[str] | None = None) -> int:
    """Run one command: its output on stdout, an error as one line on stderr; the exit status
    (0 done, 1 refused, 2 bad input, 130 interrupted). main() leaves the process with it."""
    code = 0
    try:
        typer.main.get_command(app).main(args=argv, prog_name="ecoplan", standalone_mode=False)
    except Fail as e:
        if str(e):
            print(f"ecoplan: {e}", file=sys.stderr)
        code = e.code
    except typer.Abort:
        code = 130
    except typer.Exit as e:
        code = e.exit_code
    except typer.TyperException as e:  # usage errors: unknown option, missing argument (exit 2)
        if e.format_message():
            print(f"ecoplan: {e.format_message()}", file=sys.stderr)
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as e:  # a bug: still one line, with the type to report it by
        print(f"ecoplan: internal error ({type(e).__name__}): {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        code = 1
    return code


def main(argv: list[str] | None = None) -> None:
    """Run one command and leave with its true status through os._exit (sdk-python issue 300:
    a process that used a Temporal client can abort at interpreter exit)."""
    code = invoke(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


if __name__ == "__main__":
    main()
