"""What callers send to an incident (update inputs) and what it keeps (its state).

Every human action carries `by` (who, in what role) and `at` (when it happened; default
now). Business time is `at`: deadlines run from it, so a backdated action yields a
deadline already past.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from plan.grading import Grading
from plan.incident import Actor, IncidentReport, Model, Name, ReportContent, ReportKind, RequiredText, Text, Time
from plan.models import Duration, Level
from plan.snapshot import PlanSnapshot

# ---------------------------------------------------------------- update inputs


class Action(Model):
    by: Actor
    at: Time | None = None


class IssueWarning(Action):
    recommendation: Text = ""  # 3.1 预警信息发布建议
    actions_done: list[str] = []  # 3.2 checklist ids already under way


class LiftWarning(Action):
    reason: RequiredText


class ActivateResponse(Action):
    level: Level | None = None  # default: the graded level
    reason: Text | None = None  # required when the level differs from the graded one (4.1.5)
    city_started: bool = False
    approved_by: Name | None = None  # 总指挥 who approved (附件1); default: by


class RecordCityStarted(Action):
    note: Text = ""


class AdjustLevel(Action):
    level: Level
    reason: RequiredText


class Dispatch(Action):
    leads: dict[str, Name]  # group id -> lead's name


class SubmitReport(Action):
    kind: ReportKind
    content: ReportContent


class ProposeTermination(Action):
    reason: RequiredText


class SignOff(Action):
    group: str
    lead: Name
    decision: Literal["approve", "reject"]
    opinion: Text = ""


class ApproveTermination(Action):
    instruction: Text = ""
    city_decision: Text | None = None  # who at the city HQ decided, and what (4.4)


class RecordAftercare(Action):
    note: RequiredText


class CompleteInvestigation(Action):
    summary: Text = ""


class AssessmentReviewPassed(Action):
    review_date: date | None = None  # default: the date of `at`, Asia/Shanghai


class SubmitAssessmentReport(Action):
    recipients: list[Name] | None = None  # default: the plan's (5.3)


class Close(Action):
    note: Text = ""


class RecomputeDeadlines(Action):
    pass


class RecordCrossBoundary(Action):
    """The incident has crossed (or may cross) a boundary (4.2.3)."""

    scope: Literal["county_dispute", "city", "province"]
    neighbours: list[Name] = []  # the neighbouring governments/bureaus, when known
    note: Text = ""


class RequestSupport(Action):
    """商请: ask a linkage partner for experts or rescue teams (协议 二.6)."""

    partner: str  # a linkage partner id
    request: RequiredText


class SupportAnswer(Action):
    request_no: int
    answer: Literal["accepted", "declined"]
    note: Text = ""


class RecordJointInvestigation(Action):
    """联合调查组 with the fire brigade (协议 二.5), in post_event."""

    members: list[Name]
    note: Text = ""


class ActionResult(BaseModel):
    incident_id: str
    action: str
    stage: str
    message: str


# ---------------------------------------------------------------- state


DeadlineStatus = Literal["pending", "met", "overdue", "met_late"]


class Deadline(BaseModel):
    name: str
    title: str
    source: str
    who_acts: str
    started_at: datetime
    due_at: datetime
    due_date: date | None = None  # day-based deadlines
    provisional: bool = False
    status: DeadlineStatus = "pending"
    met_at: datetime | None = None
    reminders_at: list[datetime] = []
    reminders_sent: int = 0
    escalations: int = 0
    next_escalation_at: datetime | None = None
    repeat_every: Duration
    notify_on_overdue: list[str]


class TimelineEntry(BaseModel):
    seq: int
    at: datetime  # business time
    recorded_at: datetime  # when the workflow recorded it
    by: Actor | None  # None: the system (timers, escalations)
    action: str
    from_stage: str
    to_stage: str
    detail: dict = {}
    rejected: bool = False


class SignOffRecord(BaseModel):
    round: int
    group: str
    lead: str
    decision: Literal["approve", "reject"]
    opinion: str
    at: datetime
    by: Actor


class LevelChange(BaseModel):
    at: datetime
    by: Actor
    from_level: Level | None
    to_level: Level
    reason: str | None


class IncidentState(BaseModel):
    incident_id: str
    report: IncidentReport
    plan: PlanSnapshot | None = None
    grading: Grading | None = None
    stage: str = "reported"
    stage_entered_at: datetime
    level: Level | None = None
    level_changes: list[LevelChange] = []
    city_started: bool = False
    warning: dict | None = None
    leads: dict[str, str] = {}
    round: int = 0
    signoffs: dict[str, SignOffRecord] = {}  # current round
    signoff_history: list[SignOffRecord] = []
    termination: dict | None = None  # proposal and approval
    events: dict[str, datetime] = {}  # business events that meet deadlines (plan.models.MET_BY)
    review_date: date | None = None
    aftercare: list[dict] = []
    reports: list[dict] = []
    deadlines: list[Deadline] = []
    timeline: list[TimelineEntry] = []
    # Older timeline entries summarised when a very long incident continues as new.
    timeline_summary: dict | None = None
    runs: int = 1  # workflow runs so far (continue-as-new)
    linkage: dict = {}  # bulletins sent, cross-boundary scope, support requests, joint investigation
    undelivered: list[dict] = []  # notifications a channel has not taken yet (retries go on)
    notices: int = 0  # notifications sent so far: numbers their idempotency keys
    carried: list[dict] = []  # side effects under way at continue-as-new, sent again by the next run
    outcome: Literal["warning_lifted", "completed"] | None = None


class IncidentInput(BaseModel):
    report: IncidentReport
    # Set only by continue-as-new: the state carried over to the new run.
    state: IncidentState | None = None

