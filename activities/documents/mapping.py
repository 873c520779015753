"""from_status: the incident's status (the workflow's `status` query, as JSON) → the typed
inputs of every document and the chart.

The plan's own words (document number, issuing body, group names, the termination
condition) come from the plan file the status names; what the status does not record yet
(签发人, 联系人, how a signer was authenticated) is NOT_FILLED.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.documents.models import (NOT_FILLED, REPORT_KIND_NAMES, ActivationNotice, CaseFile, ChartDeadline,
                                         ChartMark, DeadlineChart, DeadlineRecord, DocumentRow, DocumentSet, Header,
                                         InfoReport, LevelChange, SignOff, TerminationForm, TimelineRow)
from plan.calendar import SHANGHAI
from plan.incident import ReportContent
from plan.loader import PlanError, load_plan
from plan.models import Plan
from plan.stages import STAGE_NAMES

OUTCOME_NAMES = {"warning_lifted": "预警解除，事件关闭", "completed": "处置完毕，结案"}
TYPE_NAMES = {"water": "水污染", "air": "大气污染", "soil": "土壤污染", "hazardous_chemicals": "危险化学品",
              "solid_waste": "固体废物（危险废物）", "other": "其他"}
SOURCE_NAMES = {"hotline_12369": "12369环保举报热线", "linkage_119": "119联动平台", "inspection": "执法检查",
                "county_bureau": "县（区）分局报告", "other": "其他"}
ACTION_NAMES = {
    "reported": "接报", "deadline_started": "时限开始", "deadline_overdue": "时限逾期",
    "issue_warning": "发布预警", "lift_warning": "解除预警", "activate_response": "启动应急响应",
    "record_city_started": "市政府启动响应", "adjust_level": "调整响应级别", "dispatch": "工作组出动",
    "submit_report": "报送信息", "propose_termination": "提出终止建议", "sign_off": "组长签报",
"approve_termination": "指挥批示终止", "record_aftercare": "善后处置",
    "complete_investigation": "事件调查完成", "assessment_review_passed": "评估报告通过评审",
    "submit_assessment_report": "报送评估报告", "close": "结案", "recompute_deadlines": "重算时限",
    "record_cross_boundary": "跨区域通报", "request_support": "商请支援", "answer_support": "支援答复",
    "record_joint_investigation": "成立联合调查组", "linkage_bulletin": "联动信息通报",
    "delivery_overdue": "送达受阻", "delivered_late": "补送达",
}
DECISION_NAMES = {"approve": "同意终止", "reject": "不同意终止"}

# File names write_documents gives each kind: ASCII, so they survive every archive and mail system.
ACTIVATION_FILE = "activation-notice.pdf"
TERMINATION_FILE = "termination-form.pdf"
CASE_FILE = "case-file.pdf"
CHART_SVG, CHART_PNG = "deadline-chart.svg", "deadline-chart.png"


def report_file(number: int, kind: str) -> str:
    return f"report-{number:02d}-{kind}.pdf"


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(SHANGHAI) if value else None


def _who(actor: dict | None) -> str:
    """A person as a form prints them: 李强（指挥）, by the account's display name when it has one
    (the record keeps the username)."""
    if not actor:
        return "系统"
    name = actor.get("display") or actor["name"]
    return f"{name}（{actor['role']}）" if actor.get("role") else name


VIA_NAMES = {"web": "网页登录（用户名、密码）", "oidc": "统一身份认证（OIDC）", "api": "接口令牌（API）",
             "cli": "命令行（运维人员）", "intake": "联动平台接口（令牌）", "schedule": "定时任务"}


def _via(actor: dict | None) -> str:
    return VIA_NAMES.get((actor or {}).get("via") or "", NOT_FILLED)


def _approver(d: dict) -> str:
    """附件1 签发: the account that approved (recorded since the authority check), else the name
    recorded with the activation."""
    if d.get("approver"):
        return _who(d["approver"])
    return d.get("approved_by") or NOT_FILLED


def _level(level: str | None, plan: Plan | None) -> str:
    if not level:
        return NOT_FILLED
    names = {l.id.value: l.name for l in plan.levels} if plan else {}
    return f"{level}级（{names[level]}）" if level in names else f"{level}级"


def _plan(status: dict) -> Plan | None:
    ref = (status.get("plan") or {}).get("id")
    try:
        return load_plan(ref).plan if ref else None
    except PlanError:
        return None


def header_of(status: dict, plan: Plan | None, as_of: datetime) -> Header:
    """What every document prints at its head: incident_id, title, drill and the plan are enough."""
    return Header(
        incident_id=status["incident_id"], title=status["title"], drill=bool(status.get("drill")),
        bureau=plan.issuing_body if plan else NOT_FILLED, plan_title=plan.title if plan else NOT_FILLED,
        plan_document_number=plan.document_number if plan else NOT_FILLED, generated_at=as_of)


def _detail(e: dict, deadlines: dict[str, str], groups: dict[str, str], plan: Plan | None) -> str:
    d: dict[str, Any] = e.get("detail") or {}
    a = e["action"]
    if a == "reported":
        return f"初判{_level(d.get('graded_level'), plan)}"
    if a in ("deadline_started", "deadline_overdue"):
        name = deadlines.get(d.get("deadline", ""), d.get("deadline", ""))
        due = _t(d.get("due_at"))
        return f"{name}，应于{due:%m-%d %H:%M}前" if due else name
    if a == "activate_response":
        return f"{_level(d.get('level'), plan)}，签发：{_approver(d)}"
    if a == "adjust_level":
        return f"{d.get('from_level')}→{d.get('to_level')}级：{d.get('reason') or ''}"
    if a == "submit_report":
        return f"{REPORT_KIND_NAMES.get(d.get('kind'), d.get('kind'))}：{d.get('summary', '')}"
    if a == "dispatch":
        return "、".join(f"{groups.get(g, g)}{n}" for g, n in (d.get("leads") or {}).items())
    if a == "propose_termination":
        return f"第{d.get('round')}轮：{d.get('reason', '')}"
    if a == "sign_off":
        words = DECISION_NAMES.get(d.get("decision"), d.get("decision") or "")
        opinion = f"：{d['opinion']}" if d.get("opinion") else ""
        reason = f"（未受理：{d['reason']}）" if d.get("reason") else ""
        return f"{groups.get(d.get('group'), d.get('group'))} {d.get('lead', '')} {words}{opinion}{reason}"
    if a == "approve_termination":
        return f"批示：{d.get('instruction') or '同意'}"
    if a == "linkage_bulletin":
        return f"第{d.get('no')}期 → {'、'.join(d.get('recipients') or [])}"
    words = "；".join(f"{v}" if isinstance(v, str) else f"{k}={v}" for k, v in d.items() if v not in (None, "", [], {}))
    return words


def _follow_up(f: dict | None) -> str | None:
    """4.4: the decision on follow-up monitoring recorded with the approval."""
    if not f:
        return None
    what = f"继续跟踪监测至{f['until']}" if f.get("continue_monitoring") else "不再继续跟踪监测"
    note = f"；{f['note']}" if f.get("note") else ""
    return f"{what}（{f.get('decided_by') or NOT_FILLED}决定）{note}"


def from_status(status: dict, *, as_of: datetime | None = None) -> DocumentSet:
    """Every document's input from one status. `as_of` is "now" for deadlines still open."""
    if status.get("loading") or not status.get("incident_id"):
        raise ValueError("the incident is still loading its plan: no documents yet")
    as_of = (as_of or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    plan = _plan(status)
    groups = {g.id: g.name for g in plan.groups} if plan else {}
    header = header_of(status, plan, as_of)
    timeline = status.get("timeline") or []
    documents: list[DocumentRow] = []
    # 附件1: the activation entry; without it (summarised away) the first level change
    activation = _activation(status, plan, header, timeline)
    if activation is not None:
        documents.append(DocumentRow(name="附件1 应急响应启动通知", at=activation.issued_at, file=ACTIVATION_FILE))
    # 附件2: the current (or approved) round
    termination = _termination(status, plan, header, groups)
    if termination is not None:
        documents.append(DocumentRow(name=f"附件2 应急响应终止签报单（第{termination.round}轮）",
                                     at=termination.approved_at or termination.proposed_at, file=TERMINATION_FILE))
    # 初报/续报/处理结果报告: the status keeps each report's summary only
    reports = _reports(status, plan, header)
    documents += [DocumentRow(name=f"突发环境事件信息{rep.kind_name}（第{rep.number}号）", at=rep.submitted_at,
                              file=report_file(rep.number, rep.kind)) for rep in reports]
    # the chart: deadlines, stage changes and level changes. A deadline whose due time the
    # calendar has not answered yet (`scheduling`) has no bar and no row until it has.
    scheduled = [d for d in status.get("deadlines") or [] if d.get("due_at")]
    chart = _chart(status, header, timeline, scheduled, as_of)
    documents.append(DocumentRow(name="时限执行图", at=as_of, file=f"{CHART_SVG}, {CHART_PNG}"))
    documents.append(DocumentRow(name="案卷", at=as_of, file=CASE_FILE))
    case = _case_file(status, plan, header, timeline, scheduled, groups, documents, chart, as_of)
    return DocumentSet(activation_notice=activation, termination_form=termination, info_reports=reports,
                       case_file=case, chart=chart)


def _activation(status: dict, plan, header, timeline: list[dict]) -> ActivationNotice | None:
    activation = None
    entry = next((e for e in timeline if e["action"] == "activate_response" and not e.get("rejected")), None)
    first = (status.get("level_changes") or [None])[0]
    if entry or first:
        d = (entry or {}).get("detail") or {}
        level = d.get("level") or first["to_level"]
        hq = plan.organisation.headquarters.name.split("（")[0] if plan else NOT_FILLED
        activation = ActivationNotice(
            header=header, headquarters=hq, approved_by=_approver(d),
            occurred_at=_t(status["discovered_at"]), county=status["county"], location=status["location"],
            event=status["title"].removesuffix("事件"), level=level,
            level_name=next((l.name for l in plan.levels if l.id.value == level), NOT_FILLED) if plan else NOT_FILLED,
            graded_level=d.get("graded_level") or status.get("graded_level"), reason=d.get("reason"),
            levels=d.get("levels"), issued_at=_t((entry or first)["at"]))
    return activation


def _termination(status: dict, plan, header, groups: dict) -> TerminationForm | None:
    termination = None
    t = status.get("termination")
    if t:
        order = list(plan.termination.signatories) if plan else list(status.get("leads") or {})
        leads = status.get("leads") or {}
        current = status.get("signoffs") or {}

        def row(g: str, rec: dict | None, rnd: int) -> SignOff:
            return SignOff(group=g, group_name=groups.get(g, g), lead=(rec or {}).get("lead") or leads.get(g, NOT_FILLED),
                           round=rnd, decision=(rec or {}).get("decision"), opinion=(rec or {}).get("opinion"),
                           signed_at=_t((rec or {}).get("at")), signed_by=_who(rec["by"]) if rec else None,
                           authentication=_via(rec["by"]) if rec else NOT_FILLED)

        termination = TerminationForm(
            header=header, proposed_by=_who(t.get("proposed_by")), proposed_at=_t(t["proposed_at"]),
            round=t["round"], reason=t.get("reason") or "",
            condition=plan.termination.condition if plan else NOT_FILLED,
            signoffs=[row(g, current.get(g) if (current.get(g) or {}).get("round") == t["round"] else None, t["round"])
                      for g in order],
            earlier_rounds=[row(r["group"], r, r["round"]) for r in status.get("signoff_history") or []
                            if r["round"] < t["round"]],
            instruction=t.get("instruction"), approved_by=_who(t["approved_by"]) if t.get("approved_by") else None,
            approved_at=_t(t.get("approved_at")), city_started=bool(status.get("city_started")),
            city_decision=t.get("city_decision"), follow_up=_follow_up(t.get("follow_up")))
    return termination


def _reports(status: dict, plan, header) -> list[InfoReport]:
    reports = []
    kept = status.get("reports") or []
    # Numbered among all the incident's reports: the status keeps only the newest (by kind, counted).
    before = max(0, sum((status.get("reports_count") or {}).values()) - len(kept))
    for i, r in enumerate(kept, start=before + 1):
        # A report made under the 17号令 rules carries its header (第十四条) and recipients.
        rep = InfoReport(
            header=header, kind=r["kind"], number=i,
            reporting_unit=r.get("reporting_unit") or (plan.issuing_body if plan else NOT_FILLED),
            issuer=r.get("signed_by") or NOT_FILLED, contact=r.get("contact_person") or NOT_FILLED,
            contact_phone=r.get("contact_phone") or NOT_FILLED,
            recipients=r.get("recipients") or (list(plan.reporting.recipients) if plan else [NOT_FILLED]),
            submitted_at=_t(r["at"]),
            submitted_by=_who(r.get("by")), content=ReportContent(summary=r.get("summary") or NOT_FILLED))
        reports.append(rep)
    return reports


def _chart(status: dict, header, timeline: list[dict], scheduled: list[dict], as_of: datetime) -> DeadlineChart:
    marks = [ChartMark(at=_t(e["at"]), kind="stage", label=STAGE_NAMES.get(e["to_stage"], e["to_stage"]))
             for e in timeline if e["from_stage"] != e["to_stage"] and not e.get("rejected")]
    for c in status.get("level_changes") or []:
        words = f"启动{c['to_level']}级" if c.get("from_level") is None else f"{c['from_level']}→{c['to_level']}级"
        marks.append(ChartMark(at=_t(c["at"]), kind="level", label=words))
    return DeadlineChart(
        title=f"{'【演练】' if header.drill else ''}{status['title']} — 时限执行情况", origin=_t(status["discovered_at"]),
        as_of=as_of, marks=marks,
        deadlines=[ChartDeadline(name=d["name"], title=d["title"], start=_t(d["started_at"]), due=_t(d["due_at"]),
                                 met_at=_t(d.get("met_at")), state=d["status"])
                   for d in scheduled])


def _case_file(status: dict, plan, header, timeline: list[dict], scheduled: list[dict], groups: dict,
               documents: list[DocumentRow], chart: DeadlineChart, as_of: datetime) -> CaseFile:
    deadline_titles = {d["name"]: d["title"] for d in status.get("deadlines") or []}
    summary = status.get("timeline_summary") or {}
    return CaseFile(
        header=header, as_of=as_of, county=status["county"], location=status["location"],
        incident_type=TYPE_NAMES.get(status.get("incident_type"), status.get("incident_type") or NOT_FILLED),
        source=SOURCE_NAMES.get(status.get("source"), status.get("source") or NOT_FILLED),
        reporter=status.get("reporter") or NOT_FILLED, description=status.get("description") or "",
        discovered_at=_t(status["discovered_at"]), reported_at=_t(status["reported_at"]),
        graded_level=status.get("graded_level"), grading_reasons=list((status.get("grading") or {}).get("reasons") or []),
        level=status.get("level"), levels=(status.get("levels") or {}).get("line"), level_names={l.id.value: l.name for l in plan.levels} if plan else {},
        stage=STAGE_NAMES.get(status.get("stage"), status.get("stage") or ""),
        outcome=OUTCOME_NAMES.get(status.get("outcome")) if status.get("outcome") else None,
        city_started=bool(status.get("city_started")),
        level_changes=[LevelChange(at=_t(c["at"]), by=_who(c.get("by")), from_level=c.get("from_level"),
                                   to_level=c["to_level"], reason=c.get("reason"))
                       for c in status.get("level_changes") or []],
        deadlines=[DeadlineRecord(name=d["name"], title=d["title"], basis=d["source"], who_acts=d["who_acts"],
                                  started_at=_t(d["started_at"]), due_at=_t(d["due_at"]), due_date=d.get("due_date"),
                                  provisional=bool(d.get("provisional")), state=d["status"], met_at=_t(d.get("met_at")),
                                  escalations=d.get("escalations", 0))
                   for d in scheduled],
        timeline=[TimelineRow(seq=e["seq"], at=_t(e["at"]), by=_who(e["by"]) if e.get("by") else None,
                              action=ACTION_NAMES.get(e["action"], e["action"]),
                              from_stage=STAGE_NAMES.get(e["from_stage"], e["from_stage"]),
                              to_stage=STAGE_NAMES.get(e["to_stage"], e["to_stage"]),
                              detail=_detail(e, deadline_titles, groups, plan), rejected=bool(e.get("rejected")))
                  for e in timeline],
        timeline_omitted=int(summary.get("entries", 0)), documents=documents, chart=chart)
