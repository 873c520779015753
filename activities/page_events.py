"""Pages for the incident's own notifications (issue 23): when the delivery activity has sent a
notification whose event the paging data names, it starts that page's workflow (PagingWorkflow,
by type name: the activities layer starts it, the workflows layer defines it). The workflow id is
made from the notification's idempotency key, so a retried delivery never starts a second page.
Nothing starts when no channel is set up, and never for a drill (drills carry no participant
list yet: a drill pages only its participants, and the console's drill start names them)."""

from __future__ import annotations

import structlog

from activities.channels.dispatch import configured_channels
from activities.notify import Notification
from activities.paging import PageRequest

log = structlog.get_logger("ecoplan.page_events")

# The incident's notification event -> the paging event of plan/paging_data.
EVENT_PAGES = {
    "deadline_reminder": "report_due",
    "deadline_overdue": "overdue",
    "termination_proposed": "signoff_waiting",
    "termination_ready": "approval_waiting",
    "incident_closed": "incident_closed",
    "warning_issued": "warning_issued",
}
EVENT_NAMES = {"report_due": "报告即将到期", "overdue": "期限已逾期", "signoff_waiting": "等待组长签署",
               "approval_waiting": "等待指挥批示终止", "incident_closed": "事件已结案",
               "warning_issued": "预警已发布"}


def requests(notifications: list[Notification]) -> list[PageRequest]:
    if not configured_channels():
        return []
    out = []
    for n in notifications:
        event = EVENT_PAGES.get(n.event)
        if event is None or n.drill:
            continue
        out.append(PageRequest(page_id=n.key.replace("/", "-"), incident_id=n.incident_id, event=event,
                               subject=n.subject, body=f"{EVENT_NAMES[event]}。事件 {n.incident_id}",
                               leads=[r for r in n.recipients if r.isascii()], at=n.at))
    return out


async def start_pages(client, notifications: list[Notification], task_queue: str) -> None:
    """Start each page; one already started (a retried delivery) is left as it is."""
    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    for req in requests(notifications):
        try:
            await client.start_workflow("PagingWorkflow", req, id=f"page-{req.page_id}", task_queue=task_queue,
                                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            pass
        except Exception as e:  # a page that cannot start never fails the incident's delivery: logged
            log.error("page_not_started", page_id=req.page_id, error=str(e)[:200])
