"""Due dates, reminders and repeats on the working-day calendar.

Holiday data changes with package upgrades and State Council notices, so the answers are
computed here and recorded in the workflow's history: a replay must see the answer the
incident saw, not today's calendar (docs/design.md, determinism).
"""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from activities.settings import ActivitySettings, calendar_dirs_from_env
from plan.calendar import DEFAULT_DIR, WorkingCalendar, load_calendar
from plan.deadlines import CalendarAnswer, CalendarQuestion, answer


def _signature(dirs: list[Path]) -> tuple:
    """What the calendar files are now: (path, size, mtime) of each; a directory that is
    missing (the data folder's, before any year is added) contributes nothing."""
    return tuple((str(p), st.st_size, st.st_mtime_ns) for d in dirs if d.is_dir()
                 for p in sorted(d.glob("*.yaml")) for st in [p.stat()])


class CalendarActivities:
    def __init__(self, settings: ActivitySettings):
        self._dirs = [DEFAULT_DIR, *settings.calendar_dirs]
        self._data = settings.calendar_data  # read only when it exists
        self._loaded: tuple[tuple, WorkingCalendar] | None = None

    def calendar(self) -> WorkingCalendar:
        # Re-read only when a file changed: a year added by `ecoplan calendar add-year` counts
        # from the very next question (its recompute of open incidents runs at once), and the
        # dozens of due-date calls an incident makes do not each parse the files.
        dirs = self._dirs + ([self._data] if self._data is not None and self._data.is_dir() else [])
        sig = _signature(dirs)
        if self._loaded is None or self._loaded[0] != sig:
            self._loaded = (sig, load_calendar(dirs))
        return self._loaded[1]

    @activity.defn
    def calendar_answer(self, q: CalendarQuestion) -> CalendarAnswer:
        """Everything an incident needs from the calendar at one moment, in one call.
        A broken calendar file raises here; the incident records calendar_unavailable and
        asks again later (it never fails because of it)."""
        return answer(self.calendar(), q)


_bureau: tuple[tuple, WorkingCalendar] | None = None


def bureau_calendar() -> WorkingCalendar:
    """The calendar this bureau's processes read (the shipped files, $ECOPLAN_CALENDAR_DIRS,
    the data folder's added years), re-read when a file changes: for the CLI and the console,
    which say which years have no notice; incidents ask the activity above."""
    global _bureau
    dirs = calendar_dirs_from_env()
    sig = _signature(dirs)
    if _bureau is None or _bureau[0] != sig:
        _bureau = (sig, load_calendar(dirs))
    return _bureau[1]
