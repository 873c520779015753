"""The printed documents, A4, in Chinese, fonts embedded (subset) by Typst: 附件1, 附件2,
each information report and the case file. The layouts are in templates/*.typ, after the
forms at the end of the plan; this module turns the typed inputs into the words they print
(times in 年月日时分, decisions in words, NOT_FILLED for what nobody recorded).
"""

from __future__ import annotations

from datetime import datetime

from activities.documents import chart as charts
from activities.documents.fonts import FontSettings, typeset
from activities.documents.models import (NOT_FILLED, ActivationNotice, CaseFile, Header, InfoReport, SignOff,
                                         TerminationForm)
from plan.calendar import SHANGHAI

MAX_CELL = 1500  # characters of one free-text field printed in a form cell; the record keeps all
DECISIONS = {"approve": "同意终止", "reject": "不同意终止"}

# 《突发环境事件信息报告办法》第十二条: what an initial report tells, in the order the article
# lists it; then the linkage bulletin's fields (郑环办〔2013〕84号 协议 二.3) a report may carry.
REPORT_FIELDS = [
    ("time", "发生时间"), ("place", "地点"), ("source", "信息来源/污染源"), ("cause_and_nature", "事件起因和性质"),
    ("main_pollutants", "主要污染物和数量"), ("monitoring_data", "监测数据"), ("casualties", "人员受害情况"),
    ("drinking_water_sources_affected", "饮用水水源地等环境敏感点受影响情况"), ("trend", "事件发展趋势"),
    ("actions_taken", "处置情况"), ("next_measures", "拟采取的措施及下一步工作建议"),
    ("fire_forces", "公安消防参战力量"), ("fire_water_used", "消防水使用量"), ("hidden_dangers", "可能存在的隐患"),
    ("affected_area", "影响范围"),
]
LAW_FIELDS = 11  # the first eleven are the article's


def cn_time(t: datetime | None) -> str:
    if t is None:
        return NOT_FILLED
    t = t.astimezone(SHANGHAI)
    return f"{t.year}年{t.month}月{t.day}日{t.hour}时{t.minute:02d}分"


def short_time(t: datetime | None) -> str:
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else "—"


def cap(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…（全文见系统记录）"


def _header(h: Header) -> dict:
    return {**h.model_dump(mode="json"), "generated": short_time(h.generated_at)}


def _doc(h: Header, name: str) -> str:
    return f"{'【演练】' if h.drill else ''}{name}：{h.title}"


# ---------------------------------------------------------------- 附件1


def activation_notice(n: ActivationNotice, fonts: FontSettings) -> bytes:
    h = n.header
    return typeset("activation.typ", {
        "header": _header(h), "doc_title": _doc(h, "附件1 应急响应启动通知"),
        "title": f"{h.bureau}突发环境事件应急响应启动通知", "headquarters": n.headquarters,
        "headquarters_signature": n.headquarters, "approved_by": n.approved_by, "occurred": cn_time(n.occurred_at),
        "county": n.county, "location": n.location, "event": n.event, "level": n.level, "level_name": n.level_name,
        "graded_level": n.graded_level, "reason": cap(n.reason) if n.reason else None, "issued": cn_time(n.issued_at),
        "levels": n.levels,
    }, fonts)


# ---------------------------------------------------------------- 附件2


def _signoff(s: SignOff) -> dict:
    opinion = cap(s.opinion) or ("同意" if s.decision == "approve" else NOT_FILLED)
    return {"group_name": s.group_name, "lead": s.lead, "round": s.round, "decision": s.decision,
            "decision_words": DECISIONS.get(s.decision, "—"), "opinion": opinion, "signed": cn_time(s.signed_at),
            "signed_short": short_time(s.signed_at), "signed_by": s.signed_by or NOT_FILLED,
            "authentication": s.authentication}


def termination_form(f: TerminationForm, fonts: FontSettings) -> bytes:
    h = f.header
    return typeset("termination.typ", {
        "header": _header(h), "doc_title": _doc(h, "附件2 应急响应终止签报单"),
        "title": [f"{h.bureau}突发环境事件", "应急响应终止签报单"], "unit": f.unit, "round": f.round,
        "proposed_by": f.proposed_by, "proposed": cn_time(f.proposed_at), "subject": f.subject,
        "signoffs": [_signoff(s) for s in f.signoffs], "condition": f.condition, "reason": cap(f.reason),
        "approved": cn_time(f.approved_at) if f.approved_at else None, "approved_by": f.approved_by or NOT_FILLED,
        "instruction": cap(f.instruction) or "同意终止应急响应。", "city_started": f.city_started or bool(f.city_decision),
        "city_decision": cap(f.city_decision) if f.city_decision else None,
        "follow_up": cap(f.follow_up) if f.follow_up else None,
        "earlier_rounds": [_signoff(s) for s in f.earlier_rounds],
    }, fonts)


# ---------------------------------------------------------------- 初报/续报/处理结果报告


def info_report(r: InfoReport, fonts: FontSettings) -> bytes:
    h = r.header
    content = r.content.model_dump()
    # An initial report answers every item the article lists; later reports add what changed.
    fields = [{"label": label, "value": cap(content.get(key)) or NOT_FILLED}
              for i, (key, label) in enumerate(REPORT_FIELDS)
              if content.get(key) or (r.kind == "initial" and i < LAW_FIELDS)]
    name = f"突发环境事件信息{r.kind_name}"
    return typeset("report.typ", {
        "header": _header(h), "doc_title": _doc(h, f"{name}（第{r.number}号）"), "doc_name": name, "title": name,
        "number": r.number, "reporting_unit": r.reporting_unit, "issuer": r.issuer, "contact": r.contact,
        "contact_phone": r.contact_phone, "submitted": cn_time(r.submitted_at), "submitted_by": r.submitted_by,
        "recipients": "、".join(r.recipients), "summary": cap(r.content.summary), "fields": fields,
    }, fonts)


# ---------------------------------------------------------------- 案卷


def case_file(c: CaseFile, fonts: FontSettings) -> bytes:
    h = c.header
    level = c.level_words(c.level) if c.level else "未启动响应"
    outcome = c.outcome or f"处置中（{c.stage}）"
    cover = [("案卷编号", h.incident_id), ("事件名称", h.title), ("事发地点", f"{c.county} {c.location}"),
             ("事件类型", c.incident_type), ("发现时间", cn_time(c.discovered_at)), ("响应级别", level),
             ("处置结果", outcome), ("适用预案", f"{h.plan_title}（{h.plan_document_number}）"),
             ("立卷单位", h.bureau), ("立卷时间", cn_time(c.as_of))]
    graded = c.level_words(c.graded_level) + "".join(f"\n{r}" for r in c.grading_reasons)
    facts = [("事件名称", h.title), ("发现时间", cn_time(c.discovered_at)), ("接报时间", cn_time(c.reported_at)),
             ("事发地点", f"{c.county} {c.location}"), ("事件类型", c.incident_type), ("信息来源", c.source),
             ("报告人", c.reporter), ("事件描述", cap(c.description) or "—"), ("初判级别", graded),
             ("响应级别", level), *([("事件等级与响应级别", c.levels)] if c.levels else []),
             ("当前阶段", c.stage), ("处置结果", outcome),
             ("市政府启动响应", "是（由市指挥部决定终止，预案4.4）" if c.city_started else "否")]
    deadlines = []
    for d in c.deadlines:
        result = charts.state_words(d.state, d.due_at, d.met_at, c.as_of)
        deadlines.append({
            "title": d.title, "started": short_time(d.started_at),
            "due": short_time(d.due_at) + ("（暂定）" if d.provisional else ""), "met": short_time(d.met_at),
            "result": result + (f"；督办{d.escalations}次" if d.escalations else ""),
            "late": d.late_by(c.as_of) is not None, "basis": d.basis, "who_acts": d.who_acts})
    timeline = [{"seq": e.seq, "at": short_time(e.at), "by": e.by or "系统",
                 "action": e.action + ("（未受理）" if e.rejected else ""),
                 "stage": e.to_stage if e.from_stage == e.to_stage else f"{e.from_stage}→{e.to_stage}",
                 "detail": e.detail if len(e.detail) <= 300 else e.detail[:299] + "…"} for e in c.timeline]
    lay = charts.layout(c.chart)
    return typeset("casefile.typ", {
        "header": _header(h), "doc_title": _doc(h, "案卷"), "cover": cover, "facts": facts,
        "level_changes": [{"at": short_time(x.at), "by": x.by, "reason": x.reason or "—",
                           "change": f"启动{x.to_level}级" if x.from_level is None else f"{x.from_level}→{x.to_level}级"}
                          for x in c.level_changes],
        "deadlines": deadlines, "chart_svg": charts.to_svg(lay, fonts),
        # landscape A4 leaves about 247 × 150 mm: a tall chart (many deadlines) is fitted by height
        "chart_fit": "width" if lay.height / lay.width * 247 <= 150 else "height",
        "timeline": timeline, "timeline_omitted": c.timeline_omitted,
        "documents": [{"name": x.name, "at": short_time(x.at), "file": x.file} for x in c.documents],
    }, fonts)
