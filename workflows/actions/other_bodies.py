"""Acts of other bodies the bureau records, by the plan's per-level duties (plan duties): the
end of a response another body led (the county at IV, 4.1.1), and a post-event step that is
another body's act at the level (the province's or ministry's investigation, 32号令 第四条;
an assessment or aftercare the bureau assisted): who, when, and its document."""

from __future__ import annotations

from plan.citation import cite
from plan.duties import STEP_NAMES
import workflows.duties as duties
import workflows.messages as m
import workflows.actions.offers as offers
from workflows.actions.form import FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.actions.termination import starts_post_event
from workflows.errors import Refused
from workflows.lifecycle import RESPONSE
from workflows.timeline import short

OWN = {"investigation": "“完成事件调查”", "assessment": "“登记损害评估报告通过评审”和“报送损害评估报告”",
       "aftercare": "“登记善后处置”"}


# ------------------------------------------------------------------ record_other_termination (plan duties, 4.1.1)

def check_termination(s, inp: m.RecordOtherTermination, at, now) -> Checked:
    d = duties.duty(s, "termination")
    if d.mode != "records":
        raise Refused(f"{duties.describe(s, 'termination')}：请提出终止建议，经各组组长签署（附件2）")
    return Checked(at, (inp.body or d.body).strip())


def apply_termination(rec, inp: m.RecordOtherTermination, got: Checked, prepared: dict) -> str:
    """The body that led the response (the county at IV) ended it: post-event begins."""
    s, at, body = rec.s, got.at, got.value
    act = {"body": body, "at": at.isoformat(), "document": short(inp.document), "by": inp.by.model_dump(),
           "source": duties.duty(s, "termination").source}
    s.other_acts["termination"] = act
    entry = rec.transition("record_other_termination", at, inp,
                           {"body": body, "document": act["document"], "note": short(inp.note)})
    rec.event("response_terminated", at, entry)
    if "stuck_after" in prepared:
        s.stuck_after, s.stuck_key = prepared["stuck_after"], s.stage_entries
    rec.notify("response_terminated", f"应急响应终止（{body}）：{s.report.title}",
               s.plan.report_recipients + [s.plan.groups.get(g, g) for g in s.leads],
               {"body": body, "document": inp.document})
    notes = rec.start_deadlines(starts_post_event(s, inp, got), prepared)
    return f"已登记：{body}终止应急响应（{act['document']}），进入后期处置（5.x）{notes}"


# ------------------------------------------------------------------ record_other_act (plan duties)

def check_act(s, inp: m.RecordOtherAct, at, now) -> Checked:
    if not duties.is_others(s, inp.step):
        raise Refused(f"{duties.describe(s, inp.step)}：请用{OWN[inp.step]}登记")
    d = duties.duty(s, inp.step)
    done = s.other_acts.get(inp.step)
    if done:
        raise Refused(f"{STEP_NAMES[inp.step]}已登记为{done['body']}的办理（{done['document']}，{done['at'][:16].replace('T', ' ')}）")
    return Checked(at, (inp.body or d.body).strip())


def apply_act(rec, inp: m.RecordOtherAct, got: Checked, _prepared) -> str:
    """A post-event step that is another body's act at the level, recorded."""
    s, at, body = rec.s, got.at, got.value
    d = duties.duty(s, inp.step)
    s.other_acts[inp.step] = {"body": body, "at": at.isoformat(), "document": short(inp.document),
                              "by": inp.by.model_dump(), "mode": d.mode, "source": d.source}
    entry = rec.transition("record_other_act", at, inp, {"step": inp.step, "body": body, "mode": d.mode,
                                                         "document": short(inp.document), "note": short(inp.note)})
    if inp.step == "investigation":  # the investigation's clock (5.2) stops whoever investigated
        rec.event("investigation_completed", at, entry)
    return f"已登记：{body}办理{STEP_NAMES[inp.step]}（{short(inp.document)}；{cite(d.source)}）"


DOCUMENT = O("--document", "document", required=True, help="该单位的文件（文号或标题）")

ACTIONS = [
    ActionSpec(
        name="record_other_termination", input=m.RecordOtherTermination, title="登记牵头单位终止响应", source="4.1.1、预案分级职责",
        # A response another body led (the county at IV, 4.1.1) ends by its act, recorded.
        moves=({"trigger": "record_other_termination", "source": RESPONSE, "dest": "post_event",
                "conditions": ["termination_is_others"]},),
        guards={"termination_is_others": lambda s: duties.duty(s, "termination").mode == "records"},
        check=check_termination, apply=apply_termination, starts=starts_post_event,
        offers=offers.others_termination,
        form=lambda plan, st, u: [F("body", "终止响应的单位（默认按预案）"),
                                  F("document", "终止文件（文号或标题）", required=True), F("note", "说明", "textarea")],
        cli="record-termination",
        cli_help="登记牵头单位终止响应（IV级由县（区）政府牵头，4.1.1）。",
        cli_options=(DOCUMENT, O("--body", "body", help="终止响应的单位（默认：预案规定的单位）"),
                     O("--note", "note", default="", help="说明"))),
    ActionSpec(
        name="record_other_act", input=m.RecordOtherAct, title="登记其他单位办理的后期事项", source="预案分级职责；32号令 第四条",
        moves=({"trigger": "record_other_act", "source": "post_event", "dest": None},),
        check=check_act, apply=apply_act, offers=offers.other_acts,
        form=lambda plan, st, u: [
            F("step", "事项", "select", True, (("investigation", "事件调查（5.2）"), ("assessment", "损害评估（5.3）"),
                                              ("aftercare", "善后处置（5.1）"))),
            F("body", "办理单位（默认按预案）"), F("document", "文件（文号或标题）", required=True), F("note", "说明", "textarea")],
        cli="record-other",
        cli_help="登记由其他单位办理的后期事项（32号令 第四条）。",
        cli_options=(O("--step", "step", required=True, help="事项：事件调查（investigation）、损害评估（assessment）或善后处置（aftercare）"), DOCUMENT,
                     O("--body", "body", help="办理单位（默认：预案规定的单位）"), O("--note", "note", default="", help="说明"))),
]
