"""IncidentView: what an incident shows of itself, the public shape of its `status` query.

The records store, the documents, the console, the CLI (`ecoplan status --json`), the API
(`GET /api/incidents/{id}`), the drills and the archive's `dossier.json` all read this
shape. It is built field by field from the workflow's internal state (workflows/status.py),
so the state may change freely; this shape only gains fields. A field renamed or removed
is a change of contract: bump VIEW_VERSION, say so in docs/contracts.md (generated from
the descriptions here by `python -m ecoplan.contracts`) and regenerate the pinned schema
(tests/contracts/incident_view.schema.json).

While the incident is still loading its plan the query answers `IncidentLoading` instead
(`loading` true, `stage` null). `parse_status` reads either.

Times are ISO 8601 with an offset (Asia/Shanghai for what the bureau records). Pure
pydantic: imports nothing from ecoplan or activities (plan ← activities ← workflows ←
ecoplan), so the workflow's query and every reader share it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from workflows.level_view import EventLevelChangeView, GradingView, LevelChangeView, LevelsView  # noqa: F401
from workflows.view_base import ActorView, Level, Outcome, Stage, Stamp, View  # noqa: F401 - re-exported

VIEW_VERSION = 1


class PlanRefView(View):
    """The plan the incident pinned when it started (a plan revision never changes it)."""

    id: str = Field(description="the plan's id, e.g. yangquan-2022")
    version: str = Field(description="the plan's version")
    hash: str = Field(description="the content hash of the plan file the incident loaded (sha256:…)")


class WarningActionView(View):
    """A warning action of the plan (3.2) and whether it was already under way when the warning was issued."""

    id: str = Field(description="the action's id in the plan")
    name: str = Field(description="what the action is, in the plan's words")
    source: str = Field(description="the plan section it comes from")
    done: bool = Field(description="listed as already under way when the warning was recorded")


class WarningView(View):
    """The warning the city government issued (3.3), as the bureau recorded it."""

    at: Stamp = Field(description="when it was issued")
    by: ActorView = Field(description="who recorded it")
    recommendation: str = Field(description="the bureau's 预警信息发布建议 (3.1), as recorded")
    actions: list[WarningActionView] = Field(description="the plan's warning actions (3.2) with their state")
    issued_by: str | None = Field(default=None, description="the issuing authority (市人民政府 or whom it authorised)")
    document_number: str | None = Field(default=None, description="the warning's document number (文号)")


class SignOffView(View):
    """A group lead's signature on the termination form (附件2)."""

    round: int = Field(description="the termination round (proposal number) signed")
    group: str = Field(description="the group's id in the plan, e.g. monitoring")
    lead: str = Field(description="the lead's name as signed")
    decision: Literal["approve", "reject"] = Field(description="approve or reject termination")
    opinion: str = Field(description="the lead's opinion (required to reject)")
    at: datetime = Field(description="when it was signed (business time)")
    by: ActorView = Field(description="the account that signed")


class FollowUpView(View):
    """4.4: whether follow-up monitoring goes on after termination, who decided, until when."""

    continue_monitoring: bool = Field(description="monitoring continues after termination")
    decided_by: str = Field(description="who decided (市应急指挥部会同专家组, as the plan names them)")
    until: date | None = Field(default=None, description="the last day of follow-up monitoring, when it continues")
    note: str = Field(default="", description="a note on the decision")


class TerminationView(View):
    """The termination of the response (4.4): the open or approved proposal."""

    round: int = Field(description="the proposal's round number (1, 2, … after a rejected round)")
    proposed_by: ActorView = Field(description="who proposed termination")
    proposed_at: Stamp = Field(description="when it was proposed")
    reason: str = Field(description="why the response can end (the plan's termination condition met)")
    approved_by: ActorView | None = Field(default=None, description="the commander who approved; null while pending")
    approved_at: Stamp | None = Field(default=None, description="when it was approved; null while pending")
    instruction: str | None = Field(default=None, description="the commander's instruction (指挥批示)")
    city_decision: str | None = Field(default=None, description="who at the city HQ decided, and what, when the city "
                                                                "government started the response (4.4)")
    follow_up: FollowUpView | None = Field(default=None, description="the follow-up monitoring decision (4.4)")


class AftercareView(View):
    """An aftercare step recorded (善后处置, 5.1)."""

    at: Stamp = Field(description="when it happened")
    by: ActorView = Field(description="who recorded it")
    note: str = Field(description="what was done (shortened to 200 characters; the archive has all)")


class ReportView(View):
    """An information report (初报/续报/处理结果报告) the bureau made; the state keeps the newest."""

    kind: Literal["initial", "progress", "final"] = Field(description="initial 初报, progress 续报, final 处理结果报告")
    no: int = Field(description="the report's number among the incident's reports of its kind")
    at: Stamp = Field(description="when it was made")
    by: ActorView = Field(description="who submitted it")
    summary: str = Field(description="its summary (shortened; the full text is in the archive)")
    reporting_unit: str | None = Field(default=None, description="报告单位 (17号令 第十四条)")
    signed_by: str | None = Field(default=None, description="报告签发人")
    contact_person: str | None = Field(default=None, description="联系人")
    contact_phone: str | None = Field(default=None, description="联系方式")
    recipients: list[str] | None = Field(default=None, description="who it was sent to (the plan's reporting rules "
                                                                   "at the reporting level)")
    relayed_from: str | None = Field(default=None, description="the platform whose follow-up it records (12369/119 "
                                                               "intake), when it is not the bureau's own report")
    by_phone: bool = Field(default=False, description="a 初报 made by telephone (17号令 第十四条); the written 初报 "
                                                      "follows (deadline written_report)")
    received_by: str | None = Field(default=None, description="who took the call, for a telephone 初报")


class DurationView(View):
    """A duration: one of hours, days or working_days is set."""

    hours: float | None = Field(default=None, description="hours")
    days: int | None = Field(default=None, description="calendar days")
    working_days: int | None = Field(default=None, description="Chinese working days")


class DeadlineView(View):
    """A deadline the incident keeps (initial report, readiness, investigation, assessment…)."""

    name: str = Field(description="the rule's id in the plan, e.g. initial_report, readiness, assessment_report")
    title: str = Field(description="the deadline as people name it")
    source: str = Field(description="the rule's source (the plan section or the regulation)")
    who_acts: str = Field(description="who must act to meet it")
    started_at: datetime = Field(description="when its clock started (business time)")
    due_at: datetime | None = Field(description="when it is due; null while its due time is being computed")
    due_date: date | None = Field(default=None, description="the due day, for deadlines counted in days")
    provisional: bool = Field(default=False, description="computed Mon–Fri because the working-day calendar had no "
                                                         "data for the year; recomputed when it has")
    status: Literal["scheduling", "pending", "met", "overdue", "met_late"] = Field(
        description="scheduling (due time not computed yet), pending, met, overdue, met_late")
    met_at: datetime | None = Field(default=None, description="when the action that met it happened")
    reminders_at: list[datetime] = Field(default=[], description="when reminders are (or were) sent before due")
    reminders_sent: int = Field(default=0, description="reminders sent so far")
    escalations: int = Field(default=0, description="escalations sent since it became overdue")
    next_escalation_at: datetime | None = Field(default=None, description="when the next escalation goes out")
    repeat_every: DurationView = Field(description="how often an overdue deadline escalates again")
    notify_on_overdue: list[str] = Field(description="who is told when it is overdue")
    repeats_at: list[datetime] = Field(default=[], description="the next working-day escalation times")
    met_backdated: bool = Field(default=False, description="met by an action entered late (its reason is on the "
                                                           "timeline entry)")
    met_seq: int | None = Field(default=None, description="the timeline entry that met it")


class TimelineEntryView(View):
    """One entry of the incident's timeline: an action, a timer or a delivery."""

    seq: int = Field(description="its number, from 1, over the incident's whole life (runs included)")
    at: datetime = Field(description="business time: when it happened")
    recorded_at: datetime = Field(description="when the incident recorded it")
    by: ActorView | None = Field(description="who did it; null for the system (timers, escalations, deliveries)")
    action: str = Field(description="the action or event, e.g. reported, activate_response, deadline_overdue")
    from_stage: Stage = Field(description="the stage before")
    to_stage: Stage = Field(description="the stage after (the same when the stage did not change)")
    detail: dict[str, Any] = Field(default={}, description="what the action recorded; its keys depend on `action` "
                                                           "(free texts shortened to 200 characters)")
    rejected: bool = Field(default=False, description="a sign-off signal that was refused (its reason in detail)")
    backdate_reason: str | None = Field(default=None, description="补录说明: why the action was entered more than "
                                                                  "1 h after it happened")


class TimelineSummaryView(View):
    """The older timeline entries that left the state (they are in the archive's timeline.jsonl)."""

    entries: int = Field(description="how many entries are summarised")
    from_seq: int = Field(description="the first summarised entry")
    from_at: Stamp = Field(description="its time")
    to_seq: int | None = Field(default=None, description="the last summarised entry")
    to_at: Stamp | None = Field(default=None, description="its time")
    by_action: dict[str, int] = Field(default={}, description="how many summarised entries of each action")
    archive: str | None = Field(default=None, description="the archive file that holds them all")


class SupportAnswerView(View):
    """The partner's answer to a support request."""

    answer: Literal["accepted", "declined"] = Field(description="accepted or declined")
    note: str | None = Field(default=None, description="a note with the answer")
    at: Stamp = Field(description="when it was answered")
    by: ActorView = Field(description="who recorded the answer")


class SupportRequestView(View):
    """商请: a request to a linkage partner for experts or teams (协议 二.6)."""

    no: int = Field(description="the request's number")
    partner: str = Field(description="the partner's id in the plan")
    partner_name: str = Field(description="the partner's name")
    request: str = Field(description="what was asked (shortened)")
    at: Stamp = Field(description="when it was sent")
    by: ActorView = Field(description="who sent it")
    answer: SupportAnswerView | None = Field(default=None, description="the answer; null while unanswered")


class JointInvestigationView(View):
    """The joint investigation group with the fire brigade (协议 二.5)."""

    members: list[str] = Field(description="its members")
    note: str | None = Field(default=None, description="a note")
    at: Stamp = Field(description="when it was formed")
    by: ActorView = Field(description="who recorded it")


class LinkageView(View):
    """Linkage with the fire brigade and other departments (4.2.3; 郑环办〔2013〕84号)."""

    bulletins: int = Field(default=0, description="linkage bulletins sent so far")
    facts: dict[str, str] = Field(default={}, description="the report fields the bulletins carry (report content id "
                                                          "→ text, shortened)")
    cross_boundary: Literal["county_dispute", "city", "province"] | None = Field(
        default=None, description="the cross-boundary scope recorded (4.2.3); null: none")
    support_requests: list[SupportRequestView] = Field(default=[], description="support requests (the newest; "
                                                                               "answered ones leave after 50)")
    support_requests_made: int | None = Field(default=None, description="support requests made so far; null "
                                                                        "before the first")
    joint_investigation: JointInvestigationView | None = Field(default=None,
                                                               description="the joint investigation group, if formed")
    fire_engaged: bool = Field(default=False, description="the fire brigade's forces are engaged (119 source, "
                                                          "reported fire forces or an accepted request)")


class OtherActView(View):
    """A step recorded as another body's act at the incident's level (plan duties)."""

    body: str = Field(description="the body that acted, e.g. 省生态环境厅")
    at: Stamp = Field(description="when it acted")
    document: str = Field(description="its document (文号 or title)")
    by: ActorView = Field(description="who recorded it")
    source: str = Field(description="the rule that makes it the other body's act")
    mode: str | None = Field(default=None, description="the duty's mode at the level (records, assists…); null for "
                                                       "the termination")


class InvestigationTransferView(View):
    """32号令 第四条 第二、三款: the investigation delegated to the bureau (delegated), taken over by
    the upper department (taken_over), or the bureau's request to it (referred)."""

    kind: Literal["delegated", "taken_over", "referred"] = Field(description="delegated (委托), taken_over (直接组织) "
                                                                             "or referred (报请)")
    body: str = Field(description="the upper department, e.g. 省生态环境厅")
    at: Stamp = Field(description="when (business time)")
    document: str = Field(description="the letter or the request (文号 or title)")
    by: ActorView = Field(description="who recorded it")
    source: str = Field(description="the article")


class PublicationView(View):
    """5.3 信息公开: where and when the assessment's conclusion was made public."""

    where: str = Field(description="where it was published")
    at: Stamp = Field(description="when (business time)")
    by: ActorView = Field(description="who recorded it")


class CircumstanceView(View):
    """A 17号令 第四条 case recorded: reports go by the 重大/特别重大 procedure."""

    id: str = Field(description="the circumstance's id: drinking_water_source, sensitive_area, heavy_metal, "
                                "cross_province, mass_incident, other")
    at: Stamp = Field(description="when it was learned")
    by: ActorView = Field(description="who recorded it (the reporter for those in the report)")
    note: str = Field(default="", description="a note")


class DocumentView(View):
    """A document the incident wrote into its archive (the newest are kept)."""

    key: str | None = Field(default=None, description="the delivery that wrote it")
    kind: str = Field(description="written: activation_notice, termination_form, info_report, dossier; printed: "
                                  "the same kinds, case_file and chart")
    format: str | None = Field(default=None, description="a printed file's format (pdf, svg, png); null for the "
                                                         "written Markdown and JSON documents")
    seq: int = Field(description="the timeline entry it belongs to")
    path: str | None = Field(description="where it was written")
    sha256: str | None = Field(description="the sha256 of its bytes")


class DeliveryFailureView(View):
    """A notification or document given up (hopeless, or not delivered within the give-up time)."""

    key: str = Field(description="the delivery's key")
    what: str = Field(description="what it was")
    since: Stamp = Field(description="when it was first tried")
    at: Stamp = Field(description="when it was given up")
    reason: str = Field(description="why")


class DeliveryOverdueView(View):
    """A delivery still being tried after its quick tries failed."""

    what: str = Field(description="what it is")
    since: Stamp = Field(description="when it was first tried")
    tries: int = Field(description="tries so far")


class FaultView(View):
    """An internal fault supervisors must see, until it clears."""

    fault: str = Field(description="calendar_unavailable, plan_unavailable, delivery_overdue, delivery_failed")
    since: Stamp = Field(description="since when")
    error: str | None = Field(default=None, description="the error (calendar/plan faults)")
    count: int | None = Field(default=None, description="how many deliveries (delivery faults)")
    last: str | None = Field(default=None, description="the last reason a delivery was given up (delivery_failed)")


class DutyView(View):
    """At the incident's level, whose act a step is (plan duties) and whether it is done."""

    step: str = Field(description="the step: dispatch, termination, aftercare, investigation, assessment, "
                                  "final_report")
    name: str = Field(description="the step's name")
    mode: str = Field(description="performs (the bureau's own), optional (the bureau's, if it decides: 视情况), "
                                  "records (another body's act the bureau records), assists (another body's act "
                                  "the bureau assists)")
    body: str = Field(description="whose act it is")
    source: str = Field(description="the rule it comes from")
    level: Level = Field(description="the level it is read at: dispatch and termination at the response level, the "
                                     "other steps at the event level (issue 24; before, the response level, else the "
                                     "graded one)")
    needed_to_close: bool = Field(description="close waits for it")
    done: bool = Field(description="done by the bureau, or recorded as the other body's act")
    recorded_as_other: OtherActView | None = Field(description="the other body's act, when recorded")


# ---------------------------------------------------------------- the view


class IncidentView(View):
    """The incident as its `status` query answers (`ecoplan status --json`, `GET /api/incidents/{id}`)."""

    view_version: int = Field(default=VIEW_VERSION, description="the version of this shape; it only gains fields "
                                                                "within a version")
    loading: Literal[False] = Field(default=False, description="false: the incident has loaded its plan (see the "
                                                               "loading answer)")
    # the report
    incident_id: str = Field(description="the incident's id")
    title: str = Field(description="事件名称")
    county: str = Field(description="县区")
    location: str = Field(description="地点")
    description: str = Field(description="事件经过")
    reporter: str = Field(description="报告人")
    incident_type: str = Field(description="事件类型: water, air, soil, hazardous_chemicals, solid_waste, other")
    source: str = Field(description="信息来源: hotline_12369, linkage_119, inspection, county_bureau, other")
    drill: bool = Field(description="a drill (演练)")
    drill_participants: list[str] = Field(default=[], description="a drill's participants (account usernames, the "
                                          "starter first): its pages go to them only; empty for a real incident")
    discovered_at: Stamp = Field(description="when it happened or was discovered by anyone (发现时间)")
    reported_at: Stamp = Field(description="when the bureau learned of it (接报时间)")
    # plan and grading
    plan: PlanRefView = Field(description="the plan the incident pinned")
    grading: GradingView | None = Field(description="the initial grading (附表1)")
    graded_level: Level | None = Field(description="the graded level (= grading.level)")
    # stage and level
    stage: Stage = Field(description="the stage (the life cycle's state)")
    stage_entered_at: datetime = Field(description="when the current stage was entered (a closed incident: when it "
                                                   "closed)")
    stage_entries: int = Field(description="stage changes so far")
    outcome: Outcome | None = Field(description="how it ended: warning_lifted (3.3) or completed; null while open")
    level: Level | None = Field(description="the response level in force; null before activation")
    level_name: str | None = Field(description="the response level's name in the plan")
    level_changes: list[LevelChangeView] = Field(description="the activation and every level adjustment")
    levels: LevelsView | None = Field(default=None, description="the event's level and the response's, each with its "
                                                                "history (incidents opened since issue 24; else null)")
    city_started: bool = Field(description="the city government started the response (the city HQ decides "
                                           "termination, 4.4)")
    # warning
    warning: WarningView | None = Field(description="the warning issued (3.3); null if none")
    # response
    leads: dict[str, str] = Field(description="the groups dispatched: group id → lead's username")
    # termination
    round: int = Field(description="termination proposals so far (the current round's number)")
    open_round: int | None = Field(description="the round open for signing; null outside termination_pending")
    signoffs: dict[str, SignOffView] = Field(description="the current round's sign-offs, by group id")
    pending_signoffs: list[str] = Field(description="the groups whose sign-off the current round still waits for")
    signoff_history: list[SignOffView] = Field(description="the sign-offs of every round (the newest kept)")
    termination: TerminationView | None = Field(description="the termination proposal and its approval")
    follow_up: FollowUpView | None = Field(default=None, description="4.4: the decision on follow-up monitoring, "
                                                                     "with the approval or recorded after termination "
                                                                     "(decide_follow_up); null until decided")
    # post event
    events: dict[str, datetime] = Field(description="business events that meet deadlines, with their time: "
                                                    "discovered, initial_report_submitted, dispatched, "
                                                    "response_terminated, investigation_completed, "
                                                    "assessment_review_passed, assessment_report_submitted")
    review_date: date | None = Field(description="the day the assessment report passed review (5.3)")
    aftercare: list[AftercareView] = Field(description="aftercare steps (5.1), the newest kept")
    other_acts: dict[str, OtherActView] = Field(description="steps recorded as another body's act, by step")
    duties: list[DutyView] = Field(description="at the incident's level, whose act each step is and whether it is done")
    investigation_transfer: InvestigationTransferView | None = Field(
        default=None, description="32号令 第四条: the investigation delegated, taken over or referred; null if none")
    assessment_published: PublicationView | None = Field(
        default=None, description="5.3: where and when the assessment's conclusion was published; null until then")
    # reporting
    reports: list[ReportView] = Field(description="the information reports made (the newest kept)")
    reports_count: dict[str, int] = Field(description="reports made so far, by kind")
    circumstances: list[CircumstanceView] = Field(description="17号令 第四条 cases recorded")
    initial_report_level: Level | None = Field(description="the level the initial-report deadline runs at")
    report_recipients: list[str] = Field(description="who information reports go to at the reporting level")
    reporting_level: Level = Field(description="the level reports go by (the event level since issue 24, before it the "
                                               "response or graded level; raised by "
                                               "第四条 cases)")
    reporting_rules: int = Field(description="1 when the plan has the 17号令 reporting rules, else 0")
    # deadlines and supervision
    deadlines: list[DeadlineView] = Field(description="every deadline started")
    waiting_on: list[str] = Field(description="who the incident waits on now")
    stuck_after: datetime | None = Field(description="when the current stay in the stage counts as stuck")
    stuck_key: int | None = Field(description="the stage entry stuck_after belongs to")
    faults: list[FaultView] = Field(description="internal faults supervisors must see")
    allowed_actions: list[str] = Field(description="the actions the current stage allows")
    authority_checked: bool = Field(description="true: every action's actor is checked against the plan's "
                                                "authority table")
    engine: int = Field(description="the workflow engine generation (2)")
    # timeline
    timeline: list[TimelineEntryView] = Field(description="the newest timeline entries (100 kept; older ones are in "
                                                          "the archive)")
    timeline_summary: TimelineSummaryView | None = Field(description="the older entries summarised; null if none")
    timeline_archived: int = Field(description="entries up to this seq are in the archive (timeline.jsonl)")
    runs: int = Field(description="workflow runs so far (continue-as-new)")
    # linkage
    linkage: LinkageView = Field(description="linkage with the fire brigade and other departments")
    # deliveries
    notices: int = Field(description="notifications sent so far")
    effects_made: int = Field(description="notifications and documents created so far")
    deliveries_overdue: list[DeliveryOverdueView] = Field(description="deliveries still being tried after their "
                                                                      "quick tries")
    delivery_failures: list[DeliveryFailureView] = Field(description="deliveries given up (the newest kept)")
    delivery_failures_count: int = Field(description="deliveries given up so far")
    documents: list[DocumentView] = Field(description="documents written into the archive (the newest kept)")
    documents_count: int = Field(description="documents written so far")
    # closed, and answered from elsewhere when Temporal no longer holds the incident (the
    # markers, ELSEWHERE, are left out of the incident's own answer)
    closed_at: Stamp | None = Field(default=None, description="when it closed (= stage_entered_at of a closed "
                                                              "incident); null while open")
    from_records: bool = Field(default=False, description="true: answered from the records store (Temporal no "
                                                          "longer holds the incident); the rest is its last status. "
                                                          "Only in such answers")
    closed_record: bool | None = Field(default=None, description="answered from the records store: it was closed "
                                                                 "when last saved. Only in such answers")
    archive_paths: list[str] | None = Field(default=None, description="answered from the records store: the "
                                                                      "incident's files in its archive folder (the "
                                                                      "incident itself lists them in documents). "
                                                                      "Only in such answers")
    from_dossier: str | None = Field(default=None, description="answered from the archive's dossier.json (neither "
                                                               "Temporal nor the records store has it): its path. "
                                                               "Only in such answers")

    def to_json(self) -> dict:
        """The answer as JSON: every field, but the markers of an answer from elsewhere only when set."""
        out = self.model_dump(mode="json")
        for key in ELSEWHERE:
            if out[key] == IncidentView.model_fields[key].default:
                del out[key]
        return out


# Set by the records store (records.status_of) and the dossier reader (documents.from_dossier).
ELSEWHERE = ("from_records", "closed_record", "archive_paths", "from_dossier")


class IncidentLoading(View):
    """The `status` answer while the incident is still loading its plan (it keeps trying)."""

    view_version: int = Field(default=VIEW_VERSION, description="the version of this shape")
    stage: None = Field(default=None, description="null: no stage yet")
    loading: Literal[True] = Field(default=True, description="true: still loading its plan")
    problem: str | None = Field(default=None, description="why loading has not succeeded yet, if it failed")


def parse_status(data: dict) -> IncidentView | IncidentLoading:
    """Read a `status` answer (the query's JSON, a stored status) as its view; raises
    pydantic.ValidationError. An answer without `loading` (stored before the view) is an IncidentView."""
    if data.get("loading"):
        return IncidentLoading.model_validate(data)
    return IncidentView.model_validate(data)
