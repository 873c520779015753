"""Inter-agency linkage (4.2.3; 郑环办〔2013〕84号 协议 二.3/二.5/二.6) on a real dev server."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ecoplan import api
from activities.settings import ActivitySettings
from plan.incident import ReportContent
from tests.drive import act, to_on_site, to_post_event
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, SIGNED, advancing, eventually, report, settled
from workflows import messages as m

PARTNERS = ["市消防救援支队（119指挥平台）", "市应急局", "市公安局", "市交通局", "市水务局", "市气象局"]
FIELDS = ["time", "place", "preliminary_cause", "casualties", "fire_forces", "fire_water_used",
          "impact_and_hidden_dangers", "monitoring_data", "affected_area", "trend"]


def notes(settings: ActivitySettings, iid: str, event: str) -> list[dict]:
    if not settings.outbox_path.exists():
        return []
    rows = [json.loads(l) for l in settings.outbox_path.read_text(encoding="utf-8").splitlines()]
    return [n for n in rows if n["incident_id"] == iid and n["event"] == event]


async def test_bulletins_on_activation_and_each_progress_report(client, worker):
    iid = await api.start_incident(client, report(source="linkage_119"))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(
        summary="初报", cause_and_nature="储罐阀门破裂", casualties="无人员伤亡")))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="progress", content=ReportContent(
        summary="续报", fire_forces="消防车6辆、指战员32名", fire_water_used="约300吨", monitoring_data="COD 85 mg/L",
        affected_area="桃河下游3公里", trend="浓度下降", hidden_dangers="围堰渗漏")))
    bulletins = await eventually(lambda: asyncio.sleep(0, notes(worker, iid, "linkage_bulletin")),
                                 lambda ns: len(ns) == 2)
    first, second = sorted(bulletins, key=lambda n: n["detail"]["no"])
    assert first["detail"]["trigger"] == "response_activated" and second["detail"]["trigger"] == "progress_report"
    for b in (first, second):
        assert b["recipients"] == PARTNERS
        assert list(b["detail"]["fields"]) == FIELDS
    f1, f2 = first["detail"]["fields"], second["detail"]["fields"]
    assert f1["fire_forces"]["value"] == "待核实" and f1["place"]["value"] == "平定县桃河冶西段"
    assert f2["preliminary_cause"]["value"] == "储罐阀门破裂" and f2["casualties"]["value"] == "无人员伤亡"
    assert f2["fire_forces"]["value"] == "消防车6辆、指战员32名" and f2["fire_water_used"]["value"] == "约300吨"
    assert f2["impact_and_hidden_dangers"]["value"] == "围堰渗漏" and f2["trend"]["value"] == "浓度下降"
    assert f2["fire_water_used"]["label"] == "消防水使用量"
    st = await api.status(client, iid)
    assert [e["detail"]["no"] for e in st["timeline"] if e["action"] == "linkage_bulletin"] == [1, 2]
    # an initial or final report is not a bulletin trigger; a progress report is
    assert st["linkage"]["bulletins"] == 2


async def test_cross_boundary_notifications(client, worker):
    r = report(assessment={"cross_boundary": "city"})
    iid = await api.start_incident(client, r)
    await eventually(lambda: asyncio.sleep(0, notes(worker, iid, "cross_boundary")), lambda ns: len(ns) == 1)
    assert notes(worker, iid, "cross_boundary")[0]["recipients"] == ["相邻区域人民政府", "相邻区域生态环境部门"]
    before = await api.status(client, iid)
    with pytest.raises(api.ActionRefused, match="只能登记更大的范围"):
        await act(client, iid, "record_cross_boundary", m.RecordCrossBoundary(by=DUTY, scope="city"))
    assert settled(await api.status(client, iid)) == settled(before)
    await act(client, iid, "record_cross_boundary",
              m.RecordCrossBoundary(by=DUTY, scope="province", neighbours=["晋中市人民政府", "河北省石家庄市人民政府"]))
    prov = await eventually(lambda: asyncio.sleep(0, notes(worker, iid, "cross_province_report")), lambda ns: len(ns) == 1)
    assert prov[0]["recipients"] == ["省人民政府", "省生态环境厅"]
    assert "建议" in prov[0]["detail"]["recommendation"]
    cb = await eventually(lambda: asyncio.sleep(0, notes(worker, iid, "cross_boundary")), lambda ns: len(ns) == 2)
    assert sorted(cb, key=lambda n: n["key"])[-1]["recipients"] == ["晋中市人民政府", "河北省石家庄市人民政府"]
    assert (await api.status(client, iid))["linkage"]["cross_boundary"] == "province"


async def test_support_request_answer_and_joint_investigation(client, worker):
    iid = await api.start_incident(client, report(source="hotline_12369"))
    await to_on_site(client, iid)
    with pytest.raises(api.ActionRefused, match="没有联动单位"):
        await act(client, iid, "request_support", m.RequestSupport(by=DUTY, partner="army", request="支援"))
    await act(client, iid, "request_support", m.RequestSupport(by=DUTY, partner="fire_brigade",
                                                               request="商请调派危化品处置专家2名"))
    await act(client, iid, "answer_support", m.SupportAnswer(by=DUTY, request_no=1, answer="accepted", note="已派出"))
    with pytest.raises(api.ActionRefused, match="已登记过答复"):
        await act(client, iid, "answer_support", m.SupportAnswer(by=DUTY, request_no=1, answer="declined"))
    with pytest.raises(api.ActionRefused, match="没有第2号商请"):
        await act(client, iid, "answer_support", m.SupportAnswer(by=DUTY, request_no=2, answer="accepted"))
    st = await api.status(client, iid)
    req = st["linkage"]["support_requests"][0]
    assert req["partner_name"].startswith("市消防救援支队") and req["answer"]["answer"] == "accepted"
    assert [e["action"] for e in st["timeline"]][-2:] == ["request_support", "answer_support"]
    assert st["linkage"]["fire_engaged"] is True  # the fire brigade's teams are now engaged
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    from tests.drive import sign_all
    from tests.helpers import COMMANDER

    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    await act(client, iid, "record_joint_investigation",
              m.RecordJointInvestigation(by=DUTY, members=["市生态环境局执法队 张", "市消防救援支队 李"]))
    await act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    st = await api.status(client, iid)
    sub = [e for e in st["timeline"] if e["action"] == "submit_assessment_report"][0]
    assert sub["detail"]["joint_investigation"]["members"] == ["市生态环境局执法队 张", "市消防救援支队 李"]


async def test_joint_investigation_from_activation_on(client, worker):
    """协议 二.5: the joint investigation group is formed 及时 — from activation on, not only
    after termination."""
    iid = await api.start_incident(client, report(source="linkage_119"))
    with pytest.raises(api.ActionRefused, match="只能在应急响应、现场处置、终止签报、后期处置阶段办理"):
        await act(client, iid, "record_joint_investigation", m.RecordJointInvestigation(by=DUTY, members=["某"]))
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    res = await act(client, iid, "record_joint_investigation",
                    m.RecordJointInvestigation(by=DUTY, members=["市生态环境局执法队 张", "市消防救援支队 李"]))
    assert res.stage == "responding"
    st = await api.status(client, iid)
    assert st["linkage"]["joint_investigation"]["members"] == ["市生态环境局执法队 张", "市消防救援支队 李"]
    with pytest.raises(api.ActionRefused, match="联合调查组已登记"):
        await act(client, iid, "record_joint_investigation", m.RecordJointInvestigation(by=DUTY, members=["某"]))


async def test_joint_investigation_refused_without_fire_brigade(client, worker):
    iid = await api.start_incident(client, report(source="inspection"))
    await to_post_event(client, iid)
    before = await api.status(client, iid)
    with pytest.raises(api.ActionRefused, match="消防救援队伍未参与"):
        await act(client, iid, "record_joint_investigation", m.RecordJointInvestigation(by=DUTY, members=["某"]))
    assert settled(await api.status(client, iid)) == settled(before)


class FlakyPartner:
    """A partner's channel: refuses (HTTP 503) while `down`, then takes each key."""

    def __init__(self):
        self.down = True
        self.calls = 0
        self.keys: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls += 1
                if outer.down:
                    self.send_response(503)
                else:
                    outer.keys.append(self.headers["Idempotency-Key"])
                    json.loads(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.slow
async def test_failing_partner_channel_never_blocks_and_recovers(skipping_env, tmp_path):
    """On a time-skipping server (conftest `skipping_env`): the retries' backoff is the
    incident's own timer, moved on in virtual time; every try is a real call to the partner."""
    from worker import build_worker

    env = skipping_env
    client = env.client
    partner = FlakyPartner()
    queue = f"webhook-{uuid.uuid4().hex[:6]}"
    settings = ActivitySettings(archive_dir=tmp_path / "a", outbox_path=tmp_path / "o.jsonl", webhook_url=partner.url)
    try:
        async with build_worker(client, settings, task_queue=queue):
            with env.with_time_skipping_disabled():
                iid = await api.start_incident(client, report(), task_queue=queue)
            handle = client.get_workflow_handle(api.workflow_id(iid))
            # the incident goes on while every notification fails
            await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
            await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                                   content=ReportContent(summary="初报")))
            st = await advancing(env, handle, lambda: api.status(client, iid),
                                 lambda s: any(e["action"] == "delivery_overdue" for e in s["timeline"]), timeout=60)
            assert st["stage"] == "responding" and st["deliveries_overdue"]
            assert partner.keys == [] and partner.calls >= 4
            partner.down = False
            st = await advancing(env, handle, lambda: api.status(client, iid),
                                 lambda s: not s["deliveries_overdue"] and s["notices"] == len(set(partner.keys)),
                                 timeout=90)
            assert len(partner.keys) == len(set(partner.keys)) == st["notices"]  # each delivered once
            overdue = [e for e in st["timeline"] if e["action"] == "delivery_overdue"]
            late = [e for e in st["timeline"] if e["action"] == "delivered_late"]
            assert len(late) == len(overdue) >= 1
    finally:
        partner.server.shutdown()
