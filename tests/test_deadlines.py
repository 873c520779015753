"""Deadlines against the real dev server, with time controlled honestly by backdating the
business timestamps (discovered_at, at, review_date): a deadline a few seconds away goes
overdue for real (timer, escalation, search attribute), and a late action makes it met_late."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from ecoplan import api
from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.incident import ReportContent
from tests.drive import (act, deadline, outbox, outbox_events, overdue_listed, parse, timeline, to_post_event)
from tests import workdays
from tests.helpers import COMMANDER, DUTY, SIGNED, eventually, now, report
from workflows import messages as m


async def _status_until(client, iid: str, name: str, status: str, timeout: float = 20) -> dict:
    return await eventually(lambda: api.status(client, iid),
                            lambda st: (deadline(st, name) or {}).get("status") == status, timeout=timeout)


async def _not_listed(client, iid: str, name: str) -> None:
    query = f"WorkflowId = '{api.workflow_id(iid)}' AND EcoOverdue = '{name}'"

    async def listed():
        return [w async for w in client.list_workflows(query)]

    await eventually(listed, lambda ws: ws == [])


def _overdue_rows(settings, iid: str, name: str) -> list[dict]:
    return [r for r in outbox(settings, iid) if r["event"] == "deadline_overdue" and r["detail"]["deadline"] == name]


@pytest.mark.parametrize("assessment, hours", [
    pytest.param(Assessment(), 4, id="IV-4h"),
    pytest.param(Assessment(deaths=30), 2, id="I-2h"),
])
async def test_initial_report_overdue_then_met_late(client, worker, assessment, hours):
    t0 = now()
    discovered = t0 - timedelta(hours=hours) + timedelta(seconds=3)
    r = report(assessment=assessment, discovered_at=discovered, reported_at=discovered + timedelta(seconds=1))
    iid = await api.start_incident(client, r)
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    # 17号令 第三条: from when the bureau learned (reported_at = discovered + 1 s)
    assert d["status"] == "pending" and parse(d["due_at"]) == discovered + timedelta(hours=hours, seconds=1)
    assert d["reminders_sent"] == 1  # the 1-hour reminder is already past: not sent as noise

    st = await eventually(lambda: api.status(client, iid),
                          lambda s: deadline(s, "initial_report")["next_escalation_at"] is not None)
    d = deadline(st, "initial_report")
    assert d["status"] == "overdue" and d["escalations"] == 1
    assert parse(d["next_escalation_at"]) > parse(d["due_at"]) + timedelta(hours=1)  # repeats every 2 h
    [entry] = timeline(st, "deadline_overdue")
    assert entry["by"] is None and entry["detail"]["deadline"] == "initial_report"
    assert entry["detail"]["who_acts"] == "局指挥部办公室"
    assert "局指挥部办公室" in st["waiting_on"]

    await outbox_events(worker, iid, "deadline_overdue")
    [row] = _overdue_rows(worker, iid, "initial_report")
    assert row["recipients"] == ["局指挥部办公室", "带班领导", "局指挥部办公室主任"]
    assert row["detail"]["escalation"] == 1 and row["detail"]["late_by_seconds"] >= 0
    assert "逾期" in row["subject"] and "初报" in row["subject"]
    assert not [r for r in outbox(worker, iid) if r["event"] == "deadline_reminder"]
    [listed] = await overdue_listed(client, iid, "initial_report")
    assert listed.status.name == "RUNNING"

    # a late initial report: met_late, no longer listed as overdue
    late = now()
    await act(client, iid, "submit_report",
              m.SubmitReport(**SIGNED, by=DUTY, at=late, kind="initial", content=ReportContent(summary="迟报的初报")))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert d["status"] == "met_late" and d["next_escalation_at"] is None
    assert parse(d["met_at"]) == late
    await _not_listed(client, iid, "initial_report")
    assert len(_overdue_rows(worker, iid, "initial_report")) == 1


async def test_initial_report_in_time_is_met_not_late(client, worker):
    discovered = now() - timedelta(hours=4) + timedelta(seconds=2)
    iid = await api.start_incident(client, report(discovered_at=discovered, reported_at=discovered))
    await act(client, iid, "submit_report",
              m.SubmitReport(**SIGNED, by=DUTY, at=discovered + timedelta(hours=1), kind="initial",
                             content=ReportContent(summary="初报")))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert d["status"] == "met" and d["met_at"] == (discovered + timedelta(hours=1)).isoformat()
    # let the due time pass (bounded), then wake the workflow: nothing fires for a met deadline
    due = parse(d["due_at"])
    await eventually(lambda: api.status(client, iid), lambda _: now() > due + timedelta(seconds=0.5), timeout=10)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    st = await api.status(client, iid)
    assert deadline(st, "initial_report")["status"] == "met"
    assert timeline(st, "deadline_overdue") == []
    assert not [r for r in outbox(worker, iid) if r["event"] == "deadline_overdue"]


async def test_report_made_in_time_but_recorded_after_the_timer_fired_is_met(client, worker):
    """Business time decides: the 初报 was made (phoned in) in time and recorded after the
    deadline had fired. It is met, not met_late; the overdue entry stays in the timeline."""
    discovered = now() - timedelta(hours=4) + timedelta(seconds=2)
    iid = await api.start_incident(client, report(discovered_at=discovered, reported_at=discovered))
    await _status_until(client, iid, "initial_report", "overdue")
    made_at = discovered + timedelta(hours=3)
    await act(client, iid, "submit_report",
              m.SubmitReport(**SIGNED, by=DUTY, at=made_at, kind="initial", content=ReportContent(summary="电话初报补录")))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert (d["status"], parse(d["met_at"]), d["next_escalation_at"]) == ("met", made_at, None)
    assert [e["detail"]["deadline"] for e in timeline(st, "deadline_overdue")] == ["initial_report"]
    await _not_listed(client, iid, "initial_report")


async def test_readiness_overdue_then_met_late_by_dispatch(client, worker):
    t0 = now()
    r = report(assessment=Assessment(direct_loss_yuan=5_000_000),  # III
               discovered_at=t0 - timedelta(hours=2), reported_at=t0 - timedelta(hours=2))
    iid = await api.start_incident(client, r)
    activated = t0 - timedelta(hours=1) + timedelta(seconds=3)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=activated))
    d = deadline(await api.status(client, iid), "readiness")
    due = activated + timedelta(hours=1)
    assert parse(d["due_at"]) == due
    # Read before it fell due, it must be pending; on a loaded machine the 3 s may already be past.
    if now() < due:
        assert d["status"] == "pending"
    await _status_until(client, iid, "readiness", "overdue")
    await overdue_listed(client, iid, "readiness")
    await outbox_events(worker, iid, "deadline_overdue")
    [row] = _overdue_rows(worker, iid, "readiness")
    assert row["recipients"] == ["局指挥部各成员单位", "局指挥部指挥", "局指挥部办公室主任"]
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads={"monitoring": "张监测", "disposal": "赵处置",
                                                                   "investigation": "钱排查"}))
    assert deadline(await api.status(client, iid), "readiness")["status"] == "met_late"


def _working_days_ago(n: int, today: date) -> date:
    d = today
    while n > 0:
        d -= timedelta(days=1)
        n -= workdays.is_workday(d)[0]
    return d


async def _post_event_discovered(client, discovered: datetime) -> str:
    """An incident discovered long ago whose initial report was made in time (so only the
    deadline under test can be overdue), driven to post_event with present-day actions. 较大
    (III): the assessment and its report are the bureau's own only at III (5.3)."""
    iid = await api.start_incident(client, report(discovered_at=discovered, reported_at=discovered + timedelta(minutes=30),
                                                  assessment=Assessment(direct_loss_yuan=5_000_000)))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=discovered + timedelta(hours=1),
                                                           kind="initial", content=ReportContent(summary="初报")))
    await to_post_event(client, iid, initial_report=False)
    return iid


@pytest.mark.parametrize("ago", [40, 60])
async def test_assessment_report_overdue_at_once_when_review_backdated(client, worker, ago):
    """Overdue for 20 (or 40) working days the moment it is entered: the next escalation is
    still the next working morning. (Before 2026-12-07 the mornings were worked out from the
    due date only, 20 of them: overdue past those, the next escalation was `now + 24 h`, on
    a Saturday as readily as on a Monday; seen as a red suite at 09:50 one morning.)"""
    today = now().date()
    review = _working_days_ago(ago, today)
    discovered = datetime.combine(review - timedelta(days=10), time(10, 0), tzinfo=SHANGHAI)
    iid = await _post_event_discovered(client, discovered)
    st = await api.status(client, iid)
    assert [(d["name"], d["status"]) for d in st["deadlines"]] == [
        ("initial_report", "met"), ("readiness", "met"), ("assessment_completion", "pending")]

    before = now()
    res = await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, review_date=review))
    expected_due, expected_provisional = workdays.nth_workday_after(review, 20)
    assert f"应于 {expected_due} 前完成" in res.message
    # overdue, escalated, and the next escalation computed by the calendar activity
    st = await eventually(lambda: api.status(client, iid),
                          lambda s: (deadline(s, "assessment_report") or {}).get("next_escalation_at") is not None,
                          timeout=30)
    d = deadline(st, "assessment_report")
    assert d["status"] == "overdue"
    assert date.fromisoformat(d["due_date"]) == expected_due and d["provisional"] is expected_provisional
    assert d["reminders_sent"] == 2 and d["escalations"] == 1
    # the next escalation: the next working day's morning, from the calendar activity
    nxt = parse(d["next_escalation_at"])
    assert nxt in {workdays.next_working_morning(before), workdays.next_working_morning(now())}
    assert st["review_date"] == review.isoformat()
    assert deadline(st, "assessment_completion")["status"] == "met"  # met by the review
    assert [e for e in timeline(st, "deadline_overdue") if e["detail"]["deadline"] == "assessment_report"]

    await overdue_listed(client, iid, "assessment_report")
    async def rows():
        return _overdue_rows(worker, iid, "assessment_report")

    [row] = await eventually(rows, bool)
    assert row["recipients"] == ["生态环境执法科", "局指挥部指挥", "生态环境保护监察办公室"]
    assert row["detail"]["late_by_seconds"] > (ago - 21) * 86400
    assert not [r for r in outbox(worker, iid) if r["event"] == "deadline_reminder"]

    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    st = await api.status(client, iid)
    assert deadline(st, "assessment_report")["status"] == "met_late"
    await _not_listed(client, iid, "assessment_report")


async def test_assessment_report_due_date_from_calendar(client, worker):
    """Review passed 2026-09-30: 20 working days after it, over 国庆 10/1-7 and the make-up
    Saturday 10/10, is 2026-11-03 (worked by hand: 10/8, 10/9, 10/10, 10/12 … 11/2, 11/3)."""
    review = date(2026, 9, 30)
    if now().date() < review:
        pytest.skip("the review date must not be in the future")
    iid = await _post_event_discovered(client, datetime(2026, 9, 1, 10, 0, tzinfo=SHANGHAI))
    res = await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, review_date=review))
    assert "应于 2026-11-03 前完成" in res.message
    st = await api.status(client, iid)
    d = deadline(st, "assessment_report")
    assert d["due_date"] == "2026-11-03"
    assert parse(d["due_at"]) == datetime(2026, 11, 3, 23, 59, 59, tzinfo=SHANGHAI)
    assert d["due_at"] == "2026-11-03T23:59:59+08:00"
    assert d["provisional"] is False
    # reminders 5 and 1 working days before due, at 09:00
    assert [parse(t) for t in d["reminders_at"]] == [
        datetime(2026, 10, 27, 9, 0, tzinfo=SHANGHAI), datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)]
    assert parse(d["started_at"]) == datetime(2026, 9, 30, 12, 0, tzinfo=SHANGHAI)
