"""The real 20-working-day assessment-report timer (plan 5.3), fired in virtual time with
the SDK's experimental time-skipping V2 on the dev server (docs/design.md, "Time in tests").

The incident is driven to post_event with time skipping off (otherwise the server skips to
the next timer as soon as the workflow is idle), the review is recorded today, and then
the workflow's own clock is fast-forwarded past the due date: the reminders, the overdue
mark, the escalation and the daily repeat all come from the workflow's durable timers."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ecoplan import api
from activities.settings import ActivitySettings
from ecoplan.connection import DATA_CONVERTER
from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.incident import ReportContent
from tests.conftest import TEMPORAL_BIN
from tests.drive import act, deadline, final_report, outbox, overdue_listed, parse, timeline, to_post_event
from tests.helpers import DUTY, SIGNED, eventually, report
from tests.workdays import is_workday as workday, known, next_working_morning, nth_workday_after
from worker import build_worker
from workflows import messages as m
from activities import search_attributes as sa

pytestmark = pytest.mark.slow


async def _time_skipping_env() -> WorkflowEnvironment:
    """A dev server of its own with time-skipping V2 on (docs/design.md, "Time in tests")."""
    return await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=TEMPORAL_BIN,
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
        search_attributes=sa.ALL, data_converter=DATA_CONVERTER, dev_server_log_level="error")


async def test_assessment_report_timer_fires_in_virtual_time(tmp_path):
    env = await _time_skipping_env()
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl")
    client = env.client
    try:
        async with build_worker(client, settings):
            with env.with_time_skipping_disabled():
                # 较大 (III): the assessment report is the bureau's own only at III (5.3, issue 24)
                iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000)))
            handle = client.get_workflow_handle(api.workflow_id(iid))
            await to_post_event(client, iid)
            res = await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
            st = await api.status(client, iid)
            d = deadline(st, "assessment_report")
            start = await env.get_current_time(handle)
            review_day = date.fromisoformat(st["review_date"])
            assert review_day == start.astimezone(SHANGHAI).date()
            # Counted independently (tests/workdays.py): a due date in a year whose holiday
            # notice is not loaded yet is provisional, and says so.
            expected_due, expected_provisional = nth_workday_after(review_day, 20)
            assert d["status"] == "pending" and d["provisional"] is expected_provisional
            assert d["due_date"] == expected_due.isoformat()
            due = parse(d["due_at"])
            assert f"the report is due {d['due_date']}" in res.message
            assert due.astimezone(SHANGHAI).time().isoformat() == "23:59:59"
            assert timedelta(days=25) < due - start < timedelta(days=40)  # 20 working days, weekends, holidays

            # one hour past the due time, in the workflow's virtual time
            assert await env.fast_forward(handle, due - start + timedelta(hours=1)) is True
            virtual = await env.get_current_time(handle)
            assert virtual > due

            st = await eventually(lambda: api.status(client, iid),
                                  lambda s: deadline(s, "assessment_report")["next_escalation_at"] is not None,
                                  timeout=30)
            d = deadline(st, "assessment_report")
            assert (d["status"], d["escalations"], d["reminders_sent"]) == ("overdue", 1, 2)
            [entry] = [e for e in timeline(st, "deadline_overdue") if e["detail"]["deadline"] == "assessment_report"]
            assert parse(entry["recorded_at"]) >= due  # recorded by the workflow at virtual time
            nxt = parse(d["next_escalation_at"]).astimezone(SHANGHAI)
            assert nxt == next_working_morning(due)  # next working day's morning
            await overdue_listed(client, iid, "assessment_report", timeout=30)

            rows = await eventually(lambda: _outbox(settings, iid),
                                    lambda rs: any(r["event"] == "deadline_overdue" for r in rs), timeout=30)
            reminders = [r for r in rows if r["event"] == "deadline_reminder"]
            assert [r["detail"]["deadline"] for r in reminders] == ["assessment_report", "assessment_report"]
            [overdue] = [r for r in rows if r["event"] == "deadline_overdue"]
            assert overdue["detail"] == {"deadline": "assessment_report", "due_at": d["due_at"],
                                         "late_by_seconds": overdue["detail"]["late_by_seconds"], "escalation": 1}
            assert 0 <= overdue["detail"]["late_by_seconds"] <= 3600 + 60
            assert overdue["recipients"] == ["生态环境执法科", "局指挥部指挥", "生态环境保护监察办公室"]

            # the repeat: past the next escalation time, a second escalation
            assert await env.fast_forward(handle, nxt - virtual + timedelta(minutes=5)) is True
            st = await eventually(lambda: api.status(client, iid),
                                  lambda s: deadline(s, "assessment_report")["escalations"] >= 2, timeout=30)
            await eventually(lambda: _outbox(settings, iid),
                             lambda rs: sum(r["event"] == "deadline_overdue" for r in rs) == 2, timeout=30)

            # the late report: met_late, then close
            await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
            st = await api.status(client, iid)
            assert deadline(st, "assessment_report")["status"] == "met_late"
            await act(client, iid, "submit_report", final_report())
            # III: the province's investigation, recorded (32号令 第四条)
            await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕3号"))
            await act(client, iid, "close", m.Close(by=DUTY))
            assert await handle.result() == {"incident_id": iid, "outcome": "completed"}
            assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    finally:
        await env.shutdown()


async def _outbox(settings: ActivitySettings, iid: str) -> list[dict]:
    return outbox(settings, iid)


async def _reported_then_moved_on(env, client, target_of):
    """An incident started now, its initial report made (that meets the only clock of the
    `reported` stage, so nothing fires meanwhile), then its clock moved on to `target_of(now)`."""
    with env.with_time_skipping_disabled():  # 较大 (III): the assessment is the bureau's own (5.3)
        iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000)))
    handle = client.get_workflow_handle(api.workflow_id(iid))
    await act(client, iid, "submit_report",
              m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    start = await env.get_current_time(handle)
    assert await env.fast_forward(handle, target_of(start) - start) is True
    return iid, handle


def _late_december(now: datetime) -> datetime:
    """28 December, 10:00 Asia/Shanghai: this year's, or next year's once it has passed."""
    local = now.astimezone(SHANGHAI)
    target = datetime(local.year, 12, 28, 10, 0, tzinfo=SHANGHAI)
    return target if target > local + timedelta(hours=1) else target.replace(year=local.year + 1)


async def test_year_end_the_incident_runs_into_a_year_without_a_notice(tmp_path):
    """The clock set to late December (the workflow's own clock, fast-forwarded), whatever
    today is: the report's 20 working days and the assessment's 30 end in the next year,
    whose holiday notice may not be loaded. Each due date is then counted Monday to Friday
    and marked provisional, the reminders and the escalation still come on working mornings,
    and nothing waits or fails for want of the notice."""
    env = await _time_skipping_env()
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl")
    client = env.client
    try:
        async with build_worker(client, settings):
            iid, handle = await _reported_then_moved_on(env, client, _late_december)
            virtual = (await env.get_current_time(handle)).astimezone(SHANGHAI)
            assert (virtual.month, virtual.day) == (12, 28)
            year = virtual.year

            await to_post_event(client, iid, initial_report=False)
            res = await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
            st = await api.status(client, iid)
            review_day = date.fromisoformat(st["review_date"])
            assert review_day.year == year and review_day.month == 12 and review_day.day >= 28

            # Worked out independently: 20 working days after the review land in January.
            expected_due, provisional = nth_workday_after(review_day, 20)
            assert expected_due.year == year + 1 and provisional is (not known(year + 1))
            d = deadline(st, "assessment_report")
            assert (d["status"], d["due_date"], d["provisional"]) == ("pending", expected_due.isoformat(), provisional)
            assert f"the report is due {expected_due}" in res.message
            assert (f"due {expected_due} (provisional)" in res.message) is provisional
            # The assessment's own 30 working days (5.3) from the end of the response, too.
            a = deadline(st, "assessment_completion")
            ended = parse(timeline(st, "approve_termination")[0]["at"]).astimezone(SHANGHAI).date()
            a_due, a_provisional = nth_workday_after(ended, 30)
            assert (a["due_date"], a["provisional"]) == (a_due.isoformat(), a_provisional)
            # Reminders 5 and 1 working days before the due day, at 09:00 (plan data).
            reminders = [parse(t).astimezone(SHANGHAI) for t in d["reminders_at"]]
            assert [r.time() for r in reminders] == [time(9, 0), time(9, 0)]
            assert [nth_workday_after(r.date(), n)[0] for r, n in zip(reminders, (5, 1))] == [expected_due] * 2
            assert all(is_working for is_working, _ in (workday(r.date()) for r in reminders))

            # Past the due time: overdue, escalated, the next escalation on a working morning.
            due = parse(d["due_at"])
            now = await env.get_current_time(handle)
            assert await env.fast_forward(handle, due - now + timedelta(hours=1)) is True
            st = await eventually(lambda: api.status(client, iid),
                                  lambda s: deadline(s, "assessment_report")["next_escalation_at"] is not None,
                                  timeout=30)
            d = deadline(st, "assessment_report")
            assert (d["status"], d["escalations"], d["reminders_sent"]) == ("overdue", 1, 2)
            assert parse(d["next_escalation_at"]) == next_working_morning(due)

            # Five weeks on: past the 20 working mornings worked out with the due time, the
            # incident asks the calendar for the next ones; escalations stay on working mornings.
            now = await env.get_current_time(handle)
            assert await env.fast_forward(handle, timedelta(days=35)) is True
            later = await env.get_current_time(handle)
            mornings, t = [], next_working_morning(due)
            while t <= later:
                mornings.append(t)
                t = next_working_morning(t)
            assert len(mornings) > 20
            st = await eventually(lambda: api.status(client, iid),
                                  lambda s: deadline(s, "assessment_report")["escalations"] == 1 + len(mornings),
                                  timeout=60)
            d = deadline(st, "assessment_report")
            assert parse(d["next_escalation_at"]) == t
            assert st["outcome"] is None and not st["faults"]
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    finally:
        await env.shutdown()


WEEKDAY = "一二三四五六日"


def _notice_for(year: int) -> str:
    """A test notice for `year` (test data, not a real arrangement): 1–7 January off, the
    Saturday after it a make-up working day. The weekdays are the real ones, as the parser
    checks them."""
    first, last = date(year, 1, 1), date(year, 1, 7)
    sat = next(last + timedelta(i) for i in range(1, 8) if (last + timedelta(i)).weekday() == 5)
    return (f"国务院办公厅关于{year}年部分节假日安排的通知\n"
            f"一、元旦：1月1日（周{WEEKDAY[first.weekday()]}）至7日（周{WEEKDAY[last.weekday()]}）放假调休，共7天。"
            f"{sat.month}月{sat.day}日（周六）上班。\n")


async def test_loading_next_years_notice_recomputes_the_provisional_deadlines(tmp_path):
    """The year-end cycle as a bureau lives it: in late December an incident's report is due
    in a year without a notice (provisional, shown by `calendar status`); the duty officer
    loads the notice with `calendar add-year`; the open incident's deadline is recomputed at
    once, is no longer provisional, and its timeline says why."""
    from tests.test_cli import aecoplan, ahere

    env = await _time_skipping_env()
    home = tmp_path / "home"
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl",
                                calendar_data=home / "calendars")
    client = env.client
    address = env.client.service_client.config.target_host
    cli_env = {"ECOPLAN_HOME": str(home), "ECOPLAN_CALENDAR_DIRS": ""}
    try:
        async with build_worker(client, settings):
            def before_first_unknown_year(start: datetime) -> datetime:
                year = start.astimezone(SHANGHAI).year + 1  # the first year after today with no notice
                while known(year) or datetime(year - 1, 12, 28, 10, tzinfo=SHANGHAI) < start + timedelta(hours=1):
                    year += 1
                return datetime(year - 1, 12, 28, 10, tzinfo=SHANGHAI)

            iid, handle = await _reported_then_moved_on(env, client, before_first_unknown_year)
            year = (await env.get_current_time(handle)).astimezone(SHANGHAI).year + 1
            await to_post_event(client, iid, initial_report=False)
            await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
            review = date(year - 1, 12, 28)
            before, provisional = nth_workday_after(review, 20)
            assert provisional is True
            d = await eventually(lambda: api.status(client, iid),
                                 lambda s: deadline(s, "assessment_report")["provisional"] is True)
            # `calendar status` through the command's code in this process (tests.test_cli.ahere);
            # `calendar add-year` as a process of its own, as the duty officer runs it beside the worker
            st = await eventually(lambda: ahere("calendar", "status", "--json", env_extra=cli_env, address=address),
                                  lambda p: p.returncode == 0 and iid in p.stdout, timeout=30)
            shown = json.loads(st.stdout)
            # (the assessment's own 30 working days were met by the review)
            assert [r["deadline"] for r in shown["provisional"] if r["incident_id"] == iid] == ["assessment_report"]
            assert shown["years"][1]["loaded"] is known(shown["years"][1]["year"])

            notice = tmp_path / "notice.txt"
            notice.write_text(_notice_for(year), encoding="utf-8")
            p = await aecoplan("calendar", "add-year", str(notice), "--yes", env_extra=cli_env, address=address)
            assert p.returncode == 0, p.stderr
            assert f"{year}年" in p.stdout and "已重算 1 起事件的暂定期限" in p.stdout
            assert (home / "calendars" / f"{year}.yaml").exists()

            # By hand: 20 working days after 28 December, with 1–7 January off and the
            # Saturday after them worked, counted independently of the product's calendar.
            off = {date(year, 1, i) for i in range(1, 8)}
            sat = next(date(year, 1, 7) + timedelta(i) for i in range(1, 8)
                       if (date(year, 1, 7) + timedelta(i)).weekday() == 5)
            day, n = review, 20
            while n:
                day += timedelta(days=1)
                working = day == sat or (day.weekday() < 5 and day not in off) if day.year == year \
                    else workday(day)[0]
                n -= working
            st = await api.status(client, iid)
            d = deadline(st, "assessment_report")
            assert (d["due_date"], d["provisional"]) == (day.isoformat(), False)
            assert day > before  # five weekdays off pushed it back
            [entry] = timeline(st, "recompute_deadlines")
            assert entry["detail"]["reason"].startswith(f"{year}年节假日安排已载入")
            assert entry["detail"]["changed"]
            p = await ahere("calendar", "status", "--json", env_extra=cli_env, address=address)
            assert iid not in {r["incident_id"] for r in json.loads(p.stdout)["provisional"]}
    finally:
        await env.shutdown()
