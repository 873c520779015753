"""Who investigates, when the upper department says otherwise (32号令 第四条): "上级环境保护主管部门
可以视情况委托下级环境保护主管部门开展突发环境事件调查处理，也可以对由下级环境保护主管部门负责的突发
环境事件直接组织调查处理，并及时通知下级环境保护主管部门" (第二款); "下级环境保护主管部门对其负责的
突发环境事件，认为需要由上一级环境保护主管部门调查处理的，可以报请上一级环境保护主管部门决定" (第三款).

The bureau records each as its own act (issue 24, finding 5):
- delegated (委托): the investigation the province or ministry was to organise (I–III) becomes
  the bureau's own; close then waits for complete_investigation. No clock starts: the delegating
  department sets the time (a local choice, in the plan's rule_bases).
- taken_over (直接组织): the investigation that was the bureau's (IV) becomes the upper
  department's, recorded with record_other_act; the bureau's own clock ends at the hand-over
  (met by this entry: a local choice, in the plan's rule_bases).
- referred (报请): the bureau asks the upper department to decide; nothing moves until a
  delegated or taken_over decision is recorded.
"""

from __future__ import annotations

import workflows.deadlines as deadlines
import workflows.duties as duties
import workflows.messages as m
from workflows.actions.form import FormField as F
from workflows.actions.offers import investigation_transfers
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.lifecycle import RESPONSE
from workflows.timeline import short

KIND_NAMES = {"delegated": "上级委托本局调查处理", "taken_over": "上级直接组织调查处理",
              "referred": "本局报请上一级决定"}
ARTICLE = {"delegated": "32号令 第四条第二款", "taken_over": "32号令 第四条第二款", "referred": "32号令 第四条第三款"}
# The upper department of a city bureau (32号令 第四条: the province, or the ministry at I–II).
UPPER = {"I": "生态环境部", "II": "生态环境部", "III": "省生态环境厅", "IV": "省生态环境厅"}


def _upper(s, inp: m.RecordInvestigationTransfer) -> str:
    if inp.body and inp.body.strip():
        return inp.body.strip()
    d = duties.duty(s, "investigation")
    if d.mode in ("records", "assists"):  # the plan names who organises it at this level
        return d.body
    return UPPER[duties.level_of(s, "investigation").value]


def check(s, inp: m.RecordInvestigationTransfer, at, now) -> Checked:
    if duties.step_done(s, "investigation"):
        raise Refused("事件调查已办结或已登记，不能再委托、提级或报请（32号令 第四条）", "conflict")
    moved = s.investigation_transfer
    if moved and moved["kind"] != "referred":
        raise Refused(f"已登记{KIND_NAMES[moved['kind']]}：{moved['body']}（{moved['document']}），"
                      f"{moved['at'][:16].replace('T', ' ')}", "conflict")
    mode = duties.duty(s, "investigation").mode
    own = mode in ("performs", "optional")
    level = duties.level_of(s, "investigation").value
    if inp.kind == "delegated" and own:
        raise Refused(f"事件等级 {level} 级的调查本由本局组织，无需委托（32号令 第四条第一款）", "invalid")
    if inp.kind in ("taken_over", "referred") and not own:
        raise Refused(f"事件等级 {level} 级的调查由{duties.duty(s, 'investigation').body}组织，"
                      "不是本局负责的调查，不能提级或报请（32号令 第四条第二、三款）", "invalid")
    return Checked(at, _upper(s, inp))


def apply(rec, inp: m.RecordInvestigationTransfer, got: Checked, _prepared) -> str:
    s, at, body = rec.s, got.at, got.value
    s.investigation_transfer = {"kind": inp.kind, "body": body, "at": at.isoformat(),
                                "document": short(inp.document), "by": inp.by.model_dump(),
                                "source": ARTICLE[inp.kind]}
    entry = rec.transition("record_investigation_transfer", at, inp,
                           {"kind": inp.kind, "body": body, "document": short(inp.document),
                            "note": short(inp.note), "source": ARTICLE[inp.kind]})
    ended = ""
    if inp.kind == "taken_over":
        for d in s.deadlines:  # the bureau's own clock ends when the investigation is no longer its own
            if d.name == "investigation" and d.status in ("scheduling", "pending", "overdue"):
                deadlines.mark_met(d, at, entry.seq, entry.backdate_reason is not None)
                rec.changed()
                ended = "；本局的调查期限止于移交"
    rec.notify("investigation_transferred", f"{KIND_NAMES[inp.kind]}（{body}）：{s.report.title}",
               [s.plan.groups.get("investigation", "污染排查组")], {"kind": inp.kind, "body": body,
                                                               "document": inp.document})
    after = {"delegated": "，调查由本局办理，结案前须登记事件调查完成",
             "taken_over": f"，调查结论由本局登记为{body}的办理结果", "referred": "，待上一级决定"}[inp.kind]
    return f"已登记{KIND_NAMES[inp.kind]}：{body}（{short(inp.document)}，{ARTICLE[inp.kind]}）{after}{ended}"


def _form(plan, st, username) -> list[F]:
    return [F("kind", "事项（32号令 第四条）", "select", True, tuple(KIND_NAMES.items())),
            F("body", "上级生态环境部门（默认按事件等级）"),
            F("document", "文件（委托函、通知或报请文号）", required=True), F("note", "说明", "textarea")]


ACTIONS = [
    ActionSpec(
        name="record_investigation_transfer", input=m.RecordInvestigationTransfer,
        title="登记调查处理的委托、提级或报请", source="32号令 第四条第二、三款",
        moves=({"trigger": "record_investigation_transfer",
                "source": [*RESPONSE, "termination_pending", "post_event"], "dest": None},),
        check=check, apply=apply, form=_form, offers=investigation_transfers,
        cli="investigation-transfer",
        cli_help="登记上级生态环境部门委托本局调查处理、直接组织调查处理，或本局报请上一级决定（32号令 第四条）。",
        cli_options=(O("--kind", "kind", required=True, help="委托（delegated）、直接组织调查（taken_over）或移交（referred）"),
                     O("--document", "document", required=True, help="来函或请求（文号或标题）"),
                     O("--body", "body", help="上级部门（默认：按事件等级确定）"),
                     O("--note", "note", default="", help="说明"))),
]
