"""The weak points a drill evaluation finds, by area, each with its 整改意见和建议."""

from __future__ import annotations

from typing import Callable

from plan.drill.common import AREAS, LEVEL_RANK, _dur, _hm, _whole_minutes

Add = Callable[[str, str, str], None]  # area, finding, advice


def findings(r: dict) -> list[dict]:
    """Each weak point: its area, the finding and the 整改意见和建议 for it."""
    out: list[dict] = []

    def add(area: str, finding: str, advice: str) -> None:
        out.append({"area": area, "area_name": AREAS.get(area, "时限执行" if area == "deadlines" else "响应级别"),
                    "finding": finding, "recommendation": advice})

    for area in (_procedure, _information, _plan_coordination, _mobilisation, _inter_department, _deadlines, _levels):
        area(r, add)
    return out


def _procedure(r: dict, add: Add) -> None:
    # 应急响应程序
    for s in r["response_procedure"]["segments"]:
        if s["within_expectation"] is False:
            state = "至今已用时" if s["ongoing"] else "用时"
            add("response_procedure", f"「{s['stage_name']}」阶段{state}{_dur(s['duration_seconds'])}，"
                f"超出预期（{s['expected']}）{_dur(s['over_by_seconds'])}",
                f"查明「{s['stage_name']}」阶段超时的环节，明确责任人和完成时限")
    for x in r["response_procedure"]["refused_inputs"]:
        add("response_procedure", f"{_hm(x['at'])} {x['by'] or '—'} 的{x['action']}操作被拒绝：{x['reason'] or '—'}",
            "对值守和操作人员开展流程培训，熟悉各阶段可办理的事项")


def _information(r: dict, add: Add) -> None:
    # 应急信息处置
    info = r["information"]
    for rep in info["reports"]:
        if rep["late"]:
            add("information", f"初报迟报 {_whole_minutes(rep['late_by_seconds'])} 分钟"
                f"（应于 {_hm(rep['due_at'])} 前报送，实际 {_hm(rep['at'])}）",
                "完善接报核实和初报流程，紧急情况下先电话报告再补书面报告（4.2.2），确保在时限内初报")
    if "initial" in info["missing"]:
        if info["initial_missing_overdue_by_seconds"] is not None:
            finding = f"未报送初报，已超过时限 {_dur(info['initial_missing_overdue_by_seconds'])}"
        else:
            finding = "未报送初报" + (f"（应于 {_hm(info['initial_report_due_at'])} 前）"
                                  if info["initial_report_due_at"] else "")
        add("information", finding, "立即补报初报，并查明未报原因（4.2.2）")
    if "final" in info["missing"] and r["stage"] in ("post_event", "closed"):
        add("information", "应急响应已终止，未报送处理结果报告（4.2）", "事件处理完毕后及时报送处理结果报告（4.2）")


def _plan_coordination(r: dict, add: Add) -> None:
    # 应急预案衔接
    for o in r["plan_coordination"]["other_bodies"]:
        if o["needed"] and not o["recorded"] and r["stage"] in ("post_event", "closed"):
            add("plan_coordination", f"{o['step_name']}为{o['body']}的职责（{o['source']}），尚未登记其办理情况",
                f"与{o['body']}衔接，及时取得并登记其{o['step_name']}文件")


def _mobilisation(r: dict, add: Add) -> None:
    # 应急力量调动
    mob = r["mobilisation"]
    level = r["level_changes"]["final_level"]
    if mob["dispatched_at"] and level and LEVEL_RANK.get(level, 0) >= LEVEL_RANK["III"] and mob["not_dispatched"]:
        names = "、".join(g["group_name"] for g in mob["not_dispatched"])
        add("mobilisation", f"{level}级响应未调派：{names}（4.1.2(6) 各工作组第一时间赶赴现场）",
            f"按响应级别调派全部工作组，补充{names}的人员和联络方式（4.1.2(6)）")


def _inter_department(r: dict, add: Add) -> None:
    # 部门应急协调
    co = r["inter_department"]
    for x in co["rejections"]:
        add("inter_department", f"终止签报第{x['round']}轮被{x['group_name']}否决：{x['opinion']}",
            "提出终止建议前由监测、处置、排查三组会商复核终止条件（4.4, 附件2）")
    for q in co["support_requests"]:
        if q["answer"] is None:
            add("inter_department", f"商请{q['partner_name']}支援（第{q['no']}号，{_hm(q['at'])}）未获答复",
                f"与{q['partner_name']}明确商请的联络人和答复时限（协议 二.6）")
        elif q["answer"] == "declined":
            add("inter_department", f"商请{q['partner_name']}支援（第{q['no']}号）被拒绝：{q['answer_note'] or '未说明'}",
                f"与{q['partner_name']}复核可调派的队伍和装备，准备替代力量")
    if co["fire_engaged"] and not co["joint_investigation"] and r["stage"] in ("post_event", "closed"):
        add("inter_department", "消防部门参与处置，未记录与消防部门的联合调查组（应急联动协议 二.5）",
            "消防部门参与处置时及时成立联合调查组（协议 二.5 及时成立）")


def _deadlines(r: dict, add: Add) -> None:
    # 时限执行: deadlines other than the initial report (reported above)
    for d in r["deadlines"]["deadlines"]:
        if d["name"] == "initial_report":
            continue
        who = d.get("who_acts") or "责任单位"
        if d["status"] == "met_late":
            add("deadlines", f"{d['name_zh']}逾期完成 {_whole_minutes(d['late_by_seconds'])} 分钟（{d['source']}）",
                f"由{who}对{d['name_zh']}设专人跟踪，按时完成")
        elif d["status"] == "overdue":
            add("deadlines", f"{d['name_zh']}已逾期 {_whole_minutes(d['late_by_seconds'])} 分钟，尚未完成（{d['source']}）",
                f"由{who}立即完成{d['name_zh']}，并说明逾期原因")


def _levels(r: dict, add: Add) -> None:
    # 响应级别
    lv = r["level_changes"]
    if lv["changes"]:
        first = lv["changes"][0]
        if lv["graded_level"] and first["to_level"] != lv["graded_level"]:
            add("levels", f"按{first['to_level']}级启动响应，与初判{lv['graded_level']}级不同（{first['reason'] or '未说明理由'}）",
                "复核初判依据（附表1、附表2），启动级别与初判不同时写明理由")
        for c in lv["changes"][1:]:
            add("levels", f"响应级别由{c['from_level']}级调整为{c['to_level']}级（{c['reason'] or '未说明理由'}）",
                "加强事态研判和监测，及早识别需要调整响应级别的情形（4.1.5）")
