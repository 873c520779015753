"""The plan itself: every part, checked for consistency, and what meets each deadline."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from plan.models.base import GROUP_IDS, Basis, Level, Strict, wrong
from plan.models.daily import DEFAULT_DAILY_REPORT, DailyReportSpec
from plan.models.organisation import LevelSpec, Organisation, WorkGroup
from plan.models.reporting import InfoReporting, LinkageSpec, StageExpectation
from plan.models.roles import AuthorityRule, RoleSpec
from plan.models.rules import (DeadlineRule, GradingTable, LevelDuties, PostEventSpec, TerminationSpec,
                               WarningSpec)


# ---------------------------------------------------------------- the plan


def _repeated(values: list) -> int | None:
    """The position of the first value written before, or None."""
    return next((i for i, v in enumerate(values) if v in values[:i]), None)


def plan_ref(plan_id: str, version: str, content_hash: str) -> dict:
    """How an incident names the plan it pinned: id, version and content hash."""
    return {"id": plan_id, "version": version, "hash": content_hash}


class DeadlineLookup:
    """A plan, or the snapshot an incident pins of it, finds its deadline rules by name."""

    deadlines: list[DeadlineRule]

    def deadline(self, name: str) -> DeadlineRule | None:
        return next((d for d in self.deadlines if d.name == name), None)


class Counties(Strict):
    """事发地县（区）: the county-level divisions an incident may be reported in; a start report
    naming another is refused (plan/incident.py county_problem)."""

    names: list[str] = Field(min_length=1)
    basis: list[Basis] = []

    @model_validator(mode="after")
    def _distinct(self) -> "Counties":
        if len(set(self.names)) != len(self.names):
            again = next(i for i, n in enumerate(self.names) if n in self.names[:i])
            raise wrong(f"县（区）{self.names[again]} 列了两次：每个县（区）只列一次", f"names.{again}")
        return self


class Plan(DeadlineLookup, Strict):
    @model_validator(mode="before")
    @classmethod
    def _no_timezone(cls, data):
        if isinstance(data, dict) and "timezone" in data:
            raise wrong("不是预案的设置项：ecoplan 的时间一律按北京时间（Asia/Shanghai，工作日历所在的时区）计，"
                        "请删去此项", "timezone")
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
    counties: Counties | None = None  # a plan without the list takes any county
    # Where each area of rules stands in law (issue 24): area → its bases (plan/check_law.py).
    rule_bases: dict[str, list[Basis]] = {}

    @model_validator(mode="after")
    def _consistent(self) -> "Plan":
        ids = [g.id for g in self.groups]
        if sorted(ids) != sorted(GROUP_IDS):
            lacking = [g for g in GROUP_IDS if g not in ids]
            again = [g for i, g in enumerate(ids) if g in ids[:i]]
            raise wrong(f"应恰好列出六个工作组 {'、'.join(GROUP_IDS)}，各一次："
                        + (f"缺少 {'、'.join(lacking)}" if lacking else f"{'、'.join(again)} 列了不止一次"), "groups")
        levels = [l.id.value for l in self.levels]
        if sorted(levels) != ["I", "II", "III", "IV"]:
            lacking = [l for l in ("I", "II", "III", "IV") if l not in levels]
            raise wrong("应恰好列出 I、II、III、IV 四个级别，各一次："
                        + (f"缺少 {'、'.join(lacking)}" if lacking else "有级别列了不止一次"), "levels")
        names = [d.name for d in self.deadlines]
        if (again := _repeated(names)) is not None:
            raise wrong(f"期限 {names[again]} 写了不止一次：每个期限只写一次", f"deadlines.{again}.name")
        for i, s in enumerate(self.termination.signatories):
            if s not in ids:
                raise wrong(f"{s} 不是工作组：可写 {'、'.join(ids)}", f"termination.signatories.{i}")
        role_ids = [r.id for r in self.roles]
        if (again := _repeated(role_ids)) is not None:
            raise wrong(f"角色 {role_ids[again]} 写了不止一次：每个角色只写一次", f"roles.{again}.id")
        actions = [a.action for a in self.authority]
        if (again := _repeated(actions)) is not None:
            raise wrong(f"操作 {actions[again]} 在权限表中写了不止一次：每个操作只写一次", f"authority.{again}.action")
        for i, a in enumerate(self.authority):
            if not a.roles:
                raise wrong(f"操作 {a.action} 没有可办理的角色：请在 roles 中至少写一个角色", f"authority.{i}.roles")
            for key in ("roles", "approver_roles"):
                missing = [r for r in getattr(a, key) if r not in role_ids]
                if missing:
                    raise wrong(f"角色 {missing[0]} 不在角色表（roles）中：请先在角色表中写出该角色，或从此处删去",
                                f"authority.{i}.{key}")
        levels_of_duties = [d.level.value for d in self.duties]
        if (again := _repeated(levels_of_duties)) is not None:
            raise wrong(f"{levels_of_duties[again]}级的职责写了不止一次：每个级别只写一次", f"duties.{again}.level")
        approve = next((a for a in self.authority if a.action == "approve_termination"), None)
        if approve is not None and ("deputy_commander" in approve.roles) != self.termination.deputy_may_approve:
            raise wrong("与权限表不一致：deputy_may_approve 为 true 时，权限表中 approve_termination 的 roles 须含 "
                        "deputy_commander；为 false 时不含", "termination.deputy_may_approve")
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
    "written_report": "written_initial_report_submitted",  # the written 初报 after a telephone one (第十四条)
}
