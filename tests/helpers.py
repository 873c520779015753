"""Shared test helpers: a report, actors, and bounded polling (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from plan.calendar import SHANGHAI
from plan.incident import Actor, IncidentReport

# Actors as the CLI sends them (plan role id and name, via cli): the workflow checks each
# against the plan's authority table.
DUTY = Actor(name="王值班", role="值班员", role_id="duty_officer", via="cli")
COMMANDER = Actor(name="李局长", role="指挥", role_id="commander", via="cli")
LEADS = {"monitoring": "张监测", "disposal": "赵处置", "investigation": "钱排查"}
# What every written report names (17号令 第十四条); the unit defaults to the plan's (the bureau).
SIGNED = {"signed_by": "李局长", "contact_person": "王值班", "contact_phone": "0353-2020000"}
# A warning is the city government's act: the bureau records its issuer and document (3.3).
CITY_WARNING = {"issued_by": "阳泉市人民政府", "document_number": "阳政发〔2026〕18号"}
# 4.4: the follow-up monitoring decision recorded when termination is approved.
FOLLOW_UP = {"continue_monitoring": False, "decided_by": "市应急指挥部会同专家组"}


def now() -> datetime:
    return datetime.now(SHANGHAI)


def report(**over: Any) -> IncidentReport:
    base = dict(
        incident_id=f"t-{uuid.uuid4().hex[:10]}",
        title="桃河化工厂泄漏",
        discovered_at=now() - timedelta(minutes=30),
        reported_at=now() - timedelta(minutes=20),
        county="平定县",
        location="桃河冶西段",
        incident_type="water",
        description="储罐泄漏，部分物料进入桃河",
        source="hotline_12369",
        reporter="刘报告",
    )
    base.update(over)
    return IncidentReport(**base)


def lead(group: str) -> Actor:
    return Actor(name=LEADS[group], role="工作组组长", role_id="lead", via="cli")


async def eventually(fn: Callable[[], Awaitable[Any]], check: Callable[[Any], bool],
                     timeout: float = 15.0, interval: float = 0.2,
                     between: Callable[[], Awaitable[Any]] | None = None) -> Any:
    """Poll `fn` until `check` holds, for at most `timeout` seconds; return the last value.
    `between`, when given, is awaited between looks (advancing: moves a virtual clock on)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await fn()
        if check(value):
            return value
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        if between is not None:
            await between()
        await asyncio.sleep(interval)


async def advancing(env, handle, fn: Callable[[], Awaitable[Any]], check: Callable[[Any], bool],
                    step: timedelta = timedelta(seconds=4), timeout: float = 30.0) -> Any:
    """`eventually` for an incident on a time-skipping server (conftest `skipping_env`): between
    looks, its virtual clock moves on by `step`, so the workflow's own timers (a delivery's
    backoff) fire without waiting them out; the work they start (an activity's real call) still
    runs. For at most `timeout` seconds of real time; returns the last value."""
    return await eventually(fn, check, timeout, between=lambda: env.fast_forward(handle, step))


LATE_ENTRY = "测试：按业务时间补录"  # 补录说明 for tests that drive an incident on backdated business times


def with_reason(inp):
    """The action with a late-entry reason when its `at` is more than an hour back (the rule
    itself is tested in test_workflow2.py; other tests drive business times freely)."""
    if getattr(inp, "at", None) is not None and now() - inp.at > timedelta(hours=1) and not inp.backdate_reason:
        return inp.model_copy(update={"backdate_reason": LATE_ENTRY})
    return inp


def settled(st: dict) -> dict:
    """A status without what background deliveries change (documents written): for comparing
    the state before and after a refused action."""
    return {k: v for k, v in st.items() if k not in ("documents", "documents_count", "deliveries_overdue")}


async def settled_history(client, workflow_id: str, timeout: float = 15.0):
    """Wait until the incident has nothing under way in the background (the records store's
    first save, printing): no pending activity and its last workflow task completed. Returns
    the history then."""
    from temporalio.api.enums.v1 import EventType

    handle = client.get_workflow_handle(workflow_id)

    async def look():
        desc = await handle.describe()
        history = await handle.fetch_history()
        return desc.raw_description.pending_activities, history

    _, history = await eventually(
        look, lambda v: not v[0] and v[1].events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        timeout=timeout)
    return history
