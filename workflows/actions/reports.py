"""Information reports (4.2; 17号令 第三条、第四条、第十二条–第十四条): the initial report,
progress reports and the final report (处理结果报告), and the 第四条 cases learned after the
start. The rules they follow (clock, level, recipients, header) are workflows/reporting.py."""

from __future__ import annotations

import plan.incident as plan_incident
import workflows.deadlines as deadlines
import workflows.levels as levels
import workflows.messages as m
import workflows.reporting as reporting
import workflows.actions.linkage as linkage
from workflows.actions.form import FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.lifecycle import OPEN
from workflows.recorder import fmt
from workflows.timeline import short

CIRCUMSTANCE_HELP = ("17号令 第四条情形（可重复）：drinking_water_source、sensitive_area、heavy_metal、cross_province、"
                     "mass_incident、other")


def known_circumstances(s, ids: list[str]) -> None:
    r = reporting.rules(s)
    if r is None or r.special_circumstances is None:
        raise Refused("本事件按其开始时的报告规则办理，这些规则没有按重大/特别重大程序报告的情形（17号令 第四条）："
                      "请在报告正文中说明", "invalid")
    allowed = [c.id for c in r.special_circumstances.items]
    for c in ids:
        if c not in allowed:
            raise Refused(f"没有情形“{c}”：本预案的情形是{'、'.join(x.name for x in r.special_circumstances.items)}", "invalid")


def _circumstance_options(plan) -> tuple:
    special = plan.reporting.special_circumstances
    return tuple((c.id, c.name) for c in special.items) if special else ()


# ------------------------------------------------------------------ submit_report (4.2)

def _check_phone(s, inp: m.SubmitReport) -> None:
    """17号令 第十四条: only the 初报 may be made by telephone, naming who took the call; one written
    初报 then follows it (书面补报)."""
    if inp.by_phone:
        if inp.kind != "initial":
            raise Refused("只有初报可以电话报告（17号令 第十四条：情况紧急时，初报可通过电话报告）；续报和处理结果报告须书面报送", "invalid")
        if not (inp.received_by or "").strip():
            raise Refused("电话初报须写明接听人（预案4.2.2 详细记录报告内容）", "invalid")


def check_report(s, inp: m.SubmitReport, at, now) -> Checked:
    _check_phone(s, inp)
    written_owed = "initial_report_by_phone" in s.events and "written_initial_report_submitted" not in s.events
    if inp.kind == "initial" and "initial_report_submitted" in s.events and (inp.by_phone or not written_owed):
        raise Refused(f"初报已于 {fmt(s.events['initial_report_submitted'])} 报送：请报送续报")
    if inp.circumstances:
        known_circumstances(s, inp.circumstances)
    if inp.by_phone:
        return Checked(at, reporting.header(s, inp)[0])
    head, missing = reporting.header(s, inp)
    if missing:
        raise Refused(f"书面报告应写明报告单位、签发人、联系人和联系方式（17号令 第十四条）；缺少："
                      f"{'、'.join(reporting.HEADER_NAMES[f] for f in missing)}", "invalid")
    return Checked(at, head)


def apply_report(rec, inp: m.SubmitReport, got: Checked, _prepared) -> str:
    s, at, head = rec.s, got.at, got.value
    kind_name = plan_incident.REPORT_KIND_NAMES[inp.kind]
    added = reporting.add_circumstances(s, inp.circumstances, at, inp.by.model_dump()) if inp.circumstances else []
    to = reporting.recipients(s)  # after the circumstances this report brings (第四条)
    s.reports_count[inp.kind] = no = s.reports_count.get(inp.kind, 0) + 1
    # State keeps counts and the newest reports, shortly: the full text is in the archive.
    s.reports.append(reporting.report_row(s, inp, no, at, head, to, short(inp.content.summary)))
    del s.reports[:-reporting.KEEP_REPORTS]
    linkage.remember_facts(s, inp.content)
    entry = rec.transition("submit_report", at, inp, {"kind": inp.kind, "no": no, **(
        {"circumstances": added} if added else {}), "summary": short(inp.content.summary, 80)})
    if inp.by_phone:  # 第十四条: the call meets the 初报's deadline; the written one is owed (书面补报)
        rec.event("initial_report_submitted", at, entry)
        rec.event("initial_report_by_phone", at, entry)
        notes = rec.start_deadlines([(n, at, levels.event_level(s)) for n in deadlines.started_on(
            s, "initial_report_by_phone")], {})
        return f"电话初报已登记（接听人：{inp.received_by}，17号令 第十四条），须及时补充书面初报{notes}"
    if inp.kind == "initial":
        if "initial_report_by_phone" in s.events:
            rec.event("written_initial_report_submitted", at, entry)
        else:
            rec.event("initial_report_submitted", at, entry)
    data, missing = reporting.document_data(s, inp, kind_name, at, head, to)
    doc = rec.document("info_report", data, entry.seq)
    # Its printing carries its number and entry; the rest is in the archive beside its Markdown.
    rec.render("info_report", entry.seq, {"no": sum(s.reports_count.values()), "seq": entry.seq})
    # The notification refers to the written report (claim check), not to its text.
    rec.notify("info_report", f"{kind_name}：{s.report.title}", to, {"kind": inp.kind, "no": no}, attach=doc)
    if inp.kind == "progress":
        linkage.bulletin(rec, "progress_report", at)
    note = reporting.follow_level(rec, "special circumstances " + ", ".join(added)) if added else ""
    note += f"；未报内容（17号令 第十三条）：{'、'.join(missing)}" if missing else ""
    return f"{kind_name}已登记并报送{'、'.join(to)}{note}"


def _report_form(plan, st, username) -> list[F]:
    return [F("kind", "报告类型", "select", True, (("initial", "初报"), ("progress", "续报"), ("final", "处理结果报告"))),
            F("content.summary", "事件概况", "textarea", True),
            F("content.place", "地点"), F("content.main_pollutants", "主要污染物和数量"),
            F("content.monitoring_data", "监测数据", "textarea"), F("content.casualties", "人员伤亡"),
            F("content.trend", "发展趋势"), F("content.actions_taken", "已采取的措施", "textarea"),
            # 17号令 第十四条: every written report names these
            F("reporting_unit", "报告单位（默认本局）"), F("signed_by", "报告签发人（书面报告必填）"),
            F("contact_person", "联系人（书面报告必填）"), F("contact_phone", "联系电话（书面报告必填）"),
            # 17号令 第十四条, 4.2.2: a 初报 by telephone names who took the call; the written one follows
            F("by_phone", "电话初报（情况紧急时先电话报告，须及时补充书面初报）", "checkbox"),
            F("received_by", "接听人（电话初报时必填）"),
            F("circumstances", "按重大/特别重大程序报告的情形（17号令 第四条）", "checks", options=_circumstance_options(plan))]


# ------------------------------------------------------------------ record_circumstances (17号令 第四条)

def check_circumstances(s, inp: m.RecordCircumstances, at, now) -> Checked:
    if not inp.circumstances:
        raise Refused("请至少选择一种情形（17号令 第四条）", "invalid")
    known_circumstances(s, inp.circumstances)
    recorded = {c["id"] for c in s.circumstances}
    if all(c in recorded for c in inp.circumstances):
        raise Refused(f"已登记过：{'、'.join(reporting.circumstance_names(s, inp.circumstances))}")
    return Checked(at)


def apply_circumstances(rec, inp: m.RecordCircumstances, got: Checked, _prepared) -> str:
    s = rec.s
    added = reporting.add_circumstances(s, inp.circumstances, got.at, inp.by.model_dump(), short(inp.note))
    rec.transition("record_circumstances", got.at, inp, {"circumstances": added, "note": short(inp.note),
                                                         "names": reporting.circumstance_names(s, added)})
    note = reporting.follow_level(rec, "special circumstances " + ", ".join(added))
    return (f"已登记{'、'.join(reporting.circumstance_names(s, added))}：按{s.plan.reporting.special_circumstances.report_as.value}级"
            f"程序报告{'、'.join(reporting.recipients(s))}（17号令 第四条）{note}")


ACTIONS = [
    ActionSpec(
        name="submit_report", input=m.SubmitReport, title="报送信息报告", source="4.2；17号令 第十二条–第十四条",
        # 4.2: reports may be made from the first hour until the incident is closed
        moves=({"trigger": "submit_report", "source": OPEN, "dest": None},),
        check=check_report, apply=apply_report, form=_report_form,
        cli="report", cli_help="报送信息报告（4.2；17号令 第十二条至第十四条）。",
        cli_options=(
            O("--kind", "kind", required=True, help="初报（initial）、续报（progress）或处理结果报告（final）"),
            # A report file holds the content and may hold the header; the flags below override it.
            O("--file", "content", "report_file", help=(
                "报告文件（JSON/YAML）：summary 必填；初报写 time、place、source、cause_and_nature、basic_process、"
                "main_pollutants、monitoring_data、casualties、drinking_water_sources_affected、trend、actions_taken、"
                "next_measures、sensitive_points_map；续报写 progress；处理结果报告写 measures_process_result、"
                "potential_harm_and_losses、social_impact、remaining_problems、accountability；"
                "fire_forces、fire_water_used、hidden_dangers、affected_area 可选（文字，17号令 第十三条）；"
                "报头 reporting_unit、signed_by、contact_person、contact_phone（第十四条）写在文件中或用下列选项。"
                "详见 `ecoplan schema report` 和 docs/contracts.md")),
            O("--reporting-unit", "reporting_unit", help="报告单位（默认：预案规定的单位，即本局）"),
            O("--signed-by", "signed_by", help="报告签发人（17号令 第十四条）"),
            O("--contact-person", "contact_person", help="联系人"),
            O("--contact-phone", "contact_phone", help="联系方式，如 0353-2020000"),
            O("--circumstance", "circumstances", "many", help=CIRCUMSTANCE_HELP),
            O("--summary", "content.summary", help="事件概况，不用 --file 时填写（电话初报）"),
            O("--by-phone", "by_phone", "flag", default=False,
              help="以电话报告的初报（17号令 第十四条）；之后须书面补报"),
            O("--received-by", "received_by", help="接听电话的人（与 --by-phone 同用）"))),
    ActionSpec(
        name="record_circumstances", input=m.RecordCircumstances, title="登记按重大/特别重大程序报告的情形",
        source="17号令 第四条",
        moves=({"trigger": "record_circumstances", "source": OPEN, "dest": None},),
        check=check_circumstances, apply=apply_circumstances,
        form=lambda plan, st, u: [F("circumstances", "情形（17号令 第四条）", "checks", True, _circumstance_options(plan)),
                                  F("note", "说明", "textarea")],
        cli="circumstances",
        cli_help="登记立案后获知的17号令 第四条情形：按重大、特别重大程序报告（2小时，并报生态环境部）。",
        cli_options=(O("--circumstance", "circumstances", "many", required=True, help=CIRCUMSTANCE_HELP),
                     O("--note", "note", default="", help="说明"))),
]
