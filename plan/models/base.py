"""The building blocks of a plan file: strict models, levels, durations and the legal basis
of a rule (its standing: in force, repealed, a local choice, adopted)."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


def wrong(text: str, at: str = "") -> PydanticCustomError:
    """A plan file's mistake, for its administrator (issue 22): `text` says in the plan's Chinese
    what is wrong and what to write, naming keys and values as the file writes them; `at` is the
    key path below the model that found it (plan/problems.py shows the whole path first)."""
    return PydanticCustomError("plan_rule", text, {"at": at} if at else None)


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
            raise wrong("时长须且只能写 hours、days、working_days 中的一项，如 hours: 1 或 working_days: 30")
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
        raise ValueError("按工作日（working_days）计的时长没有固定长度：由工作日历计算")

    def label(self) -> str:
        """In the plan's Chinese: 1 小时, 60 天, 5 个工作日."""
        if self.hours is not None:
            return f"{self.hours:g} 小时"
        if self.days is not None:
            return f"{self.days} 天"
        return f"{self.working_days} 个工作日"


# ---------------------------------------------------------------- legal basis and its standing

BasisStatus = Literal["in_force", "repealed", "local_choice", "adopted_from"]


class Basis(Strict):
    """What (part of) a rule rests on, and where that stands: a document in force (cited to the
    article), a repealed one (the year, and what replaced it if known), the bureau's local
    choice (why), or a rule adopted from another body's document (which)."""

    status: BasisStatus
    document: str | None = None  # e.g. 环境保护部令第17号, 阳环发〔2022〕24号, 郑环办〔2013〕84号
    article: str | None = None  # 第三条, 4.1.2(4), 协议 二.5
    covers: str | None = None  # the part of the rule it is the basis of: duration, reminders ...
    repealed_in: int | None = None
    replaced_by: str | None = None
    note: str | None = None  # local_choice: why; otherwise anything a reviewer should know

    @model_validator(mode="after")
    def _complete(self) -> "Basis":
        if self.status in ("in_force", "repealed", "adopted_from") and not self.document:
            raise wrong(f"status 为 {self.status} 的依据须写明文件（document），如 document: 环境保护部令第17号", "document")
        if self.status == "repealed" and self.repealed_in is None:
            raise wrong("已废止（status: repealed）的依据须写明废止年份，如 repealed_in: 2020", "repealed_in")
        if self.status == "local_choice" and not (self.note or "").strip():
            raise wrong("本地选择（status: local_choice）须在 note 中写明理由", "note")
        if self.status != "repealed" and (self.repealed_in or self.replaced_by):
            raise wrong("只有已废止（status: repealed）的依据才写 repealed_in 和 replaced_by：请删去此项，或把 status "
                        "改为 repealed", "repealed_in" if self.repealed_in else "replaced_by")
        return self

    def label(self) -> str:
        """Where the basis stands, in the plan's Chinese (`ecoplan plan check`, the daily report's settings)."""
        where = " ".join(x for x in (self.document, self.article) if x)
        what = f"（{self.covers}）" if self.covers else ""
        if self.status == "repealed":
            by = f"，由{self.replaced_by}取代" if self.replaced_by else "，替代文件未记录"
            return f"{where}{what}：已于{self.repealed_in}年废止{by}"
        if self.status == "local_choice":
            return f"本地选择{what}：{self.note}"
        if self.status == "adopted_from":
            return f"参照采用 {where}{what}" + (f"：{self.note}" if self.note else "")
        return f"{where}{what}：现行有效"
