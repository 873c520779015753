"""The printed documents and the deadline chart (activities/documents), read back the way a
person meets them: the text of every PDF extracted with a PDF library and checked against
what the incident recorded, page 1 of each kind rendered to PNG (tests/output/), the fonts
embedded, the chart's bars measured in its SVG. One incident is run through its whole life
on the real dev server and worker; the chart's geometry is checked on a worked incident
whose times are written here. About 10 s in all, most of it the life cycle.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from activities.documents import NOT_FILLED, write_documents
from activities.documents.chart import layout, to_svg
from activities.documents.fonts import FontSettings
from activities.documents.mapping import from_status
from activities.documents.models import ChartDeadline, ChartMark, DeadlineChart
from ecoplan import api
from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.incident import Actor, ReportContent
from tests.drive import SIGNATORIES, act
from tests.helpers import SIGNED, COMMANDER, DUTY, LEADS, lead, now, report
from workflows import messages as m

OPINIONS = {"disposal": "泄漏物料已清运处置完毕，同意终止", "investigation": "污染源已查明并切断，同意终止"}
OUTPUT = Path(__file__).parent / "output"  # git-ignored: page images to look at
SVG = "{http://www.w3.org/2000/svg}"


def cn(t: datetime) -> str:
    """The forms' way of writing a time: 2026年10月20日10时19分."""
    t = t.astimezone(SHANGHAI)
    return f"{t.year}年{t.month}月{t.day}日{t.hour}时{t.minute:02d}分"


def pdf_text(path: Path) -> str:
    """Every page's text, whitespace removed (lines wrap wherever the layout breaks them)."""
    doc = pdfium.PdfDocument(path)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    return re.sub(r"\s+", "", text)


def fonts_embedded(path: Path) -> dict[str, bool]:
    doc = pdfium.PdfDocument(path)
    found: dict[str, bool] = {}
    for i in range(len(doc)):
        for obj in doc[i].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_TEXT]):
            font = pdfium_raw.FPDFTextObj_GetFont(obj.raw)
            n = pdfium_raw.FPDFFont_GetBaseFontName(font, None, 0)
            buf = ctypes.create_string_buffer(n)
            pdfium_raw.FPDFFont_GetBaseFontName(font, buf, n)
            found[buf.value.decode()] = bool(pdfium_raw.FPDFFont_GetIsEmbedded(font))
    return found


def page_one_png(path: Path, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    image = pdfium.PdfDocument(path)[0].render(scale=1.5).to_pil()
    out = OUTPUT / f"{name}.png"
    image.save(out)
    # a page with the document on it, not a blank one: a fair share of dark pixels
    dark = sum(image.convert("L").histogram()[:128])
    assert dark > 2000, f"{name}: page 1 looks empty ({dark} dark pixels)"
    return out


def has(text: str, *words: str) -> None:
    for w in words:
        assert re.sub(r"\s+", "", w) in text, f"{w!r} not in the document"


# ---------------------------------------------------------------------------- one incident, its whole life


@pytest.fixture(scope="module")
async def lived(client, worker):
    """An incident run from report to close on the real server: III level raised to II, a
    rejected first termination round, every report kind. Returns (t0, statuses)."""
    t0 = now().replace(second=0, microsecond=0) - timedelta(days=40)
    r = report(title="桃河化工厂储罐泄漏", county="平定县", location="冶西镇桃河段",
               assessment=Assessment(direct_loss_yuan=6_000_000), discovered_at=t0,
               reported_at=t0 + timedelta(minutes=20))
    iid = await api.start_incident(client, r)
    h = lambda hours: t0 + timedelta(hours=hours)  # noqa: E731
    # The duty officer enters the activation the 总指挥 approved by phone (附件1): the notice
    # prints the approver, not the one who typed it.
    await act(client, iid, "activate_response", m.ActivateResponse(
        by=DUTY, at=h(0.5), approver=Actor(name="李局长", role="指挥", role_id="commander")))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=h(5), kind="initial", content=ReportContent(
        summary="储罐泄漏约2吨苯乙烯，部分进入桃河")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, at=h(1.25), leads=LEADS))
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, at=h(6), level="II", reason="下游水源地受威胁"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=h(12), kind="progress", content=ReportContent(
        summary="下游断面超标，已筑坝拦截")))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, at=h(48), reason="特征污染物已降至本底水平"))
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), at=h(49), group="monitoring",
                                                 lead=LEADS["monitoring"], decision="reject", opinion="下游断面仍超标"))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, at=h(72), reason="复测三次达标"))
    await act(client, iid, "sign_off", m.SignOff(round=2, by=lead("monitoring"), at=h(73), group="monitoring",
                                                 lead=LEADS["monitoring"], decision="approve", opinion="监测数据达标"))
    pending = await api.status(client, iid)  # two groups still to sign
    for i, g in enumerate(SIGNATORIES[1:]):
        await act(client, iid, "sign_off", m.SignOff(round=2, by=lead(g), at=h(74 + i), group=g, lead=LEADS[g],
                                                     decision="approve", opinion=OPINIONS[g]))
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, at=h(77), follow_up=m.FollowUp(
        continue_monitoring=True, decided_by="市应急指挥部会同专家组", until=(t0 + timedelta(days=30)).date()),
                                                                        instruction="同意终止，做好跟踪监测"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=h(96), kind="final", content=ReportContent(
        summary="事件处置完毕")))
    # II: the ministry investigates (32号令 第四条); the bureau records its act (plan duties)
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, at=h(20 * 24), step="investigation",
                                                                document="生态环境部调查报告"))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, at=h(25 * 24)))
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY, at=h(39 * 24)))
    await act(client, iid, "close", m.Close(by=DUTY, at=h(39 * 24 + 1)))
    return t0, pending, await api.status(client, iid)


async def test_whole_life_documents(lived, tmp_path):
    t0, _, st = lived
    # Rendering is blocking work: off the event loop the worker shares, as an activity would run it.
    paths = await asyncio.to_thread(write_documents, st, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(["activation-notice.pdf", "termination-form.pdf", "report-01-initial.pdf",
                            "report-02-progress.pdf", "report-03-final.pdf", "case-file.pdf",
                            "deadline-chart.svg", "deadline-chart.png"])
    pdfs = {p.name: p for p in paths if p.suffix == ".pdf"}
    for name, p in pdfs.items():
        assert p.read_bytes().startswith(b"%PDF-")
        fonts = fonts_embedded(p)
        assert fonts and all(fonts.values()), f"{name}: fonts not all embedded: {fonts}"
        assert any("NotoSerifCJKsc" in f for f in fonts), f"{name}: {fonts}"
        page_one_png(p, p.stem)
        # A4 portrait: 595 × 842 pt
        w, h = pdfium.PdfDocument(p)[0].get_size()
        assert (round(w), round(h)) == (595, 842), name

    # 附件1: approver, time and place of the event, level, the plan's document number
    text = pdf_text(pdfs["activation-notice.pdf"])
    assert DUTY.name not in text  # the typist is not the approver
    has(text, "附件1", "阳泉市生态环境局突发环境事件应急响应启动通知", "签发：李局长（指挥）",
        f"{cn(t0)}，在我市平定县境内，冶西镇桃河段位置，发生一起桃河化工厂储罐泄漏事件",
        "启动局应急预案III级响应（较大）", f"时间：{cn(t0 + timedelta(minutes=30))}", "阳环发〔2022〕24号")
    has(text, "事件等级 Ⅲ级（附表1分级） · 响应级别 Ⅲ级（与事件等级相同）")  # issue 24: both levels

    # 附件2: the approved round 2, each lead's decision, opinion, time; the commander's instruction
    text = pdf_text(pdfs["termination-form.pdf"])
    has(text, "附件2", "应急响应终止签报单", "签报单位：局突发环境事件应急指挥部办公室", "第2轮签报",
        "主办人", "王值班（值班员）", cn(t0 + timedelta(hours=72)), "关于“突发环境事件应急响应终止”的通知",
        "应急监测组意见：监测数据达标", "组长签字：张监测", cn(t0 + timedelta(hours=73)),
        f"污染处置组意见：{OPINIONS['disposal']}", "组长签字：赵处置", cn(t0 + timedelta(hours=74)),
        f"污染排查组意见：{OPINIONS['investigation']}", "组长签字：钱排查", cn(t0 + timedelta(hours=75)),
        "签报轮次：第2轮", "身份认证方式：命令行（运维人员）",
        "特征污染物质已经降至事件前环境本底水平", "提议理由：复测三次达标",
        "指挥批示", "同意终止，做好跟踪监测", "签字：李局长（指挥）", cn(t0 + timedelta(hours=77)),
        # 4.4: the follow-up monitoring decision, until t0 + 30 days (a date written by hand below)
        "后续跟踪监测", f"继续跟踪监测至{(t0 + timedelta(days=30)).date().isoformat()}（市应急指挥部会同专家组决定）",
        # the rejected first round stays on record
        "此前各轮签报记录", "不同意终止", "下游断面仍超标")
    assert text.count("同意终止") >= 3

    # each report: kind, unit, signer and contact (as the report named them, 17号令 第十四条), time, summary
    for file, kind, hours, summary in [("report-01-initial.pdf", "初报", 5, "储罐泄漏约2吨苯乙烯，部分进入桃河"),
                                       ("report-02-progress.pdf", "续报", 12, "下游断面超标，已筑坝拦截"),
                                       ("report-03-final.pdf", "处理结果报告", 96, "事件处置完毕")]:
        text = pdf_text(pdfs[file])
        has(text, f"突发环境事件信息{kind}", "报告单位阳泉市生态环境局", f"签发人{SIGNED['signed_by']}",
            f"联系人{SIGNED['contact_person']}", f"联系方式{SIGNED['contact_phone']}", f"报告时间{cn(t0 + timedelta(hours=hours))}",
            "报告人王值班（值班员）", "报送市人民政府、省生态环境厅", f"概况{summary}", "第十三条")
    # only the initial report lists every item of 第十二条 (unfilled ones say so)
    has(pdf_text(pdfs["report-01-initial.pdf"]), "主要污染物和数量未填写", "饮用水水源地等环境敏感点受影响情况未填写")
    assert "主要污染物和数量" not in pdf_text(pdfs["report-02-progress.pdf"])

    # 案卷: cover, summary, level history, deadlines met/late with their basis, timeline, documents
    text = pdf_text(pdfs["case-file.pdf"])
    has(text, "突发环境事件应急处置案卷", "案卷编号", st["incident_id"], "立卷单位阳泉市生态环境局",
        "II级（重大）", "处置完毕，结案", "初判级别III级（较大）", "（直接经济损失：600万元）",
        "二、响应级别变化", "启动III级", "III→II级", "下游水源地受威胁",
        "三、时限执行情况", "初报", "逾期完成晚40分",  # due 4 h after the bureau learned (0:20) = 4:20, made at 5:00
        "《突发环境事件信息报告办法》(环境保护部令第17号)第三条",
        "应急力量准备", "按时完成",  # readiness: activated at 0:30, due 1:30, dispatched 1:15
        "4.1.2(4)", "污染损害评估报告报送", "5.3",
        "四、时限执行图", "五、处置过程（时间线）", "应急监测组张监测不同意终止：下游断面仍超标", "指挥批示终止",
        "六、文件目录", "附件1应急响应启动通知", "附件2应急响应终止签报单（第2轮）", "突发环境事件信息续报（第2号）",
        "deadline-chart.svg")
    assert f"{len(st['timeline'])}{st['timeline'][-1]['at'][:10]}" in text, "the last timeline entry is listed"

    svg = ET.fromstring((tmp_path / "deadline-chart.svg").read_text(encoding="utf-8"))
    bars = svg.findall(f".//{SVG}rect[@class='bar']")
    assert [b.get("data-deadline") for b in bars] == [d["name"] for d in st["deadlines"]]
    png = (tmp_path / "deadline-chart.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    (OUTPUT / "deadline-chart.png").write_bytes(png)


async def test_form_in_progress_and_drill(lived, tmp_path):
    """附件2 printed while signatures are still coming in, to take into the meeting: the
    missing ones have blanks to sign. A drill's documents say so on every page."""
    _, pending, _ = lived
    [path] = await asyncio.to_thread(write_documents, pending, tmp_path, ["termination_form"])
    text = pdf_text(path)
    has(text, "第2轮签报", "应急监测组意见：监测数据达标", "污染处置组意见：（待签）", "污染排查组意见：（待签）",
        "组长：赵处置", "组长：钱排查", "（待指挥批示）")
    page_one_png(path, "termination-form-pending")

    drill = copy.deepcopy(pending) | {"drill": True}
    [path] = await asyncio.to_thread(write_documents, drill, tmp_path / "drill", ["activation_notice"])
    has(pdf_text(path), "【演练】本文件为应急演练文件", "【演练】阳泉市生态环境局突发环境事件应急响应启动通知")


def test_unknown_kind_and_loading_status(tmp_path):
    with pytest.raises(ValueError, match="没有文书种类"):
        write_documents({"incident_id": "x", "title": "t"}, tmp_path, kinds=["memo"])
    with pytest.raises(ValueError, match="仍在载入预案"):
        from_status({"stage": None, "loading": True})


# ---------------------------------------------------------------------------- the chart's geometry

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_chart_bars_at_their_times():
    """x = ln(1 + Δh) / ln(1 + span h) across the plot. With times Δ = 2^k − 1 hours and a
    span of 255 h, ln(2^k)/ln(2^8) = k/8: each time sits at an eighth of the plot."""
    chart = DeadlineChart(
        title="演算事件", origin=T0, as_of=at(127),  # k = 7
        deadlines=[
            # 初报: 0 → 3 h (k 0 → 2), met at 1 h (k 1)
            ChartDeadline(name="initial_report", title="初报", start=at(0), due=at(3), met_at=at(1), state="met"),
            # readiness: 1 → 7 h (k 1 → 3), met late at 15 h (k 4)
            ChartDeadline(name="readiness", title="应急力量准备", start=at(1), due=at(7), met_at=at(15),
                          state="met_late"),
            # investigation: 15 → 63 h (k 4 → 6), still open at 127 h (k 7): overdue
            ChartDeadline(name="investigation", title="事件调查", start=at(15), due=at(63), state="overdue"),
            # assessment: 31 → 255 h (k 5 → 8), open, on time
            ChartDeadline(name="assessment_report", title="评估报告", start=at(31), due=at(255), state="pending"),
        ],
        marks=[ChartMark(at=at(1), kind="stage", label="应急响应"), ChartMark(at=at(1), kind="level", label="启动III级"),
               ChartMark(at=at(7), kind="level", label="III→II级")])
    svg = ET.fromstring(to_svg(layout(chart), FontSettings.from_env()))
    axis = svg.find(f".//{SVG}line[@class='axis']")
    left, right = float(axis.get("x1")), float(axis.get("x2"))
    eighth = (right - left) / 8

    def X(k: int) -> float:
        return left + k * eighth

    bars = {b.get("data-deadline"): b for b in svg.findall(f".//{SVG}rect[@class='bar']")}
    assert list(bars) == ["initial_report", "readiness", "investigation", "assessment_report"]
    for name, (k0, k1) in {"initial_report": (0, 2), "readiness": (1, 3), "investigation": (4, 6),
                           "assessment_report": (5, 8)}.items():
        x, w = float(bars[name].get("x")), float(bars[name].get("width"))
        assert x == pytest.approx(X(k0), abs=0.02), name
        assert x + w == pytest.approx(X(k1), abs=0.02), name
    # the moment each was met: a diamond centred there
    met = {p.get("data-deadline"): p for p in svg.findall(f".//{SVG}polygon[@class='met']")}
    assert set(met) == {"initial_report", "readiness"}
    for name, k in {"initial_report": 1, "readiness": 4}.items():
        xs = [float(pt.split(",")[0]) for pt in met[name].get("points").split()]
        assert (min(xs) + max(xs)) / 2 == pytest.approx(X(k), abs=0.02), name
    # late parts in red: readiness from its due (k 3) to met (k 4); investigation from due (k 6) to now (k 7)
    late = {r.get("data-deadline"): r for r in svg.findall(f".//{SVG}rect[@class='late']")}
    assert set(late) == {"readiness", "investigation"}
    for name, (k0, k1) in {"readiness": (3, 4), "investigation": (6, 7)}.items():
        x, w = float(late[name].get("x")), float(late[name].get("width"))
        assert (x, x + w) == (pytest.approx(X(k0), abs=0.02), pytest.approx(X(k1), abs=0.02)), name
    # still open: a "now" line at 127 h (k 7) on both open bars
    opens = [float(line.get("x1")) for line in svg.findall(f".//{SVG}line[@class='open']")]
    assert opens == [pytest.approx(X(7), abs=0.02)] * 2
    # marks above: stage and level changes at 1 h (k 1) and 7 h (k 3)
    marks = svg.findall(f".//{SVG}polygon")
    mark_x = sorted(round((min(float(p.split(",")[0]) for p in g.get("points").split()) +
                           max(float(p.split(",")[0]) for p in g.get("points").split())) / 2, 2)
                    for g in marks if "mark" in (g.get("class") or "").split())
    assert mark_x == [pytest.approx(X(1), abs=0.02)] * 2 + [pytest.approx(X(3), abs=0.02)]
    words = [t.text for t in svg.findall(f".//{SVG}text")]
    # marks at the same moment share one label
    assert {"应急响应、启动III级", "III→II级", "按时完成 03-02 09:00", "逾期完成 晚8小时"} <= set(words)
    assert "已逾期 2天16小时，未完成" in words  # due at 63 h, now 127 h: 64 h late
    assert "进行中 剩余5天8小时" in words  # due at 255 h, now 127 h: 128 h left


def _boxes(svg) -> tuple[list, list]:
    """Text boxes (generous: CJK a full em, other characters 0.62 em) and bar boxes."""
    texts = []
    for t in svg.findall(f".//{SVG}text"):
        size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        w = sum(size if ord(c) >= 0x2E80 else 0.62 * size for c in t.text)
        x0 = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor")]
        texts.append((x0, y - size, x0 + w, y + 0.25 * size, t.text))
    bars = [(float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
             float(r.get("y")) + float(r.get("height")), r.get("class"))
            for r in svg.findall(f".//{SVG}rect") if r.get("class") in ("bar", "fill", "late")]
    return texts, bars


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


async def test_long_timeline_stays_readable(lived, tmp_path):
    """300 timeline entries, 80 termination rounds flipping the stage and 10 level changes:
    no label touches a bar or another label, the chart keeps its size, the case file < 2 MB."""
    _, _, st = lived
    st = copy.deepcopy(st)
    base = datetime.fromisoformat(st["timeline"][-1]["at"])
    entries = list(st["timeline"])
    seq = entries[-1]["seq"]
    while len(entries) < 300:
        seq += 1
        flip = ("on_site", "termination_pending") if seq % 2 else ("termination_pending", "on_site")
        entries.append({**entries[-1], "seq": seq, "at": (base + timedelta(minutes=30 * (seq - 20))).isoformat(),
                        "action": "propose_termination" if seq % 2 else "sign_off", "from_stage": flip[0],
                        "to_stage": flip[1], "detail": {"round": seq // 2, "reason": "复测" * 20}})
    st["timeline"] = entries
    st["level_changes"] = st["level_changes"] + [
        {**st["level_changes"][-1], "at": (base + timedelta(hours=3 * i)).isoformat(),
         "from_level": "II" if i % 2 else "I", "to_level": "I" if i % 2 else "II"} for i in range(10)]
    assert len(st["timeline"]) == 300

    started = datetime.now()
    paths = await asyncio.to_thread(write_documents, st, tmp_path, ["chart", "case_file"])
    elapsed = (datetime.now() - started).total_seconds()
    svg = ET.fromstring((tmp_path / "deadline-chart.svg").read_text(encoding="utf-8"))
    texts, bars = _boxes(svg)
    for t in texts:
        for b in bars:
            assert not _overlap(t, b), f"label {t[4]!r} lies on a {b[4]}"
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            assert not _overlap(a, b), f"labels {a[4]!r} and {b[4]!r} overlap"
    assert float(svg.get("height")) < 600, "marks crowd into lanes, the chart does not grow with them"
    assert any("过密未标文字" in t[4] for t in texts), "unlabelled marks are said to be so"

    case = tmp_path / "case-file.pdf"
    assert case.stat().st_size < 2 * 1024 * 1024
    text = pdf_text(case)
    has(text, "300", "复测复测")
    page_one_png(case, "case-file-300")
    assert elapsed < 30, f"rendering took {elapsed:.1f} s"
    assert len(paths) == 3


async def test_only_documents_whose_event_happened(lived, tmp_path):
    """Before activation there is no 附件1, before a proposal no 附件2, before a report none:
    the chart and the case file exist from the first report on, the open deadline late in red."""
    _, pending, _ = lived
    early = copy.deepcopy(pending)
    first = dict(pending["deadlines"][0], status="overdue", met_at=None)
    early.update(stage="reported", level=None, level_changes=[], termination=None, signoffs={}, signoff_history=[],
                 reports=[], round=0, timeline=pending["timeline"][:1], deadlines=[first])
    paths = await asyncio.to_thread(write_documents, early, tmp_path)
    assert sorted(p.name for p in paths) == ["case-file.pdf", "deadline-chart.png", "deadline-chart.svg"]
    svg = ET.fromstring((tmp_path / "deadline-chart.svg").read_text(encoding="utf-8"))
    assert [r.get("data-deadline") for r in svg.findall(f".//{SVG}rect[@class='late']")] == ["initial_report"]
    has(pdf_text(tmp_path / "case-file.pdf"), "未启动响应", "处置中（接报）", "已逾期")


@pytest.mark.parametrize("year", ["0001", "9999"])
def test_every_document_and_the_record_are_made_whatever_year_a_stored_time_has(tmp_path, year, pg_cluster):
    """Issue 25 item 1, defence in depth: the entries refuse such times now, but an incident
    stored before (or a history from elsewhere) may hold them. Every time in a post-event
    status moved to year 1 or 9999: the four documents and the chart print, and the record
    saves."""
    from activities import records_store
    from activities.documents import render
    from ecoplan import records
    from tests.test_forms_unit import status_of
    from tests.unit_state import in_stage

    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T")

    def moved(x):
        if isinstance(x, dict):
            return {k: moved(v) for k, v in x.items()}
        if isinstance(x, list):
            return [moved(v) for v in x]
        return year + x[4:] if isinstance(x, str) and iso.match(x) else x

    st = moved(status_of(in_stage("post_event")))
    assert st["reported_at"].startswith(year + "-")
    written = render(from_status(st), tmp_path / "docs", None, FontSettings.from_env())
    assert sorted(p.name for p in written) == ["activation-notice.pdf", "case-file.pdf", "deadline-chart.png",
                                                "deadline-chart.svg", "termination-form.pdf"]
    assert all(p.read_bytes()[:5] in (b"%PDF-", b"\x89PNG\r", b"<?xml", b"<svg ") for p in written)
    st["stage"] = "closed"
    assert records.record_from_status(st).incident_id == st["incident_id"]
    # Saved and read back in a SQLite file and in PostgreSQL (issue 27: the same on both stores).
    from activities import db

    for target in (tmp_path / "records.db", pg_cluster.fresh_url()):
        assert records_store.save_status(st, archive_dir=tmp_path / "archive", path=target) == "inserted", target
        assert records.status_of(st["incident_id"], target)["reported_at"].startswith(year + "-"), target
        if isinstance(target, str):
            db.dispose(target)
