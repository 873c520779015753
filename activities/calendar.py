"""Due dates, reminders and repeats on the working-day calendar.

Holiday data changes with package upgrades and State Council notices, so the answers are
computed here and recorded in the workflow's history: a replay must see the answer the
incident saw, not today's calendar (docs/design.md, determinism).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import structlog
from temporalio import activity

from activities.settings import ActivitySettings, calendar_dirs_from_env
from plan.calendar import DEFAULT_DIR, WorkingCalendar, load_calendar
from plan.deadlines import CalendarAnswer, CalendarQuestion, answer


def _signature(dirs: list[Path]) -> tuple:
    """What the calendar files are now: (path, size, mtime) of each; a directory that is
    missing (the data folder's, before any year is added) contributes nothing."""
    return tuple((str(p), st.st_size, st.st_mtime_ns) for d in dirs if d.is_dir()
                 for p in sorted(d.glob("*.yaml")) for st in [p.stat()])


log = structlog.get_logger("ecoplan.calendar")

# The shared archive's folder the years added with `ecoplan calendar add-year` go to (issue 27):
# a year added on one machine counts on every worker.
SHARED_FOLDER = "calendars"
# Seconds between looks at the shared copy (a replaced year counts within a minute). A question
# that reaches a year without a notice looks at once (one small query: the files' names and
# hashes), unless the last look failed: then the database is left alone for this long too.
FETCH_EVERY = 60.0


class CalendarActivities:
    def __init__(self, settings: ActivitySettings):
        self._dirs = [DEFAULT_DIR, *settings.calendar_dirs]
        self._data = settings.calendar_data  # read only when it exists
        self._loaded: tuple[tuple, WorkingCalendar] | None = None
        self._shared = settings.database_url
        self._fetched_at = float("-inf")
        self._fetch_failed = False
        self._fetching = threading.Lock()  # calendar answers run on several threads: one looks

    def _fetch_shared(self, at_once: bool = False) -> None:
        """With ECOPLAN_DATABASE_URL, the years added on any machine come into this worker's data
        folder ($ECOPLAN_HOME/calendars). The database unreachable: the files here answer."""
        if not self._shared or self._data is None or self._data.name != SHARED_FOLDER:
            return
        with self._fetching:
            now = time.monotonic()
            if now - self._fetched_at < FETCH_EVERY and (not at_once or self._fetch_failed):
                return
            self._fetched_at = now
            from activities import archive_store

            try:
                archive_store.fetch(self._shared, self._data.parent, SHARED_FOLDER)
                self._fetch_failed = False
            except Exception as e:
                self._fetch_failed = True
                log.warning("shared_calendars_unreadable", error=str(e)[:300])

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
        self._fetch_shared()
        got = answer(self.calendar(), q)
        if self._shared and _provisional(got):  # another machine may have added that year just now
            self._fetch_shared(at_once=True)
            got = answer(self.calendar(), q)
        return got


def _provisional(a: CalendarAnswer) -> bool:
    return (any(t.provisional for t in a.times)
            or any(r.provisional for d in a.deadlines for r in (d.due, *d.reminders)))


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
