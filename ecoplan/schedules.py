"""Temporal Schedules ecoplan keeps: the daily duty report at 08:00 Asia/Shanghai.
Created idempotently when the worker starts and by `ecoplan schedule daily-report`."""

from __future__ import annotations

from temporalio.client import (Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError,
                               ScheduleCalendarSpec, ScheduleRange, ScheduleSpec)

from activities.daily_report import DailyReportRequest
from ecoplan.connection import TASK_QUEUE
from workflows.daily_report import DAILY_REPORT_SCHEDULE_ID, DailyReportWorkflow


async def ensure_daily_report_schedule(client: Client, task_queue: str = TASK_QUEUE) -> bool:
    """Create the schedule if it is missing; True when it was created now."""
    try:
        await client.create_schedule(
            DAILY_REPORT_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    DailyReportWorkflow.run, DailyReportRequest(), id="daily-report", task_queue=task_queue),
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(8)], minute=[ScheduleRange(0)],
                                                    second=[ScheduleRange(0)])],
                    time_zone_name="Asia/Shanghai"),
            ),
        )
        return True
    except ScheduleAlreadyRunningError:
        return False
