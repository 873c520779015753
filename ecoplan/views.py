"""Supervisor views as the CLI and the console call them: overdue, stuck, faults, provisional
due dates, the incident list and the daily duty report (零报告/日报告).

The queries are activities/supervisor_views.py's and the daily report activities/daily_report.py's:
the daily report's activity compiles them too, so they sit in the activities' layer and are
imported here. What only people need stays here: reading a duration they type (`--idle 6h`).
"""

from __future__ import annotations

from datetime import timedelta

from activities.daily_report import REPORT_HOUR, daily_report, render_daily_report, report_period
from activities.supervisor_views import (PAGE, WORKFLOW_TYPE, Page, Row, base_query, faults, list_incidents,
                                         overdue, provisional, stuck)
# Used as views._q by ecoplan/web/routes/board.py and views._deadline_cn by ecoplan/cli/calendar.py.
from activities.daily_report import _deadline_cn  # noqa: F401
from activities.supervisor_views import _q  # noqa: F401

__all__ = ["PAGE", "REPORT_HOUR", "WORKFLOW_TYPE", "Page", "Row", "base_query", "daily_report", "faults",
           "list_incidents", "overdue", "parse_duration", "provisional", "render_daily_report", "report_period",
           "stuck"]


MAX_IDLE = timedelta(days=36_500)  # a century: longer than any incident's record can reach back


def parse_duration(text: str) -> timedelta:
    """'90m', '6h', '3d', '1d12h' → timedelta; one-line ValueError otherwise."""
    import re

    parts = re.fullmatch(r"\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*", text or "")
    if not text or not text.strip() or not parts or not any(parts.groups()):
        raise ValueError(f"“{text}”不是时长：应写成 90m、6h、3d 或 1d12h（分钟、小时、天）")
    d, h, m = (int(x or 0) for x in parts.groups())
    try:
        idle = timedelta(days=d, hours=h, minutes=m)
    except OverflowError:
        idle = None
    if idle is None or idle > MAX_IDLE:  # idle since before the system's earliest time (plan/incident.py)
        raise ValueError(f"“{text}”超过 {MAX_IDLE.days} 天：没有事件会停滞这么久")
    return idle
