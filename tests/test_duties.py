"""Per-level duties (plan 1.5, 4.1, 4.4, 5.x; 32号令 第四条): which steps the bureau performs,
which it records as another body's act and which it only assists, read by the workflow from
its pinned plan snapshot, against a real Temporal dev server and worker."""

from __future__ import annotations

from datetime import timedelta

from ecoplan import api
from ecoplan.cli.views import status_text
from plan import duties as plan_duties
from plan.grading import Assessment
from plan.incident import ReportContent
from plan.loader import load_plan
from tests.drive import act, timeline, to_post_event
from tests.helpers import COMMANDER, DUTY, SIGNED, now, report, with_reason
from tests.test_lifecycle import refused
from workflows import messages as m

III = Assessment(direct_loss_yuan=5_000_000)  # 附表1 较大 3: 500万元以上


def test_shipped_plan_duties_per_level():
    t = plan_duties.table(load_plan(None).plan.duties)
    modes = {lv: {step: (t[lv][step].mode, t[lv][step].body) for step in ("dispatch", "termination", "investigation",
                                                                         "assessment")} for lv in t}
    assert modes["IV"] == {"dispatch": ("optional", "市生态环境局"),
                           "termination": ("records", "事发地县（区）级人民政府"),
                           "investigation": ("optional", "市生态环境局"),
                           "assessment": ("assists", "事发地县（区）生态环境分局")}
    assert modes["III"]["investigation"] == ("records", "省生态环境厅")
    assert modes["III"]["assessment"] == ("performs", "市生态环境局")
    for lv in ("I", "II"):
        assert modes[lv]["investigation"] == ("records", "生态环境部")
        assert modes[lv]["assessment"][0] == "assists"
        assert modes[lv]["dispatch"][0] == modes[lv]["termination"][0] == "performs"
    # every duty names its source; the investigation cites 32号令 第四条 at every level
    assert all(d.source.strip() for lv in t.values() for d in lv.values())
    assert all("32号令 第四条" in t[lv]["investigation"].source for lv in t)
    # the final report (处理结果报告): the bureau's at every level of the shipped plan
    assert [plan_duties.final_report_required(t, lv) for lv in ("I", "II", "III", "IV")] == [True] * 4
    # a plan without duties: every step the bureau's own, as before
    assert plan_duties.duty({}, "IV", "termination").mode == "performs"
    assert plan_duties.final_report_required({}, "IV")


async def test_level_iv_led_by_the_county_closes_without_dispatch_or_signoff(client, worker):
    t0 = now().replace(microsecond=0)
    iid = await api.start_incident(client, report(discovered_at=t0 - timedelta(minutes=50),
                                                  reported_at=t0 - timedelta(minutes=40)))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=t0 - timedelta(minutes=30)))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="县政府负责处置")))
    st = await api.status(client, iid)
    assert (st["stage"], st["level"]) == ("responding", "IV")
    ended = t0 - timedelta(minutes=10)
    res = await act(client, iid, "record_other_termination", m.RecordOtherTermination(
        by=DUTY, at=ended, document="平政发〔2026〕8号 终止应急响应的通知"))
    assert res.stage == "post_event" and "已登记：事发地县（区）级人民政府终止应急响应" in res.message
    st = await api.status(client, iid)
    other = st["other_acts"]["termination"]
    assert other["body"] == "事发地县（区）级人民政府" and other["document"].startswith("平政发〔2026〕8号")
    assert other["at"] == ended.isoformat()
    duties = {d["step"]: d for d in st["duties"]}
    assert duties["termination"]["recorded_as_other"]["body"] == "事发地县（区）级人民政府"
    assert duties["dispatch"]["mode"] == "optional" and not duties["dispatch"]["done"]
    assert not duties["investigation"]["needed_to_close"] and not duties["assessment"]["needed_to_close"]
    text = status_text(st)
    assert "IV级事件各事项的办理" in text and "事发地县（区）级人民政府办理，本局登记：已登记" in text
    # the county's assessment (5.3 指导) may be recorded; the investigation is the city's 视情况, not needed
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="assessment", body="平定县生态环境分局",
                                                                document="平定县损害评估报告"))
    await refused(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="x"),
                  "IV级事件由本局视情况办理", "“完成事件调查”")
    # The 处理结果报告 is the bureau's at every level (17号令; plan duties final_report).
    await refused(client, iid, "close", m.Close(by=DUTY), "处理结果报告")
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="final",
                                                           content=ReportContent(summary="县政府处置完毕")))
    res = await act(client, iid, "close", m.Close(by=DUTY, note="县政府处置完毕"))
    assert res.stage == "closed"
    st = await api.status(client, iid)
    actions = [e["action"] for e in st["timeline"] if e["by"] is not None]
    assert "dispatch" not in actions and "sign_off" not in actions and "approve_termination" not in actions
    assert timeline(st, "record_other_termination")[0]["to_stage"] == "post_event"


async def test_level_iii_the_bureau_terminates_and_records_the_province_investigation(client, worker):
    iid = await api.start_incident(client, report(assessment=III))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await refused(client, iid, "record_other_termination", m.RecordOtherTermination(by=DUTY, document="某通知"),
                  "响应终止（4.4, 附件2）：III级事件由本局办理", "请提出终止建议")
    iid = await api.start_incident(client, report(assessment=III, discovered_at=now() - timedelta(hours=5),
                                                  reported_at=now() - timedelta(hours=4)))
    await to_post_event(client, iid)
    st = await api.status(client, iid)
    duties = {d["step"]: d for d in st["duties"]}
    assert duties["investigation"]["needed_to_close"] and duties["investigation"]["body"] == "省生态环境厅"
    assert duties["assessment"]["needed_to_close"] and duties["assessment"]["mode"] == "performs"
    assert duties["termination"]["done"] and duties["termination"]["recorded_as_other"] is None
    await refused(client, iid, "close", m.Close(by=DUTY), "III级事件由省生态环境厅办理", "32号令 第四条",
                  "尚未登记")
    # the province's investigation ended 2 h ago (backdated: the reason is required and kept)
    when = now().replace(microsecond=0) - timedelta(hours=2)
    await act(client, iid, "record_other_act", with_reason(m.RecordOtherAct(
        by=DUTY, at=when, step="investigation", document="晋环调查〔2026〕3号")))
    st = await api.status(client, iid)
    assert st["other_acts"]["investigation"]["body"] == "省生态环境厅"
    assert st["other_acts"]["investigation"]["at"] == when.isoformat()
    assert "已登记：省生态环境厅，晋环调查〔2026〕3号" in status_text(st)
    msg = await refused(client, iid, "close", m.Close(by=DUTY), "损害评估报告尚未报送")
    assert "省生态环境厅" not in msg
