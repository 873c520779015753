"""The stages of an incident's life cycle, as the plan's text names them: ids (the contract)
and their Chinese names for people. The machine over them is workflows/lifecycle.py."""

STAGES = ["reported", "warning", "responding", "on_site", "termination_pending", "post_event", "closed"]
STAGE_NAMES = {
    "reported": "接报", "warning": "预警", "responding": "应急响应", "on_site": "现场处置",  # 2.2, 3, 4.1, 4.3
    "termination_pending": "终止签报", "post_event": "后期处置", "closed": "结案",  # 4.4 附件2, 5
}
# How an incident ended (IncidentView.outcome), for people.
OUTCOME_NAMES = {"completed": "处置完毕", "warning_lifted": "预警解除"}
# The faults an incident records and retries, never failing because of them (workflows/
# publishing.py), and the server's failing workflow task (activities/task_failures.py: `ecoplan
# repair`), for people: the console's and the CLI's words are the same.
FAULT_NAMES = {"plan_unavailable": "预案未能加载", "calendar_unavailable": "工作日历不可用",
               "delivery_overdue": "通知未送达", "delivery_failed": "通知送达失败",
               "workflow_task_failing": "后台处理异常"}
# Timeline entries the system writes (people's actions are named by the registry's titles).
SYSTEM_ENTRIES = {"reported": "接报", "deadline_started": "期限开始", "deadline_overdue": "期限逾期",
                  "deadline_changed": "期限调整", "deadline_reminder": "期限提醒", "linkage_bulletin": "联动通报",
                  "delivery_overdue": "通知未送达", "delivered_late": "通知迟送达", "delivery_failed": "通知送达失败",
                  "reject_termination": "不同意终止", "plan_unavailable": "预案未能加载", "plan_restored": "预案已加载",
                  "calendar_unavailable": "工作日历不可用", "calendar_restored": "工作日历已恢复"}
