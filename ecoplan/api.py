"""The Python client API under the `ecoplan` CLI: start an incident, act on it, read it.

Errors come back as one exception type per thing a person must hear about:
IncidentExists, IncidentNotFound, IncidentClosed, ActionRefused (the validator's own
sentence), each with a message fit to print as it is.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ecoplan.connection import TASK_QUEUE
from ecoplan.errors import (ActionRefused, EcoplanError, IncidentBusy, IncidentClosed, IncidentExists,  # noqa: F401
                            IncidentNotFound, IncidentNotReady, IncidentStuck)
from plan.calendar import SHANGHAI
from plan.incident import Actor, IncidentReport, county_problem, start_time_problem
from plan.loader import PlanError, load_plan
from activities import search_attributes as sa
from activities import task_failures
from workflows.incident import IncidentWorkflow
from workflows.errors import refusal_field, refusal_kind
from workflows.messages import Action, ActionResult, IncidentInput


def workflow_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


def new_incident_id(now: datetime | None = None) -> str:
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return f"{now:%Y%m%d}-{uuid.uuid4().hex[:6]}"


async def start_incident(client: Client, report: IncidentReport, task_queue: str = TASK_QUEUE,
                         wait_ready: float = 30.0, started_by: Actor | None = None,
                         drill_participants: list[str] = ()) -> str:
    """Start the incident's workflow; refuse a second execution for an existing id. Waits
    (bounded) until the workflow has pinned its plan, so the next action is accepted.
    `drill_participants`: a drill's, as usernames with the starter first, checked against the
    accounts by the caller (ecoplan.people.drill_participants); without them a drill's only
    participant is its starter."""
    problem = start_time_problem(report, datetime.now(SHANGHAI))
    if problem:
        raise ActionRefused(problem, "invalid")
    try:
        plan = load_plan(report.plan)  # a plan that does not load is refused here, before anything starts
    except PlanError as e:
        raise ActionRefused(str(e)) from None
    problem = county_problem(report, plan.plan.counties.names if plan.plan.counties else [])
    if problem:
        raise ActionRefused(problem, "invalid")
    incident_id = report.incident_id or new_incident_id()
    report = report.model_copy(update={"incident_id": incident_id})
    try:
        handle = await client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(report=report, started_by=started_by,
                          drill_participants=list(drill_participants) if report.drill else []),
            id=workflow_id(incident_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            memo={"title": report.title, "county": report.county, "incident_type": report.incident_type,
                  "reported_at": report.reported_at.isoformat()},  # the daily report counts by it
            # Set at start so supervisor views see (and drill filters exclude) it at once.
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(sa.STAGE, "reported"), SearchAttributePair(sa.COUNTY, report.county),
                SearchAttributePair(sa.INCIDENT_TYPE, report.incident_type),
                SearchAttributePair(sa.DRILL, report.drill), SearchAttributePair(sa.PLAN, plan.plan.id),
            ]),
        )
    except WorkflowAlreadyStartedError:
        raise IncidentExists(f"事件 {incident_id} 已存在，未新建事件") from None
    if wait_ready:
        await _wait_until_ready(handle, wait_ready)
    # The duty desk's page (新接报事件) is the incident's own: its first notice, delivered and paged
    # by the worker under the notice's key (workflows/duty_desk.py), so nothing is paged from here.
    return incident_id


async def _wait_until_ready(handle: WorkflowHandle, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    problem = None
    while True:
        try:
            st = await handle.query(IncidentWorkflow.status)
            if st.get("stage"):
                return
            problem = st.get("problem") or problem
        except RPCError:
            pass
        iid = handle.id.removeprefix("incident-")
        if problem and loop.time() > end - seconds + 10:  # a worker answered, and it named the cause
            raise IncidentNotReady(f"事件 {iid} 已建立，但尚未就绪：{problem}；就绪与否可查看事件状态")
        if loop.time() > end:
            raise IncidentNotReady(f"事件 {iid} 已建立，但 {seconds:.0f} 秒内没有工作进程接手：工作进程（make run）是否在运行？")
        await asyncio.sleep(0.1)


def _not_found(e: RPCError, incident_id: str) -> EcoplanError | None:
    if e.status == RPCStatusCode.NOT_FOUND:
        text = str(e).lower()
        if "completed" in text or "closed" in text or "closing" in text:
            return IncidentClosed(f"事件 {incident_id} 已结案，不能再办理任何操作")
        return IncidentNotFound(f"没有事件 {incident_id}")
    return None


async def act(client: Client, incident_id: str, action: str, inp: Action, update_id: str | None = None) -> ActionResult:
    """Run one human action (a Workflow Update) and return what the incident says. An
    `update_id` makes a retried call run once: Temporal dedupes update ids within a run, and
    the incident remembers its newest ones across runs. While the incident moves to its next
    run nothing is refused: the action is applied in the old run or the new (contracts.md)."""
    handle = client.get_workflow_handle(workflow_id(incident_id))
    # One id for every try: Temporal runs an update id once, so a retry cannot double an action.
    update_id = update_id or f"{action}-{uuid.uuid4().hex}"
    attempt = 0
    while True:
        try:
            return await handle.execute_update(action, inp, id=update_id, result_type=ActionResult)
        except WorkflowUpdateFailedError as e:
            if unprocessed(e) and attempt < 4:  # not applied (the server says so): send it again
                attempt += 1
                await asyncio.sleep(0.2 * attempt)
                continue
            # The generic message says "update failed"; the validator's sentence is the cause.
            cause = e.cause
            if isinstance(cause, ApplicationError):
                raise ActionRefused(cause.message, refusal_kind(cause), refusal_field(cause)) from None
            raise ActionRefused(str(cause or e)) from None
        except RPCError as e:
            # A workflow task that raced with this update (e.g. while the incident moves to a
            # new run) was failed by the server and the update not applied: send it again.
            if "unexpected workflow task failure" in str(e) and attempt < 4:
                attempt += 1
                await asyncio.sleep(0.2 * attempt)
                continue
            if e.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                # More than 10 actions in flight on one incident (the SDK has already retried
                # for ~10 s): the server applied nothing.
                raise IncidentBusy(f"事件 {incident_id} 正忙于办理其他操作，本次操作未办理：请重新提交") from None
            raise (_not_found(e, incident_id) or e) from None


# The server's own rejection of an update no workflow task answered (seen in the chaos soak,
# with workers killed and the server restarted under load): nothing was applied, and the
# same update id sent again is run afresh (docs/contracts.md).
UNPROCESSED = "wasn't processed by worker"


def unprocessed(e: WorkflowUpdateFailedError) -> bool:
    """Whether an update failure is the server's 'not processed by the worker' rejection,
    not the incident's refusal (an ApplicationError of type Refused)."""
    cause = e.cause
    return not (isinstance(cause, ApplicationError) and cause.type == "Refused") and UNPROCESSED in str(cause)


async def signal_action(client: Client, incident_id: str, action: str, inp: Action,
                        request_id: str | None = None) -> None:
    """Send an action that may be taken fire-and-forget (its spec's `signal`): the incident
    records it, or records it as rejected with why; nothing comes back."""
    await signal(client, incident_id, f"{action}_signal", inp, request_id=request_id)


async def signal(client: Client, incident_id: str, name: str, *args, request_id: str | None = None) -> None:
    """A signal to the incident's current run. A `request_id` makes a resent signal land once:
    the server keeps one signal per request id in a run, and records the id on the event
    (`ecoplan repair` resends a signal under the id it first came with)."""
    try:
        if request_id is None:
            await client.get_workflow_handle(workflow_id(incident_id)).signal(name, *args)
            return
        from temporalio.api.common.v1 import WorkflowExecution
        from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest

        # The SDK's handle gives every call a fresh request id: the request is made here instead.
        req = SignalWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id(incident_id)),
            signal_name=name, identity=client.identity, request_id=request_id)
        req.input.payloads.extend(await client.data_converter.encode(list(args)))
        await client.workflow_service.signal_workflow_execution(req, retry=True)
    except RPCError as e:
        raise (_not_found(e, incident_id) or e) from None


# A status query waits this long before asking whether the incident's workflow task is failing:
# such an incident never answers (the query waits for a task that does not complete), and
# the person looking should hear why at once, not after the call's own timeout.
STUCK_LOOK = 1.0


async def status(client: Client, incident_id: str) -> dict:
    handle = client.get_workflow_handle(workflow_id(incident_id))
    query = asyncio.ensure_future(handle.query(IncidentWorkflow.status))
    try:
        done, _ = await asyncio.wait({query}, timeout=STUCK_LOOK)
        if not done:
            await _raise_if_stuck(client, incident_id)
        return await query
    except RPCError as e:
        if not (found := _not_found(e, incident_id)) and e.status != RPCStatusCode.UNAVAILABLE:
            await _raise_if_stuck(client, incident_id)  # unreachable: a describe would fail too
        raise (found or e) from None
    finally:
        if query.done() and not query.cancelled():
            query.exception()  # retrieved: an answer given up for IncidentStuck is not logged as lost
        query.cancel()


async def _raise_if_stuck(client: Client, incident_id: str) -> None:
    """IncidentStuck when the incident's workflow task keeps failing (one describe, and a short
    read of its history only then)."""
    try:
        t = await task_failures.inspect(client, workflow_id(incident_id))
    except RPCError:
        return  # the query's own answer says what is wrong
    if t.stuck:
        raise IncidentStuck(t.sentence(incident_id))
