"""Issue 26, item 4: what users wait for, measured at each size of the supervisor section on
its `python worker.py` and its open incidents (benchmarks/supervisor.py calls these after the
views at that size; the worker's memory is that section's RssSampler).

action → board     An action that changes what the 总览 board shows (activate_response:
                   接报 → 启动响应, a real Update through ecoplan.api.act) sent to an open
                   incident, until a supervisor's board page left open shows it. The page's
                   script (ecoplan/web/static/live.js) asks /board/live `data-every` seconds
                   after its previous answer, and /board/live renders the process's shared
                   copy of the figures (ecoplan/web/board.py), refreshed `refresh` seconds
                   after the previous refresh ended: both waits are in the figure, as a user
                   sees it. Seen: the first answer whose 按阶段 counts show the move. The
                   action is sent at a random moment of the page's cycle. Legs, each from the
                   moment the action was sent: the update's answer, the incident's new EcoStage
                   in visibility (asked every 0.1 s), the shared copy (read in this process
                   every 0.05 s), the page.
deadline → overdue Incidents started with their 初报 (4 h from reported_at, 17号令 第三条)
                   falling due `lead` seconds later, one every `spacing` seconds, as the tests
                   backdate; from each due instant until the overdue view's visibility query
                   (EcoOverdueSince IS NOT NULL, what `ecoplan overdue` and the board ask)
                   lists the incident, asked every 0.1 s for those not yet listed (the time a
                   listing answered). They stay open: the next size counts them.
daily report       The 08:00 Schedule the worker created at its start, triggered now: from the
                   trigger to the DailyReportWorkflow's result; its compile activity's time and
                   attempts from the history; what the report counted, and its size (it is
                   the activity's result and the workflow's, so it is in history). A run whose
                   compile fails is stopped after the first failure, and the report compiled
                   in this process to time it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from benchmarks.common import COMMANDER, COUNTIES, GOALS, log, pct, r3
from benchmarks.driving import incident_report
from ecoplan import api, views
from ecoplan.web.context import STAGE_NAMES
from plan.calendar import SHANGHAI
from workflows import messages as m
from workflows.daily_report import DAILY_REPORT_SCHEDULE_ID

ACTION = "activate_response"
FROM_STAGE, TO_STAGE = "reported", "responding"
POLL_S = 0.1  # how often visibility is asked while a wait is measured
INITIAL_REPORT = timedelta(hours=4)  # 初报: 4 h after the bureau learned (17号令 第三条, reported_at)


def spread(xs: list[float]) -> dict:
    xs = [x for x in xs if x is not None]
    return {"n": len(xs), "p50_s": r3(pct(xs, 50)) if xs else None, "p95_s": r3(pct(xs, 95)) if xs else None,
            "max_s": r3(max(xs)) if xs else None, "min_s": r3(min(xs)) if xs else None}


# ------------------------------------------------------------------ the board page left open


def stage_counts(html: str) -> dict[str, int]:
    """The 按阶段 card's counts of a /board/live answer, by stage key."""
    start, end = html.find("按阶段"), html.find("按级别")
    if start < 0 or end < start:
        return {}
    names = {v: k for k, v in STAGE_NAMES.items()}
    return {names.get(n, n): int(c) for n, c in re.findall(r"<tr><th>(.*?)</th><td>(\d+)</td></tr>", html[start:end])}


class OpenBoard:
    """A supervisor's 总览 page left open: as live.js does, `every` seconds after its previous
    answer it asks /board/live again. Keeps each answer's time and its 按阶段 counts."""

    def __init__(self, get: Callable[[], Awaitable[str]], every: float):
        self.get, self.every = get, every
        self.answers: list[tuple[float, dict[str, int]]] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                text = await self.get()
            except Exception as e:  # the page shows its banner and asks again next tick
                log(f"board page: {type(e).__name__}: {e}")
                continue
            self.answers.append((time.perf_counter(), stage_counts(text)))
            self._new.set()
            self._new = asyncio.Event()

    async def __aenter__(self) -> "OpenBoard":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def first(self, shows: Callable[[dict], bool], after: float, bound: float) -> float | None:
        """The time of the first answer after `after` that `shows`; None past `bound` seconds."""
        end = time.perf_counter() + bound
        seen = 0
        while True:
            for t, counts in self.answers[seen:]:
                if t > after and shows(counts):
                    return t
            seen = len(self.answers)
            left = end - time.perf_counter()
            if left <= 0:
                return None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)


async def _until(check: Callable[[], Awaitable[bool]], every: float, bound: float) -> float | None:
    end = time.perf_counter() + bound
    while time.perf_counter() < end:
        if await check():
            return time.perf_counter()
        await asyncio.sleep(every)
    return None


async def action_to_board(client: Client, board, movable: list[str], samples: int, rng: random.Random,
                          bound: float = 120.0) -> dict:
    """`samples` actions (fewer when fewer incidents are in 接报), one at a time; `board` is
    supervisor.board_page's fetcher (its app's shared copies, its page's poll interval)."""
    base = views.base_query(drills=True)
    copies = board.copies

    async def count(stage: str) -> int:
        return (await client.count_workflows(f"{base} AND EcoStage = {views._q(stage)}")).count

    rows = []
    async with OpenBoard(board.get_live, board.every) as page:
        for _ in range(min(samples, len(movable))):
            iid = movable.pop()
            before = {s: await count(s) for s in (FROM_STAGE, TO_STAGE)}
            want = {FROM_STAGE: before[FROM_STAGE] - 1, TO_STAGE: before[TO_STAGE] + 1}

            def shows(counts: dict) -> bool:
                return all(counts.get(s) == n for s, n in want.items())

            await asyncio.sleep(rng.uniform(0, board.every))  # a random moment of the page's cycle
            one = f"WorkflowId = {views._q(api.workflow_id(iid))} AND EcoStage = {views._q(TO_STAGE)}"

            async def visible() -> bool:
                return (await client.count_workflows(f"{base} AND {one}")).count == 1

            async def in_copy() -> bool:
                c = copies._copies.get(True)  # the drills=1 board's copy (ecoplan/web/board.py)
                return bool(c and c.data and shows(c.data["counts"]["stage"]))

            t0 = time.perf_counter()
            vis = asyncio.create_task(_until(visible, POLL_S, bound))
            cop = asyncio.create_task(_until(in_copy, 0.05, bound))
            await api.act(client, iid, ACTION, m.ActivateResponse(by=COMMANDER))
            t_act = time.perf_counter()
            t_page = await page.first(shows, t0, bound)
            t_vis, t_copy = await vis, await cop
            rel = [None if t is None else t - t0 for t in (t_act, t_vis, t_copy, t_page)]
            rows.append(dict(zip(("answered_s", "visible_s", "copy_s", "page_s"), map(r3, rel)), incident_id=iid))
            if t_page is None:
                log(f"  the board did not show {iid}'s move within {bound:.0f} s")
    page_s = [r["page_s"] for r in rows]
    out = {"action": ACTION, "moves": f"{FROM_STAGE} → {TO_STAGE}", "page_poll_s": board.every,
           "copy_refresh_s": copies.refresh, "samples": len(rows), "not_seen": sum(x is None for x in page_s),
           **spread(page_s),
           "legs": {k: spread([r[k] for r in rows]) for k in ("answered_s", "visible_s", "copy_s", "page_s")},
           "goal_p95_s_max": GOALS["action_board_p95_s_max"], "rows": rows}
    out["goal_met"] = bool(rows) and out["not_seen"] == 0 and out["p95_s"] <= GOALS["action_board_p95_s_max"]
    return out


# ------------------------------------------------------------------ a deadline falling due


async def deadline_to_overdue(client: Client, samples: int, lead: float, spacing: float,
                              bound: float = 120.0) -> tuple[dict, int]:
    """Returns the figures and how many incidents it left open (each of them overdue)."""
    first = datetime.now(SHANGHAI) + timedelta(seconds=lead)
    due: dict[str, float] = {}
    ready_before_due: dict[str, float] = {}
    gate = asyncio.Semaphore(8)

    async def one(k: int) -> None:
        r = incident_report(county=COUNTIES[k % len(COUNTIES)], prefix="due")
        learned = first + timedelta(seconds=k * spacing) - INITIAL_REPORT
        r = r.model_copy(update={"reported_at": learned, "discovered_at": learned - timedelta(seconds=1)})
        async with gate:
            await api.start_incident(client, r, wait_ready=120)
        wid = api.workflow_id(r.incident_id)
        due[wid] = (learned + INITIAL_REPORT).timestamp()
        ready_before_due[wid] = due[wid] - time.time()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(samples)))
    started_s = time.perf_counter() - t0
    late_start = sum(v <= 0 for v in ready_before_due.values())
    if late_start:
        log(f"  {late_start} deadline samples were ready only after their deadline: raise the lead")
    await asyncio.sleep(max(0.0, min(due.values()) - time.time() - 1))
    base = views.base_query(drills=True) + " AND EcoOverdueSince IS NOT NULL"
    seen: dict[str, float] = {}
    end = max(due.values()) + bound
    while len(seen) < len(due) and time.time() < end:
        rest = [w for w in due if w not in seen]
        q = f"{base} AND WorkflowId IN ({', '.join(views._q(w) for w in rest)})"
        listed = [w.id async for w in client.list_workflows(q)]
        now = time.time()
        for w in listed:
            seen.setdefault(w, now)
        await asyncio.sleep(POLL_S)
    lat = [seen[w] - due[w] if w in seen else None for w in due]
    out = {"deadline": "initial_report", "samples": len(due), "lead_s": lead, "spacing_s": spacing,
           "poll_s": POLL_S, "started_s": r3(started_s), "ready_after_due": late_start,
           "ready_before_due_min_s": r3(min(ready_before_due.values())), "not_listed": sum(x is None for x in lat),
           **spread(lat), "latencies_s": [r3(x) for x in lat],
           "goal_p95_s_max": GOALS["deadline_overdue_p95_s_max"]}
    out["goal_met"] = out["not_listed"] == 0 and out["p95_s"] is not None and out["p95_s"] <= out["goal_p95_s_max"]
    return out, len(due)


# ------------------------------------------------------------------ the 08:00 daily report


async def daily_report_run(client: Client, bound: float = 600.0) -> dict:
    """Trigger the worker's daily-report Schedule and wait for its run, at most `bound` s. A
    run whose compile activity failed once is described (its failure) and terminated rather
    than left to retry for minutes; the report is then compiled in this process with the
    activity's own function (`compile_direct_s`), so its run time is still known."""
    h = client.get_schedule_handle(DAILY_REPORT_SCHEDULE_ID)
    before = {a.action.workflow_id for a in (await h.describe()).info.recent_actions}
    t0 = time.perf_counter()
    await h.trigger()
    wid = None
    while wid is None and time.perf_counter() - t0 < 60:
        new = [a.action.workflow_id for a in (await h.describe()).info.recent_actions
               if a.action.workflow_id not in before]
        wid = new[0] if new else None
        if wid is None:
            await asyncio.sleep(POLL_S)
    if wid is None:
        return {"finished": False, "error": "the schedule started no run within 60 s", "goal_met": False}
    wf = client.get_workflow_handle(wid)
    out: dict = {"workflow_id": wid}
    result = asyncio.create_task(wf.result())
    report = None
    while True:
        done, _ = await asyncio.wait({result}, timeout=1.0)
        if done:
            try:
                report = result.result()
                out["trigger_to_result_s"] = r3(time.perf_counter() - t0)
            except Exception as e:
                out["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            break
        failed = [p for p in (await wf.describe()).raw_description.pending_activities if p.attempt > 1]
        if failed or time.perf_counter() - t0 > bound:
            out["error"] = "compile failed, retrying" if failed else f"no result within {bound:.0f} s"
            out["gave_up_after_s"] = r3(time.perf_counter() - t0)
            for p in failed:
                out["last_failure"] = p.last_failure.message[:500]
            result.cancel()
            with contextlib.suppress(Exception):
                await wf.terminate("benchmark: the daily report did not finish")
            break
    out["finished"] = report is not None
    events = [e async for e in wf.fetch_history_events()]
    times = {}
    compile_id = None
    for e in events:
        t = e.event_time.ToDatetime().timestamp()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and compile_id is None:
            times["compile"] = t
            compile_id = e.event_id
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and \
                e.activity_task_started_event_attributes.scheduled_event_id == compile_id:
            out["compile_attempts"] = e.activity_task_started_event_attributes.attempt
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and \
                e.activity_task_completed_event_attributes.scheduled_event_id == compile_id:
            out["compile_s"] = r3(t - times["compile"])
    if events:
        out["workflow_s"] = r3(events[-1].event_time.ToDatetime().timestamp()
                               - events[0].event_time.ToDatetime().timestamp())
        out["history_bytes"] = sum(e.ByteSize() for e in events)
    if report is None:  # what the activity computes, timed here (no archive write)
        from activities.daily_report import daily_report, render_daily_report
        from plan.loader import load_plan

        t1 = time.perf_counter()
        report = await daily_report(client, spec=load_plan().plan.daily_report)
        render_daily_report(report)
        out["compile_direct_s"] = r3(time.perf_counter() - t1)
    out.update(report_bytes=len(json.dumps(report, ensure_ascii=False).encode()),
               open_incidents=report["open_incidents"], new_incidents=len(report["new_incidents"]),
               overdue=len(report["overdue"]), stuck=len(report["stuck"]),
               due_next_24h=len(report["due_next_24h"]), zero_report=report["zero_report"])
    out["goal_met"] = out["finished"]  # no time is set for it: it must finish
    return out


# ------------------------------------------------------------------ one size, and the summary


async def measure_waits(client: Client, board, pop, prof: dict, rss) -> dict:
    """The three waits at the population's current size (pop: supervisor.Population)."""
    size = pop.total
    rng = random.Random(2026 + size)
    acted = await action_to_board(client, board, pop.movable, prof["action_samples"], rng)
    log(f"  action → board: p50 {acted['p50_s']} s, p95 {acted['p95_s']} s over {acted['samples']} "
        f"(visible p95 {acted['legs']['visible_s']['p95_s']} s, copy {acted['legs']['copy_s']['p95_s']} s)")
    due, left_open = await deadline_to_overdue(client, prof["due_samples"], prof["due_lead_s"], prof["due_spacing_s"])
    pop.extra_open += left_open
    pop.expected_overdue += left_open
    log(f"  deadline → overdue: p50 {due['p50_s']} s, p95 {due['p95_s']} s over {due['samples']}")
    rss_before = rss.peak
    report = await daily_report_run(client)
    log(f"  daily report: {report.get('trigger_to_result_s')} s (compile {report.get('compile_s')} s), "
        f"{report.get('open_incidents')} open, {report.get('report_bytes')} bytes; finished {report['finished']}"
        + (f"; {report.get('error')}: {report.get('last_failure', '')[:200]}; compiled here in "
           f"{report.get('compile_direct_s')} s" if not report["finished"] else ""))
    return {"open_incidents": size, "action_board": acted,
            "deadline_overdue": due, "daily_report": report, "worker_rss_mb": r3(rss.last),
            "worker_peak_rss_mb": r3(rss.peak), "worker_peak_rose_in_daily_report": rss.peak > rss_before}


def waits_summary(by_size: list[dict], memory: dict) -> dict:
    top = by_size[-1]
    a, d, rep = top["action_board"], top["deadline_overdue"], top["daily_report"]
    return {
        "description": "issue 26 item 4, at each supervisor size: an action (activate_response) until a board "
                       "page left open shows it (live.js poll + the shared copy's refresh included); a deadline "
                       "falling due until the overdue view's visibility query lists it; the 08:00 daily-report "
                       "Schedule triggered, until its result; the worker's peak RSS",
        "sizes": [s["open_incidents"] for s in by_size],
        "open_incidents": top["open_incidents"],
        "action_board_p50_s": a["p50_s"], "action_board_p95_s": a["p95_s"],
        "goal_action_board_p95_s_max": GOALS["action_board_p95_s_max"], "action_board_goal_met": a["goal_met"],
        "deadline_overdue_p50_s": d["p50_s"], "deadline_overdue_p95_s": d["p95_s"],
        "goal_deadline_overdue_p95_s_max": GOALS["deadline_overdue_p95_s_max"],
        "deadline_overdue_goal_met": d["goal_met"],
        "daily_report_s": rep.get("trigger_to_result_s"), "daily_report_compile_s": rep.get("compile_s"),
        "daily_report_finished": rep["finished"],
        "worker_peak_rss_mb": memory["peak_rss_mb"], "goal_worker_peak_rss_mb_max": memory["goal_peak_rss_mb_max"],
        "worker_memory_goal_met": memory["goal_met"],
        "goal_met": bool(a["goal_met"] and d["goal_met"] and rep["finished"] and memory["goal_met"]),
        "by_size": by_size,
    }
