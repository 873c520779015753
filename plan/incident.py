"""What people tell ecoplan about an incident: the report that starts it, who acts, and the
information reports (初报/续报/处理结果报告). Pure validation, no I/O.

Times are ISO 8601; a time without an offset is Asia/Shanghai (the bureau's clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.models import Circumstance, RoleId, Via

# Limits (local choice, listed in docs/contracts.md; the console, the API, the CLI and the intake
# all enforce them through these models). A title is one line in lists, on the board and on every
# document's head: 100 characters hold any real 事件名称 (they run 15–40). A place (地点) is an
# address with its landmarks: 200. A long text (事件概况, a report's items, opinions) stops at
# 5,000 characters, about three printed pages of the case file each: longer material is a paste
# gone wrong, or an attachment. Names (a person, a unit, a county, a document number): 200.
MAX_TITLE = 100
MAX_PLACE = 200
MAX_TEXT = 5_000
MAX_NAME = 200


# Local choice (not in the plan or the law): the times an incident's record can hold. No
# incident this system handles happened before 2000 or after 2100; a time outside is a typing
# slip (0001-01-01, 9999-12-31), and it could overflow the deadline and calendar arithmetic.
EARLIEST = datetime(2000, 1, 1, tzinfo=SHANGHAI)
LATEST = datetime(2100, 1, 1, tzinfo=SHANGHAI)
# How far ahead of the receiving clock a start report's times may be (as for an action's `at`).
CLOCK_SKEW = timedelta(minutes=5)


def _shanghai_if_naive(v: datetime) -> datetime:
    v = v.replace(tzinfo=SHANGHAI) if v.tzinfo is None else v
    if not EARLIEST <= v < LATEST:
        raise ValueError(f"{v.isoformat(timespec='minutes')} 不在 {EARLIEST:%Y-%m-%d} 至 {LATEST:%Y-%m-%d} 之间，"
                         "不是事件的真实时间（本系统受理的时间范围，本地规定）")
    return v


LABEL = {"discovered_at": "发现时间", "reported_at": "接报时间"}


def start_time_problem(report: "IncidentReport", now: datetime) -> str | None:
    """A start report whose times lie in the future (beyond the clock skew): the sentence naming
    the field, or None. Checked where a report enters (ecoplan.api.start_incident), since
    the model itself has no clock."""
    for field in ("discovered_at", "reported_at"):
        value = getattr(report, field)
        if value > now + CLOCK_SKEW:
            return (f"{LABEL[field]}：{value.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 晚于现在（{now.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）"
                    f"{int(CLOCK_SKEW.total_seconds() // 60)} 分钟以上：事件的发现和报告时间不能在将来")
    return None


def county_problem(report: "IncidentReport", counties: list[str]) -> str | None:
    """A start report's county that is not one of the plan's (plan data `counties`), as the
    sentence naming the field, or None. A plan without a list takes any county. Checked where a
    report enters (ecoplan.api.start_incident), which has loaded the plan the report names."""
    if counties and report.county not in counties:
        return f"县（区）“{report.county[:40]}”不是本预案所辖的县（区）：应为{'、'.join(counties)}之一"
    return None


def _no_blank(v: str) -> str:
    if not v.strip():
        raise PydanticCustomError("blank", "不能为空，也不能只有空格")
    return v.strip()


def _no_controls(v: str) -> str:
    # NUL and other C0 controls come from binary pastes; tabs and newlines are fine.
    if any(ord(c) < 32 and c not in "\t\n\r" for c in v):
        raise PydanticCustomError("controls", "含有控制字符")
    return v


Time = Annotated[datetime, AfterValidator(_shanghai_if_naive)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME), AfterValidator(_no_controls), AfterValidator(_no_blank)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_no_controls)]
RequiredText = Annotated[Text, AfterValidator(_no_blank)]
Title = Annotated[str, StringConstraints(max_length=MAX_TITLE), AfterValidator(_no_controls), AfterValidator(_no_blank)]
Place = Annotated[str, StringConstraints(max_length=MAX_PLACE), AfterValidator(_no_controls)]
RequiredPlace = Annotated[Place, AfterValidator(_no_blank)]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


IncidentType = Literal["water", "air", "soil", "hazardous_chemicals", "solid_waste", "other"]
Source = Literal["hotline_12369", "linkage_119", "inspection", "county_bureau", "other"]


class Actor(Model):
    """Who did something. An account's actor carries its username (`name`), display
    name, the plan's role id and name, and how it was authenticated (`via`); the workflow
    checks the role against the plan's authority table, and refuses an action by an actor
    without `role_id` and `via` (a name and a free role only, as the reporter is recorded)."""

    name: Name  # the account's username (leads are named by it at dispatch); the CLI operator's name
    role: Name  # the role as the plan names it (值班员, 指挥…); free text for the reporter
    role_id: RoleId | None = None  # the plan's role id (duty_officer, commander…)
    display: Name | None = None  # 姓名, when the account has one
    via: Via | None = None  # web | api | oidc | cli | intake | schedule

    @property
    def accountable(self) -> bool:
        """An account's actor: says which plan role it acts in and how it was authenticated."""
        return self.role_id is not None and self.via is not None

    @property
    def label(self) -> str:
        """The person as a document prints them: 李强（lq）, or the name alone."""
        return f"{self.display}（{self.name}）" if self.display and self.display != self.name else self.name

    def __str__(self) -> str:
        """The person as a written document names them: the display name when the account has
        one (李强（指挥）); the username stays in the record's `by`."""
        return f"{self.display or self.name}（{'报告人' if self.role == 'reporter' else self.role}）"


class IncidentReport(Model):
    """The start input of an incident: the JSON keys are the contract of `ecoplan start FILE`."""

    incident_id: Id | None = None
    title: Title
    discovered_at: Time
    reported_at: Time
    county: Name  # one of the plan's counties: checked where a report enters (county_problem)
    location: RequiredPlace
    incident_type: IncidentType
    description: Text = ""
    source: Source
    reporter: Name
    assessment: Assessment = Field(default_factory=Assessment)
    drill: bool = False
    plan: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    # 17号令 第四条: level not yet judged, but reported by the II/I procedure (2 h, the ministry too).
    special_circumstances: list[Circumstance] = []

    @model_validator(mode="after")
    def _order(self) -> "IncidentReport":
        if self.reported_at < self.discovered_at:
            raise ValueError("接报时间早于发现时间：请核对两个时间")
        if len(set(self.special_circumstances)) != len(self.special_circumstances):
            raise ValueError("特殊情形（17号令 第四条）中有重复的情形")
        return self


ReportKind = Literal["initial", "progress", "final"]
REPORT_KIND_NAMES = {"initial": "初报", "progress": "续报", "final": "处理结果报告"}
def _phone(v: str) -> str:
    v = v.strip()
    if not v or any(c not in "0123456789+-() " for c in v) or not any(c.isdigit() for c in v):
        raise PydanticCustomError("phone", "应为电话号码：数字、空格、+、- 和括号，如 0353-2020000")
    return v


Phone = Annotated[str, StringConstraints(max_length=50), AfterValidator(_phone)]


class ReportHeader(Model):
    """What a written report names (17号令 第十四条): reporting unit, 签发人, contact person
    and number. The report file may carry them; CLI flags and the Update's fields override."""

    reporting_unit: Name | None = None  # 报告单位; default: the plan's (the bureau)
    signed_by: Name | None = None  # 报告签发人
    contact_person: Name | None = None  # 联系人
    contact_phone: Phone | None = None  # 联系方式


class ReportContent(Model):
    """An information report's fields, as 《突发环境事件信息报告办法》 第十三条 asks for them
    (which ones each kind reports is plan data: reporting.kinds). Only `summary` is required:
    a first report made by phone may be sparse."""

    summary: RequiredText
    time: Text | None = None
    place: Place | None = None
    source: Text | None = None  # 信息来源 / 污染源
    cause_and_nature: Text | None = None
    basic_process: Text | None = None  # 基本过程
    main_pollutants: Text | None = None  # 主要污染物和数量
    monitoring_data: Text | None = None
    casualties: Text | None = None
    drinking_water_sources_affected: Text | None = None
    trend: Text | None = None
    actions_taken: Text | None = None
    next_measures: Text | None = None
    sensitive_points_map: Text | None = None  # 环境敏感点分布示意图: where the map is (file, link)
    # 续报
    progress: Text | None = None  # 有关处置进展情况
    # 处理结果报告
    measures_process_result: Text | None = None  # 处理的措施、过程和结果
    potential_harm_and_losses: Text | None = None  # 潜在或者间接危害以及损失
    social_impact: Text | None = None
    remaining_problems: Text | None = None  # 处理后的遗留问题
    accountability: Text | None = None  # 责任追究
    # Linkage bulletin fields (郑环办〔2013〕84号 协议 二.3) a report may carry.
    fire_forces: Text | None = None  # 公安消防参战力量
    fire_water_used: Text | None = None  # 消防水使用量
    hidden_dangers: Text | None = None  # 可能存在的隐患
    affected_area: Text | None = None  # 影响范围


class ReportFile(ReportContent, ReportHeader):
    """The file `ecoplan report --file` takes: the report's contents and, optionally, the
    written report's header (command-line flags override it)."""

    def split(self) -> tuple[ReportContent, ReportHeader]:
        head = {k: getattr(self, k) for k in ReportHeader.model_fields}
        return ReportContent(**self.model_dump(exclude=set(ReportHeader.model_fields))), ReportHeader(**head)
