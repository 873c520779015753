"""Driving ecoplan and its bare baseline: the incidents, their life-cycle actions, the
baseline's script read from a recorded ecoplan history, and the workers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from activities.settings import ActivitySettings
from benchmarks.baseline import BareWorkflow, bare_activity
from benchmarks.common import COMMANDER, DUTY, FOLLOW_UP, GROUPS, LEADS, SIGNED
from ecoplan import api
from plan.calendar import SHANGHAI
from plan.incident import Actor, IncidentReport, ReportContent
from workflows import messages as m


# ------------------------------------------------------------------ driving ecoplan


def incident_report(*, drill: bool = False, county: str = "平定县", backdate: timedelta = timedelta(0),
                    prefix: str = "b") -> IncidentReport:
    now = datetime.now(SHANGHAI)
    return IncidentReport(
        incident_id=f"{prefix}-{uuid.uuid4().hex[:12]}",
        title="桃河化工厂储罐泄漏（基准测试）" if not drill else "桃河化工厂储罐泄漏（演练）",
        discovered_at=now - timedelta(minutes=30) - backdate,
        reported_at=now - timedelta(minutes=20) - backdate,
        county=county, location="冶西镇桃河段", incident_type="water",
        description="储罐泄漏，部分物料进入桃河", source="hotline_12369", reporter="刘报告", drill=drill,
    )


def _late(at: datetime | None) -> str | None:
    """补录说明 for a backdated benchmark incident (actions entered more than 1 h after `at`)."""
    return "基准测试：按业务时间补录" if at is not None and datetime.now(SHANGHAI) - at > timedelta(hours=1) else None


def lifecycle_actions(at: datetime | None = None) -> list[tuple[str, m.Action]]:
    """The brief's life cycle: activate → dispatch → initial report → propose termination →
    three sign-offs → approval → (investigation, which close requires) → review passed →
    assessment report → close."""
    return [
        ("activate_response", m.ActivateResponse(by=COMMANDER, at=at, backdate_reason=_late(at))),
        ("dispatch", m.Dispatch(by=DUTY, leads=LEADS, at=at, backdate_reason=_late(at))),
        ("submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报"), at=at, backdate_reason=_late(at))),
        ("propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平", at=at, backdate_reason=_late(at))),
        *[("sign_off", sign_off(g, at)) for g in GROUPS],
        ("approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意终止", at=at, backdate_reason=_late(at))),
        ("complete_investigation", m.CompleteInvestigation(by=DUTY, at=at, backdate_reason=_late(at))),
        ("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, at=at, backdate_reason=_late(at))),
        ("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY, at=at, backdate_reason=_late(at))),
        ("submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="final", content=ReportContent(summary="处理结果报告"), at=at, backdate_reason=_late(at))),
        ("close", m.Close(by=DUTY, at=at, backdate_reason=_late(at))),
    ]


def sign_off(group: str, at: datetime | None = None) -> m.SignOff:
    return m.SignOff(round=1, by=Actor(name=LEADS[group], role="工作组组长", role_id="lead", via="cli"), group=group, lead=LEADS[group],
                     decision="approve", opinion=f"{group} 同意终止", at=at, backdate_reason=_late(at))


async def eco_lifecycle(client: Client, task_queue: str) -> str:
    iid = await api.start_incident(client, incident_report(), task_queue=task_queue)
    for action, inp in lifecycle_actions():
        await api.act(client, iid, action, inp)
    await client.get_workflow_handle(api.workflow_id(iid)).result()
    return iid


async def bare_lifecycle(client: Client, task_queue: str, script: dict) -> str:
    wid = f"bare-{uuid.uuid4().hex[:12]}"
    h = await client.start_workflow(BareWorkflow.run, script["start"], id=wid, task_queue=task_queue)
    # The same start protocol as api.start_incident: query at once, then every 0.1 s until ready.
    while not await h.query(BareWorkflow.ready):
        await asyncio.sleep(0.1)
    for step in script["steps"]:
        await h.execute_update(BareWorkflow.step, step)
    await h.result()
    return wid


# ------------------------------------------------------------------ histories → the baseline's script

AWAITED_IN_HANDLER = {"load_plan_snapshot", "calendar_answer"}  # awaited by run()/_open or handlers
AWAITED_IN_LOOP: set[str] = set()  # the main loop's calendar_answer is counted with the handlers'


def _ev_name(e) -> str:
    return EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")


def count_events(history: WorkflowHistory) -> dict[str, int]:
    names = [_ev_name(e) for e in history.events]
    return {
        "events": len(names),
        "updates": names.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"),
        "activities": names.count("ACTIVITY_TASK_SCHEDULED"),
        "timers": names.count("TIMER_STARTED"),
        "workflow_tasks": names.count("WORKFLOW_TASK_COMPLETED"),
        "search_attribute_upserts": names.count("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"),
        "memo_upserts": names.count("WORKFLOW_PROPERTIES_MODIFIED"),
        "history_bytes": sum(e.ByteSize() for e in history.events),  # protobuf, as the server stores it
    }


def script_from_history(history: WorkflowHistory, refs: bool = False) -> dict:
    """Per update of the recorded ecoplan incident: the activities (awaited by the handler,
    awaited by the main loop, or started in the background) and timers scheduled between
    it and the next update. The start segment is what happened before the first update.
    `refs`: each segment names its activities by their ecoplan activity ids too
    (`awaited_refs`, `background_refs`: the same-work baseline, benchmarks/same_work.py)."""
    segments: list[dict] = [{"name": "start", "awaited": 0, "loop_awaited": 0, "background": 0, "timers": 0}]
    for e in history.events:
        name = _ev_name(e)
        seg = segments[-1]
        if name == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            upd = e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            segments.append({"name": upd, "awaited": 0, "loop_awaited": 0, "background": 0, "timers": 0})
        elif name == "ACTIVITY_TASK_SCHEDULED":
            kind = e.activity_task_scheduled_event_attributes.activity_type.name
            key = ("awaited" if kind in AWAITED_IN_HANDLER else
                   "loop_awaited" if kind in AWAITED_IN_LOOP else "background")
            seg[key] += 1
            if refs:
                ref_key = "background_refs" if key == "background" else "awaited_refs"
                seg.setdefault(ref_key, []).append(e.activity_task_scheduled_event_attributes.activity_id)
        elif name == "TIMER_STARTED":
            seg["timers"] += 1
    start, steps = segments[0], segments[1:]
    if steps:
        steps[-1]["close"] = True
    return {"start": start, "steps": steps}


async def history_of(client: Client, wid: str) -> WorkflowHistory:
    return await client.get_workflow_handle(wid).fetch_history()


# ------------------------------------------------------------------ workers


@contextlib.asynccontextmanager
async def eco_worker(client: Client, task_queue: str, settings: ActivitySettings, **options):
    from worker import build_worker

    async with build_worker(client, settings, task_queue=task_queue, **options):
        yield


@contextlib.asynccontextmanager
async def bare_worker(client: Client, task_queue: str, activities: tuple = (), **options):
    # Same shape as ecoplan's worker: synchronous activities in a 16-thread pool, SDK defaults.
    # `activities`: the same-work baseline's (benchmarks/same_work.py) beside the no-op one.
    async with Worker(client, task_queue=task_queue, workflows=[BareWorkflow], activities=[bare_activity, *activities],
                      activity_executor=ThreadPoolExecutor(max_workers=16), **options):
        yield
