"""Incident workflow 2.0 (issue 11): each problem the review reproduced, as a test that failed
on the 1.x engine and passes now.

1 a broken calendar never fails an incident; 2 an awaiting action is whole or refused;
3 the state carried across continue-as-new stays bounded; 4 sign-offs belong to a round;
5 hopeless deliveries end and a closed incident completes; 6 recompute has a validator and
the stuck marker follows each stay in a stage; 8 backdating needs a reason and shows;
9 the package layout. (7, process hygiene, is test_process_hygiene.py.)
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import threading

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.settings import ActivitySettings
from ecoplan import api
from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.incident import ReportContent
from tests.drive import SIGNATORIES, deadline, to_on_site, to_post_event, to_termination_pending
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, advancing, eventually, lead, now, report, settled_history
from worker import build_worker
from workflows import messages as m
from workflows.incident import CARRY_LIMIT

ROOT = Path(__file__).resolve().parent.parent


def settings_for(tmp_path: Path, **over) -> ActivitySettings:
    return ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl", **over)


def broken_calendar(tmp_path: Path) -> Path:
    folder = tmp_path / "calendars"
    folder.mkdir(exist_ok=True)
    (folder / "2027.yaml").write_text("year: [2027\nholidays: {", encoding="utf-8")  # malformed YAML
    return folder


def repair(folder: Path) -> None:
    (folder / "2027.yaml").unlink()


def entries(st: dict, action: str) -> list[dict]:
    return [e for e in st["timeline"] if e["action"] == action]


async def running(client, iid: str) -> bool:
    desc = await client.get_workflow_handle(api.workflow_id(iid)).describe()
    return desc.status == WorkflowExecutionStatus.RUNNING


# ---------------------------------------------------------------------------- 1, 2: faults and whole actions


async def test_broken_calendar_never_fails_the_incident_and_every_action_is_whole(client, tmp_path):
    """Before: approving termination while the calendar file was malformed failed the
    update after ~15 s with the stage already moved, and the incident FAILED ~25 s later."""
    cal = broken_calendar(tmp_path)
    tq = f"cal-{uuid.uuid4().hex[:6]}"
    async with build_worker(client, settings_for(tmp_path, calendar_dirs=(cal,)), task_queue=tq):
        iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000)), task_queue=tq)
        # Level III activation needs no calendar (readiness: 1 h): whole, at once.
        res = await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
        assert "应急力量准备" in res.message and "前完成" in res.message
        await api.act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                                   content=ReportContent(summary="初报")))
        await api.act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
        await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
        await api.act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring",
                                                         lead=LEADS["monitoring"], decision="approve"))
        for g in SIGNATORIES[1:]:
            await api.act(client, iid, "sign_off", m.SignOff(round=1, by=lead(g), group=g, lead=LEADS[g],
                                                             decision="approve"))
        res = await api.act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
        # What the caller is told matches the state: applied, the 30-working-day deadline not yet known.
        assert res.stage == "post_event"
        assert "的期限暂未算出" in res.message and "工作日日历不可用" in res.message
        st = await api.status(client, iid)
        assert st["stage"] == "post_event"
        assert deadline(st, "assessment_completion")["status"] == "scheduling"
        assert deadline(st, "investigation") is None  # III: the province investigates (32号令 第四条, issue 24)
        fault = next(f for f in st["faults"] if f["fault"] == "calendar_unavailable")
        assert "2027.yaml" in fault["error"]
        assert len(entries(st, "calendar_unavailable")) == 1
        assert entries(st, "response_terminated") == [] and entries(st, "approve_termination")
        # the assessment review: applied whole, its 20-working-day report deadline waiting on the calendar
        res = await api.act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
        assert "污染损害评估报告报送" in res.message and "的期限暂未算出" in res.message
        st = await api.status(client, iid)
        assert st["review_date"] == now().date().isoformat()
        assert deadline(st, "assessment_report")["status"] == "scheduling"
        # recompute while still broken: refused whole, nothing recorded
        with pytest.raises(api.ActionRefused, match="工作日日历不可用.*未重新计算"):
            await api.act(client, iid, "recompute_deadlines", m.RecomputeDeadlines(by=DUTY))
        # the supervisors see it
        rows = await eventually(lambda: _faults(client), lambda rs: any(r["incident_id"] == iid for r in rs))
        assert next(r for r in rows if r["incident_id"] == iid)["fault"] == "calendar_unavailable"
        assert await running(client, iid)

        repair(cal)
        res = await api.act(client, iid, "recompute_deadlines", m.RecomputeDeadlines(by=DUTY))
        st = await api.status(client, iid)
        # the review passed before the 30-working-day assessment deadline was known: met, now dated
        assert deadline(st, "assessment_completion")["status"] == "met" and deadline(st, "assessment_completion")["due_date"]
        d = deadline(st, "assessment_report")
        assert d["status"] == "pending" and d["due_date"]
        assert st["faults"] == [] and len(entries(st, "calendar_restored")) == 1
        assert await running(client, iid)


async def _faults(client):
    from ecoplan import views

    return list(await views.faults(client, drills=True))


async def test_plan_that_cannot_load_names_the_cause_and_the_incident_starts_once_it_can(skipping_env, tmp_path):
    """On a time-skipping server (conftest `skipping_env`): once the plan is repaired, the
    workflow's wait before its next try (5 s, then 10 s, ...) is moved on in virtual time;
    each try still really loads the file."""
    env = skipping_env
    client = env.client
    src = (ROOT / "plan" / "plans" / "yangquan-2022.yaml").read_text(encoding="utf-8")
    plan_file = tmp_path / "our-plan.yaml"
    plan_file.write_text(src, encoding="utf-8")
    tq = f"plan-{uuid.uuid4().hex[:6]}"
    with env.with_time_skipping_disabled():
        iid = await api.start_incident(client, report(plan=str(plan_file)), task_queue=tq, wait_ready=0)
    handle = client.get_workflow_handle(api.workflow_id(iid))
    plan_file.write_text("id: [broken", encoding="utf-8")  # broken after the start request checked it
    async with build_worker(client, settings_for(tmp_path), task_queue=tq):
        st = await eventually(lambda: api.status(client, iid), lambda s: s.get("problem"), timeout=30)
        assert st["stage"] is None and "cannot load the plan" in st["problem"]
        with pytest.raises(api.ActionRefused, match="事件仍在载入预案：the worker cannot load the plan"):
            await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
        with pytest.raises(api.IncidentNotReady, match="尚未就绪：the worker cannot load the plan"):
            await api._wait_until_ready(client.get_workflow_handle(api.workflow_id(iid)), 10)
        plan_file.write_text(src, encoding="utf-8")
        st = await advancing(env, handle, lambda: api.status(client, iid), lambda s: s.get("stage") == "reported",
                             timeout=30)
        assert [e["action"] for e in st["timeline"][:3]] == ["plan_unavailable", "plan_restored", "reported"]
        assert deadline(st, "initial_report")["status"] == "pending"
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))


# ---------------------------------------------------------------------------- 3: bounded state


@pytest.fixture(scope="module")
async def can_server(tmp_path_factory):
    """Continue-as-new suggested after 600 events, so a long incident shows at a small size."""
    from tests.procs import DevServer

    srv = DevServer(log_dir=tmp_path_factory.mktemp("can"), extra=[
        "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=600"])
    await srv.start()
    try:
        yield srv
    finally:
        await srv.kill()


REPORTS = 150  # each adds two timeline entries (the report, its linkage bulletin): 300 > 250
SUMMARY = ("监测数据显示桃河冶西断面特征污染物浓度持续下降，" * 100)[:2000]  # 2,000 Chinese characters


async def test_state_carried_across_continue_as_new_stays_bounded(can_server, tmp_path):
    """Before: `reports`, the timeline's repeated summaries and payloads grew without bound;
    at 1,300 realistic reports the continue-as-new input passed 2 MB. Here 150 reports of
    2,000 characters each (about 1.8 MB of text if the state kept them; 300 timeline entries,
    past the bound checked): the carried state stays under 256 kB, and the archive keeps all."""
    client = await can_server.client()
    tq = f"long-{uuid.uuid4().hex[:6]}"
    settings = settings_for(tmp_path)
    async with build_worker(client, settings, task_queue=tq):
        iid = await api.start_incident(client, report(), task_queue=tq)
        await to_on_site(client, iid)
        for n in range(REPORTS):
            await api.act(client, iid, "submit_report", m.SubmitReport(**SIGNED,
                by=DUTY, kind="progress", content=ReportContent(summary=f"续报{n}：{SUMMARY}", monitoring_data=SUMMARY)))
        st = await api.status(client, iid)
        assert st["runs"] >= 2 and st["reports_count"]["progress"] == REPORTS
        assert len(st["reports"]) <= 20 and len(st["timeline"]) <= 250
        assert st["timeline_summary"]["entries"] + len(st["timeline"]) > 250  # the bound was reached
        handle = client.get_workflow_handle(api.workflow_id(iid))
        sizes, kept = [], []
        async for w in client.list_workflows(f"WorkflowId = '{handle.id}'"):
            h = await client.get_workflow_handle(handle.id, run_id=w.run_id).fetch_history()
            for e in h.events:
                if e.HasField("workflow_execution_continued_as_new_event_attributes"):
                    [p] = e.workflow_execution_continued_as_new_event_attributes.input.payloads
                    sizes.append(p.ByteSize())
                    carried = json.loads(p.data)
                    carried["state"]["outbox"] = []
                    kept.append(len(json.dumps(carried, ensure_ascii=False, separators=(",", ":")).encode()))
        # What the incident keeps stays small; what waits for delivery (each report's text, until
        # it is delivered: more on a loaded machine, 846 kB seen) is bounded by CARRY_LIMIT.
        assert sizes and max(kept) < 256_000 and max(sizes) <= CARRY_LIMIT, (sizes, kept)
        # nothing lost: the archive's timeline holds every entry archived so far, once
        archived = await eventually(
            lambda: _read_jsonl(settings.archive_dir / iid / "timeline.jsonl"),
            lambda rows: len(rows) >= (st.get("timeline_summary") or {}).get("entries", 0), timeout=30)
        seqs = [r["seq"] for r in archived]
        assert seqs == list(range(1, len(seqs) + 1))
        assert sum(1 for r in archived if r["action"] == "submit_report") + \
            sum(1 for e in st["timeline"] if e["action"] == "submit_report" and e["seq"] > len(seqs)) == REPORTS + 1
        await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
        assert (await api.status(client, iid))["stage"] == "termination_pending"


async def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------------------- 4: rounds


async def test_a_sign_off_from_an_earlier_round_never_counts(client, worker):
    """Before: a resent round-1 approval, or a delayed --no-wait signal, counted in round 2."""
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    await api.act(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="disposal",
                                                     lead=LEADS["disposal"], decision="reject", opinion="下游仍超标"))
    await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="复测达标"))
    stale = m.SignOff(round=1, by=lead("monitoring"), group="monitoring", lead=LEADS["monitoring"], decision="approve")
    with pytest.raises(api.ActionRefused, match=r"第 1 轮已不在签署中；正在签署第 2 轮（王值班于 .* 提出：复测达标）"):
        await api.act(client, iid, "sign_off", stale)
    with pytest.raises(api.ActionRefused, match="请写明签署的轮次"):
        await api.act(client, iid, "sign_off", stale.model_copy(update={"round": None}))
    await api.signal_action(client, iid, "sign_off", stale)
    st = await eventually(lambda: api.status(client, iid),
                          lambda s: any(e["rejected"] and e["detail"].get("via") == "signal" for e in s["timeline"]))
    rejected = [e for e in st["timeline"] if e["rejected"]][-1]
    assert "正在签署第 2 轮" in rejected["detail"]["reason"] and rejected["detail"]["round"] == 1
    assert st["signoffs"] == {} and st["pending_signoffs"] == list(SIGNATORIES)


# ---------------------------------------------------------------------------- 5: hopeless deliveries


class Refusing:
    """A webhook that answers every POST with 404 (a wrong path in the bureau's setting)."""

    def __init__(self, code: int = 404):
        self.calls = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.calls += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wrong"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("kind", ["http_404", "bad_address"])
async def test_hopeless_deliveries_end_and_the_closed_incident_completes(client, tmp_path, kind):
    """Before: a webhook answering 4xx was retried for ever and a closed incident never completed."""
    hook = Refusing() if kind == "http_404" else None
    url = hook.url if hook else "htp:/no-such-scheme"
    tq = f"hope-{uuid.uuid4().hex[:6]}"
    try:
        async with build_worker(client, settings_for(tmp_path, webhook_url=url), task_queue=tq):
            iid = await api.start_incident(client, report(), task_queue=tq)
            await api.act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
            await api.act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"))
            handle = client.get_workflow_handle(api.workflow_id(iid))
            result = await asyncio.wait_for(handle.result(), 30)
            assert result["outcome"] == "warning_lifted"
            st = await api.status(client, iid)
            failed = entries(st, "delivery_failed")
            # The incident's own first notice (新接报事件, workflows/duty_desk.py) goes the same way.
            assert {e["detail"]["what"] for e in failed} == {"notification incident_reported",
                                                            "notification warning_issued", "notification warning_lifted"}
            reason = "HTTP 404" if hook else "地址无法使用"
            assert all(reason in e["detail"]["reason"] for e in failed)
            assert st["delivery_failures_count"] == 3
            assert any(f["fault"] == "delivery_failed" for f in st["faults"])
            if hook:
                assert hook.calls == 3  # each tried once: a 404 is not retried
    finally:
        if hook:
            hook.server.shutdown()


# ---------------------------------------------------------------------------- 6: validator, stuck marker


async def test_recompute_refusal_leaves_no_trace_in_history(client, worker):
    """Before: recompute_deadlines had no validator; a refusal wrote update events into history."""
    iid = await api.start_incident(client, report())
    handle = client.get_workflow_handle(api.workflow_id(iid))
    before = len((await settled_history(client, handle.id)).events)  # its record saved, nothing under way
    with pytest.raises(api.ActionRefused, match="没有暂定或尚未算出的期限"):
        await api.act(client, iid, "recompute_deadlines", m.RecomputeDeadlines(by=DUTY))
    assert len((await handle.fetch_history()).events) == before


async def test_stuck_marker_belongs_to_each_stay_in_a_stage(client, worker):
    """Before: the marker was keyed by stage only, so re-entering on_site kept the old stay's time."""
    t = now()
    iid = await api.start_incident(client, report(discovered_at=t - timedelta(days=9),
                                                  reported_at=t - timedelta(days=9)))
    why = "电话记录补录"
    await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=t - timedelta(days=9),
                                                                       backdate_reason=why))
    await api.act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS, at=t - timedelta(days=8),
                                                      backdate_reason=why))
    first = await eventually(lambda: api.status(client, iid), lambda s: s["stuck_key"] == s["stage_entries"])
    # on_site entered 8 days ago, expected within 7 (plan stage_expectations): stuck since a day ago
    assert abs(datetime.fromisoformat(first["stuck_after"]) - (t - timedelta(days=1))) < timedelta(seconds=1)
    await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await api.act(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="disposal",
                                                     lead=LEADS["disposal"], decision="reject", opinion="仍超标"))
    st = await eventually(lambda: api.status(client, iid),
                          lambda s: s["stage"] == "on_site" and s["stuck_key"] == s["stage_entries"])
    # on_site again: 7 days (plan stage_expectations) from this stay's start, not the first one's
    entered = datetime.fromisoformat(st["stage_entered_at"])
    assert abs(entered - now()) < timedelta(minutes=1)
    assert datetime.fromisoformat(st["stuck_after"]) == entered + timedelta(days=7)


# ---------------------------------------------------------------------------- 8: backdating


async def test_backdating_needs_a_reason_and_shows(client, worker):
    """Before: a late action typed with an early `at` turned an overdue deadline into 'met' silently."""
    t = now()
    iid = await api.start_incident(client, report(discovered_at=t - timedelta(hours=6), reported_at=t - timedelta(hours=6)))
    made = t - timedelta(hours=5)  # 1 h after discovery: in time for the 4 h initial report, entered 5 h later
    initial = m.SubmitReport(**SIGNED, by=DUTY, at=made, kind="initial", content=ReportContent(summary="电话初报"))
    with pytest.raises(api.ActionRefused, match=r"早 1 小时以上：请填写补录说明"):
        await api.act(client, iid, "submit_report", initial)
    assert deadline(await api.status(client, iid), "initial_report")["status"] in ("pending", "overdue")
    await api.act(client, iid, "submit_report", initial.model_copy(update={"backdate_reason": "值班电话记录补录"}))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert d["status"] == "met" and d["met_backdated"] is True
    e = entries(st, "submit_report")[-1]
    assert e["backdate_reason"] == "值班电话记录补录" and d["met_seq"] == e["seq"]
    assert datetime.fromisoformat(e["recorded_at"]) - datetime.fromisoformat(e["at"]) > timedelta(hours=4)
    # within the hour: no reason needed, nothing marked
    await api.act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING, at=now() - timedelta(minutes=50)))
    assert entries(await api.status(client, iid), "issue_warning")[-1]["backdate_reason"] is None


# ---------------------------------------------------------------------------- 9: layout


def test_people_facing_modules_live_in_the_ecoplan_package():
    """Before: api, cli, server, connection, schedules and intake were bare top-level modules,
    cli and intake imported each other, and the read-only views sat in activities/."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["setuptools"]["py-modules"] == ["worker"]
    assert project["project"]["scripts"]["ecoplan"] == "ecoplan.cli:main"
    for name in ("api", "cli", "server", "connection", "schedules", "intake", "logging_setup"):
        assert not (ROOT / f"{name}.py").exists()
        assert (ROOT / "ecoplan" / f"{name}.py").exists() or (ROOT / "ecoplan" / name / "__init__.py").exists()
    intake = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "ecoplan" / "intake").glob("*.py"))
    assert not re.search(r"from ecoplan(\.cli| import cli)", intake)
    assert not (ROOT / "activities" / "supervision.py").exists()
    for path in [*ROOT.glob("*.py"), *ROOT.glob("*/*.py"), ROOT / "README.md"]:
        if "tests" in path.parts or ".venv" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "DESIGN" + ".md" not in text, f"{path} points at a file outside the repository"
    # the workflow keeps its loop and one handler, validator and apply step per action (20 actions);
    # checks, deadlines, termination, linkage, effects, publishing and timeline live beside it
    assert len((ROOT / "workflows" / "incident.py").read_text(encoding="utf-8").splitlines()) < 950


def test_no_test_sleeps_a_fixed_time():
    """Tests wait on conditions with a bound (tests.helpers.eventually, tests.procs.poll) or on
    virtual time, never a blocking fixed sleep."""
    for path in (ROOT / "tests").glob("*.py"):
        if path.name == "test_workflow2.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\btime\.sleep\(", line):
                pytest.fail(f"{path.name}:{n} sleeps a fixed time: {line.strip()}")


# ---------------------------------------------------------------------------- claim check: payloads stay out of history


async def test_notification_payloads_and_timeline_never_enter_history(client, worker):
    """Before: each delivery batch carried the notifications' subjects, recipients and details
    (and timeline entries for the archive) as the activity's input, so every notice was in
    history twice (state and input). Now the input names keys only; the texts are read with
    the `outbox` query, and the notices still go out."""
    title = f"按引用投递测试{uuid.uuid4().hex[:6]}"
    iid = await api.start_incident(client, report(title=title))
    await api.act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    handle = client.get_workflow_handle(api.workflow_id(iid))
    outbox = Path(worker.outbox_path)
    # Delivered: the notices (with the title in their subject) reached the channel.

    async def sent() -> int:
        return sum(title in line for line in outbox.read_text(encoding="utf-8").splitlines()) if outbox.exists() else 0

    await eventually(sent, lambda n: n >= 2, timeout=20)
    inputs = []
    async for ev in handle.fetch_history_events():
        a = ev.activity_task_scheduled_event_attributes
        if ev.HasField("activity_task_scheduled_event_attributes") and a.activity_type.name == "deliver":
            inputs += [json.loads(p.data) for p in a.input.payloads]
    assert inputs, "no deliver activity was scheduled"
    for batch in inputs:
        assert batch["by_ref"] is True
        assert all(item["payload"] == {} for item in batch["items"])
        assert batch["timeline"] == []
        assert title not in json.dumps(batch, ensure_ascii=False)


async def test_an_unreadable_outbox_is_tried_again_not_lost(client, tmp_path):
    """The activity reads a by-reference batch from the incident; when it cannot (here: a
    workflow id that does not exist), each item comes back failed and retryable."""
    from activities.delivery import DeliveryBatch, DeliveryItem, Deliverer

    d = Deliverer(settings_for(tmp_path), client)
    batch = DeliveryBatch(incident_id="nope", by_ref=True, workflow_id=f"incident-nope-{uuid.uuid4().hex[:6]}",
                          items=[DeliveryItem(key="k/e1", kind="notify")])
    out = await d.deliver(batch)
    assert [(o.key, o.ok, o.hopeless) for o in out.items] == [("k/e1", False, False)]
    assert "could not read the incident's outbox" in out.items[0].error
