"""Starting pages and acknowledging them (the client side of workflows/paging.py).

An incident's pages, the new incident's included, are started by the worker's delivery activity
from the incident's own notifications (activities/page_events.py), never from here: a caller
that dies after starting an incident loses no page. start_page starts one page by hand (tests,
the console's screenshots).
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.paging import PageRequest
from ecoplan.connection import TASK_QUEUE
from ecoplan.errors import ActionRefused, EcoplanError
from workflows.paging import Ack, PagingWorkflow, page_workflow_id


async def start_page(client: Client, req: PageRequest, task_queue: str = TASK_QUEUE) -> str:
    await client.start_workflow(PagingWorkflow.run, req, id=page_workflow_id(req.page_id), task_queue=task_queue,
                                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    return req.page_id


async def acknowledge(client: Client, page_id: str, by: str, via: str) -> str:
    handle = client.get_workflow_handle(page_workflow_id(page_id))
    try:
        return await handle.execute_update(PagingWorkflow.acknowledge, Ack(by=by, via=via))
    except WorkflowUpdateFailedError as e:
        raise ActionRefused(str(getattr(e.cause, "message", None) or e.cause or e), "conflict") from None
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        # NOT_FOUND is also the answer for a page that ended while the update was on its way (its
        # wording varies): whether the page exists says which it is, not the message's text.
        try:
            closed = (await handle.describe()).status != WorkflowExecutionStatus.RUNNING
        except RPCError:
            raise EcoplanError(f"没有编号为 {page_id} 的呼叫") from None
        if closed:
            raise ActionRefused("该呼叫已结束（已确认或已走完呼叫链），无需再确认", "conflict") from None
        raise ActionRefused("该呼叫正在结束，未能确认：请稍后刷新查看", "conflict") from None


async def page_status(client: Client, page_id: str) -> dict:
    handle = client.get_workflow_handle(page_workflow_id(page_id))
    try:
        return (await handle.query(PagingWorkflow.status)).model_dump(mode="json")
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise EcoplanError(f"没有编号为 {page_id} 的呼叫") from None
        raise
