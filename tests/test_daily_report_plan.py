"""The daily duty report (零报告/日报告) takes its time, period, look-ahead, recipients and
contents from the plan, where they are marked as local choices (issue 13 item 10)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

from ecoplan import views
from ecoplan.schedules import ensure_daily_report_schedule
from activities.daily_report import DailyReportRequest
from plan.calendar import SHANGHAI
from plan.check import check_plan
from plan.loader import load_plan
from tests.test_plan import variant
from workflows.daily_report import DAILY_REPORT_SCHEDULE_ID, DailyReportWorkflow

SHIPPED_BLOCK = """daily_report:
  at: "08:00"
  period: {hours: 24}
  look_ahead: {hours: 24}
  recipients: [带班领导, 局指挥部办公室]
  contents: [open_incidents, new_incidents, overdue, stuck, due_soon]
"""
OTHER_BLOCK = """daily_report:
  at: "07:30"
  period: {hours: 12}
  look_ahead: {hours: 48}
  recipients: [值班室主任]
  contents: [overdue]
"""


def other_plan(tmp_path):
    return variant(tmp_path, SHIPPED_BLOCK, OTHER_BLOCK)


def test_shipped_settings_are_the_plans_and_marked_local_choices():
    spec = load_plan().plan.daily_report
    assert (spec.hour, spec.minute, spec.period.hours, spec.look_ahead.hours) == (8, 0, 24, 24)
    assert spec.recipients == ["带班领导", "局指挥部办公室"]
    assert [b.status for b in spec.basis] == ["adopted_from", "local_choice"]
    _, problems = check_plan()
    assert [p.severity for p in problems if p.where == "daily_report"] == ["info", "info"]


def test_report_period_follows_the_plan(tmp_path):
    spec = load_plan(other_plan(tmp_path)).plan.daily_report
    # a past date: the 12 h up to its 07:30 → 2026-03-01 19:30 to 2026-03-02 07:30
    now = datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)
    assert views.report_period(date(2026, 3, 2), now, spec) == (
        datetime(2026, 3, 1, 19, 30, tzinfo=SHANGHAI), datetime(2026, 3, 2, 7, 30, tzinfo=SHANGHAI))
    # today at 07:50, 20 min after the run: the whole 12 h before 07:30 → from 2026-03-04 19:30
    now = datetime(2026, 3, 5, 7, 50, tzinfo=SHANGHAI)
    assert views.report_period(date(2026, 3, 5), now, spec) == (datetime(2026, 3, 4, 19, 30, tzinfo=SHANGHAI), now)
    # the shipped plan at the same moment: before its 08:00, so the time since yesterday 08:00
    assert views.report_period(date(2026, 3, 5), now, load_plan().plan.daily_report) == (
        datetime(2026, 3, 4, 8, 0, tzinfo=SHANGHAI), now)


async def test_recipients_and_contents_come_from_the_plan(client, worker, tmp_path):
    path = other_plan(tmp_path)
    report = await client.execute_workflow(DailyReportWorkflow.run, DailyReportRequest(plan=str(path)),
                                           id=f"daily-report-plan-{uuid.uuid4().hex[:6]}", task_queue="ecoplan")
    assert report["recipients"] == ["值班室主任"]
    assert report["settings"]["contents"] == ["overdue"] and report["settings"]["at"] == "07:30"
    assert len(report["settings"]["local_choices"]) == 1  # the variant keeps the shipped marks
    md = (worker.archive_dir / "daily" / f"{report['report_date']}.md").read_text(encoding="utf-8")
    assert "报送：值班室主任（07:30）" in md
    assert "新报事件" not in md and "停滞事件" not in md and "在办事件" not in md
    outbox = [json.loads(line) for line in worker.outbox_path.read_text(encoding="utf-8").splitlines()]
    sent = [n for n in outbox if n["event"] == "daily_report" and n["recipients"] == ["值班室主任"]]
    assert len(sent) == 1


async def test_schedule_runs_at_the_plans_time(client, tmp_path):
    try:
        assert await ensure_daily_report_schedule(client, plan=str(other_plan(tmp_path))) is True
        spec = (await client.get_schedule_handle(DAILY_REPORT_SCHEDULE_ID).describe()).schedule.spec
        assert (spec.calendars[0].hour[0].start, spec.calendars[0].minute[0].start) == (7, 30)
        assert spec.time_zone_name == "Asia/Shanghai"
    finally:
        await client.get_schedule_handle(DAILY_REPORT_SCHEDULE_ID).delete()


def test_a_report_on_ten_thousand_open_incidents_fits_in_history():
    """At 10,000 open incidents the compiled report was 3.57 MB and the SDK refused the
    activity's result (TMPRL1103, over 2 MiB): no daily report went out. The workflow now gets
    each list's first 100 entries with the full counts; the subject counts them all."""
    from temporalio.converter import DataConverter

    from activities.daily_report import for_history
    from workflows.daily_report import summary_line

    row = lambda i: {"incident_id": f"incident-{i:05d}-{'x' * 20}", "title": "桃河化工厂泄漏导致下游水体污染" * 2,  # noqa: E731
                     "county": "平定县", "level": "III", "stage": "on_site", "name": "initial_report",
                     "due_at": "2027-01-04T08:00:00+08:00", "since": "2027-01-03T08:00:00+08:00"}
    report = {"report_date": "2027-01-04", "generated_at": "2027-01-04T08:00:00+08:00", "open_incidents": 10_000,
              "by_stage": {"on_site": 10_000}, "by_level": {"III": 10_000}, "zero_report": False,
              "new_incidents": [row(i) for i in range(10_000)], "overdue": [row(i) for i in range(6_000)],
              "stuck": [row(i) for i in range(2_500)], "due_next_24h": [row(i) for i in range(40)],
              "recipients": ["带班领导"], "settings": {}}
    whole = DataConverter.default.payload_converter.to_payloads([report])[0].ByteSize()
    assert whole > 2 * 1024 * 1024  # the shape that failed
    kept = for_history(report)
    size = DataConverter.default.payload_converter.to_payloads([kept])[0].ByteSize()
    assert size < 200_000, size
    assert kept["counts"] == {"new_incidents": 10_000, "overdue": 6_000, "stuck": 2_500, "due_next_24h": 40}
    assert kept["cut"] is True and kept["archived"] == "daily/2027-01-04.json"
    assert [len(kept[k]) for k in ("new_incidents", "overdue", "stuck", "due_next_24h")] == [100, 100, 100, 40]
    assert kept["overdue"][0] == report["overdue"][0]
    assert summary_line(kept) == "日报告 2027-01-04：在办 10000，新报 10000，逾期 6000，停滞 2500"
    # a report recorded before the cut (no counts) reads as it did
    assert summary_line({**report, "new_incidents": report["new_incidents"][:3]}) == \
        "日报告 2027-01-04：在办 10000，新报 3，逾期 6000，停滞 2500"
    small = for_history({**report, "new_incidents": [], "overdue": [row(1)], "stuck": [], "due_next_24h": []})
    assert small["cut"] is False and small["overdue"] == [row(1)]
