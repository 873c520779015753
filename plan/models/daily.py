"""The daily duty report (零报告/日报告) the duty office sends every day."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from plan.models.base import Basis, Duration, Strict, wrong


# ---------------------------------------------------------------- the daily duty report (零报告/日报告)

DailyContent = Literal["open_incidents", "new_incidents", "overdue", "stuck", "due_soon"]
DAILY_CONTENTS = ("open_incidents", "new_incidents", "overdue", "stuck", "due_soon")


class DailyReportSpec(Strict):
    """The 零报告/日报告 the duty office sends every day: when (China Standard Time), the period
    it covers (up to that time), how far ahead it lists deadlines, to whom, and what it holds."""

    at: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # HH:MM
    period: Duration
    look_ahead: Duration
    recipients: list[str] = Field(min_length=1)
    contents: list[DailyContent] = Field(min_length=1)
    source: str
    basis: list[Basis] = []

    @model_validator(mode="after")
    def _clock(self) -> "DailyReportSpec":
        if self.period.is_working_days or self.look_ahead.is_working_days:
            raise wrong("日报告的时长只能写 hours 或 days，不能写 working_days",
                        "period" if self.period.is_working_days else "look_ahead")
        if len(set(self.contents)) != len(self.contents):
            again = next(i for i, c in enumerate(self.contents) if c in self.contents[:i])
            raise wrong(f"{self.contents[again]} 写了不止一次：每项内容只写一次", f"contents.{again}")
        return self

    @property
    def hour(self) -> int:
        return int(self.at[:2])

    @property
    def minute(self) -> int:
        return int(self.at[3:])


# What a plan without a daily_report gets: the values ecoplan shipped before the plan said.
DEFAULT_DAILY_REPORT = DailyReportSpec(
    at="08:00", period=Duration(hours=24), look_ahead=Duration(hours=24), recipients=["带班领导", "局指挥部办公室"],
    contents=list(DAILY_CONTENTS), source="ecoplan default (the plan sets no daily report)",
    basis=[Basis(status="local_choice", note="预案未规定日报告：本系统的默认设置")])
