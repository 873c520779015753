"""Every plan field is honoured or gone (issue 13 item 10): `starts_on` starts the clock,
`city_decides_when_city_started` decides who ends a city-started response, `timezone` and
`extendable_by` are refused with a sentence; each legal basis carries its standing and
`plan check` lists the repealed ones and the local choices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecoplan import api
from plan.check import check_plan
from plan.loader import load_plan
from tests.drive import act, deadline, parse, sign_all, to_termination_pending
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, now, report
from tests.test_plan import plan_error, variant
from workflows import messages as m


# ---------------------------------------------------------------- fields refused with a reason


def test_timezone_is_not_a_plan_setting(tmp_path):
    msg = plan_error(variant(tmp_path, "issued_on: 2022-03-17\n", "issued_on: 2022-03-17\ntimezone: Europe/Berlin\n"))
    assert msg.startswith("预案文件 variant.yaml：timezone：不是预案的设置项：") and "Asia/Shanghai" in msg


def test_extendable_by_is_refused(tmp_path):
    msg = plan_error(variant(tmp_path, "    duration: {working_days: 30}\n",
                             "    duration: {working_days: 30}\n    extendable_by: {working_days: 30}\n"))
    assert msg.startswith("预案文件 variant.yaml：deadlines.assessment_completion.extendable_by：不支持 extendable_by")


def test_a_basis_says_where_it_stands(tmp_path):
    msg = plan_error(variant(tmp_path, "repealed_in: 2020,", ""))
    assert ("deadlines.assessment_completion.basis.0.repealed_in：已废止（status: repealed）的依据须写明废止年份，"
            "如 repealed_in: 2020") in msg
    msg = plan_error(variant(tmp_path, "{status: local_choice, note: \"预案未规定：供督查识别停滞事件的标记\"}",
                             "{status: local_choice}"))
    assert "stage_expectations.reported.basis.0.note：本地选择（status: local_choice）须在 note 中写明理由" in msg


# ---------------------------------------------------------------- plan check


def test_plan_check_lists_repealed_bases_and_local_choices():
    _, problems = check_plan()
    repealed = [p for p in problems if p.severity == "warning" and "废止" in p.message]
    assert [(p.where, "环发〔2013〕85号" in p.message, "已于2020年废止" in p.message) for p in repealed] == [
        ("deadlines.assessment_completion", True, True), ("rule_bases.assessment", True, True),
        ("rule_bases.plan_management", False, False)]  # 1.2's 国办发〔2013〕101号, repealed in 2024 (issue 24)
    assert "国办发〔2024〕5号" in repealed[2].message
    infos = [(p.where, p.message) for p in problems if p.severity == "info"]
    assert ("deadlines.investigation", next(msg for w, msg in infos if "（60 天）" in msg)) in infos
    assert [msg for w, msg in infos if w == "linkage"][0].startswith("参照采用 郑环办〔2013〕84号")
    assert len([w for w, _ in infos if w.startswith("stage_expectations.")]) == 6
    assert not [p for p in problems if "未标明" in p.message]


def test_plan_check_finds_an_unmarked_local_choice(tmp_path):
    path = variant(tmp_path, "source: \"ecoplan default (not in the plan)\", basis: [{status: local_choice, note: "
                             "\"预案未规定：供督查识别停滞事件的标记\"}]}",
                   "source: \"ecoplan default (not in the plan)\"}")
    _, problems = check_plan(path)
    unmarked = [p for p in problems if "未标明的本地选择" in p.message]
    assert [(p.severity, p.where) for p in unmarked] == [("warning", "stage_expectations.warning")]


# ---------------------------------------------------------------- honoured by the workflow


async def test_starts_on_starts_the_clock(client, worker, tmp_path):
    # A plan whose investigation clock starts at activation, not at termination.
    old = "  - name: investigation\n    title: 突发环境事件调查\n    starts_on: response_terminated\n"
    path = variant(tmp_path, old, old.replace("response_terminated", "response_activated"))
    assert load_plan(path).plan.deadline("investigation").starts_on == "response_activated"
    iid = await api.start_incident(client, report(plan=str(path)))
    activated = now().replace(microsecond=0) - timedelta(minutes=5)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=activated))
    d = deadline(await api.status(client, iid), "investigation")
    assert d is not None and d["status"] == "pending"
    # 60 calendar days from the activation (plan: {days: 60})
    assert parse(d["due_at"]) == activated + timedelta(days=60)
    # the shipped plan: no investigation clock before termination
    iid = await api.start_incident(client, report())
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    assert deadline(await api.status(client, iid), "investigation") is None


@pytest.mark.parametrize("decides", [True, False])
async def test_city_decides_when_city_started_is_honoured(client, worker, tmp_path, decides):
    path = variant(tmp_path, "city_decides_when_city_started: true",
                   f"city_decides_when_city_started: {'true' if decides else 'false'}")
    iid = await api.start_incident(client, report(plan=str(path)))
    await to_termination_pending(client, iid, city_started=True)
    await sign_all(client, iid)
    if decides:
        with pytest.raises(api.ActionRefused, match="响应终止由市指挥部决定"):
            await api.act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
        return
    res = await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    assert res.stage == "post_event"
