"""The emergency plan as data: pydantic models of a plan file.

A plan file (plan/plans/<id>.yaml) is one bureau's 突发环境事件应急预案 transcribed as data.
Every rule carries `source`: the plan section (or national rule) it comes from, so a
reader can check the data against the paper plan; `basis` says where the rule stands (in
force, repealed, the bureau's local choice, adopted from another body's document).

Every field is honoured by the code. Times are China Standard Time (Asia/Shanghai): the
working-day calendar is China's, so a plan has no time zone to choose.

The models are split by part of the plan (base, organisation, rules, reporting, daily, roles,
plan); every name is importable from here, as before (`from plan.models import Plan`).
"""

from plan.models.base import GROUP_IDS, Basis, BasisStatus, Duration, GroupId, Level, Strict
from plan.models.organisation import (Headquarters, LevelSpec, MemberUnit, Office, Organisation, Post, ResponseAction,
                                      WorkGroup)
from plan.models.rules import (DUTY_STEPS, AssessmentField, ChecklistItem, Criterion, DeadlineName, DeadlineRule,
                               Duty, DutyMode, DutyStep, Escalation, GradingTable, LevelDuties, PostEventSpec,
                               StartEvent, TerminationSpec, WarningSpec)
from plan.models.reporting import (CIRCUMSTANCES, AlsoReportTo, BulletinField, Circumstance, FinalReportRule,
                                   HeaderField, InfoReporting, InitialReportClock, LinkagePartner, LinkageSpec,
                                   ReportItem, ReportKindId, ReportKindSpec, SpecialCircumstance,
                                   SpecialCircumstances, Stage, StageExpectation, WrittenReport)
from plan.models.daily import DAILY_CONTENTS, DEFAULT_DAILY_REPORT, DailyContent, DailyReportSpec
from plan.models.roles import ROLE_IDS, AuthorityRule, Cited, RoleId, RoleSpec, Via
from plan.models.plan import MET_BY, DeadlineLookup, Plan, plan_ref

__all__ = ["AlsoReportTo", "AssessmentField", "AuthorityRule", "Basis", "BasisStatus", "BulletinField",
           "CIRCUMSTANCES", "ChecklistItem", "Circumstance", "Cited", "Criterion", "DAILY_CONTENTS",
           "DEFAULT_DAILY_REPORT", "DUTY_STEPS", "DailyContent", "DailyReportSpec", "DeadlineLookup", "DeadlineName",
           "DeadlineRule", "Duration", "Duty", "DutyMode", "DutyStep", "Escalation", "FinalReportRule", "GROUP_IDS",
           "GradingTable", "GroupId", "HeaderField", "Headquarters", "InfoReporting", "InitialReportClock", "Level",
           "LevelDuties", "LevelSpec", "LinkagePartner", "LinkageSpec", "MET_BY", "MemberUnit", "Office",
           "Organisation", "Plan", "Post", "PostEventSpec", "ROLE_IDS", "ReportItem", "ReportKindId",
           "ReportKindSpec", "ResponseAction", "RoleId", "RoleSpec", "SpecialCircumstance", "SpecialCircumstances",
           "Stage", "StageExpectation", "StartEvent", "Strict", "TerminationSpec", "Via", "WarningSpec", "WorkGroup",
           "WrittenReport", "plan_ref"]
