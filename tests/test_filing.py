"""What the incident files by itself (workflows/filing.py): its printed documents written into
its archive folder when each event happens, and its record in the records store kept current
while it runs and final on close; all through the delivery activity, so a renderer or a store
that fails is retried and shown like any delivery and never fails the incident. Then
`ecoplan documents` and the console's incident page, for the same incident.

Everything runs on the real dev server with a worker of the test's own (its own archive and
records store) on its own task queue.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from activities import archive_store
from activities.documents.fonts import FontSettings
from activities.settings import ActivitySettings
from ecoplan import api, records
from plan.grading import Assessment
from plan.incident import ReportContent
from tests.drive import SIGNATORIES, act, describe_status
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, advancing, eventually, lead, now, report
from tests.procs import ecoplan, ecoplan_in_process
from tests.test_documents import cn, has, pdf_text
from tests.web_helpers import password, web_service
from worker import build_worker
from workflows import messages as m

POLLUTANTS = "苯乙烯约2吨，已进入桃河约0.5吨"  # only in the report's full text, not in its summary


def settings_for(tmp_path: Path, **over) -> ActivitySettings:
    return ActivitySettings(**{"archive_dir": tmp_path / "archive", "outbox_path": tmp_path / "outbox.jsonl",
                               "records_db": tmp_path / "records.db", **over})


def stored(db: Path | str, iid: str) -> records.IncidentRecord | None:
    if isinstance(db, Path) and not db.exists():
        return None
    with closing(records.connect(db)) as conn:
        return records.get_record(conn, iid)


async def record_where(db: Path | str, iid: str, check, timeout: float = 20) -> records.IncidentRecord:
    async def read():
        return stored(db, iid)

    return await eventually(read, lambda r: r is not None and check(r), timeout=timeout)


async def completed(client, iid: str, timeout: float = 30) -> None:
    await eventually(lambda: describe_status(client, iid), lambda s: s == WorkflowExecutionStatus.COMPLETED,
                     timeout=timeout)


def entries(st: dict, action: str) -> list[dict]:
    return [e for e in st["timeline"] if e["action"] == action]


async def test_a_whole_life_files_its_documents_and_its_record(client, tmp_path, temporal_address, shared_db):
    """附件1 on activation, 附件2 on approval, each report as submitted, the case file and the
    chart on close: in the archive, referenced in state by path and sha256, with the fields
    of the incident; the records store follows the incident and holds it closed at the end;
    `ecoplan documents ID --out DIR` writes the same documents. On PostgreSQL (issue 27) the
    worker's records and archive are the shared database: the record is read there, and the
    archive as the database holds it (fetched into a folder of the test's, never the worker's);
    `ecoplan documents` is given only the database and an empty archive folder."""
    url = shared_db
    settings = settings_for(tmp_path, **({"records_db": url, "database_url": url} if url else {}))
    tq = f"filing-{uuid.uuid4().hex[:6]}"
    t0 = now().replace(second=0, microsecond=0) - timedelta(days=30)
    h = lambda hours: t0 + timedelta(hours=hours)  # noqa: E731
    async with build_worker(client, settings, task_queue=tq):
        iid = await api.start_incident(client, report(
            title="桃河化工厂储罐泄漏", county="平定县", location="冶西镇桃河段", discovered_at=t0,
            reported_at=h(0.25), assessment=Assessment(direct_loss_yuan=6_000_000)), task_queue=tq)
        # reported: the store has it from the start
        await record_where(settings.records_db, iid, lambda r: r.stage == "reported")
        await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=h(0.5)))
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=h(2), kind="initial", content=ReportContent(
            summary="储罐泄漏，部分物料进入桃河", main_pollutants=POLLUTANTS)))
        await act(client, iid, "dispatch", m.Dispatch(by=DUTY, at=h(1), leads=LEADS))
        # kept current while it runs: stage, level and the initial report's deadline met (at 2 h)
        r = await record_where(settings.records_db, iid, lambda r: r.stage == "on_site")
        assert (r.level, r.closed_at) == ("III", None)
        assert {d.name: d.status for d in r.deadlines}["initial_report"] == "met"
        # 附件1 is in the archive as soon as the activation is delivered, long before the close
        if url:  # the shared archive: what the database holds, as another machine gets it
            folder = tmp_path / "from-db" / iid

            async def filed():
                archive_store.fetch(url, folder.parent, iid)
                return _files(folder)
        else:
            folder = settings.archive_dir / iid

            async def filed():
                return _files(folder)

        await eventually(filed, lambda names: "activation-notice.pdf" in names)

        await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, at=h(3), level="II", reason="下游水源地受威胁"))
        await record_where(settings.records_db, iid, lambda r: r.level == "II")
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=h(12), kind="progress",
                                                               content=ReportContent(summary="下游断面超标，已筑坝拦截")))
        await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, at=h(48), reason="复测三次达标"))
        for i, g in enumerate(SIGNATORIES):
            await act(client, iid, "sign_off", m.SignOff(round=1, by=lead(g), at=h(49 + i), group=g, lead=LEADS[g],
                                                         decision="approve", opinion=f"{g}组同意终止"))
        await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, at=h(53),
                                                                            instruction="同意终止，做好跟踪监测",
                                                                            follow_up=FOLLOW_UP))
        # Level II: the investigation is the ministry's (32号令 第四条), recorded by the bureau.
        await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, at=h(10 * 24), step="investigation",
                                                                    document="环应急调〔2026〕3号"))
        await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, at=h(12 * 24)))
        await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY, at=h(20 * 24)))
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=h(20 * 24 + 0.5), kind="final",
                                                               content=ReportContent(summary="处置完毕")))
        await act(client, iid, "close", m.Close(by=DUTY, at=h(20 * 24 + 1)))
        await completed(client, iid)
        st = await api.status(client, iid)

        # every document, in the archive, referenced by path and sha256 (never its bytes)
        names = await filed()
        for name in ("activation-notice.pdf", "termination-form.pdf", "report-01-initial.pdf", "report-02-progress.pdf",
                     "case-file.pdf", "deadline-chart.svg", "deadline-chart.png", "dossier.json"):
            assert name in names, (name, names)
        refs = {Path(d["path"]).name: d for d in st["documents"] if d.get("format")}
        assert set(refs) == {"activation-notice.pdf", "termination-form.pdf", "report-01-initial.pdf",
                             "report-02-progress.pdf", "report-03-final.pdf", "case-file.pdf", "deadline-chart.svg", "deadline-chart.png"}
        for name, d in refs.items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == d["sha256"], name
        assert not st["deliveries_overdue"] and not st["delivery_failures"]

        # the fields, as a person reads them
        has(pdf_text(folder / "activation-notice.pdf"), "签发：李局长", "启动局应急预案III级响应（较大）",
            f"{cn(t0)}，在我市平定县境内，冶西镇桃河段位置", f"时间：{cn(h(0.5))}", "阳环发〔2022〕24号")
        has(pdf_text(folder / "termination-form.pdf"), "应急响应终止签报单", "第1轮签报", "组长签字：张监测", cn(h(49)),
            "污染排查组意见：investigation组同意终止", "同意终止，做好跟踪监测", "签字：李局长（指挥）", cn(h(53)))
        initial = pdf_text(folder / "report-01-initial.pdf")
        has(initial, "突发环境事件信息初报", f"报告时间{cn(h(2))}", "概况储罐泄漏，部分物料进入桃河",
            f"主要污染物和数量{POLLUTANTS}")  # the full text the archive holds, not the status's summary
        has(pdf_text(folder / "report-02-progress.pdf"), "突发环境事件信息续报", "下游断面超标，已筑坝拦截")
        has(pdf_text(folder / "case-file.pdf"), "突发环境事件应急处置案卷", iid, "II级（重大）", "处置完毕，结案",
            "III→II级", "下游水源地受威胁", "结案")
        assert "data-deadline=\"initial_report\"" in (folder / "deadline-chart.svg").read_text(encoding="utf-8")

        # the store's last word: closed, with every file of the archive listed
        r = stored(settings.records_db, iid)
        assert (r.stage, r.outcome, r.level) == ("closed", "completed", "II")
        assert {Path(p).name for p in r.archive_paths} >= {"case-file.pdf", "deadline-chart.svg", "dossier.json",
                                                           "report-02-progress.pdf"}
        if url:  # in the database only: no records file was made beside the worker's archive
            assert not list(tmp_path.glob("*.db")), sorted(tmp_path.iterdir())

        # on demand: the copies it filed (closed), written where asked (a closed workflow's
        # query still needs a worker on its task queue)
        out = tmp_path / "out"
        if url:
            env = {"ECOPLAN_DATABASE_URL": url, "ECOPLAN_ARCHIVE_DIR": str(tmp_path / "cli-archive")}
        else:
            env = {"ECOPLAN_RECORDS_DB": str(settings.records_db), "ECOPLAN_ARCHIVE_DIR": str(settings.archive_dir)}
        p = await ecoplan("documents", iid, "--out", str(out), "--json", address=temporal_address, env_extra=env)
        assert p.code == 0, p.err
        written = sorted(Path(x).name for x in json.loads(p.out))
        assert written == sorted(refs), written
        for name in written:
            assert (out / name).read_bytes() == (folder / name).read_bytes(), name
        if url:  # the CLI took them out of the database into the folder it was given
            assert _files(tmp_path / "cli-archive" / iid) >= set(written)
        p = await ecoplan("documents", iid, "--kind", "termination_form", "--out", str(tmp_path / "one"),
                                     address=temporal_address, env_extra=env)
        assert p.code == 0 and [Path(x).name for x in p.out.split()] == ["termination-form.pdf"], p


async def test_documents_command_for_a_running_incident_and_its_errors(client, worker, temporal_address, tmp_path):
    """A running incident prints as of now; an unknown incident, an unknown kind, a folder that
    cannot be written: one line each, and nothing written."""
    iid = await api.start_incident(client, report(title="泄漏打印测试"))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    p = await ecoplan("documents", iid, "--out", str(tmp_path / "now"), "--json", address=temporal_address)
    assert p.code == 0, p.err
    names = sorted(Path(x).name for x in json.loads(p.out))
    # activated, no report, no termination yet: 附件1, the case file so far and the chart
    assert names == ["activation-notice.pdf", "case-file.pdf", "deadline-chart.png", "deadline-chart.svg"], names
    has(pdf_text(tmp_path / "now" / "activation-notice.pdf"), "签发：李局长", "泄漏打印测试")

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args, code, needle in [
        (("documents", "no-such-incident", "--out", str(tmp_path / "x")), 1, "没有事件 no-such-incident"),
        (("documents", iid, "--kind", "poster", "--out", str(tmp_path / "y")), 2, "没有文书种类 poster"),
        (("documents", iid, "--out", str(blocker / "sub")), 2, "--out：无法写入"),
    ]:
        p = await ecoplan_in_process(*args, address=temporal_address,
                                     env_extra={"ECOPLAN_RECORDS_DB": str(tmp_path / "none.db"),
                                                "ECOPLAN_ARCHIVE_DIR": str(tmp_path / "none")})
        lines = [x for x in p.err.splitlines() if x.strip()]
        assert p.code == code and len(lines) == 1 and needle in lines[0], (args, p)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.slow
async def test_a_failing_renderer_and_records_store_never_fail_the_incident(skipping_env, tmp_path):
    """A font family that is not there (ECOPLAN_FONT_SERIF=nonexistent) and a records store
    that cannot be opened (its folder is a file): the incident closes all the same; the case
    file, the chart and the record are retried and shown (delivery_overdue, and
    `deliveries_overdue` in status) while the incident stays open; once the worker runs with
    both repaired they go through (delivered_late) and the incident completes. On a
    time-skipping server (conftest `skipping_env`): the retries' backoff is the incident's own
    timer, moved on in virtual time; every try still really prints and opens the store."""
    env = skipping_env
    client = env.client
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the records folder should be")
    broken = settings_for(tmp_path, records_db=blocker / "records.db", fonts=FontSettings(serif="nonexistent"))
    tq = f"filing-bad-{uuid.uuid4().hex[:6]}"
    waiting = {"printed case_file", "printed chart", "record (records store)"}
    async with build_worker(client, broken, task_queue=tq):
        with env.with_time_skipping_disabled():
            iid = await api.start_incident(client, report(title="渲染故障测试"), task_queue=tq)
        handle = client.get_workflow_handle(api.workflow_id(iid))
        await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
        res = await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="监测数据恢复正常"))
        assert res.stage == "closed"  # whole at once, printing or not

        def shown(st: dict) -> bool:
            return waiting <= {e["detail"]["what"] for e in entries(st, "delivery_overdue")}

        st = await advancing(env, handle, lambda: api.status(client, iid), shown, timeout=40)
        assert waiting <= {d["what"] for d in st["deliveries_overdue"]} and not st["delivery_failures"]
        errors = " ".join(e["detail"]["error"] for e in entries(st, "delivery_overdue"))
        assert "找不到字体 nonexistent" in errors and "无法打开结案记录库" in errors
        # the notifications and the dossier were not held up by them
        assert not any(not d["what"] in waiting for d in st["deliveries_overdue"])
        assert (broken.archive_dir / iid / "dossier.json").is_file()
        assert not (broken.archive_dir / iid / "case-file.pdf").exists()
        assert await describe_status(client, iid) == WorkflowExecutionStatus.RUNNING
    blocker.unlink()  # repaired: the records folder can be made; the fonts are the defaults again
    repaired = settings_for(tmp_path, records_db=blocker / "records.db")
    async with build_worker(client, repaired, task_queue=tq):
        await advancing(env, handle, lambda: describe_status(client, iid),
                        lambda s: s == WorkflowExecutionStatus.COMPLETED, timeout=60)
        st = await api.status(client, iid)  # a closed workflow's query needs a worker too
    assert waiting <= {e["detail"]["what"] for e in entries(st, "delivered_late")}
    assert not st["deliveries_overdue"] and not st["delivery_failures"]
    assert (repaired.archive_dir / iid / "case-file.pdf").is_file()
    r = stored(repaired.records_db, iid)
    assert (r.stage, r.outcome) == ("closed", "warning_lifted")


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()


async def _console(url: str, username: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=url, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]*)"', (await c.get("/login")).text).group(1)
    r = await c.post("/login", data={"username": username, "password": password(username), "next": "/",
                                     "csrf_token": token})
    assert r.status_code == 303, r.text
    return c


async def test_console_offers_the_documents_and_draws_the_chart(client, worker, tmp_path):
    """The incident page: the chart inline (SVG, one bar per deadline), each document to
    download; the same role check as the page itself (a lead of another incident, a partner:
    403), an unknown file 404, no session: the login page."""
    iid = await api.start_incident(client, report(title="控制台文件测试"))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="初报", main_pollutants=POLLUTANTS)))
    # the report's printed copy filed by the incident (the page's download gives that copy)
    await eventually(_afiles(worker.archive_dir / iid), lambda names: "report-01-initial.pdf" in names)
    async with web_service(client, tmp_path / "accounts.db") as web:
        c = await _console(web.url, "li")
        try:
            page = (await c.get(f"/incidents/{iid}")).text
            chart = re.search(r'<figure class="chart" id="deadline-chart">(.*?)</figure>', page, re.S).group(1)
            assert chart.startswith("<svg") and 'data-deadline="initial_report"' in chart
            st = await api.status(client, iid)
            assert re.findall(r'<rect [^>]*class="bar" data-deadline="([a-z_]+)"', chart) == [
                d["name"] for d in st["deadlines"]]  # one bar per deadline
            links = re.findall(rf'href="/incidents/{iid}/documents/([^"]+)"', page)
            assert links == ["activation-notice.pdf", "report-01-initial.pdf", "case-file.pdf",
                             "deadline-chart.svg", "deadline-chart.png"], links
            r = await c.get(f"/incidents/{iid}/documents/report-01-initial.pdf")
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
            assert r.content == (worker.archive_dir / iid / "report-01-initial.pdf").read_bytes()
            (tmp_path / "r.pdf").write_bytes(r.content)
            has(pdf_text(tmp_path / "r.pdf"), f"主要污染物和数量{POLLUTANTS}")
            r = await c.get(f"/incidents/{iid}/documents/deadline-chart.svg")
            assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
            r = await c.get(f"/incidents/{iid}/documents/termination-form.pdf")  # not proposed yet
            assert r.status_code == 404
            r = await c.get(f"/incidents/{iid}/documents/..%2Fdossier.json")
            assert r.status_code == 404
        finally:
            await c.aclose()
        for who in ("sun", "lian"):
            c = await _console(web.url, who)
            try:
                r = await c.get(f"/incidents/{iid}/documents/activation-notice.pdf")
                assert r.status_code == 403 and "%PDF" not in r.text, who
            finally:
                await c.aclose()
        async with httpx.AsyncClient(base_url=web.url, timeout=60) as anon:
            r = await anon.get(f"/incidents/{iid}/documents/activation-notice.pdf")
            assert r.status_code == 303 and r.headers["location"].startswith("/login")


def _afiles(folder: Path):
    async def read():
        return _files(folder)
    return read
