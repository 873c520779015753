"""What the drill evaluation shares: the names it prints, small time helpers, and the view of
the plan behind the incident (_PlanView)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from plan.calendar import SHANGHAI

# The six areas the drills notice names (郑安委办〔2017〕43号 四), in its order.
AREAS = {
    "response_procedure": "应急响应程序", "information": "应急信息处置", "plan_coordination": "应急预案衔接",
    "mobilisation": "应急力量调动", "inter_department": "部门应急协调", "rescue": "应急抢险救援",
}
STEP_NAMES = {"dispatch": "派遣工作组", "termination": "响应终止", "investigation": "事件调查",
              "assessment": "损害评估", "aftercare": "善后处置", "final_report": "处理结果报告"}

STAGE_NAMES = {
    "reported": "接报研判", "warning": "预警", "responding": "响应启动", "on_site": "现场处置",
    "termination_pending": "终止签报", "post_event": "后期处置", "closed": "已结束",
}
GROUP_NAMES = {  # fallback when the plan cannot be loaded (2.3)
    "coordination": "综合协调组", "monitoring": "应急监测组", "disposal": "污染处置组",
    "investigation": "污染排查组", "publicity": "新闻宣传组", "experts": "应急专家组",
}
DEADLINE_NAMES = {
    "initial_report": "初报", "readiness": "应急力量准备", "assessment_report": "损害评估报告报送",
    "assessment_completion": "污染损害评估", "investigation": "事件调查",
}
LEVEL_RANK = {"IV": 1, "III": 2, "II": 3, "I": 4}
# Inter-department coordination in the timeline: the linkage actions (4.2.3; 协议 二) are
# read by name; any other action whose name says it notifies someone is listed as a notice,
# so notices added later are counted without a change here.
KNOWN_COORDINATION = {"record_city_started", "linkage_bulletin", "record_cross_boundary", "request_support",
                      "answer_support", "record_joint_investigation"}
COORDINATION_WORDS = ("bulletin", "notif", "notice", "linkage", "liaison", "inform", "通报")


# ------------------------------------------------------------------ small helpers


def _t(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        t = value
    else:
        t = datetime.fromisoformat(str(value))
    return (t if t.tzinfo else t.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI)


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(SHANGHAI).isoformat() if t else None


def _secs(a: datetime | None, b: datetime | None) -> int | None:
    """Seconds from a to b (None if either is missing)."""
    if a is None or b is None:
        return None
    return int(round((b - a).total_seconds()))


def _mins(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _span(name: str, a: datetime | None, b: datetime | None) -> dict:
    """{name_seconds, name_minutes} from a to b."""
    seconds = _secs(a, b)
    return {f"{name}_seconds": seconds, f"{name}_minutes": _mins(seconds)}


def _whole_minutes(seconds: int) -> int:
    return int(round(seconds / 60))


def _dur(seconds: int | None) -> str:
    """A duration for people: 12分钟, 1小时10分, 2天3小时."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    m = _whole_minutes(abs(seconds))
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    if d:
        return f"{sign}{d}天{h}小时" if h else f"{sign}{d}天"
    if h:
        return f"{sign}{h}小时{m}分" if m else f"{sign}{h}小时"
    return f"{sign}{m}分钟"


def _hm(t: str | datetime | None) -> str:
    t = _t(t) if not isinstance(t, datetime) else t
    return t.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if t else "—"


def _who(by: Any) -> str | None:
    if isinstance(by, dict):
        return by.get("name")
    return by if isinstance(by, str) else None


def _duration_label(d) -> str:
    if d.hours is not None:
        return f"{d.hours:g}小时"
    if d.days is not None:
        return f"{d.days}天"
    return f"{d.working_days}个工作日"


# ------------------------------------------------------------------ the plan behind the incident


class _PlanView:
    """What the evaluation needs from the incident's plan, with graceful fallbacks."""

    def __init__(self, status: dict):
        ref = status.get("plan") or {}
        self.ref = {k: ref.get(k) for k in ("id", "version", "hash")}
        self.notes: list[str] = []
        self.expectations: dict[str, Any] = {}
        self.expectation_sources: dict[str, str] = {}
        self.groups = dict(GROUP_NAMES)
        self.loaded = False
        self._calendar = None
        self._calendar_failed = False
        pid = ref.get("id")
        if not pid:
            self.notes.append("事件未记录所用预案：阶段用时未与预期比较")
            return
        try:
            from plan.loader import load_plan

            loaded = load_plan(pid)
        except Exception as e:  # PlanError, or a plan that no longer validates
            self.notes.append(f"预案 {pid} 无法加载（{' '.join(str(e).split())[:200]}）：阶段用时未与预期比较")
            return
        self.loaded = True
        plan = loaded.plan
        if ref.get("hash") and ref["hash"] != loaded.content_hash:
            self.notes.append(f"预案 {pid} 在事件开始后已修订（内容哈希不同）：阶段预期取自现行版本 {plan.version}")
        self.expectations = {s.stage: s.within for s in plan.stage_expectations}
        self.expectation_sources = {s.stage: s.source for s in plan.stage_expectations}
        self.groups.update({g.id: g.name for g in plan.groups})

    def group(self, gid: str) -> str:
        return self.groups.get(gid, gid)

    def expected_by(self, stage: str, entered: datetime) -> datetime | None:
        within = self.expectations.get(stage)
        if within is None:
            return None
        if not within.is_working_days:
            return entered + within.as_timedelta()
        day = entered.astimezone(SHANGHAI).date()
        cal = self._cal()
        if cal is not None:
            return cal.add_working_days(day, within.working_days).due_at
        n = within.working_days  # no calendar data: count Monday–Friday
        while n:
            day += timedelta(days=1)
            n -= day.weekday() < 5
        return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=SHANGHAI)

    def _cal(self):
        if self._calendar is None and not self._calendar_failed:
            try:
                from plan.calendar import load_calendar

                self._calendar = load_calendar()
            except Exception:
                self._calendar_failed = True
                self.notes.append("工作日历无法加载：按周一至周五计算工作日")
        return self._calendar
