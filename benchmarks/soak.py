"""The chaos soak (`make soak`): incidents through their whole life while faults strike.

    python -m benchmarks.soak --incidents 200 --minutes 30 --fault-rate 2

One dev server on a SQLite file and one `python worker.py`, both real processes of their
own. A client drives N incidents from start to close (benchmarks/driving.py's life cycle,
spread over M minutes, several incidents at a time) while a fault injector strikes at
random, on average `--fault-rate` times a minute:

worker_kill     SIGKILL the worker, start a new one 1-5 s later
server_restart  stop the dev server (SIGTERM) and start it again on the same file
calendar_break  a broken calendar file for 10-60 s (the calendar activity fails)
channel_break   the notification webhook answers 500 for 10-60 s

The client sends each action once with one update id and, while the server or the worker is
away, sends it again with the same id until it has an answer (Temporal runs an update id
once). At the end, with every fault healed, it checks:
- no incident workflow failed, was terminated or timed out; every incident closed;
- every action the client was told was applied is on the incident's timeline, and nothing is
  there twice (the timeline's people entries equal the acknowledged actions, in order);
- no action was refused (the life cycle is valid, so a refusal means a fault leaked);
- every deadline is judged as it would be without faults: its due time is worked out again
  here from its start and the plan's duration, on the Chinese calendar as published (the
  `chinese_calendar` package; Monday-Friday for a year it does not cover, as the plan's
  provisional rule says), not by ecoplan's calendar code, and must be the one the incident
  recorded; its status (met by the due time, met late after) is judged against that due time;
- the records store holds every incident's final record;
- no notification was delivered under two keys (a retry's repeat of one key is dropped by the
  receiver, as Idempotency-Key asks, and counted);
- no action went unanswered for `--action-bound` seconds (an incident stuck, e.g. on a
  nondeterminism error, is given up by its lane, listed under `stuck` with the last error,
  and the lane drives its next incident: one stuck incident once held its lane 90 minutes).
Results go to benchmarks/results/soak-<time>.json; the exit status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities import records_store
from benchmarks.common import RESULTS, log
from benchmarks.driving import incident_report, lifecycle_actions
from ecoplan import api
from plan.calendar import SHANGHAI
from plan.loader import load_plan
from plan.models import Level
from tests.procs import DevServer, Webhook, WorkerProcess
from workflows.messages import ActionResult

FAULTS = ("worker_kill", "server_restart", "calendar_break", "channel_break")
BROKEN_CALENDAR = "years: [this is not a calendar\n"
CALENDARS = Path(__file__).resolve().parent.parent / "plan" / "calendars"  # the bureau's own year files
FAILED = {WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED,
          WorkflowExecutionStatus.TIMED_OUT, WorkflowExecutionStatus.CANCELED}


class Rig:
    """The server, the worker and the webhook, and a client that follows server restarts."""

    def __init__(self, work: Path):
        self.work = work
        self.server = DevServer(db=work / "temporal.db", log_dir=work)
        self.hook = Webhook()
        self.calendars = work / "calendars"
        self.records = work / "records.db"
        self.worker: WorkerProcess | None = None
        self._client: Client | None = None
        self.faults: list[dict] = []

    async def start(self) -> None:
        self.calendars.mkdir(parents=True, exist_ok=True)
        self.hook.start()
        await self.server.start()
        self.worker = WorkerProcess(self.server.address, self.work, env_extra={
            "ECOPLAN_WEBHOOK_URL": self.hook.url, "ECOPLAN_CALENDAR_DIRS": str(self.calendars),
            "ECOPLAN_RECORDS_DB": str(self.records)})
        await self.worker.start()

    async def client(self) -> Client:
        if self._client is None:
            self._client = await self.server.client()
        return self._client

    def forget_client(self) -> None:
        self._client = None

    async def stop(self) -> None:
        if self.worker:
            await self.worker.terminate()
        await self.server.stop()
        self.hook.stop()

    # ---------------------------------------------------------------- faults

    async def strike(self, kind: str, rng: random.Random) -> None:
        t0 = time.monotonic()
        if kind == "worker_kill":
            await self.worker.kill()
            await asyncio.sleep(rng.uniform(1, 5))
            await self.worker.start()
        elif kind == "server_restart":
            await self.server.stop(signal.SIGTERM)
            self.forget_client()
            await asyncio.sleep(rng.uniform(0.5, 3))
            await self.server.start()
        elif kind == "calendar_break":
            bad = self.calendars / "9999-broken.yaml"
            bad.write_text(BROKEN_CALENDAR, encoding="utf-8")
            await asyncio.sleep(rng.uniform(10, 60))
            bad.unlink(missing_ok=True)
        elif kind == "channel_break":
            self.hook.fail_first = 10**9  # every call answered 500 meanwhile
            await asyncio.sleep(rng.uniform(10, 60))
            self.hook.fail_first = 0
        self.faults.append({"kind": kind, "at": datetime.now(timezone.utc).isoformat(),
                            "seconds": round(time.monotonic() - t0, 1)})
        log(f"fault {kind} ({self.faults[-1]['seconds']} s)")


class Driver:
    """Drives incidents and keeps what each was told: the acknowledged actions in order."""

    def __init__(self, rig: Rig):
        self.rig = rig
        self.acked: dict[str, list[str]] = {}
        self.refused: list[dict] = []
        self.stuck: list[dict] = []
        self.resends = 0
        self.unprocessed = 0  # the server's "not processed by the worker" rejections, sent again
        self.action_bound = 600.0
        self.last_error = ""

    async def _again(self, what: str, e: BaseException) -> None:
        self.resends += 1
        if isinstance(e, RPCError):
            self.rig.forget_client()  # the server may have restarted under us
        await asyncio.sleep(0.5)

    async def start(self, drill_index: int) -> str:
        r = incident_report(prefix=f"soak{drill_index}")
        while True:
            try:
                return await api.start_incident(await self.rig.client(), r)
            except api.IncidentExists:
                return r.incident_id  # a start whose answer was lost: it is there
            except Exception as e:  # noqa: BLE001 - the server is away: the same start again
                await self._again("start", e)

    async def act(self, iid: str, action: str, inp) -> bool:
        """True when the action has an answer (applied or refused); False when none came
        within the bound: the incident is listed as stuck."""
        update_id = f"soak-{action}-{uuid.uuid4().hex}"  # one id for every try
        give_up = time.monotonic() + self.action_bound
        while True:
            if time.monotonic() > give_up:
                self.stuck.append({"incident": iid, "action": action, "update_id": update_id,
                                   "after_s": self.action_bound, "last_error": self.last_error})
                log(f"stuck: {iid} {action} unanswered after {self.action_bound:.0f} s ({self.last_error})")
                return False
            try:
                client = await self.rig.client()
                handle = client.get_workflow_handle(api.workflow_id(iid))
                await handle.execute_update(action, inp, id=update_id, result_type=ActionResult)
                self.acked.setdefault(iid, []).append(action)
                return True
            except WorkflowUpdateFailedError as e:
                if api.unprocessed(e):  # the server's, not the incident's: not applied, send it again
                    self.last_error = "WorkflowUpdateFailedError: not processed by the worker"
                    self.unprocessed += 1
                    await self._again(action, e)
                    continue
                cause = e.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or e)
                self.refused.append({"incident": iid, "action": action, "message": message})
                return True
            except Exception as e:  # noqa: BLE001 - server or worker away: the same update id again
                self.last_error = f"{type(e).__name__}: {str(e)[:200]}"
                await self._again(action, e)

    async def lane(self, lane: int, count: int, gap: float, rng: random.Random) -> None:
        for k in range(count):
            iid = await self.start(lane * 10_000 + k)
            self.acked.setdefault(iid, [])
            for action, inp in lifecycle_actions():
                await asyncio.sleep(rng.uniform(0, 2 * gap))
                if not await self.act(iid, action, inp):
                    break  # stuck: the lane goes on with its next incident


async def injector(rig: Rig, rate_per_min: float, rng: random.Random, done: asyncio.Event) -> None:
    while not done.is_set():
        try:
            await asyncio.wait_for(done.wait(), rng.expovariate(rate_per_min / 60))
            return
        except asyncio.TimeoutError:
            pass
        await rig.strike(rng.choice(FAULTS), rng)


async def _final(rig: Rig, iid: str, timeout: float) -> dict | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            client = await rig.client()
            await asyncio.wait_for(client.get_workflow_handle(api.workflow_id(iid)).result(), 60)
            return await api.status(client, iid)
        except Exception:  # noqa: BLE001 - still finishing its last steps
            rig.forget_client()
            await asyncio.sleep(1)
    return None


async def _all_finals(rig: Rig, ids: list[str], timeout: float) -> dict[str, dict | None]:
    # Twenty at a time, one shared bound: 200 incidents waited on one by one took longer than
    # the soak itself when a few were still finishing their last steps.
    gate, done = asyncio.Semaphore(20), [0]

    async def one(iid: str) -> dict | None:
        async with gate:
            st = await _final(rig, iid, timeout)
        done[0] += 1
        if done[0] % 20 == 0 or done[0] == len(ids):
            log(f"checked {done[0]}/{len(ids)}")
        return st

    return dict(zip(ids, await asyncio.gather(*(one(i) for i in ids))))


def _working_day(d: date) -> bool:
    """The published calendar, not ecoplan's: the chinese_calendar package's year, or
    Monday-Friday for a year it does not cover (plan/calendars/README.md: provisional)."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return d.weekday() < 5


def fault_free_due(duration, started: datetime) -> datetime:
    """When a deadline of `duration` started at `started` falls due with no fault anywhere:
    hours and calendar days added to the start; n working days counted from the day after
    the start day (the start day is never counted), due at 23:59:59 Beijing time of the n-th."""
    if duration.working_days is None:
        return started + duration.as_timedelta()
    day, left = started.astimezone(SHANGHAI).date(), duration.working_days
    while left:
        day += timedelta(days=1)
        left -= _working_day(day)
    return datetime.combine(day, clock(23, 59, 59), tzinfo=SHANGHAI)


def _deadline_faults(st: dict, plan, calendar_dirs: list[Path]) -> list[str]:
    out = []
    levels = {lv for lv in [st.get("level"), st.get("graded_level"),
                            *(c.get("to_level") for c in st.get("level_changes") or []),
                            *(c.get("from_level") for c in st.get("level_changes") or [])] if lv}
    for d in st.get("deadlines", []):
        if not d.get("due_at"):
            continue
        rule = plan.deadline(d["name"])
        if rule is None:
            out.append(f"{d['name']}: not a deadline of the plan")
            continue
        started, due = datetime.fromisoformat(d["started_at"]), datetime.fromisoformat(d["due_at"])
        if any(Path(folder, f"{y}.yaml").exists() for folder in calendar_dirs for y in range(started.year, due.year + 1)):
            out.append(f"{d['name']}: a calendar file of the bureau covers it; this check reads only the published one")
            continue
        # The duration of the level the incident had when the deadline opened: one of those it had.
        wanted = {fault_free_due(rule.duration_for(Level(lv)), started) for lv in levels} or \
            {fault_free_due(rule.duration, started)}
        if due not in wanted:
            out.append(f"{d['name']}: due {due} where without faults {sorted(wanted)}")
            continue
        if d.get("met_at"):
            met = datetime.fromisoformat(d["met_at"])
            want = "met" if met <= due else "met_late"
            if d["status"] != want:
                out.append(f"{d['name']}: {d['status']} where {want} (due {due}, met {met})")
    names = [d["name"] for d in st.get("deadlines", [])]
    if len(names) != len(set(names)):
        out.append(f"a deadline doubled: {names}")
    return out


async def check(rig: Rig, driver: Driver, timeout: float) -> dict:
    seen_faults: Counter = Counter()  # the faults the incidents themselves recorded
    lost, doubled, unfinished, deadline_faults, missing_records = [], [], [], [], []
    deadlines_checked = 0
    conn = records_store.connect(rig.records, create=False) if rig.records.exists() else None
    plan = load_plan().plan
    finals = await _all_finals(rig, [i for i in driver.acked if i not in {x["incident"] for x in driver.stuck}], timeout)
    stuck_ids = {x["incident"] for x in driver.stuck}
    for iid, acked in driver.acked.items():
        if iid in stuck_ids:
            continue  # listed under stuck, not waited on again
        st = finals[iid]
        if st is None:
            unfinished.append(iid)
            continue
        people = [e["action"] for e in st["timeline"] if e.get("by") is not None and not e.get("rejected")
                  and e["action"] != "reported"]
        if people != acked:
            missing = list((Counter(acked) - Counter(people)).elements())
            extra = list((Counter(people) - Counter(acked)).elements())
            (lost if missing else doubled).append({"incident": iid, "missing": missing, "extra": extra})
            if missing and extra:
                doubled.append({"incident": iid, "extra": extra})
        deadline_faults += [f"{iid} {p}" for p in _deadline_faults(st, plan, [rig.calendars, CALENDARS])]
        deadlines_checked += sum(1 for d in st.get("deadlines", []) if d.get("due_at"))
        seen_faults.update(e["action"] for e in st["timeline"] if e["action"].endswith("_unavailable"))
        rec = records_store.get_record(conn, iid) if conn is not None else None
        if rec is None or rec.stage != "closed":
            missing_records.append(iid)
    client = await rig.client()  # listed after every incident has closed: no visibility lag
    statuses: Counter = Counter()
    failed_ids = []
    async for wf in client.list_workflows("WorkflowType = 'IncidentWorkflow'"):
        statuses[wf.status.name if wf.status else "UNKNOWN"] += 1
        if wf.status in FAILED:
            failed_ids.append(wf.id)
    _, delivered, repeats = rig.hook.snapshot()
    doubled_notes = _doubled_notifications(delivered)
    return {
        "workflow_statuses": dict(statuses), "failed_workflows": failed_ids,
        "incidents": len(driver.acked), "actions_acknowledged": sum(map(len, driver.acked.values())),
        "lost": lost, "doubled": doubled, "refused": driver.refused, "unfinished": unfinished,
        "stuck": driver.stuck,
        "deadlines_checked": deadlines_checked, "deadline_faults": deadline_faults, "missing_records": missing_records,
        "notifications_delivered": len(delivered),
        # The same Idempotency-Key again (a worker killed after the webhook answered, before the
        # activity's completion was recorded): at least once on the wire, dropped by the key.
        "notifications_repeated_by_retry": sum(repeats.values()),
        "notifications_doubled": doubled_notes,
        "client_resends": driver.resends, "unprocessed_resent": driver.unprocessed, "faults_recorded_by_incidents": dict(seen_faults),
    }


def _doubled_notifications(delivered: dict[str, dict]) -> list[dict]:
    """One notification delivered under two keys: the incident made the same effect twice
    (what an action applied twice, or a retried workflow task, would do). Its time aside, the
    body says what it is: incident, event, subject, recipients and detail."""
    seen: dict[str, list[str]] = {}
    for key, body in delivered.items():
        what = json.dumps({k: v for k, v in body.items() if k not in ("key", "at")}, sort_keys=True, ensure_ascii=False)
        seen.setdefault(what, []).append(key)
    return [{"keys": keys, "notification": json.loads(what)["subject"] if "subject" in json.loads(what) else what}
            for what, keys in seen.items() if len(keys) > 1]


def passed(result: dict) -> bool:
    return not (result["failed_workflows"] or result["lost"] or result["doubled"] or result["refused"]
                or result["unfinished"] or result["deadline_faults"] or result["missing_records"]
                or result["notifications_doubled"] or result.get("stuck"))


async def soak(incidents: int, minutes: float, fault_rate: float, lanes: int, seed: int, work: Path,
               action_bound: float = 600.0) -> dict:
    rng = random.Random(seed)
    rig = Rig(work)
    await rig.start()
    driver = Driver(rig)
    driver.action_bound = action_bound
    lanes = max(1, min(lanes, incidents))
    per_lane = [incidents // lanes + (1 if i < incidents % lanes else 0) for i in range(lanes)]
    steps = len(lifecycle_actions()) + 1
    gap = minutes * 60 / (max(per_lane) * steps)  # mean pause between one incident's actions
    done = asyncio.Event()
    t0 = time.monotonic()
    try:
        inj = asyncio.create_task(injector(rig, fault_rate, rng, done))
        await asyncio.gather(*(driver.lane(i, n, gap, random.Random(seed + i + 1)) for i, n in enumerate(per_lane)))
        done.set()
        await inj
        driven = time.monotonic() - t0
        log(f"driven in {driven:.0f} s with {len(rig.faults)} faults; checking")
        result = await check(rig, driver, timeout=300)
    finally:
        await rig.stop()
    return {"incidents_requested": incidents, "minutes_requested": minutes, "fault_rate_per_min": fault_rate,
            "lanes": lanes, "seed": seed, "driven_seconds": round(driven, 1),
            "faults": Counter(f["kind"] for f in rig.faults), "fault_log": rig.faults, **result}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--incidents", type=int, default=200)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--fault-rate", type=float, default=2.0, help="faults per minute, on average")
    p.add_argument("--lanes", type=int, default=20, help="incidents driven at a time")
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--action-bound", type=float, default=600.0,
                   help="seconds an action may go unanswered before its incident counts as stuck")
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecoplan-soak-") as tmp:
        result = asyncio.run(soak(a.incidents, a.minutes, a.fault_rate, a.lanes, a.seed, Path(tmp),
                                  a.action_bound))
    result["passed"] = passed(result)
    result["finished_at"] = datetime.now(timezone.utc).isoformat()
    out = a.out or RESULTS / f"soak-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    log(f"{'PASSED' if result['passed'] else 'FAILED'}: {result['incidents']} incidents, "
        f"{result['actions_acknowledged']} actions, faults {dict(result['faults'])}; {out}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if result["passed"] else 1)  # sdk-python issue 300: no interpreter-exit abort


if __name__ == "__main__":
    main()
