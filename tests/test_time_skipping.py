"""The real 20-working-day assessment-report timer (plan 5.3), fired in virtual time with
the SDK's experimental time-skipping V2 on the dev server (docs/design.md, "Time in tests").

The incident is driven to post_event with time skipping off (otherwise the server skips to
the next timer as soon as the workflow is idle), the review is recorded today, and then
the workflow's own clock is fast-forwarded past the due date: the reminders, the overdue
mark, the escalation and the daily repeat all come from the workflow's durable timers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ecoplan import api
from activities.settings import ActivitySettings
from ecoplan.connection import DATA_CONVERTER
from plan.calendar import SHANGHAI
from tests.conftest import TEMPORAL_BIN
from tests.drive import act, deadline, final_report, outbox, overdue_listed, parse, timeline, to_post_event
from tests.helpers import DUTY, eventually, report
from worker import build_worker
from workflows import messages as m
from workflows import search_attributes as sa

pytestmark = pytest.mark.slow


async def test_assessment_report_timer_fires_in_virtual_time(tmp_path):
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=TEMPORAL_BIN,
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl")
    client = env.client
    try:
        async with build_worker(client, settings):
            with env.with_time_skipping_disabled():
                iid = await api.start_incident(client, report())
            handle = client.get_workflow_handle(api.workflow_id(iid))
            await to_post_event(client, iid)
            await act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY))
            res = await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
            st = await api.status(client, iid)
            d = deadline(st, "assessment_report")
            assert d["status"] == "pending" and d["provisional"] is False
            due = parse(d["due_at"])
            assert f"the report is due {d['due_date']}" in res.message
            assert due.astimezone(SHANGHAI).time().isoformat() == "23:59:59"
            start = await env.get_current_time(handle)
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
            assert nxt > due and nxt.time().isoformat() == "09:00:00"  # next working day's morning
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
            await act(client, iid, "close", m.Close(by=DUTY))
            assert await handle.result() == {"incident_id": iid, "outcome": "completed"}
            assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    finally:
        await env.shutdown()


async def _outbox(settings: ActivitySettings, iid: str) -> list[dict]:
    return outbox(settings, iid)
