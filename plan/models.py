"""The emergency plan as data: pydantic models of a plan file.

A plan file (plan/plans/<id>.yaml) is one bureau's 突发环境事件应急预案 transcribed as data.
Every rule carries `source`: the plan section (or national rule) it comes from, so a
reader can check the data against the paper plan; `basis` says where the rule stands (in
force, repealed, the bureau's local choice, adopted from another body's document).

Every field is honoured by the code. Times are China Standard Time (Asia/Shanghai): the
working-day calendar is China's, so a plan has no time zone to choose.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    # Plan files are hand-written: a misspelt key must be an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(str, Enum):
    """Response / incident levels. I is the most severe (特别重大), IV the least (一般)."""

    I = "I"
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        """Higher is more severe: IV=1 … I=4."""
        return {"IV": 1, "III": 2, "II": 3, "I": 4}[self.value]

    def at_least(self, other: "Level") -> bool:
        return self.rank >= other.rank


GROUP_IDS = ("coordination", "monitoring", "disposal", "investigation", "publicity", "experts")
GroupId = Literal["coordination", "monitoring", "disposal", "investigation", "publicity", "experts"]


class Duration(Strict):
    """Exactly one of hours, days (calendar days) or working_days (Chinese working days)."""

    hours: float | None = Field(default=None, gt=0)
    days: int | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> "Duration":
        if sum(v is not None for v in (self.hours, self.days, self.working_days)) != 1:
            raise ValueError("a duration needs exactly one of hours, days, working_days")
        return self

    @property
    def is_working_days(self) -> bool:
        return self.working_days is not None

    def as_timedelta(self) -> timedelta:
        """Clock duration; working days have none (the calendar decides)."""
        if self.hours is not None:
            return timedelta(hours=self.hours)
        if self.days is not None:
            return timedelta(days=self.days)
        raise ValueError("a working-day duration has no fixed length")

    def label(self) -> str:
        if self.hours is not None:
            return f"{self.hours:g} h"
        if self.days is not None:
            return f"{self.days} days"
        return f"{self.working_days} working days"


# ---------------------------------------------------------------- legal basis and its standing

BasisStatus = Literal["in_force", "repealed", "local_choice", "adopted_from"]


class Basis(Strict):
    """What (part of) a rule rests on, and where that stands: a document in force (cited to the
    article), a repealed one (the year, and what replaced it if known), the bureau's local
    choice (why), or a rule adopted from another body's document (which)."""

    status: BasisStatus
    document: str | None = None  # e.g. 环境保护部令第17号, 阳环发〔2022〕24号, 郑环办〔2013〕84号
    article: str | None = None  # 第三条, 4.1.2(4), 协议 二.5
    covers: str | None = None  # the part of the rule it is the basis of: duration, reminders ...
    repealed_in: int | None = None
    replaced_by: str | None = None
    note: str | None = None  # local_choice: why; otherwise anything a reviewer should know

    @model_validator(mode="after")
    def _complete(self) -> "Basis":
        if self.status in ("in_force", "repealed", "adopted_from") and not self.document:
            raise ValueError(f"a basis {self.status} names its document")
        if self.status == "repealed" and self.repealed_in is None:
            raise ValueError("a repealed basis gives the year it was repealed (repealed_in)")
        if self.status == "local_choice" and not (self.note or "").strip():
            raise ValueError("a local choice says why (note)")
        if self.status != "repealed" and (self.repealed_in or self.replaced_by):
            raise ValueError("repealed_in / replaced_by only for a repealed basis")
        return self

    def label(self) -> str:
        where = " ".join(x for x in (self.document, self.article) if x)
        what = f" ({self.covers})" if self.covers else ""
        if self.status == "repealed":
            by = f", replaced by {self.replaced_by}" if self.replaced_by else ", replacement not recorded"
            return f"{where}{what}: repealed in {self.repealed_in}{by}"
        if self.status == "local_choice":
            return f"local choice{what}: {self.note}"
        if self.status == "adopted_from":
            return f"adopted from {where}{what}" + (f": {self.note}" if self.note else "")
        return f"{where}{what}: in force"


# ---------------------------------------------------------------- organisation (2.x, 附表3)


class Post(Strict):
    role: str  # e.g. 指挥, 副指挥
    holder: str  # the office that holds it, e.g. 市生态环境局局长
    # Named people who may act in this role (issue: commander approval by the commander or a
    # named deputy). Empty in the shipped plan: it names offices, not persons.
    people: list[str] = []


class Headquarters(Strict):
    name: str
    commander: Post
    deputy_commanders: list[Post]
    member_units: list[str]
    source: str


class Office(Strict):
    name: str
    located_in: str
    director: str
    deputy_director: str
    duties: list[str]
    source: str


class MemberUnit(Strict):
    name: str
    duties: list[str]
    source: str


class WorkGroup(Strict):
    id: GroupId
    name: str
    lead_units: list[str]
    members: list[str] = []
    duties: list[str]
    source: str


class Organisation(Strict):
    headquarters: Headquarters
    office: Office
    member_units: list[MemberUnit]
    county_bureaus: str  # 2.4 事发地县（区）生态环境分局 role, as text
    county_bureaus_source: str


# ---------------------------------------------------------------- levels and responses (4.1)


class ResponseAction(Strict):
    text: str
    source: str


class LevelSpec(Strict):
    id: Level
    name: str  # 特别重大 / 重大 / 较大 / 一般
    response_name: str  # e.g. III级响应
    led_by: str  # who leads the response at this level
    builds_on: Level | None = None  # II and I build on the level below (4.1.3, 4.1.4)
    reports_to: list[str]
    asks_city_to_start: bool  # the bureau asks the city HQ to start the city plan (4.1.2-4.1.4)
    actions: list[ResponseAction]
    source: str


# ---------------------------------------------------------------- grading (附表1) and conditions (附表2)

AssessmentField = Literal[
    "deaths",
    "poisoned_or_injured",
    "evacuated",
    "direct_loss_yuan",
    "drinking_water_interrupted",
    "cross_boundary",
    "ecological_impact",
]


class Criterion(Strict):
    """One row item of a grading table. Numeric: `at_least` (以上含本数) and/or `below`
    (以下不含本数); categorical: `equals`. A level-IV criterion with neither matches any
    non-zero / non-none value."""

    level: Level
    field: AssessmentField
    at_least: float | None = None
    below: float | None = None
    equals: str | None = None
    text: str
    source: str


class GradingTable(Strict):
    title: str
    note: str
    default_level: Level  # with nothing reported (附表1 一般 item 5)
    default_reason: str
    criteria: list[Criterion]
    source: str


# ---------------------------------------------------------------- warning (3.x)


class ChecklistItem(Strict):
    id: str
    name: str
    text: str
    source: str


class WarningSpec(Strict):
    recommend_to: list[str]  # 3.1: 市政府应急指挥部, 省生态环境厅应急指挥部
    actions: list[ChecklistItem]  # 3.2
    lift_by: str  # 3.3: 由市人民政府或授权有关单位发布预警解除
    source: str
    # Who issues and lifts a warning (the bureau records that act with the issuer's name and
    # document number, it does not issue): 3.3 市人民政府或授权有关单位.
    issued_by: str = ""
    # Who hears from the bureau that a warning was issued or lifted (3.1 通报可能受影响县区
    # 人民政府及生态环境分局; 3.2(3) 成员单位 act on it), and where a proposal to lift goes (3.3).
    notify_issued: list[str] = []
    lift_proposal_to: list[str] = []
    issuing_source: str = ""


# ---------------------------------------------------------------- deadlines

DeadlineName = Literal[
    "initial_report", "readiness", "assessment_report", "assessment_completion", "investigation"
]
# What starts a deadline's clock: a business event of the incident.
# bureau_learned: when the bureau discovered or learned of the incident (reported_at), as
# 17号令 第三条 counts the initial report; discovered: the incident's own time (older plans).
StartEvent = Literal[
    "discovered", "bureau_learned", "response_activated", "response_terminated", "assessment_review_passed"
]


class Escalation(Strict):
    """Overdue: notify `notify` at once, then again every `repeat_every` until met."""

    notify: list[str]
    repeat_every: Duration


class DeadlineRule(Strict):
    name: DeadlineName
    title: str
    starts_on: StartEvent
    duration: Duration
    # Levels with their own duration (initial report: 2 h for I/II).
    by_level: dict[Level, Duration] = {}
    # Only these levels get the deadline (readiness: III and above). Empty = all.
    levels: list[Level] = []
    who_acts: str
    reminders: list[Duration] = []  # before due
    escalation: Escalation
    source: str
    basis: list[Basis] = []

    @model_validator(mode="before")
    @classmethod
    def _no_extension(cls, data):
        if isinstance(data, dict) and "extendable_by" in data:
            raise ValueError("extendable_by is not supported: no action extends a deadline; cite the extension "
                             "in the rule's basis instead")
        return data

    def duration_for(self, level: Level) -> Duration:
        return self.by_level.get(level, self.duration)

    def applies_to(self, level: Level) -> bool:
        return not self.levels or level in self.levels


# ---------------------------------------------------------------- termination (4.4, 附件2)


class TerminationSpec(Strict):
    signatories: list[GroupId]  # 附件2: 应急监测组, 污染处置组, 污染排查组
    approver: str  # 局指挥部指挥批示
    # Role names that may approve, as the plan lists them; who may is decided by the
    # authority table (approve_termination) and deputy_may_approve.
    approver_roles: list[str]
    city_decides_when_city_started: bool
    condition: str  # 附件2 终止建议 text
    source: str
    # 附件2 is approved by the 指挥; a plan that lets a 副指挥 approve says so here, and its
    # authority table then lists deputy_commander for approve_termination (checked below).
    deputy_may_approve: bool = False
    # 4.4: after termination 市应急指挥部会同专家组 decides on follow-up monitoring; recorded at approval.
    follow_up_decided_by: str = ""
    follow_up_source: str = ""


# ---------------------------------------------------------------- per-level duties (1.5, 4.1, 4.4, 5.x)

# The steps of an incident whose owner depends on its level.
DutyStep = Literal["dispatch", "termination", "investigation", "assessment", "aftercare", "final_report"]
DUTY_STEPS = ("dispatch", "termination", "investigation", "assessment", "aftercare", "final_report")
# performs: the bureau's own act, needed before close. optional: the bureau's own act when it
# chooses to (视情况, 必要时), not needed. records: another body's act, which the bureau records
# (who, when, document) before close. assists: another body's act the bureau only 配合/指导.
DutyMode = Literal["performs", "optional", "records", "assists"]


class Duty(Strict):
    step: DutyStep
    mode: DutyMode
    body: str  # who acts: 市生态环境局, 事发地县（区）人民政府, 省生态环境厅, 生态环境部 ...
    source: str


class LevelDuties(Strict):
    level: Level
    steps: list[Duty]
    source: str

    @model_validator(mode="after")
    def _once(self) -> "LevelDuties":
        steps = [d.step for d in self.steps]
        if len(set(steps)) != len(steps):
            raise ValueError(f"duties {self.level.value}: a step appears more than once")
        return self


class PostEventSpec(Strict):
    aftercare: str
    investigation: str
    assessment: str
    assessment_report_recipients: list[str]  # 5.3: 市人民政府, 省生态环境厅
    source: str


Circumstance = Literal["drinking_water_source", "sensitive_area", "heavy_metal", "cross_province",
                       "mass_incident", "other"]
CIRCUMSTANCES = ("drinking_water_source", "sensitive_area", "heavy_metal", "cross_province", "mass_incident", "other")
ReportKindId = Literal["initial", "progress", "final"]
HeaderField = Literal["reporting_unit", "signed_by", "contact_person", "contact_phone"]


class SpecialCircumstance(Strict):
    id: Circumstance
    name: str
    source: str


class SpecialCircumstances(Strict):
    """Events whose level cannot yet be judged but which are reported by the II/I procedure
    (17号令 第四条): the initial report is due as for `report_as`, and goes where its reports go."""

    report_as: Level
    items: list[SpecialCircumstance]
    source: str

    def name(self, cid: str) -> str:
        return next((c.name for c in self.items if c.id == cid), cid)


class AlsoReportTo(Strict):
    """Recipients added, at the same time, to every report at these reporting levels."""

    levels: list[Level]
    recipients: list[str]
    source: str


class InitialReportClock(Strict):
    """How the initial report's deadline follows the level known before the report is made.
    keeps_shorter: raised (or a 第四条 case recorded) → the shorter duration from the same
    start; lowered afterwards → it stays shorter. follows: it follows every change."""

    lowering: Literal["keeps_shorter", "follows"]
    source: str  # the rule the raise follows
    local_choice: str  # the choice made for lowering, and why


class ReportItem(Strict):
    id: str  # a field of the report (plan.incident.ReportContent)
    label: str


class ReportKindSpec(Strict):
    kind: ReportKindId
    name: str  # 初报 / 续报 / 处理结果报告
    when: str  # when it is made
    contents: list[ReportItem]  # what it reports
    source: str


class WrittenReport(Strict):
    """What every written report names (报告单位、报告签发人、联系人及联系方式)."""

    required: list[HeaderField]
    reporting_unit: str | None = None  # the default 报告单位 when a report names none
    reporting_unit_source: str | None = None
    source: str


class FinalReportRule(Strict):
    """Levels at which `close` needs the 处理结果报告."""

    levels: list[Level]
    source: str


class InfoReporting(Strict):
    recipients: list[str]  # 4.2.2: 市人民政府, 省生态环境厅
    partners: list[str]  # 4.2.3 information sharing
    source: str
    # 17号令 rules (plans without them keep the older behaviour: no ministry, no 第四条 cases)
    also_to: list[AlsoReportTo] = []
    special_circumstances: SpecialCircumstances | None = None
    initial_report_clock: InitialReportClock | None = None
    kinds: list[ReportKindSpec] = []
    written_report: WrittenReport | None = None
    final_report_required: FinalReportRule | None = None

    def recipients_at(self, level: Level) -> list[str]:
        out = list(self.recipients)
        for extra in self.also_to:
            if level in extra.levels:
                out += [r for r in extra.recipients if r not in out]
        return out

    def kind(self, kind: str) -> ReportKindSpec | None:
        return next((k for k in self.kinds if k.kind == kind), None)

    def final_report_needed(self, level: Level | None) -> bool:
        """Does `close` need the 处理结果报告 at this level? (A per-level duty may relax it.)"""
        rule = self.final_report_required
        return rule is not None and level is not None and level in rule.levels


class LinkagePartner(Strict):
    id: str
    name: str
    channel: str  # how bulletins reach them, e.g. 119指挥平台, 值班电话/传真
    source: str


class BulletinField(Strict):
    id: str  # key in the bulletin's detail
    label: str
    source: str


class LinkageSpec(Strict):
    """Inter-agency linkage (4.2.3; 郑环办〔2013〕84号 协议 二.3, 二.5, 二.6): who receives the
    linkage bulletin, what it contains, who hears of a cross-boundary incident."""

    partners: list[LinkagePartner]
    bulletin_fields: list[BulletinField]
    neighbours_notified: list[str]  # 4.2.3 相邻区域人民政府及生态环境部门
    cross_province_report_to: list[str]  # 4.2.3 省人民政府、省生态环境厅
    fire_brigade: str  # the partner id of the fire brigade (joint investigation group, 协议 二.5)
    source: str
    basis: list[Basis] = []


Stage = Literal[
    "reported", "warning", "responding", "on_site", "termination_pending", "post_event", "closed"
]


class StageExpectation(Strict):
    stage: Stage
    within: Duration
    source: str
    basis: list[Basis] = []


# ---------------------------------------------------------------- the daily duty report (零报告/日报告)

DailyContent = Literal["open_incidents", "new_incidents", "overdue", "stuck", "due_soon"]
DAILY_CONTENTS = ("open_incidents", "new_incidents", "overdue", "stuck", "due_soon")


class DailyReportSpec(Strict):
    """The 零报告/日报告 the duty office sends every day: when (China Standard Time), the period
    it covers (up to that time), how far ahead it lists deadlines, to whom, and what it holds."""

    at: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # HH:MM
    period: Duration
    look_ahead: Duration
    recipients: list[str] = Field(min_length=1)
    contents: list[DailyContent] = Field(min_length=1)
    source: str
    basis: list[Basis] = []

    @model_validator(mode="after")
    def _clock(self) -> "DailyReportSpec":
        if self.period.is_working_days or self.look_ahead.is_working_days:
            raise ValueError("the daily report's period and look_ahead are hours or days, not working days")
        if len(set(self.contents)) != len(self.contents):
            raise ValueError("daily report contents: each once")
        return self

    @property
    def hour(self) -> int:
        return int(self.at[:2])

    @property
    def minute(self) -> int:
        return int(self.at[3:])


# What a plan without a daily_report gets: the values ecoplan shipped before the plan said.
DEFAULT_DAILY_REPORT = DailyReportSpec(
    at="08:00", period=Duration(hours=24), look_ahead=Duration(hours=24), recipients=["带班领导", "局指挥部办公室"],
    contents=list(DAILY_CONTENTS), source="ecoplan default (the plan sets no daily report)",
    basis=[Basis(status="local_choice", note="the plan sets no daily report: ecoplan's default")])


# ---------------------------------------------------------------- who may do what (accounts)

RoleId = Literal["duty_officer", "commander", "deputy_commander", "lead", "supervisor", "partner", "admin"]
ROLE_IDS = ("duty_officer", "commander", "deputy_commander", "lead", "supervisor", "partner", "admin")
# How an actor was authenticated (recorded with every action).
Via = Literal["web", "api", "oidc", "cli", "intake", "schedule"]


class Cited(Strict):
    """A rule from the plan (`source`: its section) or a local choice (`local_choice`: why),
    or a plan rule with a local reading (both)."""

    source: str | None = None
    local_choice: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> "Cited":
        if not (self.source or self.local_choice):
            raise ValueError("cite the plan section (source) or say it is a local choice (local_choice)")
        return self


class RoleSpec(Cited):
    id: RoleId
    name: str  # as the plan names it; recorded as the actor's role
    duties: str
    reads: Literal["all", "led", "bulletins", "none"]


class AuthorityRule(Cited):
    action: str  # a Workflow Update name, or start_incident
    name: str  # the action as a person reads it (zh-CN)
    roles: list[RoleId]
    named_lead_only: bool = False  # only the account named at dispatch to lead the group
    # The act needs the approval of an account of these roles: the actor, when it holds one,
    # or the approver it names (附件1: activation 经…总指挥批准).
    approver_roles: list[RoleId] = []
    approver_post: str = ""  # the approver as the plan names the post, e.g. 总指挥


# ---------------------------------------------------------------- the plan


def plan_ref(plan_id: str, version: str, content_hash: str) -> dict:
    """How an incident names the plan it pinned: id, version and content hash."""
    return {"id": plan_id, "version": version, "hash": content_hash}


class DeadlineLookup:
    """A plan, or the snapshot an incident pins of it, finds its deadline rules by name."""

    deadlines: list[DeadlineRule]

    def deadline(self, name: str) -> DeadlineRule | None:
        return next((d for d in self.deadlines if d.name == name), None)


class Plan(DeadlineLookup, Strict):
    @model_validator(mode="before")
    @classmethod
    def _no_timezone(cls, data):
        if isinstance(data, dict) and "timezone" in data:
            raise ValueError("timezone is not a plan setting: ecoplan keeps every time in China Standard Time "
                             "(Asia/Shanghai), the zone of the working-day calendar")
        return data

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    document_number: str
    issuing_body: str
    version: str
    issued_on: date
    organisation: Organisation
    groups: list[WorkGroup]
    levels: list[LevelSpec]
    grading: GradingTable  # 附表1
    response_conditions: GradingTable  # 附表2
    warning: WarningSpec
    reporting: InfoReporting
    deadlines: list[DeadlineRule]
    termination: TerminationSpec
    post_event: PostEventSpec
    stage_expectations: list[StageExpectation]
    linkage: LinkageSpec | None = None  # plans without a linkage agreement omit it
    roles: list[RoleSpec] = []  # plans without them: nobody acts in the console
    authority: list[AuthorityRule] = []
    # Who performs each step at each level; a plan without it: the bureau performs every step.
    duties: list[LevelDuties] = []
    daily_report: DailyReportSpec = DEFAULT_DAILY_REPORT

    @model_validator(mode="after")
    def _consistent(self) -> "Plan":
        ids = [g.id for g in self.groups]
        if sorted(ids) != sorted(GROUP_IDS):
            raise ValueError(f"groups must be exactly {', '.join(GROUP_IDS)}; got {', '.join(ids)}")
        if sorted(l.id.value for l in self.levels) != ["I", "II", "III", "IV"]:
            raise ValueError("levels must be exactly I, II, III, IV")
        names = [d.name for d in self.deadlines]
        if len(set(names)) != len(names):
            raise ValueError("deadline names must be unique")
        for s in self.termination.signatories:
            if s not in ids:
                raise ValueError(f"termination signatory {s!r} is not a group")
        role_ids = [r.id for r in self.roles]
        if len(set(role_ids)) != len(role_ids):
            raise ValueError("role ids must be unique")
        actions = [a.action for a in self.authority]
        if len(set(actions)) != len(actions):
            raise ValueError("each action appears once in the authority table")
        for a in self.authority:
            if not a.roles:
                raise ValueError(f"authority {a.action}: no role may take it")
            missing = [r for r in a.roles + a.approver_roles if r not in role_ids]
            if missing:
                raise ValueError(f"authority {a.action}: role {missing[0]} is not in the role table")
        levels = [d.level for d in self.duties]
        if len(set(levels)) != len(levels):
            raise ValueError("duties: each level appears once")
        approve = next((a for a in self.authority if a.action == "approve_termination"), None)
        if approve is not None and ("deputy_commander" in approve.roles) != self.termination.deputy_may_approve:
            raise ValueError("termination.deputy_may_approve and the authority table disagree: deputy_commander "
                             "approves termination exactly when the plan says a 副指挥 may")
        return self

    def group(self, gid: str) -> WorkGroup:
        return next(g for g in self.groups if g.id == gid)

    def level(self, lid: Level | str) -> LevelSpec:
        return next(l for l in self.levels if l.id == Level(lid))


# What meets each deadline: the business event of the incident whose time stops its clock.
MET_BY: dict[str, str] = {
    "initial_report": "initial_report_submitted",  # 初报 made
    "readiness": "dispatched",  # the groups are ready and sent out (4.1.2(4), (6))
    "assessment_report": "assessment_report_submitted",  # 5.3
    "assessment_completion": "assessment_review_passed",  # the assessment is done when its report passes review
    "investigation": "investigation_completed",  # 5.2
}
