"""The drill evaluation printed for people (Markdown), marked 演练 at the top: one function per
section of the report."""

from __future__ import annotations

from plan.drill.common import STAGE_NAMES, _dur, _hm
from plan.incident import REPORT_KIND_NAMES

STATUS_ZH = {"pending": "未到期", "met": "按时完成", "met_late": "逾期完成", "overdue": "已逾期"}
MODE_ZH = {"records": "由其办理，本局登记", "assists": "由其办理，本局配合/指导"}
ANSWERS = {"accepted": "同意", "declined": "拒绝", None: "未答复"}


def render_markdown(report: dict) -> str:
    lines = _head(report)
    for section in (_procedure, _information, _plan_coordination, _mobilisation, _coordination, _rescue, _deadlines, _levels, _findings):
        lines += section(report)
    return "\n".join(lines)


def _head(r: dict) -> list[str]:
    mark = "【演练】" if r.get("drill") else "【非演练】"
    lines = [
        f"# {mark}突发环境事件应急演练评估报告",
        "",
        "**演练** — 本报告为应急演练评估（依据：演练结束后对应急响应程序、应急信息处置、应急预案衔接、"
        "应急力量调动、部门应急协调、应急抢险救援等重点环节进行评估分析，针对薄弱环节提出整改意见和建议），"
        "不是真实事件记录。" if r.get("drill") else
        "**注意：本事件未标记为演练。**",
        "",
        "## 一、基本情况",
        "",
        f"- 事件：{r['incident_id']} {r['title']}",
        f"- 地点：{r.get('county') or '—'} {r.get('location') or ''}",
        f"- 发现：{_hm(r['discovered_at'])}　接报：{_hm(r['reported_at'])}　评估截至：{_hm(r['as_of'])}",
        f"- 初判级别：{r.get('graded_level') or '—'}　响应级别：{r.get('level') or '—'}　"
        f"阶段：{STAGE_NAMES.get(r.get('stage'), r.get('stage'))}" + (f"（{r['outcome']}）" if r.get("outcome") else ""),
        f"- 预案：{(r.get('plan') or {}).get('id') or '—'} {(r.get('plan') or {}).get('version') or ''}",
    ]
    lines += [f"- 说明：{n}" for n in r.get("notes") or []]
    return lines


def _procedure(r: dict) -> list[str]:
    rp = r["response_procedure"]
    lines = ["", "## 二、应急响应程序（各阶段用时）", "",
              "| 阶段 | 进入 | 离开 | 用时 | 预期 | 是否超时 |", "|---|---|---|---|---|---|"]
    for s in rp["segments"]:
        ok = "—" if s["within_expectation"] is None else ("否" if s["within_expectation"] else f"超出 {_dur(s['over_by_seconds'])}")
        lines.append(f"| {s['stage_name']} | {_hm(s['entered_at'])} | {_hm(s['left_at']) if s['left_at'] else '进行中'} | "
                     f"{_dur(s['duration_seconds'])} | {s['expected'] or '—'} | {ok} |")
    t = rp["totals"]
    lines += ["", f"发现→接报 {_dur(t['discovered_to_reported_seconds'])}；"
              f"接报→响应终止 {_dur(t['reported_to_terminated_seconds'])}；接报→结束 {_dur(t['reported_to_closed_seconds'])}"]
    return lines


def _information(r: dict) -> list[str]:
    info = r["information"]
    lines = ["", "## 三、应急信息处置（信息报告）", "", "| 报告 | 时间 | 报告人 | 发现后 | 时限 | 迟报 |", "|---|---|---|---|---|---|"]
    for x in info["reports"]:
        late = "—" if x["late"] is None else (f"迟报 {_dur(x['late_by_seconds'])}" if x["late"] else "按时")
        lines.append(f"| {x['kind_name']} | {_hm(x['at'])} | {x['by'] or '—'} | {_dur(x['after_discovery_seconds'])} | "
                     f"{_hm(x['due_at']) if x['due_at'] else '—'} | {late} |")
    if not info["reports"]:
        lines.append("| （无） | | | | | |")
    if info["missing"]:
        lines += ["", "缺报：" + "、".join(REPORT_KIND_NAMES.get(k, k) for k in info["missing"])]
    return lines


def _plan_coordination(r: dict) -> list[str]:
    pc = r["plan_coordination"]
    lines = ["", "## 四、应急预案衔接", ""]
    if pc["city_started"]:
        lines.append(f"- 市政府启动本级预案：{_hm(pc['city_started_at'])}"
                     + (f"；市指挥部终止决定：{pc['city_decision']}" if pc["city_decision"] else ""))
    else:
        lines.append("- 市政府未启动本级预案")
    for o in pc["other_bodies"]:
        state = (f"已登记（{o['recorded_body']}，{o['document']}，{_hm(o['at'])}）" if o["recorded"]
                 else ("未登记" if o["needed"] else "未登记（不影响结案）"))
        lines.append(f"- {o['step_name']}：{o['body']}，{MODE_ZH[o['mode']]}（{o['source']}）— {state}")
    if not pc["duties_known"]:
        lines.append("- 事件未记录分级职责（开始于分级职责之前）")
    return lines


def _mobilisation(r: dict) -> list[str]:
    mob = r["mobilisation"]
    lines = ["", "## 五、应急力量调动", "",
              f"- 启动响应：{_hm(mob['activated_at'])}（{mob['activation_level'] or '—'}级，签发 {mob['approved_by'] or '—'}），"
              f"接报后 {_dur(mob['report_to_activation_seconds'])}",
              f"- 工作组出动：{_hm(mob['dispatched_at'])}，接报后 {_dur(mob['report_to_dispatch_seconds'])}，"
              f"启动后 {_dur(mob['activation_to_dispatch_seconds'])}"]
    if mob["readiness"]:
        lines.append(f"- 应急力量准备（1小时）：{STATUS_ZH.get(mob['readiness']['status'], mob['readiness']['status'])}")
    if mob["groups"]:
        lines.append("- 调派：" + "；".join(f"{g['group_name']} {g['lead']}" for g in mob["groups"]))
    if mob["not_dispatched"]:
        lines.append("- 未调派：" + "、".join(g["group_name"] for g in mob["not_dispatched"]))
    return lines


def _coordination(r: dict) -> list[str]:
    co = r["inter_department"]
    lines = ["", "## 六、部门应急协调", ""]
    if co["city_started"]:
        lines.append(f"- 市政府启动响应：{_hm(co['city_started_at'])}")
    for b in co["bulletins"]:
        lines.append(f"- 应急联动信息通报第{b['no']}期：{_hm(b['at'])}（{b['trigger']}）→ {'、'.join(b['recipients'])}")
    for x in co["cross_boundary"]:
        lines.append(f"- 跨区域通报（{x['scope']}）：{_hm(x['at'])} {x['by'] or '—'} → {'、'.join(x['notified'])}")
    for q in co["support_requests"]:
        lines.append(f"- 商请{q['partner_name']}（第{q['no']}号，{_hm(q['at'])}）：{q['request']} — {ANSWERS.get(q['answer'], q['answer'])}"
                     + (f"（{_hm(q['answered_at'])}，用时 {_dur(q['response_seconds'])}）" if q["answered_at"] else ""))
    if co["joint_investigation"]:
        j = co["joint_investigation"]
        lines.append(f"- 联合调查组：{_hm(j['at'])}，成员 {'、'.join(j['members'])}")
    for x in co["other_notices"]:
        lines.append(f"- 通报：{_hm(x['at'])} {x['by'] or '—'} {x['action']}")
    for rd in co["termination_rounds"]:
        lines.append(f"- 终止签报第{rd['round']}轮：{_hm(rd['proposed_at'])} 由 {rd['proposed_by'] or '—'} 提出（{rd['reason'] or '—'}）")
        for s in rd["signoffs"]:
            verdict = "同意" if s["decision"] == "approve" else "否决"
            lines.append(f"  - {s['group_name']} {s['lead']} {verdict}（{_hm(s['at'])}）" + (f"：{s['opinion']}" if s["opinion"] else ""))
        if rd["approved_at"]:
            lines.append(f"  - 指挥批示：{rd['approved_by']}（{_hm(rd['approved_at'])}）{rd['instruction'] or ''}"
                         + (f"；市指挥部决定：{rd['city_decision']}" if rd["city_decision"] else ""))
    if len(lines) == 3:  # nothing under the heading
        lines.append("- （无记录）")
    return lines


def _rescue(r: dict) -> list[str]:
    rs = r["rescue"]
    lines = ["", "## 七、应急抢险救援", "",
              f"- 现场处置：{rs['on_site_visits']} 次，共 {_dur(rs['on_site_seconds'])}"
              + (f"；终止签报被否决后返回现场 {rs['sent_back_on_site']} 次" if rs["sent_back_on_site"] else ""),
              f"- {rs['disposal_group']}：{rs['disposal_lead'] or '未调派'}；续报 {rs['progress_reports']} 份",
              f"- 消防救援力量参与：{'是' if rs['fire_engaged'] else '否'}"]
    for q in rs["rescue_requests"]:
        lines.append(f"- 商请{q['partner_name']}（第{q['no']}号）：{q['request']} — {ANSWERS.get(q['answer'], q['answer'])}")
    return lines


def _deadlines(r: dict) -> list[str]:
    dl = r["deadlines"]
    lines = ["", "## 八、时限执行", "", "| 时限 | 到期 | 状态 | 完成 | 逾期 |", "|---|---|---|---|---|"]
    for d in dl["deadlines"]:
        lines.append(f"| {d['name_zh']} | {d['due_date'] or _hm(d['due_at'])} | {STATUS_ZH.get(d['status'], d['status'])} | "
                     f"{_hm(d['met_at']) if d['met_at'] else '—'} | {_dur(d['late_by_seconds']) if d['late_by_seconds'] else '—'} |")
    return lines


def _levels(r: dict) -> list[str]:
    lv = r["level_changes"]
    lines = ["", "## 九、响应级别", "", f"初判 {lv['graded_level'] or '—'} 级，启动 {lv['activated_level'] or '—'} 级，"
              f"现为 {lv['final_level'] or '—'} 级；调整 {lv['adjustments']} 次。"]
    for c in lv["changes"][1:]:
        lines.append(f"- {_hm(c['at'])} {c['by'] or '—'}：{c['from_level']}→{c['to_level']}（{c['reason'] or '—'}）")
    return lines


def _findings(r: dict) -> list[str]:
    lines = ["", "## 十、发现的问题", ""]
    lines += [f"{i}. 【{w['area_name']}】{w['finding']}" for i, w in enumerate(r["findings_by_area"], 1)] or ["未发现问题。"]
    lines += ["", "## 十一、整改意见和建议", ""]
    lines += [f"{i}. {a}" for i, a in enumerate(r["recommendations"], 1)] or \
        ["本次演练未发现需要整改的薄弱环节；保持现有做法，按计划继续组织演练。"]
    return lines
