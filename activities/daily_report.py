"""The daily duty report (零报告/日报告, 临安监发〔2018〕42号) as an activity: compiled from the
supervisor views (visibility queries) with the plan's daily_report settings, and written to
the archive as JSON and Markdown."""

from __future__ import annotations

import json
from datetime import date, datetime

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from activities.settings import ActivitySettings
from ecoplan.views import daily_report, render_daily_report


class DailyReportRequest(BaseModel):
    report_date: date | None = None  # default: today, Asia/Shanghai
    now: datetime | None = None  # default: the wall clock (activities may read it)
    plan: str | None = None  # whose daily_report settings (plan id or path); None = the shipped default


class DailyReportActivities:
    """The daily report needs the Temporal client for its visibility queries."""

    def __init__(self, client: Client, settings: ActivitySettings):
        self.client = client
        self.settings = settings

    @activity.defn
    async def compile_daily_report(self, req: DailyReportRequest) -> dict:
        from plan.loader import load_plan

        # Time, period, recipients and contents are the plan's (read here, not in the workflow).
        spec = load_plan(req.plan).plan.daily_report
        report = await daily_report(self.client, req.report_date, req.now, spec=spec,
                                    records_db=self.settings.records_db)
        folder = self.settings.archive_dir / "daily"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / report["report_date"]
        stem.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        stem.with_suffix(".md").write_text(render_daily_report(report) + "\n", encoding="utf-8")
        return report


