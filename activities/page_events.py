"""Pages for the incident's own notifications (issue 23): when the delivery activity takes a
notification whose event the paging data names, it starts that page's workflow first, before the
batch's own work (the outbox, the webhook, printing: a page is its own channel) (PagingWorkflow,
by type name: the activities layer starts it, the workflows layer defines it). The workflow id is
made from the notification's idempotency key, so a retried delivery never starts a second page.
The new incident's page (新接报事件) and the commander's (待批准启动响应) come the same way, from
the incident's own notices (workflows/duty_desk.py), not from the caller that started it.
Nothing starts when no channel is set up.

A drill (issue 23) pages only its participants, every subject starting 【演练】 (workflows/paging.py
adds it where the notice lacks it): each of its notices carries the list (`detail.participants`,
the starter first, workflows/recorder.py), and its page goes to the people the event would reach
for a real incident, limited to that list (ecoplan/paging_people.py: when none of them would be
reached, the drill's starter); nobody outside the list is ever paged. A drill notice without the
list (none was kept then) pages nobody.

The leads a page names (`leads`, for 等待组长签署) are the usernames in the notice's recipients:
"监测组 zhang" (termination_proposed names each lead after the group) gives zhang."""

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
    "incident_reported": "new_incident",
    "activation_awaited": "awaiting_activation",
}
EVENT_NAMES = {"report_due": "报告即将到期", "overdue": "期限已逾期", "signoff_waiting": "等待组长签署",
               "approval_waiting": "等待指挥批示终止", "incident_closed": "事件已结案",
               "warning_issued": "预警已发布", "new_incident": "新接报事件", "awaiting_activation": "待批准启动响应"}


def new_incident_body(d: dict) -> str:
    """What the duty desk's page says of a new incident (issue 23): where, what, when it was
    taken, who reported it, and the report's own words (`d`: the notice's detail, or a report)."""
    from datetime import datetime

    from activities.documents.mapping import TYPE_NAMES
    from plan.calendar import SHANGHAI

    at = d.get("reported_at")
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    when = f"；接报 {at.astimezone(SHANGHAI):%m-%d %H:%M}" if at else ""
    kind = d.get("incident_type", "")
    return (f"{d.get('county', '')} {d.get('location', '')}，{TYPE_NAMES.get(kind, kind)}{when}，"
            f"报告人 {d.get('reporter', '')}。{d.get('description', '')}")[:400]


def _body(event: str, n: Notification) -> str:
    if event == "new_incident":
        return new_incident_body(n.detail)
    if event == "awaiting_activation" and n.detail.get("level"):
        return (f"{EVENT_NAMES[event]}：{n.detail['level']}级（{n.detail.get('level_name', '')}），"
                f"须经局指挥部总指挥批准（附件1）。事件 {n.incident_id}")
    return f"{EVENT_NAMES[event]}。事件 {n.incident_id}"


def _leads(recipients: list[str]) -> list[str]:
    """The usernames among a notice's recipients, each the last word of its entry ("监测组 zhang");
    a post or a name typed at dispatch (值班员, 张监测) is no account and names nobody."""
    words = [r.split()[-1] for r in recipients if r.split()]
    return [w for w in dict.fromkeys(words) if w.isascii()]


def requests(notifications: list[Notification]) -> list[PageRequest]:
    if not configured_channels():
        return []
    out = []
    for n in notifications:
        event = EVENT_PAGES.get(n.event)
        participants = [str(p) for p in n.detail.get("participants", [])] if n.drill else []
        if event is None or n.drill and not participants:
            continue
        out.append(PageRequest(page_id=n.key.replace("/", "-"), incident_id=n.incident_id, event=event,
                               subject=n.subject, body=_body(event, n), drill=n.drill, participants=participants,
                               leads=_leads(n.recipients), at=n.at))
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
