"""Information reporting (4.2; 17号令), linkage (4.2.3, 协议) and how long a stage may last."""

from __future__ import annotations

from typing import Literal

from plan.models.base import Basis, Duration, Level, Strict


Circumstance = Literal["drinking_water_source", "sensitive_area", "heavy_metal", "cross_province",
                       "mass_incident", "other"]
CIRCUMSTANCES = ("drinking_water_source", "sensitive_area", "heavy_metal", "cross_province", "mass_incident", "other")
ReportKindId = Literal["initial", "progress", "final"]
HeaderField = Literal["reporting_unit", "signed_by", "contact_person", "contact_phone"]


class SpecialCircumstance(Strict):
    id: Circumstance
    name: str
    source: str
    # Facts of the report (plan.grading.Assessment) that set this case by themselves: field → values.
    set_by: dict[str, list[str]] = {}


class SpecialCircumstances(Strict):
    """Events whose level cannot yet be judged but which are reported by the II/I procedure
    (17号令 第四条): the initial report is due as for `report_as`, and goes where its reports go."""

    report_as: Level
    items: list[SpecialCircumstance]
    source: str
    # 第四条 speaks of events "一时无法判明等级的": once the bureau judges the event's level (初步认定
    # or 核定), the cases no longer set the procedure. Why this reading: a local choice, stated.
    until_judged: str | None = None

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
