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

A repair that did not finish (the command died, or the new run did not answer in time, between
the reset and the resends): the base run is terminated, its history kept (for the namespace's
retention), and the new run lacks what came after the point. `ecoplan repair ID` again, on the
incident now not stuck, walks back from its current run (a reset leaves in the run it makes a
failed workflow task, cause RESET_WORKFLOW, naming base_run_id and new_run_id; a continue-as-new
names the run before in its started event) to each reset this command made (its reason begins
"ecoplan repair"), and sends what the base acknowledged after the point and no run since holds,
by key: an update by its update id; a signal by the request id it was sent with (the server
records it on the event), which is also the request id the repair resends it under, so a resent
signal keeps its key through any number of repairs. Sending twice applies once: the server keeps
one update per id and one signal per request id in a run (an update id from before the point is
in the new run's copied history and is answered, not applied, again; one from after it is new to
the new run and applied once), and the workflow remembers its newest update ids across
continue-as-new. An update the incident refused when a repair sent it leaves no trace in the run
(a validator's refusal is not recorded); the repair said so and gave it to people, and its audit
row says so, so a later repair does not send it again (an audit log that cannot be read stops
the resend, nothing changed). Before its reset, a repair writes what it will send again to the
audit log (`incident_repair_started`), for a person to see.

The incident is addressed by its workflow id only, everywhere in ecoplan (the client API,
the views, the console, the activities' queries): after a reset every call reaches the new
run. Deliveries re-run by the new run (notifications, printing, the record) carry their
idempotency keys, so what was sent before is not sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.enums.v1 import ResetReapplyExcludeType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import activities.task_failures as tf
from ecoplan import api
from ecoplan.errors import EcoplanError, IncidentNotFound
from plan.calendar import SHANGHAI
from ecoplan.repair_history import (  # noqa: F401 - read by the tests as repair.*
    NONDETERMINISM, Resend, _t, acknowledged_after, completed_tasks, divergence, failing_task, inherited, keys_in,
    named_event, own_reset, signal_key)

RESEND_MARGIN = timedelta(minutes=5)  # the incident's clock runs ahead of ours by the time a send takes
REASON = "ecoplan repair"  # how every reason `reset` gives the server begins: a reset this command made


class RepairRefused(EcoplanError):
    """Not repaired: the incident is not stuck, or no point to go back to exists."""


class RepairBadInput(EcoplanError):
    """An option the run's history cannot take (exit 2, as bad input)."""

    exit_code = 2


class RepairFailed(EcoplanError):
    """Reset, but the new run does not answer, or still fails: the message says which."""


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
    handed: list[Resend] = field(default_factory=list)  # an earlier repair's, refused then and given to people
    new_run_id: str | None = None
    resumed = False

    def public(self) -> dict:
        return {"resumed": False, "incident_id": self.incident_id, "workflow_id": self.workflow_id,
                "run_id": self.run_id, "new_run_id": self.new_run_id, "reset_to_event": self.reset_to,
                "kept_upto_event": self.kept_upto, "task_started_at": self.task_at.isoformat(),
                "found_by": self.found_by, "diverges_at_event": self.diverges_at, "trouble": self.trouble.public(),
                "resend": [r.public() for r in self.resend], "refused_before": self.refused_before,
                "handed_to_people": [r.public() for r in self.handed]}


@dataclass
class Reset:
    """One reset in the incident's past (or the one a repair is about to make)."""

    base_run_id: str  # the run reset (terminated by it, its history kept for the namespace's retention)
    new_run_id: str  # the run it made ("" while only planned)
    kept: int  # the new run holds the base's events 1..kept
    reset_to: int | None  # the base's WorkflowTaskCompleted it went back to
    at: datetime | None  # when it was made
    ours: bool  # made by `ecoplan repair` (signals and updates not reapplied: the repair resends them)

    def public(self) -> dict:
        return {"base_run_id": self.base_run_id, "new_run_id": self.new_run_id, "kept_upto_event": self.kept,
                "reset_to_event": self.reset_to, "at": self.at.isoformat() if self.at else None}


@dataclass
class Resume:
    """What an earlier repair acknowledged-and-reset but did not resend: the incident is not
    stuck, its current run descends from a repair's reset, and the base run holds actions the
    current run has not got (module docstring, "A repair that did not finish")."""

    incident_id: str
    workflow_id: str
    run_id: str  # the current run, which gets them
    resets: list[Reset]  # the repairs' resets the actions come from, newest first
    resend: list[Resend] = field(default_factory=list)
    already: int = 0  # acknowledged after those points and already in the current run: not sent
    handed: list[Resend] = field(default_factory=list)  # refused when a repair sent them, given to people
    resumed = True

    def public(self) -> dict:
        return {"resumed": True, "incident_id": self.incident_id, "workflow_id": self.workflow_id,
                "run_id": self.run_id, "resets": [r.public() for r in self.resets],
                "resend": [r.public() for r in self.resend], "already_in_run": self.already,
                "handed_to_people": [r.public() for r in self.handed]}


# ------------------------------------------------------------------ finding the point


async def plan(client: Client, incident_id: str, before_event: int | None = None,
               handed_over: Callable[[], set[str]] | None = None) -> Plan | Resume:
    """What `repair` would do; nothing is changed. A stuck incident: the Plan to reset it. One
    that is not stuck but that an earlier repair left unfinished: the Resume that finishes it.
    `handed_over()`: the keys of actions an earlier repair sent and the incident refused (the
    audit log); asked only when the incident has had a repair's reset."""
    wid = api.workflow_id(incident_id)
    try:
        t = await tf.inspect(client, wid)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise IncidentNotFound(f"没有事件 {incident_id}") from None
        raise
    if not t.running:
        raise RepairRefused(f"事件 {incident_id} 已不在办理中（已结案或已终止），无需修复")
    events = list((await client.get_workflow_handle(wid, run_id=t.run_id).fetch_history()).events)
    failed, started = failing_task(events)
    if not t.stuck or (inherited(events, t.run_id) and t.attempt < tf.STUCK_ATTEMPTS):
        return await resumption(client, incident_id, t.run_id, events, before_event, handed_over)
    tasks = completed_tasks(events)
    if not tasks:
        raise RepairRefused(f"事件 {incident_id} 的本次运行还没有完成过工作流任务，无处可退：需检查工作进程的代码或预案")
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
    # The new run will hold this run's events up to `kept`, and what they hold from the runs before
    # (an earlier repair's reset that did not finish: its base's actions are sent too).
    planned = Reset(base_run_id=t.run_id, new_run_id="", kept=kept, reset_to=reset_to, at=None, ours=True)
    lin = await lineage(client, wid, t.run_id, events, upto=kept, planned=planned)
    p.resend, _, p.handed = _pending(lin, handed_over)
    p.refused_before = acknowledged_after(events, kept, t.run_id)[1]
    return p


# ------------------------------------------------------------------ a repair that did not finish


async def resumption(client: Client, incident_id: str, run_id: str, events, before_event: int | None,
                     handed_over) -> Resume:
    """The actions an earlier repair's reset left out of the current run and did not resend
    (RepairRefused, with 无需修复, when there are none)."""
    wid = api.workflow_id(incident_id)
    lin = await lineage(client, wid, run_id, events)
    ours = [r for r, _ in lin.resets if r.ours]
    fine = f"事件 {incident_id} 的后台处理正常（工作流任务没有连续失败）"
    if not ours:
        raise RepairRefused(fine + "，无需修复" + _unchecked(lin))
    resend, already, handed = _pending(lin, handed_over)
    if not resend:
        done = f"；此前修复（{ours[0].at:%m-%d %H:%M:%S} 的重置）之后已受理的操作新运行均已收到" if ours[0].at else ""
        raise RepairRefused(fine + done + "，无需修复" + _unchecked(lin))
    if before_event is not None:
        raise RepairBadInput(f"--before-event 只用于工作流任务连续失败的事件；{fine}，"
                             f"但此前的修复未完成，不加该选项再执行即可补办 {len(resend)} 项操作")
    return Resume(incident_id=incident_id, workflow_id=wid, run_id=run_id,
                  resets=[r for r in ours if any(x.run_id == r.base_run_id for x in resend)],
                  resend=resend, already=already, handed=handed)


def _unchecked(lin: "Lineage") -> str:
    if not lin.unchecked:
        return ""
    return (f"（事件曾经重置，原运行 {'、'.join(lin.unchecked)} 的历史已超过保留期，不在服务器上，"
            "其中的操作无法核对）")


MAX_RUNS = 50  # runs walked back from the current one (each a history read)


@dataclass
class Lineage:
    """The runs whose events the current run holds, walked back from it (a reset's new run
    holds its base's events up to the reset point; a run continued as new, all its
    predecessor's state)."""

    got: set[str]  # the keys of every update and signal those runs hold
    resets: list[tuple[Reset, list]]  # each reset on the way, newest first, with its base's events
    unchecked: list[str]  # base runs whose history the server no longer has


async def _history(client: Client, wid: str, run_id: str) -> list | None:
    try:
        return list((await client.get_workflow_handle(wid, run_id=run_id).fetch_history()).events)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def lineage(client: Client, wid: str, run_id: str, events, upto: int | None = None,
                  planned: Reset | None = None) -> Lineage:
    """Walk back from `run_id` (its `events`, of which those up to `upto` count): through each
    reset to its base, through each continue-as-new to the run before. `planned`: the reset a
    repair is about to make of this run, counted as the newest."""
    lin = Lineage(got=set(), resets=[(planned, events)] if planned else [], unchecked=[])
    any_reset = None
    for _ in range(MAX_RUNS):
        lin.got |= keys_in(events, run_id, upto)
        if (e := own_reset(events, run_id)) is not None:
            a = e.workflow_task_failed_event_attributes
            base = await _history(client, wid, a.base_run_id)
            if base is None:
                lin.unchecked.append(a.base_run_id)
                break
            kept = a.started_event_id
            reset_to = next((x.event_id for x in base if x.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
                             and x.workflow_task_completed_event_attributes.started_event_id == kept), None)
            lin.resets.append((Reset(base_run_id=a.base_run_id, new_run_id=run_id, kept=kept, reset_to=reset_to,
                                     at=_t(e.event_time), ours=a.failure.message.startswith(REASON)), base))
            # the base's events up to the point are this run's own (the same ids): no more of them count
            run_id, events, upto = a.base_run_id, base, kept if upto is None else min(upto, kept)
            continue
        first = events[0] if events else None
        prev = (first.workflow_execution_started_event_attributes.continued_execution_run_id
                if first is not None and first.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED else "")
        if not prev:
            break
        if any_reset is None:
            any_reset = await reset_before(client, wid)
        if not any_reset or (events := await _history(client, wid, prev)) is None:
            break
        run_id, upto = prev, None  # continued as new: all its predecessor's state came with it
    return lin


async def reset_before(client: Client, wid: str) -> bool:
    """Whether the workflow has a run a reset ended (one visibility count): a reset terminates
    its base, so without a terminated run no run before the current one holds a repair's reset,
    and a healthy incident's chain of continued runs is not read."""
    return (await client.count_workflows(f"WorkflowId = '{wid}' AND ExecutionStatus = 'Terminated'")).count > 0


def _pending(lin: Lineage, handed_over) -> tuple[list[Resend], int, list[Resend]]:
    """What the repairs' resets left out and the current run has not got: every update and
    signal acknowledged after a reset point in its base, oldest reset first, once each (an
    action resent by one repair is in the next base under the same key); those the current run
    holds (by key) are not sent; nor those an earlier repair sent and the incident refused,
    which were given to people (`handed_over`)."""
    out, seen, already = [], set(), 0
    for reset, base in reversed(lin.resets):
        if not reset.ours:  # someone else's reset: Temporal reapplied what came after it
            continue
        for r in acknowledged_after(base, reset.kept, reset.base_run_id)[0]:
            if r.key in seen:
                continue
            seen.add(r.key)
            if r.key in lin.got:
                already += 1
            else:
                out.append(r)
    handed: list[Resend] = []
    if out and handed_over is not None and any(r.ours and r.new_run_id for r, _ in lin.resets):
        keys = handed_over()
        handed = [r for r in out if r.key in keys]
        out = [r for r in out if r.key not in keys]
    return out, already, handed


# ------------------------------------------------------------------ what was acknowledged after it


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


async def reset(client: Client, p: Plan, by: str) -> str:
    """The reset alone: the new run's id. What it leaves out stays in the base run's history
    until `resend` (or, if this process dies first, the next `ecoplan repair`) sends it."""
    resp = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=p.workflow_id, run_id=p.run_id),
        # begins with REASON: how a later repair knows the reset as one of this command's
        reason=f"{REASON}（{by}）：工作流任务连续失败（{p.trouble.cause_text}），退回第 {p.reset_to} 个事件",
        workflow_task_finish_event_id=p.reset_to, request_id=str(uuid.uuid4()),
        # resent by this command with their business time (module docstring)
        reset_reapply_exclude_types=[ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
                                     ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE],
        identity=f"ecoplan repair {by}"[:100]))
    p.new_run_id = resp.run_id
    return resp.run_id


async def resend(client: Client, p: Plan | Resume, by: str, wait: float = 30.0) -> None:
    """Wait for the run that gets them to answer, then send each action in order, under its key."""
    run_id = p.new_run_id if isinstance(p, Plan) else p.run_id
    try:
        await ready(client, p.incident_id, run_id, wait)
    except RepairFailed:
        for r in p.resend:  # said in the paragraph: running the command again sends them
            r.outcome, r.reason = "failed", f"运行未就绪，未重新办理：就绪后再次执行 ecoplan repair {p.incident_id} 即补办"
        raise
    for r in p.resend:
        await _send(client, p.incident_id, r, by)


async def ready(client: Client, incident_id: str, run_id: str, wait: float) -> None:
    """The run answers its status query with its stage, within `wait` seconds; a run whose
    task fails again is said at once."""
    from workflows.incident import IncidentWorkflow

    wid = api.workflow_id(incident_id)
    loop = asyncio.get_running_loop()
    end = loop.time() + wait
    handle = client.get_workflow_handle(wid, run_id=run_id)
    while True:
        with contextlib.suppress(RPCError, asyncio.TimeoutError):
            st = await handle.query(IncidentWorkflow.status, rpc_timeout=timedelta(seconds=2))
            if st.get("stage"):
                return
        t = await tf.inspect(client, wid)
        # a task that timed out (taken by a worker that went away) is given again: wait on
        if t.run_id == run_id and t.running and t.attempt >= 2 and t.cause not in (None, "timed_out"):
            raise RepairFailed(f"事件 {incident_id} 已重置（新运行 {run_id}），但新运行的工作流任务仍然失败"
                               f"（{t.cause_text}：{t.message[:200]}）：可用 --before-event 退到更早的事件再试")
        if loop.time() > end:
            raise RepairFailed(f"事件 {incident_id} 的运行 {run_id} 在 {wait:.0f} 秒内没有就绪：工作进程是否在运行？"
                               f"就绪后再次执行 ecoplan repair {incident_id} 即补办尚未重新办理的操作")
        await asyncio.sleep(0.2)


async def _send(client: Client, incident_id: str, r: Resend, by: str) -> None:
    """One action again, under the key it was acknowledged with: an update under its update id,
    a signal under its request id; the server keeps one of each in a run, so sending it twice
    applies it once."""
    now = datetime.now(SHANGHAI)
    try:
        if r.action is None:  # a system signal (a page's step): as it came
            await api.signal(client, incident_id, r.name, *r.args, request_id=r.key)
            r.outcome = "sent"
        elif r.kind == "signal":
            await api.signal_action(client, incident_id, r.action, dated(r.args[0], r, by, now), request_id=r.key)
            r.outcome = "sent"
        else:
            await api.act(client, incident_id, r.action, dated(r.args[0], r, by, now), update_id=r.key)
            r.outcome = "applied"
    except api.ActionRefused as e:
        r.outcome, r.reason = "refused", str(e)
    except (EcoplanError, RPCError) as e:
        r.outcome, r.reason = "failed", str(getattr(e, "message", None) or e)
