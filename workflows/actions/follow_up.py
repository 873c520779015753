"""Follow-up monitoring after the response ends (4.4 应急状态终止后，市应急指挥部会同专家组视事件
后续发展情况，决定是否继续跟踪监测等后续工作): the decision is recorded as its own act once the
response has ended (issue 24, finding 7), whoever ended it (the bureau's 附件2 or the county's
end at IV); an incident recorded before kept it with the approval (approve_termination)."""

from __future__ import annotations

import workflows.messages as m
from workflows.actions.form import FormField as F
from workflows.actions.offers import follow_up_due
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.actions.termination import check_follow_up
from workflows.errors import Refused
from workflows.timeline import short


def recorded(s) -> dict | None:
    """The follow-up decision, wherever it was recorded."""
    return s.follow_up or (s.termination or {}).get("follow_up")


def check_decide(s, inp: m.DecideFollowUp, at, now) -> Checked:
    if "response_terminated" not in s.events:
        raise Refused("应急响应尚未终止：跟踪监测由市应急指挥部会同专家组在应急状态终止后决定（4.4）", "invalid")
    done = recorded(s)
    if done is not None:
        what = "继续跟踪监测" if done["continue_monitoring"] else "不继续跟踪监测"
        raise Refused(f"跟踪监测的决定已登记：{done['decided_by']}决定{what}（4.4）", "conflict")
    if at < s.events["response_terminated"]:
        raise Refused("跟踪监测的决定在应急状态终止之后（4.4），不能早于响应终止的时间", "invalid")
    check_follow_up(s, inp, at)
    return Checked(at)


def apply_decide(rec, inp: m.DecideFollowUp, got: Checked, _prepared) -> str:
    s, f = rec.s, inp.follow_up
    s.follow_up = f.model_dump(mode="json")
    rec.transition("decide_follow_up", got.at, inp, {"follow_up": s.follow_up, "note": short(f.note)})
    what = f"继续跟踪监测至{f.until.isoformat()}" if f.continue_monitoring else "不继续跟踪监测"
    rec.notify("follow_up_decided", f"跟踪监测决定：{what}：{s.report.title}",
               [s.plan.groups.get("monitoring", "应急监测组")], {"follow_up": s.follow_up})
    return f"已登记：{f.decided_by}决定{what}（4.4）"


def _form(plan, st, username) -> list[F]:
    who = plan.termination.follow_up_decided_by or "市应急指挥部会同专家组"
    return [F("follow_up.continue_monitoring", "是否继续跟踪监测（4.4）", "select", True,
              (("", "请选择"), ("false", "不继续跟踪监测"), ("true", "继续跟踪监测"))),
            F("follow_up.decided_by", f"决定单位（4.4，{who}）", required=True),
            F("follow_up.until", "继续跟踪监测至（日期）", "date"),
            F("follow_up.note", "说明", "textarea")]


ACTIONS = [
    ActionSpec(
        name="decide_follow_up", input=m.DecideFollowUp, title="登记跟踪监测决定", source="4.4",
        moves=({"trigger": "decide_follow_up", "source": "post_event", "dest": None},),
        check=check_decide, apply=apply_decide, form=_form, offers=follow_up_due,
        cli="follow-up", cli_help="登记应急状态终止后是否继续跟踪监测的决定（4.4）。",
        cli_options=(O("--follow-up", "follow_up.continue_monitoring", "choice", value=("continue", "stop"),
                       required=True, help="继续（continue）或停止（stop）跟踪监测"),
                     O("--follow-up-by", "follow_up.decided_by", help="作出决定的单位（4.4：市应急指挥部会同专家组）"),
                     O("--follow-up-until", "follow_up.until", "date", help="跟踪监测持续到哪一天（年-月-日）"),
                     O("--note", "follow_up.note", help="说明"))),
]
