"""Where a page's latency goes (benchmarks/paging.py): each sample's path from its deadline
falling due to the e-mail's arrival, cut into legs read from the two workflows' histories
(the server's own event times):

    due -> timer      the incident's timer fired (the server's timer)
    timer -> wft      the incident's workflow task that handles it started (workflow-task queue)
    wft -> deliver    the `deliver` activity started (activity queue)
    deliver -> page   the page workflow started (deliver's own work: outbox, webhook, record)
    page -> plan      the page's first workflow task to `plan_page` started
    plan -> send      `plan_page` and `page_link` done, `send_page` started
    send -> smtp      the e-mail accepted by the SMTP server
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

LEGS = ("due->timer", "timer->wft", "wft->deliver", "deliver->page", "page->plan", "plan->send", "send->smtp")


def _t(ev) -> float:
    return ev.event_time.ToDatetime().timestamp() if ev.event_time.seconds else float("nan")


def _activity_started(events, name: str) -> float:
    """The start of the first `name` activity (its Started event's time is the real start)."""
    sched = {e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
             and e.activity_task_scheduled_event_attributes.activity_type.name == name}
    for e in events:
        if (e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                and e.activity_task_started_event_attributes.scheduled_event_id in sched):
            return _t(e)
    return float("nan")


async def legs(client, incident_wid: str, page_wid: str, due: float, arrived: float) -> dict[str, float]:
    inc = [e async for e in client.get_workflow_handle(incident_wid).fetch_history_events()]
    page = [e async for e in client.get_workflow_handle(page_wid).fetch_history_events()]
    page_start = _t(page[0])
    # The incident's timer that fell due: the last one fired before the page started.
    fired = [e for e in inc if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED and _t(e) <= page_start]
    timer = _t(fired[-1]) if fired else float("nan")
    wft = next((_t(e) for e in inc if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
                and _t(e) >= timer), float("nan"))
    delivers = [e for e in inc if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and wft <= _t(e) <= page_start]
    deliver = _t(delivers[-1]) if delivers else float("nan")
    page_wft = next((_t(e) for e in page if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED), float("nan"))
    send = _activity_started(page, "send_page")
    points = [due, timer, wft, deliver, page_start, page_wft, send, arrived]
    return {leg: round(b - a, 3) for leg, a, b in zip(LEGS, points, points[1:])}


def summary(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each leg's median and maximum over the samples."""
    import math
    import statistics

    out = {}
    for leg in LEGS:
        xs = [r[leg] for r in rows if not math.isnan(r[leg])]
        if xs:
            out[leg] = {"p50": round(statistics.median(xs), 3), "max": round(max(xs), 3)}
    return out
