"""What a running incident keeps of its plan: a pinned snapshot (id, version, content hash)
and only the rules the workflow needs. A plan revision never changes a running incident,
and a lean snapshot keeps thousands of open incidents small in worker memory."""

from __future__ import annotations

from pydantic import BaseModel, model_validator

import plan.duties as plan_duties
from plan.grading import Assessment, Grading
from plan.models import (plan_ref, AuthorityRule, ChecklistItem, DeadlineLookup, DeadlineRule, Duration, Duty,
                         InfoReporting, Level, LinkageSpec, Plan, TerminationSpec)


class LevelBrief(BaseModel):
    name: str
    response_name: str
    asks_city_to_start: bool


class RoleBrief(BaseModel):
    id: str
    name: str  # as the plan names it; recorded as the actor's role


class WarningAuthority(BaseModel):
    """Who issues and lifts a warning, and who hears of a proposal or a warning (3.1–3.3)."""

    issued_by: str
    recommend_to: list[str]
    lift_proposal_to: list[str]
    notify_issued: list[str]
    source: str


class PlanSnapshot(DeadlineLookup, BaseModel):
    id: str
    version: str
    hash: str
    title: str
    document_number: str
    groups: dict[str, str]  # group id -> name (2.3)
    levels: dict[Level, LevelBrief]
    commander: str
    approver_roles: list[str]
    approver_people: list[str]  # named people who may approve; empty = any holder of the roles
    warning_actions: list[ChecklistItem]
    deadlines: list[DeadlineRule]
    termination: TerminationSpec
    stage_expectations: dict[str, Duration]
    report_recipients: list[str]
    assessment_report_recipients: list[str]
    linkage: LinkageSpec | None = None
    # Per-level duties (plan.duties); a snapshot pinned before them has none: every step the bureau's.
    duties: dict[Level, dict[str, Duty]] = {}

    @model_validator(mode="before")
    @classmethod
    def _pinned_before_honesty(cls, data):
        # Snapshots pinned before `extendable_by` was dropped carry it; it never did anything.
        if isinstance(data, dict):
            for d in data.get("deadlines") or []:
                if isinstance(d, dict):
                    d.pop("extendable_by", None)
        return data
    # The 17号令 reporting rules (ministry, 第四条 cases, report contents); None in snapshots
    # pinned before they were plan data.
    reporting: InfoReporting | None = None
    # Who may do what (the plan's role and authority tables): the workflow's validators check
    # every action against them. Empty in snapshots pinned before the check existed.
    roles: list[RoleBrief] = []
    authority: list[AuthorityRule] = []
    warning: WarningAuthority | None = None  # who issues warnings and who hears of them (3.1–3.3)

    @property
    def ref(self) -> dict:
        return plan_ref(self.id, self.version, self.hash)

    @classmethod
    def of(cls, plan: Plan, content_hash: str) -> "PlanSnapshot":
        hq = plan.organisation.headquarters
        return cls(
            id=plan.id,
            version=plan.version,
            hash=content_hash,
            title=plan.title,
            document_number=plan.document_number,
            groups={g.id: g.name for g in plan.groups},
            levels={l.id: LevelBrief(name=l.name, response_name=l.response_name,
                                     asks_city_to_start=l.asks_city_to_start) for l in plan.levels},
            commander=hq.commander.holder,
            approver_roles=plan.termination.approver_roles,
            approver_people=hq.commander.people + [p for d in hq.deputy_commanders for p in d.people],
            warning_actions=plan.warning.actions,
            deadlines=plan.deadlines,
            termination=plan.termination,
            stage_expectations={s.stage: s.within for s in plan.stage_expectations},
            report_recipients=plan.reporting.recipients,
            assessment_report_recipients=plan.post_event.assessment_report_recipients,
            linkage=plan.linkage,
            duties=plan_duties.table(plan.duties),
            reporting=plan.reporting,
            roles=[RoleBrief(id=r.id, name=r.name) for r in plan.roles],
            # The rules without their local-choice notes (the plan file keeps them).
            authority=[a.model_copy(update={"local_choice": None}) if a.source else a for a in plan.authority],
            warning=WarningAuthority(issued_by=plan.warning.issued_by, recommend_to=plan.warning.recommend_to,
                                     lift_proposal_to=plan.warning.lift_proposal_to,
                                     notify_issued=plan.warning.notify_issued,
                                     source=plan.warning.issuing_source or plan.warning.source),
        )


class PlanRequest(BaseModel):
    plan: str | None = None  # plan id or path; None = the shipped default
    assessment: Assessment = Assessment()


class PlanLoaded(BaseModel):
    snapshot: PlanSnapshot
    grading: Grading
