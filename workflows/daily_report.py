"""DailyReportWorkflow: the 零报告/日报告 that a Temporal Schedule starts every day at the
plan's time (China Standard Time). It compiles the report (an activity: the plan's settings,
visibility queries, archive) and sends it to the plan's recipients, zero report included."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notification, Notifier
    from activities.daily_report import DailyReportActivities, DailyReportRequest

DAILY_REPORT_SCHEDULE_ID = "ecoplan-daily-report"
DUTY_RECIPIENTS = ["带班领导", "局指挥部办公室"]  # a report compiled before recipients came from the plan


def listed(report: dict, key: str) -> int:
    """How many entries a list of the report has: `counts` holds the full lengths of the lists
    the activity cut (a report recorded before that has none: its lists are whole)."""
    return (report.get("counts") or {}).get(key, len(report[key]))


def summary_line(report: dict) -> str:
    """The notification's subject: the report in one line."""
    if report["zero_report"]:
        return f"日报告 {report['report_date']}：零报告"
    n = {k: listed(report, k) for k in ("new_incidents", "overdue", "stuck")}
    return (f"日报告 {report['report_date']}：在办 {report['open_incidents']}，新报 {n['new_incidents']}，"
            f"逾期 {n['overdue']}，停滞 {n['stuck']}")


@workflow.defn
class DailyReportWorkflow:
    @workflow.run
    async def run(self, req: DailyReportRequest) -> dict:
        report = await workflow.execute_activity_method(
            DailyReportActivities.compile_daily_report, req,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10))
        await workflow.execute_activity_method(
            Notifier.notify,
            Notification(key=f"{workflow.info().workflow_id}/{report['report_date']}", incident_id="-",
                         event="daily_report", subject=summary_line(report),
                         recipients=report.get("recipients") or DUTY_RECIPIENTS,
                         at=workflow.now(), detail={"zero_report": report["zero_report"],
                                                    "open_incidents": report["open_incidents"],
                                                    "overdue": listed(report, "overdue")}),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)))
        return report
