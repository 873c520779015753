"""The plan itself: every part, checked for consistency, and what meets each deadline."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from plan.models.base import GROUP_IDS, Basis, Level, Strict
from plan.models.daily import DEFAULT_DAILY_REPORT, DailyReportSpec
from plan.models.organisation import LevelSpec, Organisation, WorkGroup
from plan.models.reporting import InfoReporting, LinkageSpec, StageExpectation
from plan.models.roles import AuthorityRule, RoleSpec
from plan.models.rules import (DeadlineRule, GradingTable, LevelDuties, PostEventSpec, TerminationSpec,
                               WarningSpec)


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
    # Where each area of rules stands in law (issue 24): area → its bases (plan/check_law.py).
    rule_bases: dict[str, list[Basis]] = {}

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
    "written_report": "written_initial_report_submitted",  # the written 初报 after a telephone one (第十四条)
}
