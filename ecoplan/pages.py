"""Starting pages and acknowledging them (the client side of workflows/paging.py).

page_event starts the page for an event of plan/paging_data on an incident. It starts nothing
when the bureau has set up no channel (readiness says so), and a page that cannot start never
fails the act that caused it: it is logged. A drill's page goes only to its participants (the
account that started the drill: drills carry no participant list yet), every message 【演练】.
"""

from __future__ import annotations

import uuid

import structlog
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.paging import PageRequest
from ecoplan.connection import TASK_QUEUE
from ecoplan.contacts import configured_channels
from ecoplan.errors import ActionRefused, EcoplanError
from plan.paging import load_paging
from workflows.paging import Ack, PagingWorkflow, page_workflow_id

log = structlog.get_logger("ecoplan.pages")


async def start_page(client: Client, req: PageRequest, task_queue: str = TASK_QUEUE) -> str:
    await client.start_workflow(PagingWorkflow.run, req, id=page_workflow_id(req.page_id), task_queue=task_queue,
                                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    return req.page_id


async def page_event(client: Client, event: str, incident_id: str, title: str, body: str, *, drill: bool = False,
                     participants: list[str] | None = None, leads: list[str] | None = None,
                     task_queue: str = TASK_QUEUE) -> str | None:
    if not configured_channels():
        return None
    spec = load_paging().event(event)
    page_id = f"{incident_id}-{event}-{uuid.uuid4().hex[:6]}"
    req = PageRequest(page_id=page_id, incident_id=incident_id, event=event,
                      subject=f"{spec.name if spec else event}：{title}", body=body, drill=drill,
                      participants=participants or [], leads=leads or [])
    try:
        return await start_page(client, req, task_queue)
    except (RPCError, RuntimeError) as e:
        log.error("page_not_started", incident_id=incident_id, page_event=event, error=str(e)[:200])
        return None


async def acknowledge(client: Client, page_id: str, by: str, via: str) -> str:
    handle = client.get_workflow_handle(page_workflow_id(page_id))
    try:
        return await handle.execute_update(PagingWorkflow.acknowledge, Ack(by=by, via=via))
    except WorkflowUpdateFailedError as e:
        raise ActionRefused(str(getattr(e.cause, "message", None) or e.cause or e), "conflict") from None
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND and "completed" in (e.message or ""):
            raise ActionRefused("该呼叫已结束（已确认或已走完呼叫链），无需再确认", "conflict") from None
        if e.status == RPCStatusCode.NOT_FOUND:
            raise EcoplanError(f"没有编号为 {page_id} 的呼叫") from None
        raise


async def page_status(client: Client, page_id: str) -> dict:
    handle = client.get_workflow_handle(page_workflow_id(page_id))
    try:
        return (await handle.query(PagingWorkflow.status)).model_dump(mode="json")
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise EcoplanError(f"没有编号为 {page_id} 的呼叫") from None
        raise
