"""The rules of an incident's course: grading (附表1) and response conditions (附表2), the
warning (3.x), deadlines, termination (4.4, 附件2), per-level duties and post-event steps."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from plan.models.base import Basis, Duration, GroupId, Level, Strict, wrong


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
    "initial_report", "readiness", "assessment_report", "assessment_completion", "investigation", "written_report"
]
# What starts a deadline's clock: a business event of the incident.
# bureau_learned: when the bureau discovered or learned of the incident (reported_at), as
# 17号令 第三条 counts the initial report; discovered: the incident's own time (older plans).
StartEvent = Literal[
    "discovered", "bureau_learned", "response_activated", "response_terminated", "assessment_review_passed",
    "initial_report_by_phone",  # a 初报 made by telephone (17号令 第十四条): the written one is owed
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
            raise wrong("不支持 extendable_by：本系统没有延长期限的操作；可延长的规定请写进该期限的 basis（如 "
                        "covers 中注明），并删去此项", "extendable_by")
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
            again = next(i for i, s in enumerate(steps) if s in steps[:i])
            raise wrong(f"{self.level.value}级的事项 {steps[again]} 写了不止一次：每个事项只写一次", f"steps.{again}.step")
        return self


class PostEventSpec(Strict):
    aftercare: str
    investigation: str
    assessment: str
    assessment_report_recipients: list[str]  # 5.3: 市人民政府, 省生态环境厅
    source: str
