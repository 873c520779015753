"""What callers send to an incident (update inputs) and what it keeps (its state).

Every human action carries `by` (who, in what role) and `at` (when it happened; default
now). Business time is `at`: deadlines run from it, so a backdated action yields a
deadline already past. An `at` more than an hour before the action is recorded needs
`backdate_reason` (补录说明), which stays on the record.

Inputs only ever gain optional fields: the recorded histories of running incidents carry
the old inputs, and each must still decode (the validators then require what they need,
e.g. a sign-off's `round`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from plan.grading import Grading
from plan.incident import Actor, IncidentReport, Model, Name, Phone, ReportContent, ReportKind, RequiredText, Text, Time
from plan.models import Circumstance, Duration, Level
from plan.snapshot import PlanSnapshot

# ---------------------------------------------------------------- update inputs


class Action(Model):
    by: Actor
    at: Time | None = None
    backdate_reason: Text | None = None  # 补录说明: why an action is entered more than 1 h after it happened


class ProposeWarning(Action):
    """The bureau's proposal (建议) to the city: to issue a warning (3.1) or to lift it (3.3)."""

    proposal: RequiredText
    lift: bool = False


class IssueWarning(Action):
    """The city government's warning, as the bureau records it (3.3: 市人民政府或授权有关单位)."""

    recommendation: Text = ""  # 3.1 预警信息发布建议
    actions_done: list[str] = []  # 3.2 checklist ids already under way
    issued_by: Name | None = None  # the issuing authority (required since the authority check)
    document_number: Name | None = None  # its document (文号)


class LiftWarning(Action):
    reason: RequiredText
    issued_by: Name | None = None  # the authority that lifted it (3.3)
    document_number: Name | None = None


class ActivateResponse(Action):
    level: Level | None = None  # default: the graded level
    reason: Text | None = None  # required when the level differs from the graded one (4.1.5)
    city_started: bool = False
    approved_by: Name | None = None  # 总指挥 who approved, as typed; default: by
    # The approving account (附件1 经总指挥批准), when the actor entering it is not the approver.
    approver: Actor | None = None


class RecordCityStarted(Action):
    note: Text = ""


class AdjustLevel(Action):
    level: Level
    reason: RequiredText


class DetermineEventLevel(Action):
    """The bureau's judgement of the event's own level (事件等级), apart from the response's:
    初步认定 (17号令 第三条) or, once the facts are established, 核定 (2.3(四) 由指挥部确定等级)."""

    level: Level
    final: bool = False  # True: 核定; False: 初步认定
    reason: RequiredText


class Dispatch(Action):
    leads: dict[str, Name]  # group id -> lead's name


class SubmitReport(Action):
    kind: ReportKind
    content: ReportContent
    # 17号令 第十四条: every written report names these (plan: reporting.written_report).
    reporting_unit: Name | None = None  # default: the plan's (the bureau)
    signed_by: Name | None = None  # 报告签发人
    contact_person: Name | None = None  # 联系人
    contact_phone: Phone | None = None  # 联系方式
    # 17号令 第四条 cases learned with this report (also: record_circumstances).
    circumstances: list[Circumstance] = []
    # Set by the 12369/119 intake: the platform's own follow-up, recorded as a 续报 on the
    # incident; it is not a report the bureau writes, so it names no 签发人.
    relayed_from: Name | None = None
    # 17号令 第十四条, plan 4.2.2: 情况紧急时，初报可通过电话报告 — who took the call; the written
    # 初报 follows (its own deadline, written_report).
    by_phone: bool = False
    received_by: Name | None = None


class RecordCircumstances(Action):
    """17号令 第四条 cases learned after the start: the II/I reporting procedure applies."""

    circumstances: list[Circumstance]
    note: Text = ""


class ProposeTermination(Action):
    reason: RequiredText


class SignOff(Action):
    group: str
    lead: Name
    decision: Literal["approve", "reject"]
    opinion: Text = ""
    # The termination round (the proposal's number) the lead read and signs: a sign-off
    # for a round that is no longer open is refused, never counted in the next one.
    round: int | None = Field(default=None, ge=1)


class FollowUp(Model):
    """4.4: whether follow-up monitoring goes on after termination, who decided, until when."""

    continue_monitoring: bool
    decided_by: Name  # 市应急指挥部会同专家组, as the plan names them, or the person who conveyed it
    until: date | None = None  # required when monitoring continues
    note: Text = ""


class ApproveTermination(Action):
    instruction: Text = ""
    city_decision: Text | None = None  # who at the city HQ decided, and what (4.4)
    follow_up: FollowUp | None = None  # required since the authority check


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
    # Why, for the timeline, e.g. "2027年节假日安排已载入（国务院办公厅…通知）" from `calendar add-year`.
    reason: Text = ""


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
    """联合调查组 with the fire brigade (协议 二.5 及时成立): from activation on."""

    members: list[Name]
    note: Text = ""


class RecordOtherTermination(Action):
    """The response was ended by the body that led it (plan duties: the county at IV, 4.1.1):
    who (`body`, default: the body the plan names), when (`at`) and its document."""

    body: Name | None = None
    document: RequiredText  # the other body's document (文号 or title)
    note: Text = ""


class RecordOtherAct(Action):
    """A post-event step that is another body's act at this level (plan duties): the province's
    or ministry's investigation (32号令 第四条), an assessment or aftercare the bureau assisted.
    Who did it (`body`, default: the body the plan names), when (`at`) and its document."""

    step: Literal["investigation", "assessment", "aftercare"]
    body: Name | None = None
    document: RequiredText  # the other body's document (文号 or title)
    note: Text = ""


class RecordInvestigationTransfer(Action):
    """32号令 第四条 第二、三款: the upper department delegates (委托) the investigation to the
    bureau, or takes over (直接组织) the one that was the bureau's; or the bureau asks it to
    (报请上一级决定). Who (`body`: the upper department), when (`at`) and its document."""

    kind: Literal["delegated", "taken_over", "referred"]
    body: Name | None = None
    document: RequiredText  # the upper department's letter, or the bureau's request (文号 or title)
    note: Text = ""


class PublishAssessment(Action):
    """5.3 信息公开: where and when the assessment's conclusion was made public."""

    where: RequiredText  # e.g. 市生态环境局门户网站 (with the address)
    note: Text = ""


class DecideFollowUp(Action):
    """4.4: after termination, the city HQ with the experts decides whether monitoring goes on."""

    follow_up: FollowUp


class ActionResult(BaseModel):
    incident_id: str
    action: str
    stage: str
    message: str


# ---------------------------------------------------------------- state


# "scheduling": its due time waits for the working-day calendar (an activity) to answer.
DeadlineStatus = Literal["scheduling", "pending", "met", "overdue", "met_late"]


class Deadline(BaseModel):
    name: str
    title: str
    source: str
    who_acts: str
    started_at: datetime
    due_at: datetime | None  # None while scheduling
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
    # The next working-day escalation times, computed with the due time (one calendar call).
    repeats_at: list[datetime] = []
    met_backdated: bool = False  # met by an action entered late (its reason is on the timeline entry)
    met_seq: int | None = None  # the timeline entry that met it


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
    backdate_reason: str | None = None  # set when `at` is more than 1 h before `recorded_at`


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


class EventLevelChange(BaseModel):
    """One step of the event level's history: graded from 附表1 at the start, then each
    初步认定 or 核定 by the bureau (who, when, why)."""

    at: datetime
    by: Actor | None  # None: graded from 附表1 when the incident was opened
    from_level: Level | None
    to_level: Level
    kind: Literal["graded", "preliminary", "confirmed"]
    reason: str | None = None


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
    notices: int = 0  # notifications sent so far
    outcome: Literal["warning_lifted", "completed"] | None = None
    reports_count: dict[str, int] = {}  # by kind; `reports` keeps only the newest
    stage_entries: int = 0  # stage changes so far: keys the stuck marker to one stay in a stage
    stuck_after: datetime | None = None  # when the current stay counts as stuck (plan's expectation)
    stuck_key: int | None = None  # the stage entry `stuck_after` belongs to
    faults: dict[str, dict] = {}  # e.g. calendar_unavailable: since, error, tries, next_try_at
    outbox: list[dict] = []  # notifications and documents not yet delivered (effects.py)
    effects_made: int = 0  # effects created so far: numbers their keys
    delivery_failures: list[dict] = []  # the newest deliveries that were given up
    delivery_failures_count: int = 0
    documents: list[dict] = []  # newest documents written: kind, seq, path, sha256
    documents_count: int = 0
    timeline_archived: int = 0  # timeline entries up to this seq are in the archive (timeline.jsonl)
    other_acts: dict[str, dict] = {}  # step -> another body's act: body, at, document, by
    circumstances: list[dict] = []  # 第四条 cases: id, at, by, note
    initial_report_level: Level | None = None  # the level the initial-report deadline runs at
    # The event's level apart from the response's (issue 24): set for incidents opened since;
    # an older incident keeps one level (False), so its recorded history replays unchanged.
    levels_split: bool = False
    event_level: Level | None = None
    event_level_kind: Literal["graded", "preliminary", "confirmed"] | None = None
    event_level_changes: list[EventLevelChange] = []
    follow_up: dict | None = None  # 4.4 decided after termination (decide_follow_up)
    investigation_transfer: dict | None = None  # 32号令 第四条 第二款: kind, body, at, document, by
    assessment_published: dict | None = None  # 5.3 信息公开: where, at, by
    record_key: str | None = None  # what the records store was last asked to save (effects.record_key)
    # A drill's participants (account usernames, the starter first), set when it starts: its pages
    # go to them only (duty_desk.py, ecoplan/paging_people.py). Empty for a real incident.
    drill_participants: list[str] = []


class IncidentInput(BaseModel):
    report: IncidentReport
    # The account that entered the report (console, API, CLI, intake): recorded on the first
    # timeline entry beside the reporter, so a bureau sees who opened the incident and how.
    started_by: Actor | None = None
    # A drill's participants (usernames, the starter first: ecoplan.people.drill_participants makes
    # the list); without them a drill's only participant is its starter. Ignored for a real incident.
    drill_participants: list[str] = []
    # Set only by continue-as-new: the state carried over to the new run, and the newest
    # actions applied by update id with what they answered (workflows/incident.py, `_applied`).
    state: IncidentState | None = None
    applied: dict[str, ActionResult] = {}

