"""No time a caller sends fails an incident's workflow task (issue 25, item 1): a year-1 start
was accepted and a 9999 start made a workflow that failed its first task over and over.

A property (hypothesis), server-free: start reports with any times an ISO string can carry
(year 1 to 9999, with or without an offset, and the edges of what is accepted), then the
incident's life through the registry's actions (tests/unit_state.py: the registry's checks
and apply, as the workflow runs them) with any `at` on each action, any follow-up end date
and review date, and clock jumps between them. A time is either refused where it enters
(the input model, `start_time_problem`, an action's checks) or every part of the workflow
that runs on it goes through: the checks and the apply, the loop's work (due deadlines and
their messages, the next wake, the stuck marker, trimming), the status the incident answers,
and the calendar's answer for each deadline waiting on it. Then two real starts at the edges
of what is accepted, with actions at the edges, on the session's server: no task fails."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from pydantic import ValidationError

import workflows.actions as actions
import workflows.deadlines as deadlines
import workflows.messages as m
import workflows.publishing as publishing
import workflows.recorder as recorder
import workflows.status as status_view
import workflows.timeline as timeline
from ecoplan import api
from plan.calendar import CalendarError
from plan.deadlines import deadline_times
from plan.incident import EARLIEST, LATEST, start_time_problem
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, eventually, lead, report
from tests.unit_state import T0, Incident, _calendar, opened
from workflows.errors import Refused

ZONES = [None, timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-12)),
         timezone(timedelta(hours=14))]
EDGES = [EARLIEST, EARLIEST - timedelta(seconds=1), LATEST, LATEST - timedelta(minutes=1),
         T0 + timedelta(minutes=5), T0 + timedelta(minutes=5, seconds=1), T0 - timedelta(days=365 * 26),
         datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59), datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
         datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12)))]
ANY_TIME = st.one_of(
    st.sampled_from(EDGES),
    st.builds(lambda t, tz: t.replace(tzinfo=tz), st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)),
              st.sampled_from(ZONES)),
    st.builds(lambda back: T0 - back, st.timedeltas(timedelta(minutes=-10), timedelta(days=400))))
ANY_AT = st.one_of(st.none(), ANY_TIME)
ANY_DAY = st.one_of(st.none(), st.sampled_from([date(1, 1, 1), date(9999, 12, 31), T0.date()]),
                    st.dates(date(1, 1, 1), date(9999, 12, 31)))
JUMPS = st.sampled_from([timedelta(0), timedelta(minutes=10), timedelta(hours=5), timedelta(days=3),
                         timedelta(days=40), timedelta(days=400)])

# The life of a level III incident (附表1 较大), each action built with the `at` drawn for it.
LIFE = [
    ("activate_response", lambda at, day: m.ActivateResponse(by=COMMANDER, at=at)),
    ("submit_report", lambda at, day: m.SubmitReport(**SIGNED, by=DUTY, at=at, kind="initial",
                                                     content=m.ReportContent(summary="初报"))),
    ("dispatch", lambda at, day: m.Dispatch(by=DUTY, at=at, leads=LEADS)),
    ("propose_termination", lambda at, day: m.ProposeTermination(by=DUTY, at=at, reason="达标")),
    *[("sign_off", lambda at, day, g=g: m.SignOff(by=lead(g), at=at, group=g, lead=LEADS[g], decision="approve",
                                                  round=1)) for g in ("monitoring", "disposal", "investigation")],
    ("approve_termination", lambda at, day: m.ApproveTermination(
        by=COMMANDER, at=at, follow_up=m.FollowUp(**{**FOLLOW_UP, "continue_monitoring": day is not None},
                                                  until=day))),
    ("submit_report", lambda at, day: m.SubmitReport(**SIGNED, by=DUTY, at=at, kind="final",
                                                     content=m.ReportContent(summary="处置完毕"))),
    ("record_other_act", lambda at, day: m.RecordOtherAct(by=DUTY, at=at, step="investigation",
                                                          document="晋环调〔2026〕3号")),
    ("assessment_review_passed", lambda at, day: m.AssessmentReviewPassed(by=DUTY, at=at, review_date=day)),
    ("submit_assessment_report", lambda at, day: m.SubmitAssessmentReport(by=DUTY, at=at)),
    ("close", lambda at, day: m.Close(by=DUTY, at=at)),
]


def loop_work(inc: Incident) -> None:
    """What the run loop and the queries do with the state (IncidentWorkflow._tick, the
    calendar's answers, `_next_wake`, `status`), on this state at this time."""
    s, now = inc.s, inc.now
    for what, d in deadlines.due_work(s, now):
        recorder.fmt(d.due_at)  # the reminder's and the overdue notice's text
        int((now - d.due_at).total_seconds())
    for d in s.deadlines:
        if d.due_at is None or deadlines.needs_repeats(d, now):
            try:  # the calendar activity; a date it has no data for fails the activity, not the task
                times = deadline_times(_calendar(), deadlines.calendar_request(
                    s.plan.deadline(d.name), d.started_at, s.level or s.grading.level, now))
            except CalendarError:
                continue
            deadlines.set_times(d, times, now)
    deadlines.next_wake(s)
    within = s.plan.stage_expectations.get(s.stage)
    if within is not None and not within.is_working_days:
        deadlines.stuck_after(s.stage_entered_at, within)
    timeline.trim(s)
    publishing.waiting_on(s), publishing.faults(s)
    status_view.view(s, actions.allowed_now(s, inc.lc))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(discovered=ANY_TIME, reported=ANY_TIME, ats=st.lists(ANY_AT, min_size=len(LIFE), max_size=len(LIFE)),
       jumps=st.lists(JUMPS, min_size=len(LIFE), max_size=len(LIFE)), day=ANY_DAY)
@example(discovered=EARLIEST, reported=EARLIEST, ats=[EARLIEST] * len(LIFE), jumps=[timedelta(0)] * len(LIFE),
         day=date(9999, 12, 31))
@example(discovered=T0 + timedelta(minutes=5), reported=T0 + timedelta(minutes=5),
         ats=[T0 + timedelta(minutes=5)] * len(LIFE), jumps=[timedelta(days=400)] * len(LIFE), day=None)
def test_no_time_fails_the_workflow(discovered, reported, ats, jumps, day):
    try:
        r = report(discovered_at=discovered, reported_at=reported)
    except ValidationError:
        return  # refused where it enters, in one line naming the field (tests/test_start_times.py)
    if start_time_problem(r, T0) is not None:
        return
    inc = opened(now=T0, discovered_at=r.discovered_at, reported_at=r.reported_at)
    loop_work(inc)
    applied = 0
    for (name, build), at, jump in zip(LIFE, ats, jumps):
        inc.now += jump
        try:
            inp = build(at, day)
        except ValidationError:
            inp = build(None, day)  # that time was refused by the input model; the action goes on now
        for tried in (inp, inp.model_copy(update={"at": None})):
            try:
                inc.act(name, tried)
                applied += 1
                break
            except Refused:
                continue
        loop_work(inc)
    if applied == len(LIFE):  # every step taken, at its own time or now: the incident went to the end
        assert inc.s.outcome == "completed" and inc.s.stage == "closed"


@pytest.mark.parametrize("at", ["0001-01-01T00:00", "1999-12-31T23:59", "2100-01-01T00:00", "9999-12-31T23:59"])
def test_an_action_time_outside_2000_to_2100_is_refused_naming_the_field(at):
    from plan.loader import validation_message

    with pytest.raises(ValidationError) as e:
        m.ActivateResponse.model_validate({"by": COMMANDER.model_dump(), "at": at})
    line = validation_message(e.value)
    assert line.startswith("at: ") and "2000-01-01 至 2100-01-01" in line and "\n" not in line, line


# ---------------------------------------------------------------------------- real starts


async def test_starts_and_actions_at_the_edges_fail_no_workflow_task(client, worker):
    now = datetime.now(T0.tzinfo)
    edges = [report(discovered_at=EARLIEST, reported_at=EARLIEST),  # the floor: deadlines 26 years overdue
             report(discovered_at=now + timedelta(minutes=4), reported_at=now + timedelta(minutes=4))]
    for r in edges:
        assert start_time_problem(r, now) is None
        iid = await api.start_incident(client, r)
        for at in (EARLIEST, now + timedelta(minutes=6)):  # without a reason for the late entry; in the future
            with pytest.raises(api.ActionRefused) as e:
                await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=at))
            assert e.value.kind == "invalid", e.value
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=now + timedelta(minutes=4)))
        state = await eventually(lambda: api.status(client, iid), lambda x: x["stage"] == "responding")
        handle = client.get_workflow_handle(api.workflow_id(iid))
        history = await handle.fetch_history()
        failed = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
        assert not failed, failed[0].workflow_task_failed_event_attributes.failure.message
        assert state["deadlines"], state
