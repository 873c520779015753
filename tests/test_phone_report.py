"""The telephone 初报 (issue 24, finding 4): 17号令 第十四条 "情况紧急时，初报可通过电话报告，但应当
及时补充书面报告"; plan 4.2.2 the same. The call meets the 初报's deadline and opens the 书面补报
deadline (written_report: 4 h, the plan's local choice), which the written 初报 then meets.

Unit cases run without a server (tests/unit_state.py: the bureau learned at 08:40 on Tuesday
2026-11-10, each step 10 minutes on); one case drives the CLI against the session's server.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from plan.calendar import SHANGHAI
import workflows.messages as m
import workflows.status as status
from tests.helpers import DUTY, SIGNED, report
from tests.procs import ecoplan_in_process
from tests.unit_state import LEVEL_III, opened

PHONE = dict(kind="initial", by_phone=True, received_by="省厅值班室刘工", content=m.ReportContent(summary="储罐泄漏，已围堵"))


def at(h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, 10, h, mi, tzinfo=SHANGHAI)


def test_a_telephone_initial_report_meets_the_deadline_and_the_written_one_follows():
    inc = opened(LEVEL_III)  # 初报 due 08:40 + 4 h = 12:40
    done = inc.step("submit_report", m.SubmitReport(by=DUTY, **PHONE))  # 09:10, no 签发人 needed on the phone
    assert inc.deadline("initial_report").status == "met" and inc.deadline("initial_report").met_at == at(9, 10)
    written = inc.deadline("written_report")
    assert (written.started_at, written.due_at, written.status) == (at(9, 10), at(13, 10), "pending")  # 09:10 + 4 h
    assert written.reminders_at == [at(12, 10)]
    assert "电话初报已登记" in done.message and "省厅值班室刘工" in done.message
    view = status.incident_view(inc.s, [])
    assert (view.reports[0].by_phone, view.reports[0].received_by) == (True, "省厅值班室刘工")
    # a second telephone 初报 is refused; the written 初报 (with its 第十四条 header) meets the 书面补报
    assert "progress report" in inc.refused("submit_report", m.SubmitReport(by=DUTY, **PHONE)).message
    inc.step("submit_report", m.SubmitReport(by=DUTY, kind="initial", content=m.ReportContent(summary="书面初报"),
                                             **SIGNED))  # 09:20
    assert (inc.deadline("written_report").status, inc.deadline("written_report").met_at) == ("met", at(9, 20))
    assert inc.s.reports_count["initial"] == 2
    # and then no more 初报 at all
    assert "progress report" in inc.refused("submit_report", m.SubmitReport(
        by=DUTY, kind="initial", content=m.ReportContent(summary="再报"), **SIGNED)).message


def test_only_the_initial_report_may_be_made_by_phone_and_it_names_who_took_the_call():
    inc = opened(LEVEL_III)
    err = inc.refused("submit_report", m.SubmitReport(by=DUTY, **{**PHONE, "kind": "progress"}))
    assert err.kind == "invalid" and "只有初报可以电话报告" in err.message and "第十四条" in err.message
    err = inc.refused("submit_report", m.SubmitReport(by=DUTY, **{**PHONE, "received_by": None}))
    assert err.kind == "invalid" and "接听人" in err.message
    # a written 初报 still needs its header (第十四条)
    err = inc.refused("submit_report", m.SubmitReport(by=DUTY, kind="initial", content=m.ReportContent(summary="x")))
    assert "签发人" in err.message
    assert "written_report" not in [d.name for d in inc.s.deadlines]


async def test_the_cli_takes_a_telephone_initial_report(client, worker, temporal_address):
    from ecoplan import api

    iid = f"phone-{uuid.uuid4().hex[:8]}"
    learned = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(minutes=20)
    await api.start_incident(client, report(incident_id=iid, discovered_at=learned - timedelta(minutes=10),
                                            reported_at=learned, assessment={"direct_loss_yuan": 6_000_000}))
    p = await ecoplan_in_process("report", iid, "--kind", "initial", "--by-phone", "--received-by", "省厅值班室刘工",
                                 "--summary", "储罐泄漏，已围堵", "--json", address=temporal_address)
    assert p.code == 0, p.err
    assert "电话初报已登记" in json.loads(p.out)["message"]
    st = await api.status(client, iid)
    [initial] = [d for d in st["deadlines"] if d["name"] == "initial_report"]
    [written] = [d for d in st["deadlines"] if d["name"] == "written_report"]
    assert initial["status"] == "met" and written["status"] == "pending"
    # due 4 h after the call (the plan's local choice)
    assert datetime.fromisoformat(written["due_at"]) - datetime.fromisoformat(written["started_at"]) == timedelta(hours=4)
    assert st["reports"][0]["by_phone"] is True and st["reports"][0]["received_by"] == "省厅值班室刘工"
