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
import os
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

import activities.task_failures as tf
from activities.page_store import PageStore
from activities.settings import ActivitySettings
from ecoplan import api, repair, views
from ecoplan.accounts import AccountStore
from ecoplan.web import actions as web_actions
from ecoplan import audit
from plan.incident import ReportContent
from tests.foreign_words import foreign
from tests.helpers import COMMANDER, DUTY, LEADS, SIGNED, eventually, lead, report
from tests.procs import ECOPLAN, DevServer, ecoplan_in_process
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


def _settings(tmp_path) -> tuple[ActivitySettings, dict]:
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl",
                                records_db=tmp_path / "records.db")
    env = {"ECOPLAN_ACCOUNTS_DB": str(tmp_path / "accounts.db"), "ECOPLAN_RECORDS_DB": str(tmp_path / "records.db")}
    return settings, env


async def _unstick(client, iid: str) -> None:
    """The next task goes to the task queue, not to the stopped worker's own (sticky) queue,
    where it would wait out its 10 s schedule-to-start timeout first."""
    await client.workflow_service.reset_sticky_task_queue(ResetStickyTaskQueueRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=api.workflow_id(iid))))


async def _deviant_history(client, settings, tq: str) -> str:
    """An incident whose history the project's code does not replay to: activated and its 初报
    taken by the project's worker, then dispatch and propose_termination by the deviant one."""
    async with build_worker(client, settings, task_queue=tq):
        iid = await api.start_incident(client, report(), task_queue=tq)
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
        await api.act(client, iid, "submit_report", m.SubmitReport(
            **SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await _unstick(client, iid)
    async with build_worker(client, settings, task_queue=tq, interceptors=[Deviant()]):
        await api.act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
        await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物降至本底"))
    await _unstick(client, iid)
    return iid


def _accepted(history) -> dict[str, int]:
    return {e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name: e.event_id
            for e in history.events if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}


def _clocks(history) -> dict[str, datetime]:
    """Each update's business time worked out by hand: the start of the task that completed
    just before its UpdateAccepted event (the task that took it)."""
    ev = _events(history)
    return {name: ev[ev[max(i for i in ev if i < at and ev[i].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)]
                     .workflow_task_completed_event_attributes.started_event_id].event_time.ToDatetime()
            .replace(tzinfo=timezone.utc) for name, at in _accepted(history).items()}


def _sign_off_monitoring() -> m.SignOff:
    return m.SignOff(by=lead("monitoring"), group="monitoring", lead=LEADS["monitoring"], decision="approve", round=1)


async def test_a_stuck_incident_is_seen_repaired_and_goes_on(stuck_server, tmp_path):
    client = await stuck_server.client()
    settings, env = _settings(tmp_path)
    tq = "repair-test"

    async def cli(*args):
        return await ecoplan_in_process(*args, address=stuck_server.address, env_extra=env)

    iid = await _deviant_history(client, settings, tq)
    handle = client.get_workflow_handle(api.workflow_id(iid))
    old = await handle.fetch_history()
    ev = _events(old)
    # By hand, from the history the deviant worker wrote: dispatch was accepted by the task that
    # completed just before its UpdateAccepted event, and the extra timer is the first timer that
    # task started (the handler starts it before the incident's loop re-arms its own timer).
    accepted = _accepted(old)
    dispatch_task = max(i for i in ev if i < accepted["dispatch"] and ev[i].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    extra_timer = min(i for i in ev if i > accepted["dispatch"] and ev[i].event_type == ET.EVENT_TYPE_TIMER_STARTED)
    clock = _clocks(old)
    old_run = old.run_id

    async with build_worker(client, settings, task_queue=tq):  # the project's code, an empty cache
        await handle.signal("sign_off_signal", _sign_off_monitoring())

        # (a) seen: the faults view (CLI, API and board read it), the status, the CLI
        row = await eventually(lambda: views.faults(client), lambda rows: any(r["incident_id"] == iid for r in rows),
                               timeout=15)
        row = next(r for r in row if r["incident_id"] == iid)
        assert row["fault"] == "workflow_task_failing" and row["since"], row
        # The cause is the first failed attempt's, the only one history keeps: the project's
        # worker's TMPRL1100, or, about once in 30 runs, a 10-s timeout of a task the stopped
        # deviant worker's last poll was handed (its retry then meets the same TMPRL1100).
        assert row["detail"].startswith("后台处理异常：工作流任务连续失败 "), row
        assert "（非确定性错误）" in row["detail"] or "（工作流任务超时）" in row["detail"], row
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
        # named by the TMPRL1100 message; found by replaying when the first failure was the timeout
        assert done["found_by"] == ("named" if "（非确定性错误）" in row["detail"] else "replay"), done
        assert done["diverges_at_event"] == extra_timer, done
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
            assert datetime.fromisoformat(entry[name]["at"]) == clock[name], entry[name]
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
    con = AccountStore(tmp_path / "accounts.db").connect()
    rows = audit.entries(con, event="incident_repaired")
    assert [(r.actor, r.outcome, r.detail["incident_id"], r.detail["reset_to_event"]) for r in rows] == [
        ("运维值班", "ok", iid, dispatch_task)]
    begun = audit.entries(con, event="incident_repair_started")  # written before the reset: what it meant to send
    assert [(r.actor, r.detail["run_id"], [x["action"] for x in r.detail["to_resend"]]) for r in begun] == [
        ("运维值班", old_run, ["dispatch", "propose_termination", "sign_off"])]
    assert begun[0].id < rows[0].id


async def test_a_repair_that_died_after_its_reset_is_finished_by_running_it_again(stuck_server, tmp_path):
    """The gap: `ecoplan repair` resets (Temporal's reapply off) and dies before it has sent the
    actions again. A real `ecoplan repair` process is killed after its reset and before any
    resend: the worker is stopped, so the command waits for the new run to answer and cannot
    get further. Running it again sends what the new run lacks, once, by update id and signal
    request id; a third run says 无需修复; sending all of them again by force changes nothing."""
    client = await stuck_server.client()
    settings, env = _settings(tmp_path)
    tq = "resume-test"
    iid = await _deviant_history(client, settings, tq)
    wid = api.workflow_id(iid)
    handle = client.get_workflow_handle(wid)

    async def cli(*args, env_extra=env):
        return await ecoplan_in_process(*args, address=stuck_server.address, env_extra=env_extra)

    async with build_worker(client, settings, task_queue=tq):
        await handle.signal("sign_off_signal", _sign_off_monitoring())
        await eventually(lambda: tf.inspect(client, wid), lambda t: t.stuck, timeout=15)
    old = await handle.fetch_history()
    old_run, clock = old.run_id, _clocks(old)
    keys = {e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name:
            e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            for e in old.events if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}
    activated = keys["activate_response"]  # before the reset point: in the new run's copied history
    keys = {a: keys[a] for a in ("dispatch", "propose_termination")}  # the two the deviant worker took
    signalled = next(e for e in old.events if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    keys["sign_off"] = signalled.workflow_execution_signaled_event_attributes.request_id
    assert keys["sign_off"], "the server records a signal's request id"

    # (a) the first repair dies between its reset and its resends
    proc = await asyncio.create_subprocess_exec(
        ECOPLAN, "repair", iid, "--by", "运维值班", "--wait", "120",
        env={**os.environ, **env, "ECOPLAN_USER": "运维值班", "TEMPORAL_ADDRESS": stuck_server.address,
             "PYTHONPATH": str(ROOT.parent)},  # this checkout's code
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        desc = await eventually(handle.describe, lambda d: d.run_id != old_run, timeout=60)
    finally:
        proc.kill()
        await proc.wait()
    new_run = desc.run_id
    new = await client.get_workflow_handle(wid, run_id=new_run).fetch_history()
    reset_event = repair.own_reset(new.events, new_run)
    assert reset_event.workflow_task_failed_event_attributes.base_run_id == old_run
    assert not set(keys.values()) & repair.keys_in(new.events, new_run), "nothing was sent again before it died"
    con = AccountStore(tmp_path / "accounts.db").connect()
    begun = audit.entries(con, event="incident_repair_started")
    assert [[(x["action"], x["key"]) for x in r.detail["to_resend"]] for r in begun] == [
        [(a, keys[a]) for a in ("dispatch", "propose_termination", "sign_off")]], begun
    assert audit.entries(con, event="incident_repaired") == []
    # what lets the walk back cross a continue-as-new (not brought about here): the base, terminated, is seen
    await eventually(lambda: repair.reset_before(client, wid), bool, timeout=10)

    # (b) what would finish it, before a worker has completed the new run's first task: the new run
    # still carries the base's TemporalReportedProblems mark, but no task of its own keeps failing,
    # so it is not reset again. An action an earlier repair had given to people is not sent.
    assert (await tf.inspect(client, wid)).stuck
    got = await cli("repair", iid, "--dry-run", "--json")
    assert got.code == 0, got
    dry = json.loads(got.out)
    assert dry["resumed"] and [r["key"] for r in dry["resend"]] == [keys[a] for a in (
        "dispatch", "propose_termination", "sign_off")], dry
    assert [(r["base_run_id"], r["new_run_id"]) for r in dry["resets"]] == [(old_run, new_run)]
    assert dry["text"].startswith(f"［试运行，未做任何更改］事件 {iid} 的后台处理正常，但此前的修复未完成："), dry["text"]
    got = await cli("repair", iid, "--before-event", "5")
    assert got.code == 2 and "不加该选项再执行即可补办 3 项操作" in got.err and got.err.count("\n") == 1, got
    other = tmp_path / "other-accounts.db"
    AccountStore(other).audit("incident_repaired", None, actor="运维值班", outcome="ok", incident_id=iid,
                              resent=[{"key": keys["propose_termination"], "outcome": "refused"}])
    got = await cli("repair", iid, "--dry-run", "--json", env_extra={**env, "ECOPLAN_ACCOUNTS_DB": str(other)})
    handed = json.loads(got.out)
    assert [r["key"] for r in handed["resend"]] == [keys["dispatch"], keys["sign_off"]], handed
    assert [r["key"] for r in handed["handed_to_people"]] == [keys["propose_termination"]]
    assert "另有 1 项此前修复重新办理时被事件拒绝、已交相关人员重新办理" in handed["text"], handed["text"]

    async with build_worker(client, settings, task_queue=tq):
        # (c) a second run that itself stops after its first resend: the real code, one action sent
        p = await repair.plan(client, iid)
        assert p.resumed and p.run_id == new_run and [r.action for r in p.resend] == [
            "dispatch", "propose_termination", "sign_off"]
        await repair.ready(client, iid, new_run, 30)
        await repair._send(client, iid, p.resend[0], "运维值班")
        assert p.resend[0].outcome == "applied", p.resend[0]

        # (d) run again: exactly what is missing is sent, and said
        got = await cli("repair", iid, "--by", "运维值班", "--json")
        assert got.code == 0, got
        done = json.loads(got.out)
        assert [(r["action"], r["key"], r["outcome"]) for r in done["resend"]] == [
            ("propose_termination", keys["propose_termination"], "applied"), ("sign_off", keys["sign_off"], "sent")], done
        assert done["already_in_run"] == 1 and done["handed_to_people"] == [], done
        text = done["text"]
        assert text.startswith(f"事件 {iid} 的后台处理正常，但此前的修复未完成：") and f"运行 {old_run} 退回到第 " in text, text
        assert "尚未收到的 2 项操作已由本命令按原办理时间补办：提出终止响应建议（王值班，原于 " in text, text
        assert "另有 1 项当前运行已收到，不再重发" in text and "不会重复办理" in text, text
        assert not foreign(text, [iid, old_run, new_run, "ecoplan repair"]), text
        again = await cli("repair", iid)
        assert again.code == 1 and "无需修复" in again.err and again.err.count("\n") == 1, again
        assert "已受理的操作新运行均已收到" in again.err, again

        # (e) by force, every action again under its key: the server keeps one of each in the run
        for r in p.resend:
            await repair._send(client, iid, r, "运维值班")
        assert [r.outcome for r in p.resend] == ["applied", "applied", "sent"], [(r.outcome, r.reason) for r in p.resend]
        # across the reset boundary: an update id from before the point is the new run's too, answered again
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER), update_id=activated)
        st = await eventually(lambda: api.status(client, iid), lambda s: s["stage"] == "termination_pending"
                              and s["pending_signoffs"] == ["disposal", "investigation"])
    assert (await handle.describe()).run_id == new_run
    now = await client.get_workflow_handle(wid, run_id=new_run).fetch_history()
    counted = Counter(
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED else repair.signal_key(e, new_run)
        for e in now.events if e.event_type in (ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                                               ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED))
    assert {k: counted[k] for k in [*keys.values(), activated]} == {k: 1 for k in [*keys.values(), activated]}, counted
    # every acknowledged action on the timeline once, at its own time
    people = [e for e in st["timeline"] if e["by"] and e["by"].get("role_id")]
    assert [e["action"] for e in people] == ["activate_response", "submit_report", "dispatch",
                                             "propose_termination", "sign_off"], people
    assert not any(e["rejected"] for e in st["timeline"]), st["timeline"]
    entry = {e["action"]: e for e in people}
    for name in ("dispatch", "propose_termination"):
        assert datetime.fromisoformat(entry[name]["at"]) == clock[name], entry[name]
    arrived = signalled.event_time.ToDatetime().replace(tzinfo=timezone.utc)
    assert datetime.fromisoformat(entry["sign_off"]["at"]) == arrived, entry["sign_off"]
    rows = audit.entries(con, event="incident_repaired")
    assert [(r.outcome, r.detail["resumed"], [x["key"] for x in r.detail["resent"]]) for r in rows] == [
        ("ok", True, [keys["propose_termination"], keys["sign_off"]])], rows


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
