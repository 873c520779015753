"""Temporal Schedules ecoplan keeps: the daily duty report at the plan's time (08:00 in the
shipped plan, a local choice marked there), China Standard Time.
Created idempotently when the worker starts and by `ecoplan schedule daily-report`."""

from __future__ import annotations

from temporalio.client import (Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError,
                               ScheduleCalendarSpec, ScheduleRange, ScheduleSpec)

from activities.daily_report import DailyReportRequest
from ecoplan.connection import TASK_QUEUE
from workflows.daily_report import DAILY_REPORT_SCHEDULE_ID, DailyReportWorkflow


async def ensure_daily_report_schedule(client: Client, task_queue: str = TASK_QUEUE, plan: str | None = None) -> bool:
    """Create the schedule if it is missing, at the plan's daily_report time; True when it was created now."""
    from plan.loader import load_plan

    spec = load_plan(plan).plan.daily_report
    try:
        await client.create_schedule(
            DAILY_REPORT_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    DailyReportWorkflow.run, DailyReportRequest(plan=plan), id="daily-report", task_queue=task_queue),
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(spec.hour)], minute=[ScheduleRange(spec.minute)],
                                                    second=[ScheduleRange(0)])],
                    time_zone_name="Asia/Shanghai"),
            ),
        )
        return True
    except ScheduleAlreadyRunningError:
        return False
