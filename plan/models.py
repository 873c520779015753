"""The emergency plan as data: pydantic models of a plan file.

A plan file (plan/plans/<id>.yaml) is one bureau's 突发环境事件应急预案 transcribed as data.
Every rule carries `source`: the plan section (or national rule) it comes from, so a
reader can check the data against the paper plan.
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
StartEvent = Literal[
    "discovered", "response_activated", "response_terminated", "assessment_review_passed"
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
    extendable_by: Duration | None = None
    who_acts: str
    reminders: list[Duration] = []  # before due
    escalation: Escalation
    source: str

    def duration_for(self, level: Level) -> Duration:
        return self.by_level.get(level, self.duration)

    def applies_to(self, level: Level) -> bool:
        return not self.levels or level in self.levels


# ---------------------------------------------------------------- termination (4.4, 附件2)


class TerminationSpec(Strict):
    signatories: list[GroupId]  # 附件2: 应急监测组, 污染处置组, 污染排查组
    approver: str  # 局指挥部指挥批示
    # Role names that may approve, as incidents begun before the authority check compare them;
    # since that check the authority table (approve_termination) and deputy_may_approve decide.
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


class PostEventSpec(Strict):
    aftercare: str
    investigation: str
    assessment: str
    assessment_report_recipients: list[str]  # 5.3: 市人民政府, 省生态环境厅
    source: str


class InfoReporting(Strict):
    recipients: list[str]  # 4.2.2: 市人民政府, 省生态环境厅
    partners: list[str]  # 4.2.3 information sharing
    source: str


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


Stage = Literal[
    "reported", "warning", "responding", "on_site", "termination_pending", "post_event", "closed"
]


class StageExpectation(Strict):
    stage: Stage
    within: Duration
    source: str


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
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    document_number: str
    issuing_body: str
    version: str
    issued_on: date
    timezone: str = "Asia/Shanghai"
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
