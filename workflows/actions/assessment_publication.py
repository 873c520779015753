"""The assessment's conclusion made public (5.3: "突发环境事件污染损害评估内容、完成时限、信息公开
等工作，按…相关规定执行"; issue 24, finding 6). The bureau records where and when, once, after the
report is submitted. Close does not wait for it and no clock runs: the repealed 环发〔2013〕85号 gave
the publication, its replacement's text could not be verified (a local choice, in the plan's
rule_bases)."""

from __future__ import annotations

import workflows.messages as m
from workflows.actions.form import FormField as F
from workflows.actions.offers import assessment_unpublished
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.timeline import short


def check(s, inp: m.PublishAssessment, at, now) -> Checked:
    submitted = s.events.get("assessment_report_submitted")
    if submitted is None:
        raise Refused("损害评估报告尚未报送，评估结论公开在报送之后登记（5.3）", "invalid")
    if s.assessment_published:
        p = s.assessment_published
        raise Refused(f"评估结论已于{p['at'][:16].replace('T', ' ')}公开（{p['where']}）", "conflict")
    if at < submitted:
        raise Refused("评估结论的公开时间不能早于评估报告报送的时间（5.3）", "invalid")
    return Checked(at)


def apply(rec, inp: m.PublishAssessment, got: Checked, _prepared) -> str:
    s = rec.s
    s.assessment_published = {"where": short(inp.where), "at": got.at.isoformat(), "by": inp.by.model_dump()}
    rec.transition("publish_assessment", got.at, inp, {"where": short(inp.where), "note": short(inp.note)})
    return f"已登记损害评估结论公开：{short(inp.where)}（5.3 信息公开）"


ACTIONS = [
    ActionSpec(
        name="publish_assessment", input=m.PublishAssessment, title="登记评估结论公开", source="5.3 信息公开",
        moves=({"trigger": "publish_assessment", "source": "post_event", "dest": None},),
        check=check, apply=apply, offers=assessment_unpublished,
        form=lambda plan, st, u: [F("where", "公开方式（网站、公告及网址）", required=True), F("note", "说明", "textarea")],
        cli="publish-assessment", cli_help="登记损害评估结论公开的方式和时间（5.3 信息公开）。",
        cli_options=(O("--where", "where", required=True, help="公开的渠道（网站及网址）"),
                     O("--note", "note", default="", help="说明"))),
]
