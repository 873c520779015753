"""What `ecoplan repair` reads in an incident's histories (pure, no server): the failing
task, where history and code part ways (the error's named event, or a replay halved over the
completed tasks), the actions acknowledged after a point with their keys (an update by its id,
a signal by its request id) and business times. ecoplan/repair.py plans and runs the repair."""

from __future__ import annotations


import logging
import re
from dataclasses import dataclass
from datetime import datetime

from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory

from activities.task_failures import RESET_CAUSE, failing_task  # noqa: F401 - failing_task read as repair.*
from activities.task_failures import event_time as _t
from ecoplan.connection import DATA_CONVERTER
from plan.calendar import SHANGHAI


NAMED = re.compile(r"HistoryEvent\(id: (\d+)")


NONDETERMINISM = WorkflowTaskFailedCause.Name(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR)


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
    key: str = ""  # what the action is known by in every run: its update id, or its signal's request id
    run_id: str = ""  # the run it was acknowledged in
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
        return {"event_id": self.event_id, "run_id": self.run_id, "kind": self.kind, "name": self.name,
                "action": self.action, "at": self.at.isoformat(), "update_id": self.update_id, "key": self.key,
                "who": self.who, "outcome": self.outcome or None, "reason": self.reason or None}


def completed_tasks(events) -> list[tuple[int, int]]:
    """(WorkflowTaskStarted id, WorkflowTaskCompleted id) of every completed task, in order."""
    return [(e.workflow_task_completed_event_attributes.started_event_id, e.event_id)
            for e in events if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]


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


def signal_key(e, run_id: str) -> str:
    """A signal's key in every run: the request id it was sent with (the server records it;
    `repair` resends under it), else its place in the run it came to."""
    return e.workflow_execution_signaled_event_attributes.request_id or f"{run_id}/{e.event_id}"


def keys_in(events, run_id: str, upto: int | None = None) -> set[str]:
    out = set()
    for e in events:
        if upto is not None and e.event_id > upto:
            break
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            out.add(e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id)
        elif e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:
            out.add(e.workflow_execution_update_admitted_event_attributes.request.meta.update_id)
        elif e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            out.add(e.workflow_execution_update_completed_event_attributes.meta.update_id)
        elif e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            out.add(signal_key(e, run_id))
    return out


def inherited(events, run_id: str) -> bool:
    """A run a reset made carries its base's TemporalReportedProblems mark until a task of its
    own completes: till then the mark says nothing of it, and only its attempts do (a task taken
    by a worker that went away times out once and is given again; that is not stuck)."""
    mark = own_reset(events, run_id)
    return mark is not None and not any(
        e.event_id > mark.event_id and e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in events)


def own_reset(events, run_id: str):
    """The event a reset leaves in the run it made (a failed workflow task, cause RESET_WORKFLOW,
    naming the base run and this one), or None. A run made by a reset also holds the older
    resets' events its base had, each naming another new run."""
    for e in events:
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            a = e.workflow_task_failed_event_attributes
            if a.cause == RESET_CAUSE and a.new_run_id == run_id:
                return e
    return None


def acknowledged_after(events, kept: int, run_id: str = "") -> tuple[list[Resend], int]:
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
            out.append(Resend(e.event_id, "update", name, name if spec else None, _own_at(args, when), uid, args,
                              key=uid, run_id=run_id))
        elif e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a = e.workflow_execution_signaled_event_attributes
            spec = ACTIONS.get(a.signal_name.removesuffix("_signal")) if a.signal_name.endswith("_signal") else None
            args = pc.from_payloads(list(a.input.payloads), [spec.input] if spec else None)
            out.append(Resend(e.event_id, "signal", a.signal_name, spec.name if spec else None,
                              _own_at(args, _t(e.event_time)), None, args, key=signal_key(e, run_id), run_id=run_id))
    return out, n_refused


def _own_at(args: list, taken: datetime) -> datetime:
    at = getattr(args[0], "at", None) if args else None
    return at.astimezone(SHANGHAI) if at is not None else taken
