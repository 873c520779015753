"""Due dates, reminders and repeats on the working-day calendar.

Holiday data changes with package upgrades and State Council notices, so the answers are
computed here and recorded in the workflow's history: a replay must see the answer the
incident saw, not today's calendar (docs/design.md, determinism).
"""

from __future__ import annotations

import time

from temporalio import activity

from activities.settings import ActivitySettings
from plan.calendar import DEFAULT_DIR, WorkingCalendar, load_calendar
from plan.deadlines import (CalendarAnswer, CalendarQuestion, Schedule, ScheduleRequest, TimeRequest, TimeResult,
                            answer, schedule, shift)


RELOAD_AFTER_S = 60.0


class CalendarActivities:
    def __init__(self, settings: ActivitySettings):
        self._dirs = [DEFAULT_DIR, *settings.calendar_dirs]
        self._loaded: tuple[float, WorkingCalendar] | None = None

    def calendar(self) -> WorkingCalendar:
        # Re-read the calendar files once a minute at most: a new year's file takes effect
        # without a worker restart (then `recompute_deadlines` on the incidents that need
        # it), and the dozens of due-date calls an incident makes do not each list and parse them.
        now = time.monotonic()
        if self._loaded is None or now - self._loaded[0] > RELOAD_AFTER_S:
            self._loaded = (now, load_calendar(self._dirs))
        return self._loaded[1]

    @activity.defn
    def compute_times(self, requests: list[TimeRequest]) -> list[TimeResult]:
        cal = self.calendar()
        return [shift(cal, r) for r in requests]

    @activity.defn
    def schedule_deadline(self, req: ScheduleRequest) -> Schedule:
        return schedule(self.calendar(), req)

    @activity.defn
    def calendar_answer(self, q: CalendarQuestion) -> CalendarAnswer:
        """Everything an incident needs from the calendar at one moment, in one call (2.0).
        A broken calendar file raises here; the incident records calendar_unavailable and
        asks again later (it never fails because of it)."""
        return answer(self.calendar(), q)
