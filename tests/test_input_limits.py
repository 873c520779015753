"""Limits stated and enforced the same everywhere (issue 22 item 8), with the issue's probe
inputs: a 5,000-character title, "<i>城区</i>" as the county, a negative head count. The
console, the API, the CLI and the intake all go through the same models (plan/incident.py,
the actions' inputs) and the same start (ecoplan.api.start_incident, which refuses a county
that is not the plan's); the API and the intake through HTTP are in tests/test_web_api.py and
tests/test_intake.py. Each refusal is one Chinese line naming the field.
"""

from __future__ import annotations

import json

import pydantic
import pytest

from ecoplan import api
from ecoplan.intake.alert import Alert
from ecoplan.web import actions as web_actions
from ecoplan.web.routes.start import report_from
from plan import problems
from plan.incident import MAX_PLACE, MAX_TEXT, MAX_TITLE, IncidentReport
from plan.loader import load_plan
import workflows.messages as m
from tests.helpers import DUTY, report
from tests.procs import ecoplan_in_process, ecoplan_in_process_sync

PROBE_TITLE = "桃" * 5000  # the issue's: a 5,000-character title filled a screen
PROBE_COUNTY = "<i>城区</i>"  # made a new county on the board


def _first(model, data) -> str:
    with pytest.raises(pydantic.ValidationError) as e:
        model.model_validate(data)
    return problems.validation_message(e.value)


def _body(**over) -> dict:
    return {**report().model_dump(mode="json"), **over}


def test_the_limits_are_the_models():
    assert (MAX_TITLE, MAX_PLACE, MAX_TEXT) == (100, 200, 5000)
    assert _first(IncidentReport, _body(title=PROBE_TITLE)) == "事件名称过长：最多 100 字"
    assert IncidentReport.model_validate(_body(title="桃" * 100)).title == "桃" * 100  # at the limit: taken
    assert _first(IncidentReport, _body(location="路" * 201)) == "地点过长：最多 200 字"
    assert _first(IncidentReport, _body(description="述" * 5001)) == "事件概况过长：最多 5,000 字"
    assert _first(IncidentReport, _body(assessment={"deaths": -3})) == "死亡人数不能为负数"
    assert _first(IncidentReport, _body(assessment={"evacuated": -1})) == "疏散转移人数不能为负数"
    assert _first(IncidentReport, _body(assessment={"direct_loss_yuan": -1})) == "直接经济损失（元）不能为负数"
    # an action's long text, and a report's
    assert _first(m.RecordAftercare, {"by": DUTY.model_dump(), "note": "清" * 5001}) == "善后处置情况过长：最多 5,000 字"
    assert _first(m.SubmitReport, {"by": DUTY.model_dump(), "kind": "initial",
                                   "content": {"summary": "概" * 5001}}) == "事件概况过长：最多 5,000 字"
    # the intake's alert: the same title and place limits
    alert = {"alert_id": "A-1", "received_at": "2026-11-10T08:40", "title": PROBE_TITLE}
    assert _first(Alert, alert) == "事件名称过长：最多 100 字"
    assert _first(Alert, {**alert, "title": "泄漏", "location": "路" * 201}) == "地点过长：最多 200 字"


async def test_a_county_not_the_plans_is_refused_before_anything_starts():
    counties = load_plan().plan.counties.names
    assert counties == ["城区", "矿区", "郊区", "平定县", "盂县", "开发区"]
    with pytest.raises(api.ActionRefused) as e:  # refused before the client is used: none is needed
        await api.start_incident(None, report(county=PROBE_COUNTY))
    assert e.value.kind == "invalid"
    assert str(e.value).startswith("县（区）“<i>城区</i>”不是本预案所辖的县（区）：应为城区、矿区、郊区、平定县、盂县、开发区之一")


def test_the_console_form_refuses_the_probes():
    class Account:
        label, username, role = "王值班", "wangwei", "duty_officer"

    form = {**_body(), "assessment": None}
    form = {k: v for k, v in form.items() if isinstance(v, str)}
    for over, said in [({"title": PROBE_TITLE}, "事件名称过长：最多 100 字"), ({"deaths": "-3"}, "死亡人数不能为负数"),
                       ({"deaths": "三"}, "死亡人数应为整数"), ({"direct_loss_yuan": "很多"}, "直接经济损失（元）应为数字")]:
        with pytest.raises(web_actions.Refusal) as e:
            report_from({**form, **over}, Account())
        assert (e.value.status, e.value.detail) == (422, said)


def test_the_cli_refuses_the_probes(tmp_path):
    for over, said in [({"title": PROBE_TITLE}, "事件名称过长：最多 100 字"),
                       ({"assessment": {"deaths": -3}}, "死亡人数不能为负数")]:
        f = tmp_path / "start.json"
        f.write_text(json.dumps(_body(**over), ensure_ascii=False), encoding="utf-8")
        r = ecoplan_in_process_sync("start", str(f))
        assert (r.code, r.err.strip()) == (2, f"ecoplan: {said}")


async def test_the_cli_refuses_a_county_not_the_plans(client, worker, temporal_address, tmp_path):
    f = tmp_path / "start.json"
    f.write_text(json.dumps(_body(county=PROBE_COUNTY), ensure_ascii=False), encoding="utf-8")
    r = await ecoplan_in_process("start", str(f), address=temporal_address)
    assert r.code == 1 and "不是本预案所辖的县（区）" in r.err and r.err.count("\n") == 1, r.err
