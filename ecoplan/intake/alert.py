"""The alert a platform posts (the request body) and the answers the intake gives."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from ecoplan.intake.common import FUTURE_TOLERANCE, NEW_INCIDENT_FIELDS
from plan.calendar import SHANGHAI
from plan.grading import Assessment, Count
from plan import problems
from plan.incident import Id, IncidentType, Model, Name, Place, Time, Title, _no_blank, _no_controls


# ------------------------------------------------------------------ the alert (request body)


AlertId = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_controls),
                    AfterValidator(_no_blank)]
Short = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_controls), AfterValidator(_no_blank)]
Long = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_controls)]


class Casualties(Model):
    """人员伤亡 as the platform knows it at the time of the alert."""

    deaths: Count = Field(0, description="死亡人数")
    injured: Count = Field(0, description="受伤或中毒人数 (counts as poisoned_or_injured for grading)")
    note: Short | None = Field(None, description="free text, e.g. 2人送医")


class FireInfo(Model):
    """What the fire brigade reports (协议 二.3: 公安消防参战力量、消防水使用量)."""

    forces: Short | None = Field(None, description="公安消防参战力量, e.g. 3个中队12车60人")
    water_used_m3: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = Field(
        None, description="消防水使用量 in cubic metres (firefighting water may carry the pollutant)")
    note: Short | None = Field(None, description="anything else the brigade reports")


class Alert(Model):
    """One alert (接警信息) as the 12369 or 119 platform sends it. Times are ISO 8601; a time
    without an offset is Asia/Shanghai. Unknown fields are refused (422)."""

    alert_id: AlertId = Field(description="the platform's own alert / case number (接警单号); a repeat of "
                                          "the same id is the same alert (idempotent)")
    received_at: Time = Field(description="when the platform received the alert (接警时间); "
                                          "the incident's reported_at, and discovered_at unless given")
    discovered_at: Time | None = Field(None, description="when the event was discovered, if earlier than "
                                                          "received_at (default: received_at)")
    incident_id: Id | None = Field(None, description="an existing incident this alert is about: the alert "
                                                     "becomes a progress report (续报) on it (404 if unknown)")
    title: Title | None = Field(None, description="short title; default: county + location + type + platform")
    county: Name | None = Field(None, description="county / district (县（市、区）); required for a new incident")
    location: Annotated[Place, AfterValidator(_no_blank)] | None = Field(None, description="place (事发地点), e.g. 冶西镇桃河段; required for a new incident")
    incident_type: IncidentType | None = Field(None, description="kind of event; required for a new incident")
    description: Long = Field("", description="what the caller / brigade reports (事件情况)")
    reporter: Name | None = Field(None, description="caller or reporting unit (报警人/来电人); "
                                                    "required for a new incident")
    reporter_phone: Annotated[str, StringConstraints(max_length=50), AfterValidator(_no_controls)] | None = Field(
        None, description="callback number (联系电话)")
    cause: Short | None = Field(None, description="初步原因分析")
    casualties: Casualties | None = Field(None, description="人员伤亡")
    fire: FireInfo | None = Field(None, description="fire brigade information (119)")
    impact: Short | None = Field(None, description="影响情况 / 影响范围")
    hazards: Short | None = Field(None, description="可能存在的隐患")
    monitoring_data: Short | None = Field(None, description="监测数据")
    trend: Short | None = Field(None, description="发展趋势")
    actions_taken: Short | None = Field(None, description="已采取的措施")
    assessment: Assessment | None = Field(None, description="grading inputs (附表1), as in the start contract; "
                                                            "used for a new incident")
    drill: bool = Field(False, description="a joint drill (联合演练), not a real event")

    @field_validator("received_at", "discovered_at")
    @classmethod
    def _not_future(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is not None and v > datetime.now(SHANGHAI) + FUTURE_TOLERANCE:
            raise ValueError("晚于本局时钟 5 分钟以上：时间不能在将来")
        received = info.data.get("received_at")
        if info.field_name == "discovered_at" and v is not None and received is not None and v > received:
            raise ValueError("晚于接警时间：事件应先发现、后报告")
        return v

    def missing_for_new_incident(self) -> list[str]:
        """The fields a new incident needs that this alert leaves out (none when it names an incident)."""
        if self.incident_id is not None:
            return []
        return [f for f in NEW_INCIDENT_FIELDS if getattr(self, f) is None]


class AlertAccepted(BaseModel):
    incident_id: str = Field(description="the incident the alert started or was added to")
    created: bool = Field(description="true the first time; false for a repeat of the same alert")
    entry: Literal["incident", "progress"] = Field(description="incident: the alert started it; "
                                                               "progress: a progress report (续报) on it")
    platform: str
    alert_id: str
    message: str


class Problem(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    field: str
    message: str


class ValidationProblem(BaseModel):
    detail: str = Field(description="one line: the first field and what is wrong with it")
    errors: list[FieldProblem]


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts)


def _problem(errors: list[dict]) -> ValidationProblem:
    """The request's errors: each field's id (machine-readable) and its problem in Chinese, and
    the first as the one-line `detail` (plan/problems.py names the field as the forms do)."""
    items = []
    for e in errors:
        where = _field(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            msg, where = "请求体不是有效的 JSON", ""
        elif e.get("type") == "missing" and not where:
            msg = "请求体应为 JSON 对象（各字段）"
        elif e.get("type") == "model_attributes_type" and not where:
            msg = "请求体应为 JSON 对象（各字段）"
        else:
            msg = problems.problem(e)
        items.append(FieldProblem(field=where or "body", message=" ".join(msg.split())))
    detail = problems.message([i.message for i in items])
    return ValidationProblem(detail=detail, errors=items)
