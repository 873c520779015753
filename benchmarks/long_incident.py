"""The long incident at full size: one incident takes N progress reports (续报) of realistic
length (a 2,000-character summary and 2,000 characters of monitoring data each), one after
another as a command centre sends them, on a dev server with Temporal's default limits.

Measures what the bounded state promises: the state carried across each continue-as-new
(the ContinuedAsNew event's input, in bytes; goal < 256 kB whatever N), the number of runs,
the report round trip (p50/p95 ms) at the start and at the end, and that the archive's
timeline.jsonl plus the state's newest entries account for every entry.

    python -m benchmarks.long_incident [--reports 3000] [--out FILE]     (make bench-long)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from activities.settings import ActivitySettings  # noqa: E402
from ecoplan import api, server  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from plan.calendar import SHANGHAI  # noqa: E402
from plan.incident import Actor, IncidentReport, ReportContent  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows import messages as m  # noqa: E402
from activities import search_attributes as sa  # noqa: E402

DUTY = Actor(name="王值班", role="值班员", role_id="duty_officer", via="cli")
COMMANDER = Actor(name="李局长", role="指挥", role_id="commander", via="cli")
SIGNED = {"signed_by": "李局长", "contact_person": "王值班", "contact_phone": "0353-2020000"}  # 17号令 第十四条
LEADS = {"monitoring": "张监测", "disposal": "赵处置", "investigation": "钱排查"}
TEXT = ("监测数据显示桃河冶西断面特征污染物浓度持续下降，" * 100)[:2000]  # 2,000 Chinese characters
GOAL_BYTES = 256_000


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


async def run(reports: int) -> dict:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                dev_server_log_level="error")
    work = Path(tempfile.mkdtemp(prefix="ecoplan-long-"))
    settings = ActivitySettings(archive_dir=work / "archive", outbox_path=work / "outbox.jsonl")
    try:
        client = env.client
        async with build_worker(client, settings, task_queue="long"):
            now = datetime.now(SHANGHAI)
            report = IncidentReport(incident_id=f"long-{int(time.time())}", title="桃河化工厂储罐泄漏（长事件基准）",
                                    discovered_at=now, reported_at=now, county="平定县", location="冶西镇桃河段",
                                    incident_type="water", source="hotline_12369", reporter="刘报告")
            iid = await api.start_incident(client, report, task_queue="long")
            await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
            await api.act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
            ms: list[float] = []
            t0 = time.perf_counter()
            for n in range(reports):
                t = time.perf_counter()
                await api.act(client, iid, "submit_report", m.SubmitReport(**SIGNED,
                    by=DUTY, kind="progress", content=ReportContent(summary=f"续报{n}：{TEXT}", monitoring_data=TEXT)))
                ms.append((time.perf_counter() - t) * 1000)
            total_s = time.perf_counter() - t0
            st = await api.status(client, iid)
            wid = api.workflow_id(iid)
            sizes = []
            async for w in client.list_workflows(f"WorkflowId = '{wid}'"):
                h = await client.get_workflow_handle(wid, run_id=w.run_id).fetch_history()
                sizes += [e.workflow_execution_continued_as_new_event_attributes.input.ByteSize() for e in h.events
                          if e.HasField("workflow_execution_continued_as_new_event_attributes")]
            archived = settings.archive_dir / iid / "timeline.jsonl"
            lines = archived.read_text(encoding="utf-8").splitlines() if archived.exists() else []
            tenth = max(1, reports // 10)
            return {
                "reports": reports, "report_chars": len(f"续报{reports - 1}：{TEXT}") + len(TEXT), "runs": st["runs"],
                "continue_as_new_input_bytes": {"max": max(sizes, default=0), "count": len(sizes),
                                                "all": sizes},
                "goal_bytes": GOAL_BYTES, "goal_met": (max(sizes) < GOAL_BYTES) if sizes else None,
                "report_ms": {"p50_first_tenth": round(statistics.median(ms[:tenth]), 1),
                              "p50_last_tenth": round(statistics.median(ms[-tenth:]), 1),
                              "p95": round(pct(ms, 95), 1), "total_s": round(total_s, 1)},
                "state": {"timeline_kept": len(st["timeline"]), "reports_kept": len(st["reports"]),
                          "reports_count": st["reports_count"]},
                "archive_timeline_entries": len(lines),
                "accounted": len(lines) + sum(1 for e in st["timeline"] if e["seq"] > len(lines)) == st["timeline"][-1]["seq"],
            }
    finally:
        await env.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", type=int, default=3000)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    code = 0
    try:
        out = asyncio.run(run(args.reports))
        text = json.dumps(out, ensure_ascii=False, indent=2)
        print(text)
        path = args.out or ROOT / "benchmarks" / "results" / f"long-incident-{datetime.now():%Y%m%dT%H%M}.json"
        path.write_text(text + "\n", encoding="utf-8")
    except Exception as e:  # one line, then the true status (the SDK can abort at interpreter exit)
        print(f"long_incident: {type(e).__name__}: {e}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
