"""The run's hand-over under load (issue 25, item 7): raw `submit_report` updates sent by name
through the Temporal client (the interop contract, no ecoplan client code, no resending),
by several concurrent senders, to one incident that continues as new many times meanwhile.

Counts what each sender was answered (applied, refused by type, other errors), then checks
that every acknowledged report is in the incident exactly once (the archive's timeline plus
the state's newest entries) and nothing else is.

    python -m benchmarks.handover [--updates 1500] [--senders 8] [--chars 4000]
                                  [--suggest-events N] [--out FILE]

`--suggest-events` lowers the history length at which the server suggests continue-as-new
(default: the server's own), for more hand-overs per report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client, WorkflowUpdateFailedError  # noqa: E402
from temporalio.exceptions import ApplicationError  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from activities import search_attributes as sa  # noqa: E402
from activities.settings import ActivitySettings  # noqa: E402
from ecoplan import api, server  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from plan.calendar import SHANGHAI  # noqa: E402
from plan.incident import Actor, IncidentReport  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows import messages as m  # noqa: E402
from workflows.incident import IncidentWorkflow  # noqa: E402

DUTY = {"name": "王值班", "role": "值班员", "role_id": "duty_officer", "via": "api"}
SIGNED = {"signed_by": "李局长", "contact_person": "王值班", "contact_phone": "0353-2020000"}  # 17号令 第十四条
TEXT = "监测数据显示桃河冶西断面特征污染物浓度持续下降，"


def report_body(n: int, chars: int) -> dict:
    """What another system sends: plain JSON by name, a long progress report (续报)."""
    head = f"续报 #{n}："
    return {"by": DUTY, **SIGNED, "kind": "progress",
            "content": {"summary": head + (TEXT * (chars // len(TEXT) + 1))[:max(0, chars - len(head))]}}


async def send_all(client: Client, iid: str, updates: int, senders: int, chars: int) -> dict:
    """Each sender takes the next number and sends it once; returns the answers by kind."""
    handle = client.get_workflow_handle(api.workflow_id(iid))
    todo, applied, answers, ms = iter(range(updates)), [], Counter(), []

    async def sender() -> None:
        for n in todo:
            t = time.perf_counter()
            try:
                await asyncio.wait_for(handle.execute_update("submit_report", report_body(n, chars),
                                                             id=f"handover-{n}", result_type=m.ActionResult), 300)
                applied.append(n)
                answers["applied"] += 1
            except WorkflowUpdateFailedError as e:
                kind = e.cause.type if isinstance(e.cause, ApplicationError) else type(e.cause).__name__
                answers[f"refused:{kind}"] += 1
            except RPCError as e:
                answers[f"rpc:{e.status.name}:{str(e)[:80]}"] += 1
            except asyncio.TimeoutError:
                answers["no answer within 300 s"] += 1
            ms.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    ms.sort()
    return {"applied": sorted(applied), "answers": dict(answers), "seconds": round(time.perf_counter() - t0, 1),
            "ms_p50": round(ms[len(ms) // 2], 1), "ms_p95": round(ms[int(len(ms) * 0.95)], 1),
            "ms_max": round(ms[-1], 1)}


async def status(client: Client, iid: str, timeout: float = 300) -> dict:
    """The incident's status; while a workflow task is being retried (a fault the history
    shows, counted apart) the query is refused: ask again, bounded."""
    end = time.monotonic() + timeout
    while True:
        try:
            return await api.status(client, iid)
        except RPCError:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(1)


async def recorded_reports(client: Client, iid: str, archive: Path, timeout: float = 120) -> Counter:
    """How many times each 续报 number is in the incident: the archive's timeline.jsonl and the
    state's newest entries, once the archive has caught up with everything older (bounded)."""
    end = time.monotonic() + timeout
    while True:
        st = await status(client, iid)
        path = archive / iid / "timeline.jsonl"
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        first_kept = st["timeline"][0]["seq"] if st["timeline"] else 1
        if len(rows) >= first_kept - 1 or time.monotonic() > end:
            break
        await asyncio.sleep(0.5)
    entries = [r for r in rows if r["seq"] < first_kept] + st["timeline"]
    seen = Counter()
    for e in entries:
        if e["action"] == "submit_report" and not e.get("rejected"):
            summary = e["detail"].get("summary", "")
            if summary.startswith("续报 #"):
                seen[int(summary[len("续报 #"):].split("：")[0])] += 1
    return seen


async def history_faults(client: Client, iid: str) -> dict:
    """Across every run: workflow tasks failed or timed out (their causes), and what a replay of
    each run's history with today's code says (a nondeterminism shows here)."""
    wid = api.workflow_id(iid)
    failed, replays = Counter(), Counter()
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=DATA_CONVERTER)
    async for w in client.list_workflows(f"WorkflowId = '{wid}'"):
        h = await client.get_workflow_handle(wid, run_id=w.run_id).fetch_history()
        for e in h.events:
            if e.HasField("workflow_task_failed_event_attributes"):
                a = e.workflow_task_failed_event_attributes
                failed[f"failed:{a.failure.message[:90]}"] += 1
            elif e.HasField("workflow_task_timed_out_event_attributes"):
                failed["timed_out"] += 1
        result = await replayer.replay_workflow(h, raise_on_replay_failure=False)
        if result.replay_failure is not None or failed:
            keep = Path(tempfile.gettempdir()) / f"handover-history-{w.run_id}.json"
            keep.write_text(h.to_json(), encoding="utf-8")
            print(f"kept {keep}", file=sys.stderr)
        replays["ok" if result.replay_failure is None else f"{type(result.replay_failure).__name__}: "
                f"{str(result.replay_failure)[:120]}"] += 1
    return {"workflow_task_faults": dict(failed), "replays": dict(replays)}


async def run(updates: int, senders: int, chars: int, suggest_events: int | None) -> dict:
    extra = ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={suggest_events}"] \
        if suggest_events else []
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                dev_server_log_level="error", dev_server_extra_args=extra)
    work = Path(tempfile.mkdtemp(prefix="ecoplan-handover-"))
    settings = ActivitySettings(archive_dir=work / "archive", outbox_path=work / "outbox.jsonl")
    try:
        client = env.client
        async with build_worker(client, settings, task_queue="handover"):
            now = datetime.now(SHANGHAI)
            rep = IncidentReport(incident_id=f"handover-{int(time.time())}", title="桃河化工厂储罐泄漏（交接基准）",
                                 discovered_at=now, reported_at=now, county="平定县", location="冶西镇桃河段",
                                 incident_type="water", source="hotline_12369", reporter="刘报告")
            iid = await api.start_incident(client, rep, task_queue="handover")
            await api.act(client, iid, "activate_response",
                          m.ActivateResponse(by=Actor(name="李局长", role="指挥", role_id="commander", via="cli")))
            sent = await send_all(client, iid, updates, senders, chars)
            faults = await history_faults(client, iid)
            print(json.dumps(faults, ensure_ascii=False), flush=True)
            seen = await recorded_reports(client, iid, settings.archive_dir)
            st = await status(client, iid)
            applied = set(sent.pop("applied"))
            return {
                "updates": updates, "senders": senders, "report_chars": chars,
                "suggest_continue_as_new_events": suggest_events or "server default",
                **sent, **faults, "runs": st["runs"],
                "refused": sum(v for k, v in sent["answers"].items() if k != "applied"),
                "applied_missing": len(applied - set(seen)),
                "applied_twice": sum(1 for n, c in seen.items() if c > 1),
                "recorded_not_acknowledged": len(set(seen) - applied),
                "reports_count_progress": st["reports_count"].get("progress", 0),
            }
    finally:
        await env.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--updates", type=int, default=1500)
    p.add_argument("--senders", type=int, default=8)
    p.add_argument("--chars", type=int, default=4000)
    p.add_argument("--suggest-events", type=int, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    code = 0
    try:
        out = asyncio.run(run(args.updates, args.senders, args.chars, args.suggest_events))
        text = json.dumps(out, ensure_ascii=False, indent=2)
        print(text)
        path = args.out or ROOT / "benchmarks" / "results" / f"handover-{datetime.now():%Y%m%dT%H%M}.json"
        path.write_text(text + "\n", encoding="utf-8")
    except Exception as e:  # one line, then the true status (the SDK can abort at interpreter exit)
        print(f"handover: {type(e).__name__}: {e}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
