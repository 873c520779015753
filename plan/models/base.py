"""The building blocks of a plan file: strict models, levels, durations and the legal basis
of a rule (its standing: in force, repealed, a local choice, adopted)."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
            raise ValueError("a duration needs exactly one of hours, days, working_days")
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
        raise ValueError("a working-day duration has no fixed length")

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
            raise ValueError(f"a basis {self.status} names its document")
        if self.status == "repealed" and self.repealed_in is None:
            raise ValueError("a repealed basis gives the year it was repealed (repealed_in)")
        if self.status == "local_choice" and not (self.note or "").strip():
            raise ValueError("a local choice says why (note)")
        if self.status != "repealed" and (self.repealed_in or self.replaced_by):
            raise ValueError("repealed_in / replaced_by only for a repealed basis")
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
