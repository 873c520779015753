"""Due dates, reminders and repeats on the working-day calendar.

Holiday data changes with package upgrades and State Council notices, so the answers are
computed here and recorded in the workflow's history (DESIGN.md, determinism rules).
"""

from __future__ import annotations

from temporalio import activity

from activities.settings import ActivitySettings
from plan.calendar import DEFAULT_DIR, WorkingCalendar, load_calendar
from plan.deadlines import Schedule, ScheduleRequest, TimeRequest, TimeResult, schedule, shift


class CalendarActivities:
    def __init__(self, settings: ActivitySettings):
        self._dirs = [DEFAULT_DIR, *settings.calendar_dirs]

    def calendar(self) -> WorkingCalendar:
        # Read the calendar files on every call: a new year's file takes effect without a
        # worker restart (then `recompute_deadlines` on the incidents that need it).
        return load_calendar(self._dirs)

    @activity.defn
    def compute_times(self, requests: list[TimeRequest]) -> list[TimeResult]:
        cal = self.calendar()
        return [shift(cal, r) for r in requests]

    @activity.defn
    def schedule_deadline(self, req: ScheduleRequest) -> Schedule:
        return schedule(self.calendar(), req)
