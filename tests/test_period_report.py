"""Periodic reports (17号令 第十条) over incidents whose times are written down here; every
expected figure is worked out by hand in the comments beside it."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing
from datetime import datetime

import pytest

from ecoplan import period_report as pr
from ecoplan import records
from ecoplan.records import DeadlineFact, IncidentRecord, LevelStep
from tests.test_cli import aecoplan, ahere, one_line_error


def T(s: str) -> datetime:
    return datetime.fromisoformat(s if "+" in s[10:] else s + "+08:00")


def dl(name: str, due: str, met: str | None = None) -> DeadlineFact:
    return DeadlineFact(name=name, title=name, started_at=T("2026-10-01T00:00"), due_at=T(due),
                        met_at=T(met) if met else None,
                        status="pending" if not met else ("met" if T(met) <= T(due) else "met_late"))


def rec(iid: str, reported: str, **kw) -> IncidentRecord:
    base = dict(incident_id=iid, title=f"事件{iid}", county="平定县", incident_type="water", source="hotline_12369",
                stage="post_event", graded_level="IV", discovered_at=T(reported), reported_at=T(reported))
    base.update(kw)
    return IncidentRecord(**base)


def step(at: str, frm: str | None, to: str) -> LevelStep:
    return LevelStep(at=T(at), from_level=frm, to_level=to)


RECORDS = [
    # a: raised IV→III on 11-03; every deadline met in time; closed 11-25
    rec("a", "2026-11-02T08:00", discovered_at=T("2026-11-02T07:30"), level="III",
        level_history=[step("2026-11-02T09:00", None, "IV"), step("2026-11-03T10:00", "IV", "III")],
        activated_at=T("2026-11-02T09:00"), dispatched_at=T("2026-11-02T10:00"),
        initial_report_at=T("2026-11-02T09:00"), terminated_at=T("2026-11-05T09:00"),
        assessment_report_at=T("2026-11-20T09:00"), closed_at=T("2026-11-25T10:00"), stage="closed",
        outcome="completed",
        deadlines=[dl("initial_report", "2026-11-02T11:30", "2026-11-02T09:00"),
                   dl("readiness", "2026-11-03T11:00", "2026-11-02T10:00"),
                   dl("assessment_report", "2026-11-28T23:59:59", "2026-11-20T09:00"),
                   dl("investigation", "2027-01-04T09:00")]),
    # b: 初报 two hours late; still in post-event handling
    rec("b", "2026-11-10T20:00", incident_type="air", county="盂县", source="linkage_119", level="IV",
        level_history=[step("2026-11-10T21:00", None, "IV")], activated_at=T("2026-11-10T21:00"),
        initial_report_at=T("2026-11-11T02:00"), terminated_at=T("2026-11-12T21:00"),
        deadlines=[dl("initial_report", "2026-11-11T00:00", "2026-11-11T02:00"),
                   dl("investigation", "2027-01-11T21:00")]),
    # c: warning lifted without any 初报: that deadline stays unmet
    rec("c", "2026-11-20T10:00", source="county_bureau", warning_at=T("2026-11-20T11:00"),
        closed_at=T("2026-11-21T10:00"), stage="closed", outcome="warning_lifted",
        deadlines=[dl("initial_report", "2026-11-20T14:00")]),
    # d: reported in October; terminated in November; its report, due 11-30 23:59:59, went on 12-02
    rec("d", "2026-10-28T10:00", incident_type="hazardous_chemicals", county="郊区", source="inspection",
        graded_level="II", level="II", level_history=[step("2026-10-28T12:00", None, "II")],
        activated_at=T("2026-10-28T12:00"), initial_report_at=T("2026-10-28T11:00"),
        terminated_at=T("2026-11-03T12:00"), assessment_report_at=T("2026-12-02T09:00"),
        deadlines=[dl("initial_report", "2026-10-28T12:00", "2026-10-28T11:00"),
                   dl("assessment_report", "2026-11-30T23:59:59", "2026-12-02T09:00")]),
    # e: 23:30 on 11-30 in Shanghai (15:30 UTC): November's; graded III, not activated
    rec("e", "2026-11-30T15:30+00:00", incident_type="soil", source="other", graded_level="III", stage="reported",
        deadlines=[dl("initial_report", "2026-12-01T03:30")]),
    # f: 00:00 on 12-01 in Shanghai: December's
    rec("f", "2026-12-01T00:00", stage="reported"),
    # g: a drill in November, with a missed 初报 and a short response: counted apart only
    rec("g", "2026-11-15T09:00", drill=True, activated_at=T("2026-11-15T10:00"),
        initial_report_at=T("2026-11-15T09:10"), terminated_at=T("2026-11-15T12:00"),
        deadlines=[dl("initial_report", "2026-11-15T13:00")]),
    # h: October, closed in October
    rec("h", "2026-10-01T09:00", incident_type="air", county="盂县", source="inspection",
        closed_at=T("2026-10-10T09:00"), stage="closed", outcome="completed"),
]

NOVEMBER = pr.parse_period(month="2026-11")
LATER = T("2026-12-05T09:00")  # the report is made after the month


def test_november_counts():
    rep = pr.compute(RECORDS, NOVEMBER, now=LATER)
    inc = rep["incidents"]
    assert inc["total"] == 4  # a, b, c, e (d and h: October; f: December; g: a drill)
    # level at the month's end: a III (raised 11-03), b IV, c IV (graded), e III (graded)
    assert inc["by_level"] == {"I": 0, "II": 0, "III": 2, "IV": 2}
    assert inc["by_type"] == {"water": 2, "air": 1, "soil": 1, "hazardous_chemicals": 0, "solid_waste": 0,
                              "other": 0}
    assert inc["by_county"] == {"平定县": 3, "盂县": 1}
    assert inc["by_source"] == {"hotline_12369": 1, "linkage_119": 1, "inspection": 0, "county_bureau": 1,
                                "other": 1}
    assert [x["incident_id"] for x in inc["list"]] == ["a", "b", "c", "e"]
    assert rep["period"]["complete"] is True and rep["period"]["as_of"] == "2026-12-01T00:00:00+08:00"


def test_november_deadlines():
    rep = pr.compute(RECORDS, NOVEMBER, now=LATER)
    by = {d["name"]: d for d in rep["deadlines"]}
    assert [d["name"] for d in rep["deadlines"]] == ["initial_report", "readiness", "assessment_report"]
    ini = by["initial_report"]
    # due in November: a (met 2.5 h early), b (met 2 h late), c (never met); g is a drill
    assert (ini["due"], ini["on_time"], ini["met_late"], ini["unmet"]) == (3, 1, 1, 1)
    assert ini["on_time_rate"] == pytest.approx(1 / 3)
    # c: from 11-20 14:00 to the month's end 12-01 00:00 = 10 d 10 h = 864000 + 36000 = 900000 s
    # b: 11-11 02:00 − 11-11 00:00 = 7200 s
    assert [(x["incident_id"], x["late_by_seconds"], x["met"]) for x in ini["late"]] == [("c", 900000, False),
                                                                                        ("b", 7200, True)]
    assert (ini["max_late_seconds"], ini["median_late_seconds"]) == (900000, (900000 + 7200) // 2)
    assert (by["readiness"]["due"], by["readiness"]["on_time_rate"]) == (1, 1.0)
    rep_ = by["assessment_report"]
    # a met 11-20 (on time); d met 12-02, after the month: unmet at its end, 1 s late by then
    assert (rep_["due"], rep_["on_time"], rep_["unmet"], rep_["on_time_rate"]) == (2, 1, 1, 0.5)
    assert [(x["incident_id"], x["late_by_seconds"], x["met"]) for x in rep_["late"]] == [("d", 1, False)]


def test_november_durations_open_incidents_and_drills():
    rep = pr.compute(RECORDS, NOVEMBER, now=LATER)
    d = rep["durations"]
    # 获知→初报, initial reports made in November: a 1 h = 3600, b 6 h = 21600 (d's was in October, g a drill)
    assert (d["learned_to_initial_report"]["count"], d["learned_to_initial_report"]["median_seconds"],
            d["learned_to_initial_report"]["p90_seconds"]) == (2, (3600 + 21600) // 2, 21600)
    # terminations in November: b 2 d = 172800, a 3 d = 259200, d 6 d = 518400; median the middle one;
    # p90: the ⌈0.9·3⌉ = 3rd smallest
    assert (d["activation_to_termination"]["count"], d["activation_to_termination"]["median_seconds"],
            d["activation_to_termination"]["p90_seconds"]) == (3, 259200, 518400)
    # reports sent in November: a, 11-05 09:00 → 11-20 09:00 = 15 d = 1296000 (d's went in December)
    assert (d["termination_to_assessment_report"]["count"],
            d["termination_to_assessment_report"]["median_seconds"]) == (1, 1296000)
    op = rep["open_at_end"]
    # a closed 11-25, c 11-21, h in October; f not yet reported: d, b, e open, in reported order
    assert [(x["incident_id"], x["phase"], x["level"]) for x in op["list"]] == [
        ("d", "post_event", "II"), ("b", "post_event", "IV"), ("e", "reported", "III")]
    assert op["by_phase"] == {"reported": 1, "warning": 0, "responding": 0, "post_event": 2}
    assert rep["drills"]["total"] == 1 and rep["drills"]["list"][0]["incident_id"] == "g"


def test_november_markdown():
    md = pr.render_markdown(pr.compute(RECORDS, NOVEMBER, now=LATER))
    assert md.startswith("# 突发环境事件月度报告（2026年11月）")
    assert "统计时段：2026-11-01 至 2026-11-30（北京时间）" in md
    assert "本期获知突发环境事件 4 起。" in md
    assert "| 较大（III级） | 2 |" in md and "| 危险化学品 | 0 |" in md and "| 119联动 | 1 |" in md
    # 900000 s = 10天10小时; median 453600 s = 5 d 6 h
    assert "| 初报 | 3 | 1 | 1 | 1 | 33.3% | 10天10小时 | 5天6小时 |" in md
    assert "| 获知→初报 | 2 | 3小时30分 | 6小时 |" in md  # 12600 s, 21600 s
    assert "| 启动响应→响应终止 | 3 | 3天 | 6天 |" in md
    assert "期末未结事件 3 起。" in md and "本期演练 1 次。" in md
    assert "期末未完成" in md


def test_a_period_not_over_is_counted_as_of_now():
    now = T("2026-11-11T01:00")
    rep = pr.compute(RECORDS, NOVEMBER, now=now)
    assert rep["period"]["complete"] is False and rep["period"]["as_of"] == "2026-11-11T01:00:00+08:00"
    assert rep["incidents"]["total"] == 2  # a and b so far
    assert rep["incidents"]["by_level"]["III"] == 1 and rep["incidents"]["by_level"]["IV"] == 1
    ini = next(d for d in rep["deadlines"] if d["name"] == "initial_report")
    # a on time; b due 00:00, not made by 01:00: unmet, 3600 s late so far; c not due yet
    assert (ini["due"], ini["on_time"], ini["unmet"]) == (2, 1, 1)
    assert [(x["incident_id"], x["late_by_seconds"]) for x in ini["late"]] == [("b", 3600)]
    d = rep["durations"]
    assert d["learned_to_initial_report"]["count"] == 1  # b's 初报 came at 02:00
    # terminations by then: d 518400, a 259200 → median (259200 + 518400) / 2 = 388800
    assert d["activation_to_termination"]["median_seconds"] == 388800
    assert [(x["incident_id"], x["phase"]) for x in rep["open_at_end"]["list"]] == [
        ("d", "post_event"), ("a", "post_event"), ("b", "responding")]
    assert "（统计时段尚未结束）" in pr.render_markdown(rep)


@pytest.mark.parametrize("n,median,p90", [
    # k minutes for k = 1..n. n = 10: median (5 + 6) / 2 min = 330 s; p90 the ⌈9⌉ = 9th = 540 s
    (10, 330, 540),
    # n = 11: median the 6th = 360 s; p90 the ⌈9.9⌉ = 10th = 600 s (not the largest, 660)
    (11, 360, 600),
])
def test_median_and_nearest_rank_p90(n, median, p90):
    recs = [rec(f"k{k}", "2026-11-03T08:00", initial_report_at=T(f"2026-11-03T08:{k:02d}")) for k in range(1, n + 1)]
    d = pr.compute(recs, NOVEMBER, now=LATER)["durations"]["learned_to_initial_report"]
    assert (d["count"], d["median_seconds"], d["p90_seconds"]) == (n, median, p90)


@pytest.mark.parametrize("kw,start,end,name", [
    (dict(month="2026-12"), "2026-12-01", "2027-01-01", "2026年12月"),
    (dict(quarter="2026Q4"), "2026-10-01", "2027-01-01", "2026年第四季度"),
    (dict(quarter="2026q1"), "2026-01-01", "2026-04-01", "2026年第一季度"),
    (dict(half="2026H2"), "2026-07-01", "2027-01-01", "2026年下半年"),
    (dict(half="2026H1"), "2026-01-01", "2026-07-01", "2026年上半年"),
    (dict(year="2026"), "2026-01-01", "2027-01-01", "2026年"),
])
def test_periods(kw, start, end, name):
    p = pr.parse_period(**kw)
    assert (p.start, p.end, p.name) == (T(start + "T00:00"), T(end + "T00:00"), name)


@pytest.mark.parametrize("kw", [dict(month="2026-13"), dict(month="2026-1"), dict(quarter="2026Q5"),
                                dict(half="2026H3"), dict(year="26"), dict(), dict(month="2026-11", year="2026")])
def test_bad_periods(kw):
    with pytest.raises(pr.PeriodError):
        pr.parse_period(**kw)


def test_the_cli_reads_the_store(tmp_path, store_target):
    db, out = store_target, tmp_path / "out"  # a SQLite file, then PostgreSQL (issue 27)
    with closing(records.connect(db)) as conn:
        for r in RECORDS:
            records.upsert_record(conn, r)
    env = {"ECOPLAN_DATABASE_URL": db} if isinstance(db, str) else {"ECOPLAN_RECORDS_DB": str(db)}
    as_json, md, future, bad, no_store = asyncio.run(_all(
        aecoplan("report-period", "--month", "2026-10", "--json", "--out", str(out), env_extra=env),
        # the first as a real process; the others through the same code in this process
        ahere("report-period", "--month", "2026-10", env_extra=env),
        ahere("report-period", "--year", "2100", env_extra=env),
        ahere("report-period", "--quarter", "2026Q5", env_extra=env),
        ahere("report-period", "--month", "2026-10", env_extra={"ECOPLAN_RECORDS_DB": str(tmp_path / "no.db")})))
    assert as_json.returncode == 0, as_json.stderr
    rep = json.loads(as_json.stdout)
    # October: d (10-28) and h (10-01); open at its end: d only (responding since 10-28 12:00); h closed 10-10
    assert rep["incidents"]["total"] == 2 and rep["incidents"]["by_county"] == {"郊区": 1, "盂县": 1}
    assert [(x["incident_id"], x["phase"]) for x in rep["open_at_end"]["list"]] == [("d", "responding")]
    # d's 初报 due 10-28 12:00, made 11:00
    assert [(d["name"], d["due"], d["on_time_rate"]) for d in rep["deadlines"]] == [("initial_report", 1, 1.0)]
    assert json.loads((out / "report-2026-10.json").read_text(encoding="utf-8")) == rep
    assert (out / "report-2026-10.md").read_text(encoding="utf-8").startswith("# 突发环境事件月度报告（2026年10月）")
    assert md.returncode == 0 and "本期获知突发环境事件 2 起。" in md.stdout
    assert future.returncode == 2 and "尚未开始" in one_line_error(future)
    assert bad.returncode == 2 and "--quarter" in one_line_error(bad)
    assert no_store.returncode == 1 and "结案记录库" in one_line_error(no_store)


async def _all(*coros):
    return await asyncio.gather(*coros)
