"""Incidents whose workflow task keeps failing (issue 25; docs/design.md, "Known traps").

Such an incident cannot move: every task the server gives a worker fails (a nondeterminism
error, TMPRL1100, when its history no longer replays to the code's commands), and the server
retries it for ever. It shows as Running with its last search attributes and memo, so the
views built on those (overdue, stuck) cannot see it, and its `status` query never answers.

Who is stuck, cheaply: the server itself marks such an execution with the system search
attribute `TemporalReportedProblems` (`category=WorkflowTaskFailed` or `…TimedOut`, and the
cause) after a few consecutive failed attempts (dynamic config
`system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute`; on the bundled dev server,
1.32, with its default, seen about 30 s after the first failure, at the fourth attempt) and
clears it when a task completes. One visibility query over that attribute finds them all, however many incidents
are open; only those found are described (the pending task's attempt) and the tail of their
history read (when the failures began, and the cause). Nothing is asked of an incident that
is not flagged, so the board's refresh stays one query more than before.

`inspect` is also what `ecoplan repair` and `ecoplan status` use for one incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import (DescribeWorkflowExecutionRequest,
                                               GetWorkflowExecutionHistoryReverseRequest)
from temporalio.client import Client

from plan.calendar import SHANGHAI

FAULT = "workflow_task_failing"  # the fault's name in the faults view (ecoplan faults, the board)
PROBLEMS = "TemporalReportedProblems"
PROBLEM_CATEGORIES = ("category=WorkflowTaskFailed", "category=WorkflowTaskTimedOut")
PROBLEM_QUERY = f"{PROBLEMS} IN ({', '.join(repr(c) for c in PROBLEM_CATEGORIES)})"
# Without the server's mark (a server that does not set it), an incident counts as stuck from
# its third attempt: two failures in a row. One failure alone happens to a healthy incident (a
# task that raced with an update while the incident continued as new) and is retried at once.
STUCK_ATTEMPTS = 3
TAIL = 100  # history events read back from the newest to find where the failures began

# The causes in a supervisor's words; the identifier itself stays in --json and the logs.
CAUSES = {
    "WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR": "非确定性错误",
    "WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE": "工作流代码异常",
    "WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES": "检索属性有误",
    "WORKFLOW_TASK_FAILED_CAUSE_GRPC_MESSAGE_TOO_LARGE": "消息超过服务器上限",
    "WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND": "有未处理的新事件",
    "timed_out": "工作流任务超时",
}
_FLAG_CAUSES = {"cause=WorkflowTaskFailedCauseNonDeterministicError": "WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR",
                "cause=WorkflowTaskFailedCauseWorkflowWorkerUnhandledFailure":
                    "WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE",
                "category=WorkflowTaskTimedOut": "timed_out"}
RESET_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW  # the mark a reset leaves
_FAILED, _TIMED_OUT, _COMPLETED = (EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                                   EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)


@dataclass
class TaskTrouble:
    """One incident's workflow task, as the server describes it."""

    workflow_id: str
    run_id: str
    running: bool
    attempt: int  # the pending workflow task's attempt; 0 when none is pending
    flagged: bool  # the server's TemporalReportedProblems says its tasks keep failing
    cause: str | None = None  # WorkflowTaskFailedCause name, "timed_out", or None (no failure seen)
    message: str = ""  # the first failure's message, first line
    since: datetime | None = None  # the first failure after the last completed task

    @property
    def stuck(self) -> bool:
        return self.running and (self.flagged or self.attempt >= STUCK_ATTEMPTS)

    @property
    def failures(self) -> int:
        """Failed attempts in a row: the attempt under way is the next one."""
        return max(self.attempt - 1, 1)

    @property
    def cause_text(self) -> str:
        if self.cause is None:
            return "原因未记录"
        return CAUSES.get(self.cause, "其他原因，详见 --json 的 cause")

    def sentence(self, incident_id: str) -> str:
        """What a supervisor reads: what is wrong, and who repairs it how."""
        return (f"后台处理异常：工作流任务连续失败 {self.failures} 次（{self.cause_text}），事件无法推进，需运维处理："
                f"运维人员执行 ecoplan repair {incident_id}（先加 --dry-run 查看将做什么）")

    def public(self) -> dict:
        return {"workflow_id": self.workflow_id, "run_id": self.run_id, "running": self.running,
                "attempt": self.attempt, "failures": self.failures if self.stuck else 0, "flagged": self.flagged,
                "stuck": self.stuck, "cause": self.cause, "message": self.message,
                "since": self.since.isoformat() if self.since else None}


def flagged(values) -> tuple[bool, str | None]:
    """The server's TemporalReportedProblems values: whether they say the workflow task keeps
    failing or timing out, and the cause they name."""
    vals = [str(v) for v in values or []]
    hit = any(v in PROBLEM_CATEGORIES for v in vals)
    cause = next((_FLAG_CAUSES[v] for v in vals if v in _FLAG_CAUSES), None)
    return hit, cause


def event_time(ts) -> datetime:
    """A history event's timestamp in Asia/Shanghai."""
    return ts.ToDatetime().replace(tzinfo=timezone.utc).astimezone(SHANGHAI)


def failing_task(events):
    """The first failed or timed-out workflow task after the last completed one (`events`
    oldest first), and the id of the WorkflowTaskStarted it failed in (None, None when the
    newest task did not fail). The mark a reset leaves (a task failed with cause
    RESET_WORKFLOW, ecoplan repair) is not a failure of the code."""
    last = max((i for i, e in enumerate(events) if e.event_type == _COMPLETED), default=-1)
    for e in events[last + 1:]:
        if e.event_type == _FAILED:
            if e.workflow_task_failed_event_attributes.cause == RESET_CAUSE:
                continue
            return e, e.workflow_task_failed_event_attributes.started_event_id
        if e.event_type == _TIMED_OUT:
            return e, e.workflow_task_timed_out_event_attributes.started_event_id
    return None, None


def failure_of(event) -> tuple[str, str]:
    """A failed or timed-out workflow task event: its cause and the first line of its message."""
    if event.event_type == _TIMED_OUT:
        return "timed_out", ""
    a = event.workflow_task_failed_event_attributes
    return WorkflowTaskFailedCause.Name(a.cause), (a.failure.message.splitlines() or [""])[0][:500]


async def inspect(client: Client, workflow_id: str) -> TaskTrouble:
    """Describe the workflow's current run; when its task is failing, read the tail of its
    history for when and why. RPCError NOT_FOUND when there is no such workflow."""
    d = await client.workflow_service.describe_workflow_execution(DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)))
    info = d.workflow_execution_info
    raw: Payload | None = info.search_attributes.indexed_fields.get(PROBLEMS)
    values = client.data_converter.payload_converter.from_payload(raw) if raw is not None else []
    hit, flag_cause = flagged(values if isinstance(values, list) else [values])
    t = TaskTrouble(workflow_id=workflow_id, run_id=info.execution.run_id,
                    running=info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
                    attempt=d.pending_workflow_task.attempt if d.HasField("pending_workflow_task") else 0,
                    flagged=hit, cause=flag_cause)
    if t.running and (t.flagged or t.attempt >= 2):
        resp = await client.workflow_service.get_workflow_execution_history_reverse(
            GetWorkflowExecutionHistoryReverseRequest(namespace=client.namespace, execution=info.execution,
                                                      maximum_page_size=TAIL))
        failed, _ = failing_task(list(reversed(resp.history.events)))  # read newest first
        if failed is not None:
            t.since = event_time(failed.event_time)
            t.cause, t.message = failure_of(failed)
    return t
