"""What each printed document and the deadline chart show: typed inputs, independent of the
workflow's state. `mapping.from_status` builds them from the incident's status; an activity
that has more (a report's full content, who signed a report) builds them directly.

A field the record does not hold yet carries NOT_FILLED, printed as is, so a reader sees the
gap instead of a blank that looks like an omission by the person who filled the form.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from plan.incident import ReportContent

NOT_FILLED = "未填写"

DeadlineState = Literal["pending", "met", "overdue", "met_late"]
ReportKind = Literal["initial", "progress", "final"]
REPORT_KIND_NAMES = {"initial": "初报", "progress": "续报", "final": "处理结果报告"}


class Doc(BaseModel):
    model_config = ConfigDict(frozen=True)


class Header(Doc):
    """What every document of one incident prints in its head and foot."""

    incident_id: str
    title: str  # the incident's title
    drill: bool = False
    bureau: str  # 阳泉市生态环境局: the plan's issuing body
    plan_title: str
    plan_document_number: str  # 阳环发〔2022〕24号
    generated_at: datetime


class ActivationNotice(Doc):
    """附件1 应急响应启动通知."""

    header: Header
    headquarters: str  # 市生态环境局突发环境事件应急指挥部
    approved_by: str  # 签发: the 总指挥 who approved
    occurred_at: datetime  # "____年__月__日__时__分" of the event
    county: str  # "在我市____县（区）境内"
    location: str  # "_____位置"
    event: str  # "发生一起_____事件"
    level: str  # I–IV: "启动局应急预案____级响应"
    level_name: str  # 一般/较大/重大/特别重大
    graded_level: str | None = None
    reason: str | None = None  # why the level differs from the graded one (4.1.5)
    levels: str | None = None  # 事件等级 … · 响应级别 … (issue 24; absent for older incidents)
    issued_at: datetime  # 时间: when the response was activated


class SignOff(Doc):
    """One group's line on 附件2: its lead's decision, opinion and signature."""

    group: str
    group_name: str  # 应急监测组
    lead: str  # named at dispatch
    round: int
    decision: Literal["approve", "reject"] | None = None  # None: not signed yet
    opinion: str | None = None
    signed_at: datetime | None = None
    signed_by: str | None = None  # "name（role）" of who submitted it
    authentication: str = NOT_FILLED  # how the signer was authenticated


class TerminationForm(Doc):
    """附件2 应急响应终止签报单, for the current (or approved) round."""

    header: Header
    unit: str = "局突发环境事件应急指挥部办公室"  # 签报单位
    subject: str = "关于“突发环境事件应急响应终止”的通知"  # 签报标题
    proposed_by: str  # 主办人
    proposed_at: datetime
    round: int
    reason: str  # why termination is proposed
    condition: str  # 应急响应终止建议 (the plan's termination condition)
    signoffs: list[SignOff]  # this round, in the plan's signatory order
    earlier_rounds: list[SignOff] = []  # sign-offs of rounds that were rejected
    instruction: str | None = None  # 指挥批示
    approved_by: str | None = None
    approved_at: datetime | None = None
    city_started: bool = False
    city_decision: str | None = None  # 4.4: the city HQ decides when the city started the response
    follow_up: str | None = None  # 4.4: whether follow-up monitoring goes on, decided by whom, until when


class InfoReport(Doc):
    """初报/续报/处理结果报告 (《突发环境事件信息报告办法》第十二条, 第十三条)."""

    header: Header
    kind: ReportKind
    number: int  # order among the incident's reports
    reporting_unit: str  # 报告单位
    issuer: str = NOT_FILLED  # 报告签发人
    contact: str = NOT_FILLED  # 联系人
    contact_phone: str = NOT_FILLED  # 联系方式
    recipients: list[str]
    submitted_at: datetime
    submitted_by: str
    content: ReportContent

    @property
    def kind_name(self) -> str:
        return REPORT_KIND_NAMES[self.kind]


# ---------------------------------------------------------------- the deadline chart


class ChartDeadline(Doc):
    name: str
    title: str
    start: datetime
    due: datetime
    met_at: datetime | None = None
    state: DeadlineState


class ChartMark(Doc):
    """A moment marked above the bars: a stage change or a level change."""

    at: datetime
    kind: Literal["stage", "level"]
    label: str


class DeadlineChart(Doc):
    title: str
    origin: datetime  # time zero: when the incident was discovered
    as_of: datetime  # "now" for deadlines still open
    deadlines: list[ChartDeadline]
    marks: list[ChartMark] = []


# ---------------------------------------------------------------- the case file (案卷)


class LevelChange(Doc):
    at: datetime
    by: str
    from_level: str | None
    to_level: str
    reason: str | None = None


class DeadlineRecord(Doc):
    name: str
    title: str
    basis: str  # the law or plan article it comes from
    who_acts: str
    started_at: datetime
    due_at: datetime
    due_date: date | None = None
    provisional: bool = False
    state: DeadlineState
    met_at: datetime | None = None
    escalations: int = 0

    def late_by(self, as_of: datetime) -> timedelta | None:
        """How late: met late, or still open past its due time; None when not late."""
        end = self.met_at if self.met_at is not None else as_of
        return end - self.due_at if end > self.due_at else None


class TimelineRow(Doc):
    seq: int
    at: datetime
    by: str | None  # None: the system
    action: str  # in words (启动响应)
    from_stage: str
    to_stage: str
    detail: str = ""
    rejected: bool = False


class DocumentRow(Doc):
    name: str  # 附件1 应急响应启动通知
    at: datetime | None
    file: str  # the file name write_documents gives it


class CaseFile(Doc):
    header: Header
    as_of: datetime
    county: str
    location: str
    incident_type: str
    source: str
    reporter: str
    description: str
    discovered_at: datetime
    reported_at: datetime
    graded_level: str | None
    grading_reasons: list[str] = []
    level: str | None  # the level now (or at close)
    levels: str | None = None  # 事件等级 … · 响应级别 … (status `levels.line`, issue 24)
    level_names: dict[str, str] = {}  # I–IV → 特别重大…一般, the plan's words (4.1)
    stage: str  # in words
    outcome: str | None  # in words
    city_started: bool = False
    level_changes: list[LevelChange]
    deadlines: list[DeadlineRecord]
    timeline: list[TimelineRow]
    timeline_omitted: int = 0  # older entries summarised when a long incident continued as new
    documents: list[DocumentRow]
    chart: DeadlineChart

    def level_words(self, level: str | None) -> str:
        if not level:
            return "—"
        return f"{level}级（{self.level_names[level]}）" if level in self.level_names else f"{level}级"


class DocumentSet(Doc):
    """Everything one incident's status yields; a document not due yet is None or empty."""

    activation_notice: ActivationNotice | None
    termination_form: TerminationForm | None
    info_reports: list[InfoReport]
    case_file: CaseFile
    chart: DeadlineChart
