"""What every part of the frozen 1.x engine shares: its imports, retry options and action
names, exactly as they were (see workflows/legacy/__init__.py)."""


import asyncio
from datetime import datetime, timedelta
from typing import Any, Awaitable

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.archive import Archive, Document
    from activities.calendar import CalendarActivities
    from activities.notify import Notification, Notifier
    from activities.plan_snapshot import load_plan_snapshot
    from plan.calendar import SHANGHAI
    from plan.deadlines import ScheduleRequest, TimeRequest
    from plan.incident import REPORT_KIND_NAMES, Actor
    from plan.models import MET_BY, Level
    from plan.snapshot import PlanRequest
    # `import a.b as m`, not `from a import b`: the latter slips past the sandbox's
    # pass-through and re-runs messages.py (20 pydantic models) for every workflow instance.
    import workflows.messages as m
    import workflows.search_attributes as sa
    from workflows.lifecycle import TRANSITIONS_1X, Lifecycle
    from workflows.checks import Refused

FUTURE_TOLERANCE = timedelta(minutes=5)
SYSTEM = None  # timeline entries made by the workflow itself have no `by`

QUICK = dict(start_to_close_timeout=timedelta(seconds=30),
             retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)))
# Notifications and documents must get through eventually: retry without limit, backing off.
PERSISTENT = dict(start_to_close_timeout=timedelta(seconds=30),
                  retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1),
                                           backoff_coefficient=2.0,
                                           maximum_interval=timedelta(minutes=5)))

ACTION_NAMES = {
    "issue_warning": "issue a warning", "lift_warning": "lift the warning",
    "activate_response": "activate a response", "adjust_level": "adjust the level",
    "record_city_started": "record that the city started its response",
    "dispatch": "dispatch the groups", "submit_report": "submit a report",
    "propose_termination": "propose termination", "sign_off": "sign off termination",
    "approve_termination": "approve termination", "record_aftercare": "record aftercare",
    "complete_investigation": "complete the investigation",
    "assessment_review_passed": "record the assessment review", 
    "submit_assessment_report": "submit the assessment report", "close": "close the incident",
    "recompute_deadlines": "recompute deadlines",
    "record_cross_boundary": "record a cross-boundary incident", "request_support": "request support (商请)",
    "answer_support": "record a support answer", "record_joint_investigation": "record the joint investigation group",
}
KEEP_TIMELINE = 1000  # entries kept in full across continue-as-new; older ones are summarised
FIRST_TRY = dict(start_to_close_timeout=timedelta(seconds=30),
                 retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                          maximum_interval=timedelta(seconds=4), maximum_attempts=4))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(t: datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat(timespec="minutes")



__all__ = ["asyncio", "datetime", "timedelta", "Any", "Awaitable", "workflow", "RetryPolicy",
           "SearchAttributeUpdate", "ActivityError", "ApplicationError", "Archive", "Document",
           "CalendarActivities", "Notification", "Notifier", "load_plan_snapshot", "SHANGHAI",
           "ScheduleRequest", "TimeRequest", "REPORT_KIND_NAMES", "Actor", "MET_BY", "Level", "PlanRequest",
           "m", "sa", "TRANSITIONS_1X", "Lifecycle", "Refused", "FUTURE_TOLERANCE", "SYSTEM", "QUICK",
           "PERSISTENT", "ACTION_NAMES", "KEEP_TIMELINE", "FIRST_TRY", "_short", "_fmt"]
