"""`ecoplan repair ID`: free an incident whose workflow task keeps failing (issue 25;
docs/design.md, "Known traps"; the faults view names it: 后台处理异常).

What it does, in order:

1. Refuses (one line) an incident that does not exist, has ended, or whose task is not
   failing (activities/task_failures.py: the server's TemporalReportedProblems mark, or a
   third attempt under way).
2. Finds the point to go back to: the last workflow task that completed before the history
   and the code part ways. A nondeterminism error names the event where they do
   (`HistoryEvent(id: 51, …)`): the task before it. Without a named event the history is
   replayed against this code (temporalio's Replayer): where it fails, found by halving
   over the completed tasks; when all of it replays, what fails is the newest task itself,
   and the point is the last task that completed before it. `--before-event N` sets it by hand.
3. Resets the run there (ResetWorkflowExecution, `workflow_task_finish_event_id` = that
   task's WorkflowTaskCompleted event): Temporal terminates the failing run, keeping its
   history, and starts a new run of the same workflow id from the events before that task;
   the code decides that task afresh.
4. Sends again, in their order and with their update ids, every action acknowledged after
   that point (Updates that completed, or were accepted and never answered; signals), each
   with the business time it had: its own `at`, else the clock of the task that took it
   (an update) or its arrival (a signal), and, when that is more than an hour back, a
   补录说明 saying it was entered again after a repair. An update the incident had refused
   is not sent again.

Why not Temporal's own reapply (the reset's default for signals, and for updates on this
server): it replays the requests into the new run's first task, where the validators run
again at the repair's time; an action without `at` then takes the repair's time (a 初报 met
in time would read late), one with `at` more than an hour back is refused for want of a
补录说明, and a refused reapplied update leaves no trace at all (seen: a reset to the first
task dropped every action, the plan not yet loaded). So the reset excludes signals and
updates from reapply, and this command resends them where it can say what became of each.

The incident is addressed by its workflow id only, everywhere in ecoplan (the client API,
the views, the console, the activities' queries): after a reset every call reaches the new
run. Deliveries re-run by the new run (notifications, printing, the record) carry their
idempotency keys, so what was sent before is not sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.enums.v1 import ResetReapplyExcludeType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

import activities.task_failures as tf
from ecoplan import api
from ecoplan.connection import DATA_CONVERTER
from ecoplan.errors import EcoplanError, IncidentNotFound
from plan.calendar import SHANGHAI

NAMED = re.compile(r"HistoryEvent\(id: (\d+)")
RESEND_MARGIN = timedelta(minutes=5)  # the incident's clock runs ahead of ours by the time a send takes
NONDETERMINISM = WorkflowTaskFailedCause.Name(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR)


class RepairRefused(EcoplanError):
    """Not repaired: the incident is not stuck, or no point to go back to exists."""


class RepairBadInput(EcoplanError):
    """An option the run's history cannot take (exit 2, as bad input)."""

    exit_code = 2


class RepairFailed(EcoplanError):
    """Reset, but the new run does not answer, or still fails: the message says which."""


@dataclass
class Resend:
    """One action acknowledged after the reset point, to be sent again."""

    event_id: int  # in the failing run
    kind: str  # "update" | "signal"
    name: str  # the update's or signal's name
    action: str | None  # the registry's action (None: a signal of the system, e.g. a page's step)
    at: datetime  # when it was taken: its own `at`, else the clock of the task that took it / its arrival
    update_id: str | None
    args: list
    outcome: str = ""  # applied | sent | refused | failed
    reason: str = ""

    @property
    def title(self) -> str:
        from workflows.actions import ACTION_NAMES  # lazy: the registry imports the workflow

        if self.action:
            return ACTION_NAMES.get(self.action, self.action) + ("（信号）" if self.kind == "signal" else "")
        return {"page_step": "呼叫步骤记录"}.get(self.name, self.name)

    @property
    def who(self) -> str:
        by = getattr(self.args[0], "by", None) if self.args else None
        return (by.display or by.name) if by is not None else "系统"

    def public(self) -> dict:
        return {"event_id": self.event_id, "kind": self.kind, "name": self.name, "action": self.action,
                "at": self.at.isoformat(), "update_id": self.update_id, "who": self.who,
                "outcome": self.outcome or None, "reason": self.reason or None}


@dataclass
class Plan:
    incident_id: str
    workflow_id: str
    run_id: str
    trouble: tf.TaskTrouble
    reset_to: int  # the WorkflowTaskCompleted event reset to
    kept_upto: int  # the new run keeps the events up to this one (that task's WorkflowTaskStarted)
    task_at: datetime  # when that task started
    found_by: str  # named | replay | failing_task | given
    diverges_at: int | None  # the event where history and code part ways, when known
    resend: list[Resend] = field(default_factory=list)
    refused_before: int = 0  # updates after the point that the incident had refused: not sent again
    new_run_id: str | None = None

    def public(self) -> dict:
        return {"incident_id": self.incident_id, "workflow_id": self.workflow_id, "run_id": self.run_id,
                "new_run_id": self.new_run_id, "reset_to_event": self.reset_to, "kept_upto_event": self.kept_upto,
                "task_started_at": self.task_at.isoformat(), "found_by": self.found_by,
                "diverges_at_event": self.diverges_at, "trouble": self.trouble.public(),
                "resend": [r.public() for r in self.resend], "refused_before": self.refused_before}


# ------------------------------------------------------------------ finding the point


def _t(ts) -> datetime:
    return ts.ToDatetime().replace(tzinfo=timezone.utc).astimezone(SHANGHAI)


def completed_tasks(events) -> list[tuple[int, int]]:
    """(WorkflowTaskStarted id, WorkflowTaskCompleted id) of every completed task, in order."""
    return [(e.workflow_task_completed_event_attributes.started_event_id, e.event_id)
            for e in events if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]


def failing_task(events):
    """The first failed or timed-out workflow task after the last completed one, and the id of
    the WorkflowTaskStarted it failed in (None, None when the newest task did not fail)."""
    last = max((i for i, e in enumerate(events) if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), default=-1)
    for e in events[last + 1:]:
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return e, e.workflow_task_failed_event_attributes.started_event_id
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            return e, e.workflow_task_timed_out_event_attributes.started_event_id
    return None, None


def named_event(message: str) -> int | None:
    m = NAMED.search(message or "")
    return int(m.group(1)) if m else None


class _Quiet:
    """The replay of a history that fails is expected here: the SDK's warning (with its
    traceback) about the failed activation stays out of the operator's terminal."""

    def __enter__(self):
        self._logger = logging.getLogger("temporalio")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)


_RUNTIME = []


async def replay_failure(workflow_id: str, events) -> str | None:
    """Replay these events against this installation's IncidentWorkflow; the failure's text,
    or None when they replay."""
    from temporalio.runtime import Runtime, TelemetryConfig
    from temporalio.worker import Replayer

    from workflows.incident import IncidentWorkflow

    if not _RUNTIME:  # its own runtime, logging off: the core's warnings would fill the terminal
        _RUNTIME.append(Runtime(telemetry=TelemetryConfig(logging=None, metrics=None)))
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=DATA_CONVERTER, runtime=_RUNTIME[0])
    with _Quiet():
        result = await replayer.replay_workflow(WorkflowHistory(workflow_id, list(events)), raise_on_replay_failure=False)
    return None if result.replay_failure is None else str(result.replay_failure)


async def divergence(workflow_id: str, events, upto: int, use_named: bool = True) -> tuple[int | None, int | None]:
    """Where the events up to `upto` part ways with this code: (the event the replay's failure
    names, None), else (None, the index of the first completed task whose commands do not
    replay); (None, None) when all of it replays."""
    head = [e for e in events if e.event_id <= upto]
    failure = await replay_failure(workflow_id, head)
    if failure is None:
        return None, None
    if use_named and (n := named_event(failure)) is not None:
        return n, None
    tasks = completed_tasks(head)
    # Task k's commands are the events after its completion, checked when the history goes on to
    # the next task's start: replaying up to there passes for every k before the first bad one.
    ends = [s for s, _ in tasks[1:]] + [upto]
    lo, hi = 0, len(tasks) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if await replay_failure(workflow_id, [e for e in head if e.event_id <= ends[mid]]) is None:
            lo = mid + 1
        else:
            hi = mid
    return None, lo


async def plan(client: Client, incident_id: str, before_event: int | None = None) -> Plan:
    """What `repair` would do; nothing is changed."""
    wid = api.workflow_id(incident_id)
    try:
        t = await tf.inspect(client, wid)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise IncidentNotFound(f"没有事件 {incident_id}") from None
        raise
    if not t.running:
        raise RepairRefused(f"事件 {incident_id} 已不在办理中（已结案或已终止），无需修复")
    if not t.stuck:
        raise RepairRefused(f"事件 {incident_id} 的后台处理正常（工作流任务没有连续失败），无需修复")
    events = list((await client.get_workflow_handle(wid, run_id=t.run_id).fetch_history()).events)
    tasks = completed_tasks(events)
    if not tasks:
        raise RepairRefused(f"事件 {incident_id} 的本次运行还没有完成过工作流任务，无处可退：需检查工作进程的代码或预案")
    failed, started = failing_task(events)
    last = events[-1].event_id
    upto = (started - 1) if started else last  # the history as the last completed task left it (and what came after)
    diverges, task_index = None, None
    if before_event is not None:
        if not 1 < before_event <= last:
            raise RepairBadInput(f"--before-event {before_event}：本运行的事件编号为 2–{last}")
        found_by, bound = "given", before_event
    else:
        cause, message = tf.failure_of(failed) if failed is not None else (None, "")
        named = named_event(message) if cause == NONDETERMINISM else None
        if named is not None and named <= upto:
            found_by, bound, diverges = "named", named, named
        else:
            diverges, task_index = await divergence(wid, events, upto)
            if diverges is not None:
                found_by, bound = "replay", diverges
            elif task_index is not None:
                found_by, bound = "replay", tasks[task_index][1] + 1
            else:  # all of it replays: the newest task is what fails
                found_by, bound = "failing_task", (started or last + 1)
    before = [(s, c) for s, c in tasks if c < bound]
    if not before:
        raise RepairRefused(f"事件 {incident_id} 在第 {bound} 个事件之前没有完成过工作流任务，无处可退："
                            "需检查工作进程的代码或预案")
    kept, reset_to = before[-1]
    by_id = {e.event_id: e for e in events}
    p = Plan(incident_id=incident_id, workflow_id=wid, run_id=t.run_id, trouble=t, reset_to=reset_to, kept_upto=kept,
             task_at=_t(by_id[kept].event_time), found_by=found_by, diverges_at=diverges)
    p.resend, p.refused_before = acknowledged_after(events, kept)
    return p


# ------------------------------------------------------------------ what was acknowledged after it


def acknowledged_after(events, kept: int) -> tuple[list[Resend], int]:
    """The updates and signals after event `kept`, in their order, with the time each was taken;
    and how many updates the incident had refused (not to be sent again)."""
    from workflows.actions import ACTIONS  # lazy: the registry imports the workflow

    refused = set()
    for e in events:
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            a = e.workflow_execution_update_completed_event_attributes
            if a.outcome.HasField("failure"):
                refused.add(a.meta.update_id)
    started_at: dict[int, datetime] = {}
    clock = None  # the clock of the newest completed task: an update accepted after it was taken by it
    out, seen, n_refused = [], set(), 0
    pc = DATA_CONVERTER.payload_converter
    for e in events:
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started_at[e.event_id] = _t(e.event_time)
        elif e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            clock = started_at.get(e.workflow_task_completed_event_attributes.started_event_id)
        if e.event_id <= kept:
            continue
        if e.event_type in (ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED):
            accepted = e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            req = (e.workflow_execution_update_accepted_event_attributes.accepted_request if accepted
                   else e.workflow_execution_update_admitted_event_attributes.request)
            uid, name = req.meta.update_id, req.input.name
            if uid in seen:
                continue
            seen.add(uid)
            if uid in refused:
                n_refused += 1
                continue
            spec = ACTIONS.get(name)
            args = pc.from_payloads(list(req.input.args.payloads), [spec.input] if spec else None)
            when = (clock if accepted and clock else _t(e.event_time))
            out.append(Resend(e.event_id, "update", name, name if spec else None, _own_at(args, when), uid, args))
        elif e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a = e.workflow_execution_signaled_event_attributes
            spec = ACTIONS.get(a.signal_name.removesuffix("_signal")) if a.signal_name.endswith("_signal") else None
            args = pc.from_payloads(list(a.input.payloads), [spec.input] if spec else None)
            out.append(Resend(e.event_id, "signal", a.signal_name, spec.name if spec else None,
                              _own_at(args, _t(e.event_time)), None, args))
    return out, n_refused


def _own_at(args: list, taken: datetime) -> datetime:
    at = getattr(args[0], "at", None) if args else None
    return at.astimezone(SHANGHAI) if at is not None else taken


def dated(inp, r: Resend, by: str, now: datetime):
    """The action with the business time it had; a 补录说明 when that is more than an hour back."""
    from workflows.recorder import BACKDATE_LIMIT

    update: dict = {}
    if inp.at is None:
        update["at"] = r.at
    if now - r.at > BACKDATE_LIMIT - RESEND_MARGIN and not (inp.backdate_reason or "").strip():
        update["backdate_reason"] = f"工作流修复后重新办理（ecoplan repair，{by}）：原于 {r.at:%Y-%m-%d %H:%M:%S} 受理"
    return inp.model_copy(update=update)


# ------------------------------------------------------------------ doing it


async def run(client: Client, p: Plan, by: str, wait: float = 30.0) -> Plan:
    """Reset, wait for the new run to answer, send again what was acknowledged after the point."""
    resp = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=p.workflow_id, run_id=p.run_id),
        reason=f"ecoplan repair（{by}）：工作流任务连续失败（{p.trouble.cause_text}），退回第 {p.reset_to} 个事件",
        workflow_task_finish_event_id=p.reset_to, request_id=str(uuid.uuid4()),
        # resent by this command with their business time (module docstring)
        reset_reapply_exclude_types=[ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
                                     ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE],
        identity=f"ecoplan repair {by}"[:100]))
    p.new_run_id = resp.run_id
    try:
        await ready(client, p, wait)
    except RepairFailed:
        for r in p.resend:  # said in the paragraph: the people who took them take them again
            r.outcome, r.reason = "failed", "新运行未就绪，未重新办理，请相关人员重新办理"
        raise
    for r in p.resend:
        await _send(client, p, r, by)
    return p


async def ready(client: Client, p: Plan, wait: float) -> None:
    """The new run answers its status query with its stage, within `wait` seconds; a new run
    whose task fails again is said at once."""
    from workflows.incident import IncidentWorkflow

    loop = asyncio.get_running_loop()
    end = loop.time() + wait
    handle = client.get_workflow_handle(p.workflow_id, run_id=p.new_run_id)
    while True:
        with contextlib.suppress(RPCError, asyncio.TimeoutError):
            st = await handle.query(IncidentWorkflow.status, rpc_timeout=timedelta(seconds=2))
            if st.get("stage"):
                return
        t = await tf.inspect(client, p.workflow_id)
        if t.run_id == p.new_run_id and t.running and t.attempt >= 2 and t.cause is not None:
            raise RepairFailed(f"事件 {p.incident_id} 已重置（新运行 {p.new_run_id}），但新运行的工作流任务仍然失败"
                               f"（{t.cause_text}：{t.message[:200]}）：可用 --before-event 退到更早的事件再试")
        if loop.time() > end:
            raise RepairFailed(f"事件 {p.incident_id} 已重置（新运行 {p.new_run_id}），但 {wait:.0f} 秒内没有就绪："
                               "工作进程是否在运行？")
        await asyncio.sleep(0.2)


async def _send(client: Client, p: Plan, r: Resend, by: str) -> None:
    now = datetime.now(SHANGHAI)
    try:
        if r.action is None:  # a system signal (a page's step): as it came
            await client.get_workflow_handle(p.workflow_id).signal(r.name, *r.args)
            r.outcome = "sent"
        elif r.kind == "signal":
            await api.signal_action(client, p.incident_id, r.action, dated(r.args[0], r, by, now))
            r.outcome = "sent"
        else:
            await api.act(client, p.incident_id, r.action, dated(r.args[0], r, by, now), update_id=r.update_id)
            r.outcome = "applied"
    except api.ActionRefused as e:
        r.outcome, r.reason = "refused", str(e)
    except (EcoplanError, RPCError) as e:
        r.outcome, r.reason = "failed", str(getattr(e, "message", None) or e)


# ------------------------------------------------------------------ saying it


WHY = {
    "named": "失败信息指出历史与现有代码自第 {d} 个事件起不一致",
    "replay": "按现有代码重放历史，{where}起不一致",
    "failing_task": "历史可按现有代码完整重放，失败的是此后的新任务",
    "given": "按 --before-event {d} 指定",
}
OUTCOMES = {"applied": "已办理", "sent": "已送达", "refused": "被拒绝", "failed": "未能送达"}


def paragraph(p: Plan, dry_run: bool = False, before_event: int | None = None) -> str:
    """What was done (or, dry, would be), in one paragraph. The failure's own text (English, for
    developers) is in --json (`trouble.message`) and in the run's history, not here."""
    t = p.trouble
    since = f"自 {t.since:%m-%d %H:%M:%S} 起" if t.since else ""
    where = f"第 {p.diverges_at} 个事件" if p.diverges_at else f"第 {p.reset_to} 个事件之后的命令"
    why = WHY[p.found_by].format(d=p.diverges_at or before_event, where=where)
    point = (f"第 {p.reset_to} 个事件，即 {p.task_at:%m-%d %H:%M:%S} 开始的那次工作流任务完成之处（{why}，此前最后一次完成的"
             f"就是这次任务）：新运行保留第 1–{p.kept_upto} 个事件，这次任务由现有代码重新决定")
    if dry_run:
        head = (f"［试运行，未做任何更改］事件 {p.incident_id} 的工作流任务{since}连续失败 {t.failures} 次（{t.cause_text}）。"
                f"修复时将用 Temporal 的重置功能把运行 {p.run_id} 退回到{point}；")
    else:
        head = (f"事件 {p.incident_id} 已修复：其工作流任务{since}连续失败 {t.failures} 次（{t.cause_text}）。"
                f"已用 Temporal 的重置功能把运行 {p.run_id} 退回到{point}；原运行已由 Temporal 终止，其历史保留，"
                f"事件以新运行 {p.new_run_id} 继续，事件编号不变，各处仍按编号办理；")
    if p.resend:
        items = "；".join(
            f"{r.title}（{r.who}，原于 {r.at:%m-%d %H:%M:%S}）" + (f"：{OUTCOMES[r.outcome]}" if r.outcome else "")
            + (f"，{r.reason}" if r.reason else "") for r in p.resend)
        verb = "将由本命令按原办理时间重新办理" if dry_run else "已由本命令按原办理时间重新办理"
        acts = f"该点之后已受理的 {len(p.resend)} 项操作不由 Temporal 重放，{verb}：{items}"
    else:
        acts = "该点之后没有已受理的操作需要重新办理"
    if p.refused_before:
        acts += f"；另有 {p.refused_before} 项当时已被拒绝的操作不再办理"
    tail = "。新运行重新执行的通知、文书打印和记录保存沿用原幂等键，已送达的不会重复送达。"
    return head + acts + tail
