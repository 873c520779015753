"""Drive an incident through its life cycle with the client API, and read what it left
behind (status, archive folder, outbox). Shared by test_lifecycle, test_deadlines and
test_time_skipping; every wait is bounded polling (tests.helpers.eventually)."""

from __future__ import annotations

from collections import Counter

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus

from ecoplan import api
from activities.settings import ActivitySettings
from plan.incident import ReportContent
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, eventually, lead, with_reason
from workflows import messages as m

SIGNATORIES = ("monitoring", "disposal", "investigation")


def final_report(**kw: Any) -> m.SubmitReport:
    """The 处理结果报告 that close needs (17号令 第十二条)."""
    return m.SubmitReport(**{**SIGNED, **kw}, by=DUTY, kind="final", content=ReportContent(summary="处理结果报告：处置完毕"))


def parse(t: str) -> datetime:
    return datetime.fromisoformat(t)


def deadline(st: dict, name: str) -> dict | None:
    return next((d for d in st["deadlines"] if d["name"] == name), None)


def timeline(st: dict, action: str) -> list[dict]:
    return [e for e in st["timeline"] if e["action"] == action]


async def act(client: Client, iid: str, action: str, inp: m.Action) -> m.ActionResult:
    return await api.act(client, iid, action, with_reason(inp))


async def open_round(client: Client, iid: str) -> int:
    return (await api.status(client, iid))["round"]


async def sign_all(client: Client, iid: str, **over: Any) -> None:
    rnd = over.pop("round", None) or await open_round(client, iid)
    for g in SIGNATORIES:
        await act(client, iid, "sign_off",
                  m.SignOff(by=lead(g), group=g, lead=LEADS[g], decision="approve",
                            opinion=f"{g} 同意终止", round=rnd, **over))


async def to_on_site(client: Client, iid: str, *, initial_report: bool = True, **activate: Any) -> None:
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, **activate))
    if initial_report:
        await act(client, iid, "submit_report",
                  m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))


async def to_termination_pending(client: Client, iid: str, **kw: Any) -> None:
    await to_on_site(client, iid, **kw)
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平"))


async def to_post_event(client: Client, iid: str, **kw: Any) -> None:
    await to_termination_pending(client, iid, **kw)
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意终止"))


async def close_after_delegated_investigation(client: Client, iid: str) -> None:
    """After termination at III: the province delegates its investigation to the bureau (32号令
    第四条 第二款), which completes it; the assessment reviewed, reported and published (5.3);
    the 处理结果报告; close."""
    await act(client, iid, "record_investigation_transfer", m.RecordInvestigationTransfer(
        by=DUTY, kind="delegated", document="晋环函〔2026〕12号"))
    await act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY, summary="受托调查完毕"))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await act(client, iid, "publish_assessment", m.PublishAssessment(by=DUTY, where="市生态环境局门户网站"))
    await act(client, iid, "submit_report", final_report())
    await act(client, iid, "close", m.Close(by=DUTY))


async def describe_status(client: Client, iid: str) -> WorkflowExecutionStatus:
    desc = await client.get_workflow_handle(api.workflow_id(iid)).describe()
    return desc.status


def outbox(settings: ActivitySettings, iid: str) -> list[dict]:
    path = Path(settings.outbox_path)
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["incident_id"] == iid]


async def outbox_events(settings: ActivitySettings, iid: str, *events: str, timeout: float = 15) -> list[dict]:
    """Wait until the outbox holds every named event of the incident (an event named n times:
    at least n rows of it; deliveries go out in batches, so the last may come later); return its rows."""
    want = Counter(events)

    async def read():
        return outbox(settings, iid)

    def holds(rows: list[dict]) -> bool:
        got = Counter(r["event"] for r in rows)
        return all(got[e] >= n for e, n in want.items())

    return await eventually(read, holds, timeout=timeout)


def archive(settings: ActivitySettings, iid: str) -> dict[str, str]:
    folder = Path(settings.archive_dir) / iid
    if not folder.exists():
        return {}
    # The printed documents: a PDF as its text; the chart's PNG is left out (its SVG has the words).
    return {p.name: (_pdf_text(p) if p.suffix == ".pdf" else p.read_text(encoding="utf-8"))
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith((".tmp", ".png"))}


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


async def archived(settings: ActivitySettings, iid: str, *suffixes: str, timeout: float = 15) -> dict[str, str]:
    """Wait until the incident's archive folder holds a file ending with each suffix."""
    async def read():
        return archive(settings, iid)

    return await eventually(read, lambda files: all(any(n.endswith(s) for n in files) for s in suffixes),
                            timeout=timeout)


async def overdue_listed(client: Client, iid: str, name: str, timeout: float = 15) -> list:
    """Wait until a visibility query finds the incident with `name` in EcoOverdue."""
    query = f"WorkflowId = '{api.workflow_id(iid)}' AND EcoOverdue = '{name}'"

    async def listed():
        return [w async for w in client.list_workflows(query)]

    return await eventually(listed, lambda ws: len(ws) == 1, timeout=timeout)
