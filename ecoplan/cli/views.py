"""The supervision commands: one incident's record (status, timeline, documents) and the
views over all of them (list, overdue, stuck, faults, daily-report, schedule daily-report).
`list --closed` and the status of an incident Temporal no longer has come from the records
store (ecoplan/cli/records.py).

ecoplan.api, ecoplan.views, ecoplan.documents and ecoplan.schedules are imported inside the
commands that use them (marked "lazy"): they pull in temporalio, the workflow and the PDF
renderer (about 1 s), which `ecoplan --help` and the other commands do not need."""

from __future__ import annotations

import asyncio
import json
from typing import Optional

import typer

from ecoplan import records
from ecoplan.cli import records as records_cli
from ecoplan.cli.common import AllOpt, JsonOpt, LimitOpt, emit, more, parse_date, run, table
from ecoplan.errors import Fail, bad
from plan.loader import load_plan
from workflows.lifecycle import STAGES

app = typer.Typer()
schedule_app = typer.Typer(no_args_is_help=True, help="Temporal Schedules.")
app.add_typer(schedule_app, name="schedule")


def status_text(s: dict) -> str:
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
    from ecoplan import api  # lazy: see above

    async def go(client):
        try:
            return await api.status(client, incident_id)
        except api.IncidentNotFound:
            if (st := records_cli.status_from_records(incident_id)) is None:
                raise
            return st

    st = run(go)
    emit(st, as_json, lambda s: status_text(s) + ("\n" + records_cli.record_note(s) if s.get("from_records") else ""))


@app.command()
def documents(incident_id: str,
              kind: Optional[list[str]] = typer.Option(None, "--kind", help="activation_notice, termination_form, "
                                                       "info_report, case_file or chart (repeatable; default: all)"),
              out: Optional[str] = typer.Option(None, "--out", help="folder to write into (default: ./ID-documents)"),
              as_json: bool = JsonOpt):
    """The incident's printed documents: 附件1, 附件2, each report, the case file (案卷) as PDF and
    the deadline chart (SVG, PNG). A running incident prints as of now; a closed one, also one
    Temporal no longer has (records store, archive dossier), gives the copies it filed."""
    from ecoplan import api  # lazy: see above
    from ecoplan import documents as docs  # lazy: see above

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



def _ago(seconds: int) -> str:
    m = abs(seconds) // 60
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    return (f"{d}d" if d else "") + (f"{h}h" if h or d else "") + f"{m:02d}m"


def _stage(row: dict) -> str:
    """The stage, marked with the incident's internal faults (details: `ecoplan faults`)."""
    return row["stage"] + (f" [{','.join(row['faults'])}]" if row.get("faults") else "")



@app.command()
def overdue(drills: bool = typer.Option(False, "--drills", help="include drills"),
            limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents with an overdue deadline, most late first, and who must act."""
    from ecoplan import views  # lazy: see above

    rows = run(lambda c: views.overdue(c, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], r["county"], r["level"], _stage(r), r["deadline"], r["due_at"][:16],
          _ago(r["late_by_seconds"]), "、".join(r["waiting_on"])] for r in rs],
        ["incident", "title", "county", "level", "stage", "deadline", "due", "late by", "who must act"])
        if rs else "nothing overdue")
    more(rows, "incidents overdue", f"the {len(rows)} most late deadlines")


@app.command()
def stuck(idle: Optional[str] = typer.Option(None, "--idle", help="e.g. 6h, 3d, 90m (default: the plan's per-stage expectation)"),
          drills: bool = typer.Option(False, "--drills", help="include drills"),
          limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents whose stage has not changed for too long, longest first, and what they wait for."""
    from ecoplan import views  # lazy: see above

    try:
        after = views.parse_duration(idle) if idle is not None else None
    except ValueError as e:
        raise bad(f"--idle: {e}") from None
    rows = run(lambda c: views.stuck(c, idle=after, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], _stage(r), r["since"][:16], _ago(r["idle_seconds"]),
          "、".join(r["waiting_on"])] for r in rs],
        ["incident", "title", "stage", "since", "idle", "waiting on"]) if rs else "nothing stuck")
    more(rows, "incidents stuck", f"the {len(rows)} longest idle")


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
    from ecoplan import views  # lazy: see above

    if stage and stage not in STAGES:
        raise bad(f"--stage: {stage!r} is not a stage ({', '.join(STAGES)})")
    if level and level not in ("I", "II", "III", "IV"):
        raise bad(f"--level: {level!r} is not one of I, II, III, IV")
    if closed or include_closed:
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
    more(rows, "running incidents", f"the {len(rows)} most recently started")


@app.command()
def faults(drills: bool = typer.Option(False, "--drills", help="include drills"),
           limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """Running incidents with an internal fault (calendar unavailable, deliveries overdue or failed)."""
    from ecoplan import views  # lazy: see above

    rows = run(lambda c: views.faults(c, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], r["stage"], r["fault"], r["since"][:16], r["detail"]] for r in rs],
        ["incident", "title", "stage", "fault", "since", "detail"]) if rs else "no faults")
    more(rows, "incidents with faults", f"the {len(rows)} oldest faults")
    if not as_json:  # channels down and pages nobody acknowledged (issue 23)
        from ecoplan.cli.reach import paging_fault_lines
        print("\n".join(paging_fault_lines()) or "通知渠道与呼叫：无故障")


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
    from ecoplan import api  # lazy: see above

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
    from ecoplan import views  # lazy: see above

    day = parse_date(date_, "--date") if date_ else None
    spec = load_plan().plan.daily_report  # its time, period and contents are the plan's
    try:
        report = run(lambda c: views.daily_report(c, day, spec=spec))
    except records.RecordError as e:
        raise Fail(f"the records store cannot be read: {e}") from None
    emit(report, as_json, views.render_daily_report)



@schedule_app.command("daily-report")
def schedule_daily_report(as_json: bool = JsonOpt):
    """Create the 08:00 Asia/Shanghai daily-report schedule if it is missing (idempotent)."""
    from ecoplan.schedules import ensure_daily_report_schedule  # lazy: see above

    created = run(ensure_daily_report_schedule)
    emit({"schedule": "ecoplan-daily-report", "created": created}, as_json,
         lambda d: f"schedule {d['schedule']} {'created' if d['created'] else 'already exists'} (08:00 Asia/Shanghai)")

