"""An incident whose workflow task keeps failing is seen and repaired (issue 25; docs/design.md,
"Known traps"; ecoplan/repair.py).

The live test makes the chaos soak's defect happen on purpose, with real parts: a dev server
of its own, the project's worker on a task queue of its own, and, for two actions, a worker
instance whose workflow code differs (a workflow interceptor that starts one more timer in
`dispatch`'s handler). That worker writes a history the project's code does not replay to, as
the soak's worker did with a stale clock; the next task a normal worker runs fails with a real
TMPRL1100, again and again. Then: the faults view and the status say so, `ecoplan repair`
resets the incident to before the deviant task and sends again what was acknowledged after it,
and the incident goes on with the normal worker.

The server marks a failing execution (TemporalReportedProblems) after
`system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute` failures: 1 here, so the
view sees it at the first failure instead of about 30 s later (the default).

The reset point is also checked offline on the soak's own history: the event its failure
names, and the halving replay a failure without a named event uses, find the same task.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.workflowservice.v1 import ResetStickyTaskQueueRequest
from temporalio.client import WorkflowHistory
from temporalio.worker import Interceptor, WorkflowInboundInterceptor

from activities.page_store import PageStore
from activities.settings import ActivitySettings
from ecoplan import api, repair, views
from ecoplan.accounts import AccountStore
from ecoplan.web import actions as web_actions
from ecoplan import audit
from plan.incident import ReportContent
from tests.foreign_words import foreign
from tests.helpers import COMMANDER, DUTY, LEADS, SIGNED, eventually, lead, report
from tests.procs import DevServer, ecoplan_in_process
from worker import build_worker
from workflows import messages as m

ROOT = Path(__file__).resolve().parent
SOAK = ROOT / "histories" / "open-defects" / "soak_timer_canceled.json"
CLEAN = ROOT / "histories" / "full_life_cycle.json"


class _DeviantInbound(WorkflowInboundInterceptor):
    """Workflow code that differs from the project's: `dispatch` also starts a timer."""

    async def handle_update_handler(self, input):
        if input.update == "dispatch":
            asyncio.get_running_loop().create_task(workflow.sleep(timedelta(days=30)))
        return await super().handle_update_handler(input)


class Deviant(Interceptor):
    def workflow_interceptor_class(self, input):
        return _DeviantInbound


@pytest.fixture
async def stuck_server(tmp_path):
    srv = DevServer(log_dir=tmp_path, extra=[
        "--dynamic-config-value", "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=1"])
    await srv.start()
    try:
        yield srv
    finally:
        await srv.kill()


def _events(history) -> dict[int, object]:
    return {e.event_id: e for e in history.events}


async def test_a_stuck_incident_is_seen_repaired_and_goes_on(stuck_server, tmp_path):
    client = await stuck_server.client()
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl",
                                records_db=tmp_path / "records.db")
    env = {"ECOPLAN_ACCOUNTS_DB": str(tmp_path / "accounts.db"), "ECOPLAN_RECORDS_DB": str(tmp_path / "records.db")}
    tq = "repair-test"

    async def cli(*args):
        return await ecoplan_in_process(*args, address=stuck_server.address, env_extra=env)

    async def unstick():
        """The next task goes to the task queue, not to the stopped worker's own (sticky) queue,
        where it would wait out its 10 s schedule-to-start timeout first."""
        await client.workflow_service.reset_sticky_task_queue(ResetStickyTaskQueueRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=api.workflow_id(iid))))

    async with build_worker(client, settings, task_queue=tq):
        iid = await api.start_incident(client, report(), task_queue=tq)
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
        await api.act(client, iid, "submit_report", m.SubmitReport(
            **SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await unstick()
    async with build_worker(client, settings, task_queue=tq, interceptors=[Deviant()]):
        await api.act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
        await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物降至本底"))
    await unstick()
    handle = client.get_workflow_handle(api.workflow_id(iid))
    old = await handle.fetch_history()
    ev = _events(old)
    # By hand, from the history the deviant worker wrote: dispatch was accepted by the task that
    # completed just before its UpdateAccepted event, and the extra timer is the first timer that
    # task started (the handler starts it before the incident's loop re-arms its own timer).
    accepted = {e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name: e.event_id
                for e in old.events if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}
    dispatch_task = max(i for i in ev if i < accepted["dispatch"] and ev[i].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    extra_timer = min(i for i in ev if i > accepted["dispatch"] and ev[i].event_type == ET.EVENT_TYPE_TIMER_STARTED)
    clock = {name: ev[ev[max(i for i in ev if i < at and ev[i].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)]
                     .workflow_task_completed_event_attributes.started_event_id].event_time.ToDatetime()
             for name, at in accepted.items()}
    old_run = old.run_id

    async with build_worker(client, settings, task_queue=tq):  # the project's code, an empty cache
        await handle.signal("sign_off_signal", m.SignOff(by=lead("monitoring"), group="monitoring",
                                                         lead=LEADS["monitoring"], decision="approve", round=1))

        # (a) seen: the faults view (CLI, API and board read it), the status, the CLI
        row = await eventually(lambda: views.faults(client), lambda rows: any(r["incident_id"] == iid for r in rows),
                               timeout=15)
        row = next(r for r in row if r["incident_id"] == iid)
        assert row["fault"] == "workflow_task_failing" and row["since"], row
        assert row["detail"].startswith("后台处理异常：工作流任务连续失败 ") and "（非确定性错误）" in row["detail"], row
        assert f"ecoplan repair {iid}" in row["detail"]
        looked = time.monotonic()
        with pytest.raises(api.IncidentStuck, match="后台处理异常"):
            await api.status(client, iid)
        assert time.monotonic() - looked < 5  # said at once, not after the query's timeout
        with pytest.raises(web_actions.Stuck, match="后台处理异常"):  # the console's pages and /api/incidents/ID
            await web_actions._status(client, iid)
        got = await cli("faults")
        assert got.code == 0 and "后台处理异常" in got.out and iid in got.out, got
        got = await cli("status", iid)
        assert got.code == 1 and "后台处理异常" in got.err and "ecoplan repair" in got.err, got

        # (b) repaired: a dry run changes nothing; the repair resets to the deviant task
        got = await cli("repair", iid, "--dry-run", "--json")
        assert got.code == 0, got
        dry = json.loads(got.out)
        assert dry["dry_run"] and dry["new_run_id"] is None and dry["text"].startswith("［试运行，未做任何更改］")
        assert (await handle.describe()).run_id == old_run
        got = await cli("repair", iid, "--before-event", "99999")
        assert got.code == 2 and "--before-event 99999：本运行的事件编号为 2–" in got.err, got
        got = await cli("repair", iid, "--by", "运维值班", "--json")
        assert got.code == 0, got
        done = json.loads(got.out)
        assert done["found_by"] == "named" and done["diverges_at_event"] == extra_timer, done
        assert done["reset_to_event"] == dispatch_task and done["kept_upto_event"] == dispatch_task - 1, done
        assert done["run_id"] == old_run and done["new_run_id"] not in (None, old_run)
        sent = [(r["kind"], r["action"], r["outcome"]) for r in done["resend"]]
        assert sent == [("update", "dispatch", "applied"), ("update", "propose_termination", "applied"),
                        ("signal", "sign_off", "sent")], sent
        text = done["text"]
        assert text.startswith(f"事件 {iid} 已修复：其工作流任务") and f"第 {dispatch_task} 个事件" in text, text
        assert "已由本命令按原办理时间重新办理：派出工作组（王值班，原于 " in text and "）：已办理；" in text, text
        assert "签署终止签报（信号）（张监测，原于 " in text and "不会重复送达" in text, text
        for said in (text, dry["text"], row["detail"]):  # a person's words: Chinese, the ids as given
            assert not foreign(said, [iid, old_run, done["new_run_id"], "ecoplan repair"]), said
        again = await cli("repair", iid)
        assert again.code == 1 and "无需修复" in again.err and again.err.count("\n") == 1, again
        nobody = await cli("repair", "no-such-incident")
        assert nobody.code == 1 and "没有事件 no-such-incident" in nobody.err, nobody

        # (c) it goes on: the new run has all that was acknowledged, once, at its own times
        st = await eventually(lambda: api.status(client, iid), lambda s: s["stage"] == "termination_pending"
                              and s["pending_signoffs"] == ["disposal", "investigation"])
        for g in ("disposal", "investigation"):  # actions after the repair
            await api.act(client, iid, "sign_off", m.SignOff(by=lead(g), group=g, lead=LEADS[g], decision="approve",
                                                             round=st["round"]))
        st = await api.status(client, iid)
        assert st["pending_signoffs"] == [], st["pending_signoffs"]
        people = [e["action"] for e in st["timeline"] if e["by"] and e["by"].get("role_id")]
        assert people == ["activate_response", "submit_report", "dispatch", "propose_termination",
                          "sign_off", "sign_off", "sign_off"], people
        assert not any(e["rejected"] for e in st["timeline"]), st["timeline"]
        entry = {e["action"]: e for e in st["timeline"]}
        for name in ("dispatch", "propose_termination"):  # the clock of the task that first took it
            assert datetime.fromisoformat(entry[name]["at"]) == clock[name].replace(tzinfo=timezone.utc), entry[name]
            assert entry[name]["recorded_at"] > entry[name]["at"] and not entry[name].get("backdate_reason")
        first = await client.get_workflow_handle(api.workflow_id(iid), run_id=old_run).fetch_history()
        arrived = next(e.event_time.ToDatetime() for e in first.events
                       if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
        signed = [e for e in st["timeline"] if e["action"] == "sign_off"]
        assert datetime.fromisoformat(signed[0]["at"]) == arrived.replace(tzinfo=timezone.utc), signed[0]
        assert signed[0]["detail"]["group"] == "monitoring", signed[0]
        # What the new run delivered again went under the key it had: the record holds each notice once.
        async def recorded():
            return Counter(n["event"] for n in PageStore(tmp_path / "pages.db").notifications(iid, limit=100))

        sent = await eventually(recorded, lambda c: c["termination_ready"] == 1)
        assert sent["groups_dispatched"] == sent["termination_proposed"] == 1 and set(sent.values()) == {1}, sent
    assert (await handle.describe()).run_id == done["new_run_id"]
    assert not any(r["incident_id"] == iid for r in await views.faults(client))
    rows = audit.entries(AccountStore(tmp_path / "accounts.db").connect(), event="incident_repaired")
    assert [(r.actor, r.outcome, r.detail["incident_id"], r.detail["reset_to_event"]) for r in rows] == [
        ("运维值班", "ok", iid, dispatch_task)]


async def test_the_soak_history_is_reset_to_the_task_before_the_named_event():
    """The soak's stuck incident (TMPRL1100 at event 51, a timer cancel): the repair goes back to
    the task completed at event 49, whose commands begin at 50. Halving over the completed tasks
    with a replay (what a failure that names no event gets) finds the same task."""
    data = json.loads(SOAK.read_text(encoding="utf-8"))
    wid = data["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    events = list(WorkflowHistory.from_json(wid, json.dumps(data)).events)
    failed, started = repair.failing_task(events)
    assert (failed.event_id, started) == (222, 221)
    assert repair.named_event(failed.workflow_task_failed_event_attributes.failure.message) == 51
    tasks = repair.completed_tasks(events)
    assert max(c for _, c in tasks if c < 51) == 49
    named, index = await repair.divergence(wid, events, started - 1)
    assert (named, index) == (51, None)
    _, index = await repair.divergence(wid, events, started - 1, use_named=False)
    assert tasks[index] == (48, 49)


async def test_a_history_that_replays_has_no_divergence():
    data = json.loads(CLEAN.read_text(encoding="utf-8"))
    wid = data["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    events = list(WorkflowHistory.from_json(wid, json.dumps(data)).events)
    assert await repair.divergence(wid, events, events[-1].event_id) == (None, None)
