"""Where a life cycle's CPU goes, measured in-process: thread CPU time (time.thread_time)
charged to buckets while the life-cycle benchmark runs.

    with CpuSplit() as split:          # patches the SDK and the activities for the run
        with split.side("ecoplan"):    # what runs now is charged to this side
            ...
    split.per_side()  # {"ecoplan": {"workflow: activation": ms, ...}, ...}

Buckets (exclusive time: a nested bucket's time is not charged to its parent):

- workflow tasks, SDK on the event loop: `_WorkflowWorker._handle_activation` (decoding the
  activation's payloads, encoding the completion's), its steps on the main thread;
- workflow tasks, activation: `_RunningWorkflow.activate` in the SDK's workflow thread (the
  sandbox, the workflow code, the state machine, pydantic); queries (`status`, `outbox`,
  `ready`) are counted apart, as "workflow queries";
- workflow instance creation: `_create_workflow_instance` (the sandbox re-imports the workflow
  module and builds the class for every new workflow instance);
- activity kinds: each synchronous activity's function in its executor thread, by name; the
  delivery activity split into its printed documents (by kind), records save, archive
  (documents and timeline), notifications, and its steps on the event loop (the queries it
  sends and awaits);
- activity tasks, SDK on the event loop: `_ActivityWorker._handle_start_activity_task`;
- client: the driver coroutines (start, updates, result) on the event loop.

What no bucket holds (the process's CPU minus the buckets) is the SDK core's own threads
(Rust: gRPC, history, the state machines) and the event loop's other work.

A side is a contextvar: the driver sets it, asyncio tasks and executor calls inherit it
(the SDK copies the context into its activity threads; workflow activations and handlers
are charged by the task queue's owner, registered with `side_of_queue`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections import defaultdict
from typing import Any, Callable

SIDE: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_side", default=None)
_local = threading.local()


class CpuSplit:
    def __init__(self) -> None:
        self.cpu: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # how often each bucket ran
        self.queues: dict[str, str] = {}  # task queue → side
        self._undo: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ charging

    def _enter(self, bucket: str, side: str | None) -> None:
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append([bucket, side, time.thread_time(), 0.0])

    def _exit(self) -> float:
        bucket, side, start, child = _local.stack.pop()
        spent = time.thread_time() - start
        if _local.stack:
            _local.stack[-1][3] += spent
        if side is not None:
            with self._lock:
                self.cpu[side][bucket] += spent - child
                self.calls[side][bucket] += 1
        return spent

    def timed_sync(self, fn: Callable, bucket: str | Callable[..., str], side_of: Callable[..., str | None]):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            self._enter(bucket(*args, **kwargs) if callable(bucket) else bucket, side_of(*args, **kwargs))
            try:
                return fn(*args, **kwargs)
            finally:
                self._exit()
        return wrapper

    def timed_coro(self, fn: Callable, bucket: str, side_of: Callable[..., str | None]):
        split = self

        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):  # a coroutine: the SDK hands it to create_task
            return await _Timed(split, fn(*args, **kwargs), bucket, side_of(*args, **kwargs))
        return wrapper

    # ------------------------------------------------------------------ patches

    def patch(self, owner: Any, name: str, new: Callable) -> None:
        old = owner.__dict__[name]
        setattr(owner, name, new(old))
        self._undo.append(lambda: setattr(owner, name, old))

    def __enter__(self) -> "CpuSplit":
        from temporalio.worker import _activity as sdk_act, _workflow as sdk_wf

        from temporalio import activity

        from activities.archive import Archive
        from activities.delivery import Deliverer
        from activities.notify import Notifier

        def act_side(*a, **k) -> str | None:
            try:
                return self.queues.get(activity.info().task_queue)
            except RuntimeError:  # not in an activity
                return None

        wf_side = lambda worker, *a, **k: self.queues.get(worker._task_queue)  # noqa: E731

        def activation_bucket(running, act) -> str:
            only_queries = act.jobs and all(j.HasField("query_workflow") for j in act.jobs)
            return "workflow queries (status, outbox, ready)" if only_queries else "workflow tasks: activation (sandbox, workflow code)"

        self.patch(sdk_wf._WorkflowWorker, "_handle_activation",
                   lambda f: self.timed_coro(f, "workflow tasks: SDK on the event loop (payloads)", wf_side))
        self.patch(sdk_wf._WorkflowWorker, "_create_workflow_instance",
                   lambda f: self.timed_sync(f, "workflow instance creation (sandbox)", wf_side))
        self.patch(sdk_wf._RunningWorkflow, "activate",
                   lambda f: self.timed_sync(f, activation_bucket,
                                             lambda running, act: self.queues.get(running.get_info().task_queue)))
        self.patch(sdk_act._ActivityWorker, "_handle_start_activity_task",
                   lambda f: self.timed_coro(f, "activity tasks: SDK on the event loop", wf_side))
        # The delivery activity's parts (its own steps: the interceptor, by activity name).
        self.patch(Deliverer, "_deliver", lambda f: self.timed_sync(f, "deliveries: other", act_side))
        self.patch(Deliverer, "_render",
                   lambda f: self.timed_sync(f, lambda s, iid, payload, st: f"documents: render {payload.get('kind')}",
                                             act_side))
        self.patch(Deliverer, "_record", lambda f: self.timed_sync(f, "records: save", act_side))
        self.patch(Archive, "write", lambda f: self.timed_sync(f, "archive: documents", act_side))
        self.patch(Archive, "append_timeline", lambda f: self.timed_sync(f, "archive: timeline", act_side))
        self.patch(Notifier, "send", lambda f: self.timed_sync(f, "notifications (log, outbox)", act_side))
        return self

    def __exit__(self, *exc) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    # ------------------------------------------------------------------ sides

    @contextlib.contextmanager
    def side(self, name: str, task_queue: str):
        self.queues[task_queue] = name
        token = SIDE.set(name)
        try:
            yield
        finally:
            SIDE.reset(token)

    def interceptor(self):
        """A worker interceptor charging each activity's own work to `activity: <name>`
        (synchronous ones in their executor thread, async ones' steps on the event loop)."""
        from temporalio.worker import ActivityInboundInterceptor, Interceptor

        split = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input):
                from temporalio import activity

                side = split.queues.get(activity.info().task_queue)
                bucket = f"activity: {activity.info().activity_type}"
                if activity.info().is_local or not _is_async(input.fn):
                    input.fn = split.timed_sync(input.fn, bucket, lambda *a, **k: side)
                    return await self.next.execute_activity(input)
                return await _Timed(split, self.next.execute_activity(input), bucket, side)

        class Intercept(Interceptor):
            def intercept_activity(self, next):
                return Inbound(next)

        return Intercept()

    def snapshot(self, side: str) -> dict[str, float]:
        with self._lock:
            return dict(self.cpu[side])

    def counts(self, side: str) -> dict[str, int]:
        """Calls per bucket (for coroutines: steps, not calls)."""
        with self._lock:
            return dict(self.calls[side])


def _is_async(fn) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


class _Timed:
    """Awaits a coroutine, charging the thread CPU of each of its steps to a bucket."""

    __slots__ = ("split", "coro", "bucket", "side")

    def __init__(self, split: CpuSplit, coro, bucket: str, side: str | None) -> None:
        self.split, self.coro, self.bucket, self.side = split, coro, bucket, side

    def __await__(self):
        it = self.coro.__await__()
        send, value = it.send, None
        while True:
            self.split._enter(self.bucket, self.side)
            try:
                yielded = send(value)
            except StopIteration as stop:
                return stop.value
            finally:
                self.split._exit()
            try:
                value, send = (yield yielded), it.send
            except BaseException as e:  # cancellation and the like: pass it in
                value, send = e, it.throw


def threads_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads by OS thread name (/proc/self/task/*/stat):
    the SDK core's Rust threads carry their own names (tokio-runtime-…), Python's threads
    the process's name. Threads that ended during a phase are missing from its difference."""
    import os

    out: dict[str, float] = defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                head, _, rest = f.read().rpartition(")")
            fields = rest.split()
            out[head.split("(", 1)[1]] += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return dict(out)


def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(after) | set(before)}
