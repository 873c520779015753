"""The initial-report clock and the reports of 《突发环境事件信息报告办法》 (17号令), issue 13
items 1–4 and 9: the clock runs from when the bureau learned of the incident (第三条), follows
the level known before the report, is 2 h for the 第四条 cases; I/II and those cases report
to the ministry too; every written report names its unit, 签发人 and contact (第十四条);
close needs the 处理结果报告 (第十二条).

Business times are fixed dates in the past (entered with a 补录说明), so every due time
below is worked out by hand in a comment.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from ecoplan import api
from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.incident import ReportContent
from plan.loader import load_plan
from tests.drive import archived, deadline, outbox_events, timeline, to_post_event
from tests.helpers import COMMANDER, DUTY, SIGNED, eventually, report
from tests.procs import ecoplan_in_process
from workflows import messages as m

LATE = "测试：按业务时间补录"


def t(hhmm: str, day: int = 20) -> datetime:
    """2026-11-<day> hh:mm, Asia/Shanghai."""
    return datetime.fromisoformat(f"2026-11-{day:02d}T{hhmm}").replace(tzinfo=SHANGHAI)


def initial(at: datetime, **over) -> m.SubmitReport:
    return m.SubmitReport(**{**SIGNED, **over}, by=DUTY, at=at, backdate_reason=LATE, kind="initial",
                          content=ReportContent(summary="初报"))


async def act(client, iid: str, action: str, inp) -> m.ActionResult:
    return await api.act(client, iid, action, inp)


def due(st: dict) -> datetime:
    return datetime.fromisoformat(deadline(st, "initial_report")["due_at"])


# ---------------------------------------------------------------------------- plan data


def test_the_rules_are_plan_data_with_their_articles():
    plan = load_plan().plan
    rule = plan.deadline("initial_report")
    assert rule.starts_on == "bureau_learned" and "第三条" in rule.source
    assert rule.duration.hours == 4 and rule.duration_for("II").hours == 2 and rule.duration_for("I").hours == 2
    r = plan.reporting
    assert r.special_circumstances.report_as.value == "II" and "第四条" in r.special_circumstances.source
    assert [c.id for c in r.special_circumstances.items] == [
        "drinking_water_source", "sensitive_area", "heavy_metal", "cross_province", "mass_incident", "other"]
    assert all(c.source.startswith("17号令 第四条(") for c in r.special_circumstances.items)
    assert r.recipients_at("II") == ["市人民政府", "省生态环境厅", "生态环境部"]
    assert r.recipients_at("III") == ["市人民政府", "省生态环境厅"]
    assert "第三条" in r.also_to[0].source
    assert r.initial_report_clock.lowering == "keeps_shorter" and r.initial_report_clock.local_choice
    assert "第十四条" in r.written_report.source and r.written_report.reporting_unit == "阳泉市生态环境局"
    assert r.final_report_needed("IV") and "第十二条" in r.final_report_required.source
    assert [i.id for i in r.kind("final").contents] == [
        "measures_process_result", "potential_harm_and_losses", "social_impact", "remaining_problems", "accountability"]


# ---------------------------------------------------------------------------- 1: from when the bureau learned


async def test_hidden_for_four_and_a_half_hours_the_bureau_is_still_on_time(client, worker):
    """The enterprise found the leak at 02:00 and hid it; the bureau learned at 06:30 (4.5 h
    later). 一般 (IV): due 06:30 + 4 h = 10:30, not 02:00 + 4 h = 06:00. Reported at 10:20: met."""
    iid = await api.start_incident(client, report(discovered_at=t("02:00"), reported_at=t("06:30")))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert datetime.fromisoformat(d["started_at"]) == t("06:30")
    assert due(st) == t("10:30")
    assert st["discovered_at"] == t("02:00").isoformat()  # the incident's own time is kept
    await act(client, iid, "submit_report", initial(t("10:20")))
    d = deadline(await api.status(client, iid), "initial_report")
    assert d["status"] == "met" and datetime.fromisoformat(d["met_at"]) == t("10:20")


# ---------------------------------------------------------------------------- 2: the level known before the report


async def test_raised_to_two_before_the_report_then_lowered_keeps_two_hours(client, worker):
    """Graded 一般 (IV), learned 08:00: due 12:00. The event 初步认定 II at 08:30 (17号令 第三条 follows
    the event's level, issue 24): due 08:00 + 2 h = 10:00 (same start). Judged III at 08:45: stays
    10:00 (the plan's keeps_shorter choice). Reported 09:50: met."""
    iid = await api.start_incident(client, report(discovered_at=t("07:40"), reported_at=t("08:00")))
    assert due(await api.status(client, iid)) == t("12:00")
    res = await act(client, iid, "determine_event_level", m.DetermineEventLevel(
        by=COMMANDER, at=t("08:30"), backdate_reason=LATE, level="II", reason="初判可能疏散1万人以上"))
    assert "initial report (初报) is now due 2026-11-20T10:00+08:00" in res.message
    st = await api.status(client, iid)
    assert due(st) == t("10:00") and st["initial_report_level"] == "II"
    [changed] = timeline(st, "deadline_changed")
    assert changed["detail"]["from_due_at"] == t("12:00").isoformat()
    assert changed["detail"]["due_at"] == t("10:00").isoformat() and "第三条" in changed["detail"]["source"]

    res = await act(client, iid, "determine_event_level", m.DetermineEventLevel(
        by=COMMANDER, at=t("08:45"), backdate_reason=LATE, level="III", reason="复核为较大"))
    assert "now due" not in res.message
    st = await api.status(client, iid)
    assert due(st) == t("10:00") and len(timeline(st, "deadline_changed")) == 1

    await act(client, iid, "submit_report", initial(t("09:50")))
    d = deadline(await api.status(client, iid), "initial_report")
    assert d["status"] == "met" and datetime.fromisoformat(d["due_at"]) == t("10:00")


async def test_a_deadline_already_met_stays_met_when_the_level_rises(client, worker):
    """IV learned 08:00 (due 12:00), initial report 08:20 (met); raised to I at 09:00: the
    deadline stays met and due 12:00."""
    iid = await api.start_incident(client, report(discovered_at=t("07:50"), reported_at=t("08:00")))
    await act(client, iid, "submit_report", initial(t("08:20")))
    await act(client, iid, "activate_response", m.ActivateResponse(
        by=COMMANDER, at=t("09:00"), backdate_reason=LATE, level="I", reason="初判特别重大"))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert d["status"] == "met" and due(st) == t("12:00") and timeline(st, "deadline_changed") == []


async def test_raised_after_two_hours_have_passed_is_overdue_at_once(client, worker):
    """IV learned 08:00 (due 12:00); the event 初步认定 II at 10:30: due 10:00, already past → overdue."""
    iid = await api.start_incident(client, report(discovered_at=t("07:50"), reported_at=t("08:00")))
    await act(client, iid, "determine_event_level", m.DetermineEventLevel(
        by=COMMANDER, at=t("10:30"), backdate_reason=LATE, level="II", reason="升级"))
    st = await eventually(lambda: api.status(client, iid),
                          lambda s: deadline(s, "initial_report")["status"] == "overdue")
    assert due(st) == t("10:00")


# ---------------------------------------------------------------------------- 3, 4: 第四条 cases and the ministry


async def test_special_circumstance_at_start_is_two_hours_and_reports_go_to_the_ministry(client, worker):
    """IV by 附表1, but heavy metals (第四条(三)): learned 08:00 → due 08:00 + 2 h = 10:00; the
    initial report goes to 市人民政府, 省生态环境厅 and 生态环境部 at once."""
    iid = await api.start_incident(client, report(discovered_at=t("07:00"), reported_at=t("08:00"),
                                                  special_circumstances=["heavy_metal"]))
    st = await api.status(client, iid)
    assert st["graded_level"] == "IV" and due(st) == t("10:00")
    assert [c["id"] for c in st["circumstances"]] == ["heavy_metal"]
    assert st["report_recipients"] == ["市人民政府", "省生态环境厅", "生态环境部"]
    res = await act(client, iid, "submit_report", initial(t("09:40")))
    assert res.message.startswith("初报 recorded and sent to 市人民政府、省生态环境厅、生态环境部")
    rows = await outbox_events(worker, iid, "info_report")
    assert next(r for r in rows if r["event"] == "info_report")["recipients"] == ["市人民政府", "省生态环境厅", "生态环境部"]


async def test_circumstance_recorded_later_shortens_the_open_deadline(client, worker):
    """IV learned 08:00 (due 12:00); at 09:00 the bureau learns the drinking-water source may be
    affected (第四条(一)): due 10:00. A second record of the same case is refused."""
    iid = await api.start_incident(client, report(discovered_at=t("07:30"), reported_at=t("08:00")))
    assert due(await api.status(client, iid)) == t("12:00")
    res = await act(client, iid, "record_circumstances", m.RecordCircumstances(
        by=DUTY, at=t("09:00"), backdate_reason=LATE, circumstances=["drinking_water_source"], note="下游水厂取水口"))
    assert "生态环境部" in res.message and "now due 2026-11-20T10:00+08:00" in res.message
    st = await api.status(client, iid)
    assert due(st) == t("10:00") and st["reporting_level"] == "II"
    with pytest.raises(api.ActionRefused, match="already recorded: drinking_water_source"):
        await act(client, iid, "record_circumstances", m.RecordCircumstances(
            by=DUTY, circumstances=["drinking_water_source"]))
    with pytest.raises(api.ActionRefused, match=r"name at least one circumstance \(17号令 第四条\)"):
        await act(client, iid, "record_circumstances", m.RecordCircumstances(by=DUTY, circumstances=[]))


async def test_level_three_reports_only_to_city_and_province_level_two_to_the_ministry(client, worker):
    """较大 (III, 500万元 loss) → 市人民政府, 省生态环境厅; 重大 (II, 1万人 evacuated) → also 生态环境部."""
    three = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000)))
    two = await api.start_incident(client, report(assessment=Assessment(evacuated=10_000)))
    for iid, want in ((three, ["市人民政府", "省生态环境厅"]), (two, ["市人民政府", "省生态环境厅", "生态环境部"])):
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                               content=ReportContent(summary="初报")))
        rows = await outbox_events(worker, iid, "info_report")
        assert next(r for r in rows if r["event"] == "info_report")["recipients"] == want


async def test_cli_report_with_a_circumstance_and_the_header_flags(client, worker, temporal_address, tmp_path):
    """`ecoplan report --circumstance sensitive_area` on a IV incident learned now: due now + 2 h
    instead of + 4 h; without --signed-by the report is refused in one line and nothing changes."""
    iid = await api.start_incident(client, report())
    st = await api.status(client, iid)
    learned = datetime.fromisoformat(st["reported_at"])
    assert due(st) == learned + timedelta(hours=4)  # 一般 (IV): 4 h after the bureau learned
    f = tmp_path / "progress.json"
    f.write_text(json.dumps({"summary": "下风向有一所小学", "contact_person": "王值班"}, ensure_ascii=False), encoding="utf-8")
    p = await ecoplan_in_process("report", iid, "--kind", "progress", "--file", str(f), "--circumstance", "sensitive_area",
                                 "--contact-phone", "0353-2020000", address=temporal_address)
    assert p.code == 1 and "签发人" in p.err and "--signed-by" in p.err and len(p.err.strip().splitlines()) == 1
    assert (await api.status(client, iid))["circumstances"] == []
    p = await ecoplan_in_process("report", iid, "--kind", "progress", "--file", str(f), "--circumstance", "sensitive_area",
                                 "--signed-by", "李局长", "--contact-phone", "0353-2020000", address=temporal_address)
    assert p.code == 0, p.err
    st = await api.status(client, iid)
    assert [c["id"] for c in st["circumstances"]] == ["sensitive_area"]
    assert due(st) == learned + timedelta(hours=2)  # a 第四条 case: 2 h from the same start
    rep = st["reports"][-1]
    assert (rep["reporting_unit"], rep["signed_by"], rep["contact_person"], rep["contact_phone"]) == \
        ("阳泉市生态环境局", "李局长", "王值班", "0353-2020000")


# ---------------------------------------------------------------------------- 9: the reports


async def test_written_report_names_its_signer_and_shows_what_it_lacks(client, worker):
    iid = await api.start_incident(client, report())
    before = await api.status(client, iid)
    with pytest.raises(api.ActionRefused, match=r"第十四条.*missing: 报告签发人 \(signed_by, --signed-by\), "
                                                r"联系方式 \(contact_phone, --contact-phone\)"):
        await act(client, iid, "submit_report", m.SubmitReport(by=DUTY, kind="initial", contact_person="王值班",
                                                               content=ReportContent(summary="初报")))
    assert (await api.status(client, iid))["reports"] == before["reports"] == []
    res = await act(client, iid, "submit_report", m.SubmitReport(
        **SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报", place="桃河冶西段", basic_process="凌晨储罐泄漏")))
    # 13 items for an initial report (plan: reporting.kinds), two given: 11 marked not given
    assert "not given (17号令 第十三条): 发生时间、信息来源" in res.message and "地点" not in res.message.split("not given")[1]
    files = await archived(worker, iid, "info_report.md")
    text = next(v for k, v in files.items() if k.endswith("info_report.md"))
    assert "报告单位：阳泉市生态环境局　报告签发人：李局长" in text and "联系方式：0353-2020000" in text
    assert "## 基本过程\n凌晨储罐泄漏" in text and "## 监测数据\n（未报告）" in text
    assert text.count("（未报告）") == 11


async def test_close_needs_the_final_report(client, worker):
    iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000)))
    await to_post_event(client, iid)
    # Level III: the investigation is the province's (32号令 第四条), recorded by the bureau.
    for action, inp in (("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕1号")),
                        ("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY)),
                        ("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))):
        await act(client, iid, action, inp)
    with pytest.raises(api.ActionRefused, match=r"cannot close yet: the 处理结果报告 \(final report\) is not submitted "
                                                r"\(17号令 第十二条\)"):
        await act(client, iid, "close", m.Close(by=DUTY))
    assert (await api.status(client, iid))["stage"] == "post_event"
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="final", content=ReportContent(
        summary="处理结果报告", measures_process_result="围堵、转运", accountability="移送执法")))
    res = await act(client, iid, "close", m.Close(by=DUTY))
    assert res.stage == "closed"


@pytest.mark.parametrize("args, words", [
    (("circumstances", "X", "--circumstance", "meteor"), "circumstances.0: Input should be 'drinking_water_source'"),
    (("report", "X", "--kind", "initial", "--file", "@report", "--contact-phone", "abc"),
     "contact_phone: must be a telephone number"),
    (("report", "X", "--kind", "initial", "--file", "@report", "--circumstance", "meteor"), "circumstances.0"),
])
def test_bad_circumstance_or_phone_is_one_line_exit_2(args, words, tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{"summary": "初报"}', encoding="utf-8")
    from tests.procs import ecoplan_in_process_sync

    p = ecoplan_in_process_sync(*[str(f) if a == "@report" else a for a in args], address="127.0.0.1:1")
    assert p.code == 2 and words in p.err and len(p.err.strip().splitlines()) == 1, p.err
