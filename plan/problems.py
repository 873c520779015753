"""Validation errors as a person reads them: one Chinese sentence that names the field as the
forms label it ("事件概况不能为空", "死亡人数不能为负数"), for every input model (the start
report, the assessment, the information report, each action's input, the intake's alert).
Pure: no I/O. The field ids stay in the API's machine-readable `errors[].field`.

A label is looked up by the model's name and the field's path first ("CompleteInvestigation.
summary" is 调查结论, a report's "content.summary" is 事件概况), then by the path, then by the
last name; a field without a label (a key nobody defined: an unknown field) is named as typed.
"""

from __future__ import annotations

import errno
import re
from typing import Any, Iterable

from pydantic import ValidationError

# The work groups (plan/models GROUP_IDS; the shipped plan's names, 2.3).
GROUPS = {"coordination": "综合协调组", "monitoring": "应急监测组", "disposal": "污染处置组",
          "investigation": "污染排查组", "publicity": "新闻宣传组", "experts": "应急专家组"}

LABELS: dict[str, str] = {
    # the start report (事件报告) and its assessment (附表1), as the new-incident form labels them
    "incident_id": "事件编号", "title": "事件名称", "discovered_at": "发现时间", "reported_at": "接报时间",
    "county": "县（区）", "location": "地点", "incident_type": "事件类型", "description": "事件概况",
    "source": "信息来源", "reporter": "报告人", "assessment": "分级信息", "drill": "演练", "plan": "预案",
    "special_circumstances": "特殊情形（17号令 第四条）",
    "deaths": "死亡人数", "poisoned_or_injured": "中毒或重伤人数", "evacuated": "疏散转移人数",
    "direct_loss_yuan": "直接经济损失（元）", "drinking_water_interrupted": "饮用水水源取水中断",
    "cross_boundary": "跨界影响", "ecological_impact": "生态影响",
    # who acts, when
    "by": "办理人", "name": "姓名", "role": "角色", "role_id": "预案角色", "display": "姓名", "via": "认证途径",
    "at": "办理时间", "backdate_reason": "补录说明",
    # the actions' inputs, as their forms label them
    "proposal": "建议内容", "lift": "预警解除建议", "recommendation": "预警信息发布建议",
    "actions_done": "已开展的预警行动", "issued_by": "发布机关", "document_number": "文号",
    "level": "响应级别", "reason": "理由", "city_started": "市政府已启动响应", "approved_by": "批准的总指挥",
    "approver": "批准人", "note": "说明", "leads": "工作组组长", "kind": "报告类型", "content": "报告内容",
    "reporting_unit": "报告单位", "signed_by": "报告签发人", "contact_person": "联系人", "contact_phone": "联系电话",
    "circumstances": "情形（17号令 第四条）", "relayed_from": "转报平台", "group": "签署的工作组", "lead": "组长",
    "decision": "意见", "opinion": "意见说明", "round": "签署轮次", "instruction": "指挥批示",
    "city_decision": "市指挥部的决定", "follow_up": "跟踪监测", "continue_monitoring": "是否继续跟踪监测",
    "decided_by": "决定单位", "until": "继续跟踪监测至", "summary": "调查结论", "review_date": "评审通过日期",
    "recipients": "报送单位", "scope": "范围", "neighbours": "相邻地区政府或部门", "partner": "商请单位",
    "request": "商请内容", "request_no": "商请编号", "answer": "答复", "members": "联合调查组成员",
    "body": "办理单位", "document": "文件（文号或标题）", "step": "事项",
    "by_phone": "电话初报", "received_by": "接听人", "DetermineEventLevel.level": "事件等级",
    "DetermineEventLevel.final": "核定（不勾选为初步认定）", "DetermineEventLevel.reason": "依据",
    # the information report's contents (17号令 第十三条)
    "content.summary": "事件概况", "time": "发生时间", "place": "地点", "content.source": "信息来源/污染源",
    "cause_and_nature": "事件起因和性质", "basic_process": "基本过程", "main_pollutants": "主要污染物和数量",
    "monitoring_data": "监测数据", "casualties": "人员伤亡",
    "drinking_water_sources_affected": "饮用水水源地等环境敏感点受影响情况", "trend": "发展趋势",
    "actions_taken": "已采取的措施", "next_measures": "下一步工作建议", "sensitive_points_map": "环境敏感点分布示意图",
    "progress": "处置进展情况", "measures_process_result": "处理的措施、过程和结果",
    "potential_harm_and_losses": "潜在或者间接危害以及损失", "social_impact": "社会影响",
    "remaining_problems": "处理后的遗留问题", "accountability": "责任追究", "fire_forces": "公安消防参战力量",
    "fire_water_used": "消防水使用量", "hidden_dangers": "可能存在的隐患", "affected_area": "影响范围",
    # the API's login and its query parameters
    "username": "用户名", "password": "密码", "code": "动态口令", "limit": "条数上限", "all": "全部",
    "idle": "空闲时长", "drills": "演练", "page": "页码", "per_page": "每页条数", "q": "搜索文字",
    # the 12369/119 intake's alert
    "alert_id": "接警单号", "received_at": "接警时间", "reporter_phone": "联系电话", "cause": "初步原因",
    "injured": "受伤或中毒人数", "fire": "消防信息", "forces": "消防参战力量", "water_used_m3": "消防水使用量（立方米）",
    "impact": "影响情况", "hazards": "可能存在的隐患",
    # where one name means another thing in one model
    "ReportFile.summary": "事件概况", "ReportFile.source": "信息来源/污染源",
    "ReportContent.summary": "事件概况",
    # a report whose every content field was left blank: its one required field is the 事件概况
    "SubmitReport.content": "事件概况", "ReportContent.source": "信息来源/污染源",
    "LiftWarning.reason": "解除理由", "LiftWarning.issued_by": "解除预警的机关",
    "AdjustLevel.level": "调整后的响应级别", "ProposeTermination.reason": "终止建议理由",
    "RecordAftercare.note": "善后处置情况", "RecordOtherTermination.body": "终止响应的单位",
    "RecordOtherTermination.document": "终止文件（文号或标题）", "RecomputeDeadlines.reason": "重算理由",
    "where": "公开方式", "RecordInvestigationTransfer.kind": "事项（委托、直接组织或报请）",
    "RecordInvestigationTransfer.body": "上级生态环境部门",
    "RecordInvestigationTransfer.document": "文件（委托函、通知或报请文号）",
    **{f"leads.{g}": f"{name}组长" for g, name in GROUPS.items()},
}

# What is wrong, by pydantic's error type; {f} is the field's label. Types not here: the
# validator's own sentence (ours are Chinese) after the label.
PROBLEMS: dict[str, str] = {
    "missing": "{f}不能为空", "string_too_short": "{f}不能为空", "too_short": "{f}不能为空",
    "blank": "{f}不能为空", "controls": "{f}含有控制字符（可能是粘贴了二进制内容）",
    "string_type": "{f}应为文字", "int_parsing": "{f}应为整数", "int_type": "{f}应为整数",
    "int_from_float": "{f}应为整数", "float_parsing": "{f}应为数字", "float_type": "{f}应为数字",
    "finite_number": "{f}应为有限的数字", "bool_parsing": "{f}应为是或否", "bool_type": "{f}应为是或否",
    "literal_error": "{f}不是可选的值", "enum": "{f}不是可选的值",
    "datetime_from_date_parsing": "{f}不是有效的时间（如 2026-11-23T03:10）",
    "datetime_parsing": "{f}不是有效的时间（如 2026-11-23T03:10）", "datetime_type": "{f}不是有效的时间（如 2026-11-23T03:10）",
    "date_parsing": "{f}不是有效的日期（如 2026-11-23）", "date_from_datetime_parsing": "{f}不是有效的日期（如 2026-11-23）",
    "date_type": "{f}不是有效的日期（如 2026-11-23）", "date_from_datetime_inexact": "{f}应为日期，不带时刻",
    "string_pattern_mismatch": "{f}格式不对", "extra_forbidden": "不认识的字段「{f}」（字段名写错了？）",
    "dict_type": "{f}格式不对（应为带字段名的对象）", "model_type": "{f}格式不对（应为带字段名的对象）",
    "model_attributes_type": "{f}格式不对（应为带字段名的对象）", "list_type": "{f}应为列表",
    "missing_for_new_incident": "{f}不能为空：接警信息未指明事件编号，新事件必须填写",
    "phone": "{f}应为电话号码：数字、空格、+、- 和括号，如 0353-2020000",
    "json_invalid": "不是有效的 JSON", "url_parsing": "{f}不是有效的网址",
}


def label(loc: Iterable[Any], model: str | None = None, labelled: bool = True) -> str:
    """The field a location names, as the forms label it: the deepest named part, with the
    position in a list ("报送单位第2项"). Not `labelled` (a plan file): the key path as written."""
    if not labelled:  # a file's keys, all of them (a plan's duty has a `body`)
        return ".".join(str(p) for p in loc) or "文件"
    parts = [p for p in loc if p not in ("body", "query", "path")]
    names = [str(p) for p in parts if not isinstance(p, int)]
    if not names:
        return "输入"
    dotted, last = ".".join(names), names[-1]
    keys = ([f"{model}.{dotted}", f"{model}.{last}"] if model else []) + [dotted, ".".join(names[-2:]), last]
    found = next((LABELS[k] for k in keys if k in LABELS), None)
    if found is None and len(names) > 1 and names[-2] in LABELS:  # a dict key: 工作组组长「x」
        found = f"{LABELS[names[-2]]}「{last}」"
    found = found or last
    if parts and isinstance(parts[-1], int):
        found += f"第{parts[-1] + 1}项"
    return found


# A plan file's own rule broken (plan/models base.wrong): its sentence says what is wrong and
# what to write; ctx "at" is the key path below the model that found it.
PLAN_RULE = "plan_rule"
# How a list item is named in a plan file's key path: by the first of these keys it has (the
# identifier its author wrote and searches for), when no other item in the list has the same.
ITEM_KEYS = ("id", "action", "stage", "kind", "step", "name", "level")
# What a plan file's patterned keys take (plan/models: Plan.id, DailyReportSpec.at).
PLAN_PATTERNS = {"id": "小写字母、数字和 -，以字母或数字开头，如 yangquan-2022", "at": "时:分（24 小时制），如 08:00"}


def _named(loc: tuple, data: Any) -> tuple:
    """A key path with each list position replaced by the item's name where the file gives one
    (deadlines.0.duration -> deadlines.initial_report.duration); the position stays when the
    name is missing, repeated, or is itself the key in error."""
    out, node = [], data
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            item, nxt = node[part], loc[i + 1] if i + 1 < len(loc) else None
            key = next((k for k in ITEM_KEYS if isinstance(item, dict) and k in item), None)
            value = item.get(key) if key else None
            same = [x for x in node if isinstance(x, dict) and x.get(key) == value]
            ok = (isinstance(value, str) and 0 < len(value) <= 40 and not re.search(r"[\s.：:]", value)
                  and len(same) == 1 and nxt != key)
            out.append(value if ok else part)
            node = item
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def _choices(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" as the values to write: a、b、c."""
    return "、".join(re.findall(r"'([^']*)'", expected))


def problem(e: dict, model: str | None = None, labelled: bool = True, data: Any = None) -> str:
    """One error of pydantic's `errors()` as a sentence. `data`: the plan file as read, whose
    list items name the key path (a plan file's error also lists the values it may take)."""
    ctx = e.get("ctx") or {}
    loc = tuple(e.get("loc", ()))
    if e.get("type") == PLAN_RULE and ctx.get("at"):
        loc += tuple(int(p) if p.isdigit() else p for p in str(ctx["at"]).split("."))
    key = loc and loc[-1] == "[key]"  # a dict key that is not allowed (by_level: {V: …})
    loc = tuple(p for p in loc if p != "[key]")
    if data is not None:
        loc = _named(loc, data)
    e = {**e, "loc": loc}
    f, kind = label(loc, model, labelled) + ("（键名）" if key else ""), e.get("type", "")
    if data is not None and kind in ("literal_error", "enum") and _choices(str(ctx.get("expected", ""))):
        return f"{f}不是可选的值（可选：{_choices(str(ctx['expected']))}）"
    if data is not None and kind == "missing":
        return f"缺少必填项 {f}"
    if data is not None and kind in ("bool_parsing", "bool_type"):
        return f"{f}应为 true 或 false"
    if data is not None and kind == "string_pattern_mismatch" and loc and loc[-1] in PLAN_PATTERNS:
        return f"{f}格式不对：应为{PLAN_PATTERNS[loc[-1]]}"
    if kind == "extra_forbidden":  # a key nobody defined: named as typed, in the field the forms label
        loc = [p for p in e.get("loc", ()) if p not in ("body", "query", "path") or not labelled]
        typed = str(loc[-1]) if loc else ""
        return (f"{label(loc[:-1], model, labelled)}中" if len(loc) > 1 and labelled else "") + \
            PROBLEMS[kind].format(f=".".join(str(p) for p in loc) if not labelled else typed)
    if kind in ("string_too_long", "too_long"):
        n = ctx.get("max_length")
        return f"{f}过长：最多 {n:,} 字" if n is not None else f"{f}过长"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        if bound == 0 and kind == "greater_than_equal":  # before formatting: 0.0 is zero too
            return f"{f}不能为负数"
        bound = f"{bound:g}" if isinstance(bound, float) else bound  # hours > 0, not 0.0
        return f"{f}应大于{'或等于' if 'ge' in ctx else ''} {bound}"
    if kind in ("less_than_equal", "less_than"):
        return f"{f}过大：不能超过 {ctx.get('le', ctx.get('lt')):,}"
    if kind in PROBLEMS:
        return PROBLEMS[kind].format(f=f)
    msg = " ".join(str(e.get("msg", "")).removeprefix("Value error, ").split())
    return f"{f}：{msg}" if tuple(e.get("loc", ())) not in ((), ("body",)) else msg


def problems(err: ValidationError, labelled: bool = True, data: Any = None) -> list[str]:
    return [problem(e, err.title, labelled, data) for e in err.errors(include_url=False)]


def message(errors: list[str]) -> str:
    """One line: the first problem, and how many more there are."""
    if not errors:
        return "输入有误"
    return errors[0] + (f"（另有 {len(errors) - 1} 处有误）" if len(errors) > 1 else "")


def validation_message(err: ValidationError, prefix: str = "", labelled: bool = True, data: Any = None) -> str:
    """The first problem of a ValidationError as one Chinese line (+ how many more). A plan
    or scenario file (not `labelled`) names the key path its author wrote; given the file's
    `data` (a plan), its list items by their names."""
    return " ".join(f"{prefix}{message(problems(err, labelled, data))}".split())


# Why a file could not be read or written, as a person reads it (the OS's own words are English).
OS_REASONS = {errno.ENOENT: "文件或目录不存在", errno.EACCES: "没有权限", errno.EPERM: "没有权限",
              errno.EISDIR: "这是一个目录，不是文件", errno.ENOTDIR: "路径中有一段不是目录", errno.ENOSPC: "磁盘已满",
              errno.EROFS: "只读的文件系统", errno.EEXIST: "已存在", errno.ENAMETOOLONG: "文件名过长"}


def os_reason(e: OSError) -> str:
    return OS_REASONS.get(e.errno, "读写出错") if isinstance(e, OSError) else "读写出错"
