"""What `ecoplan repair` says: one Chinese paragraph for a repair done (or, dry, planned) and
one for an unfinished repair finished (ecoplan/repair.py does the work)."""

from __future__ import annotations

from ecoplan.repair import Plan, Resume
from ecoplan.repair_history import Resend

WHY = {
    "named": "失败信息指出历史与现有代码自第 {d} 个事件起不一致",
    "replay": "按现有代码重放历史，{where}起不一致",
    "failing_task": "历史可按现有代码完整重放，失败的是此后的新任务",
    "given": "按 --before-event {d} 指定",
}


OUTCOMES = {"applied": "已办理", "sent": "已送达", "refused": "被拒绝", "failed": "未能送达"}


def _items(rs: list[Resend]) -> str:
    return "；".join(
        f"{r.title}（{r.who}，原于 {r.at:%m-%d %H:%M:%S}）" + (f"：{OUTCOMES[r.outcome]}" if r.outcome else "")
        + (f"，{r.reason}" if r.reason else "") for r in rs)


def _handed(p: Plan | Resume) -> str:
    if not p.handed:
        return ""
    names = "、".join(f"{r.title}（{r.who}）" for r in p.handed)
    return (f"；另有 {len(p.handed)} 项此前修复重新办理时被事件拒绝、已交相关人员重新办理（见审计日志），"
            f"不再重发：{names}")


def paragraph(p: Plan | Resume, dry_run: bool = False, before_event: int | None = None) -> str:
    """What was done (or, dry, would be), in one paragraph. The failure's own text (English, for
    developers) is in --json (`trouble.message`) and in the run's history, not here."""
    if isinstance(p, Resume):
        return resume_paragraph(p, dry_run)
    t = p.trouble
    since = f"自 {t.since:%m-%d %H:%M:%S} 起" if t.since else ""
    where = f"第 {p.diverges_at} 个事件" if p.diverges_at else f"第 {p.reset_to} 个事件之后的命令"
    why = WHY[p.found_by].format(d=p.diverges_at or before_event, where=where)
    point = (f"第 {p.reset_to} 个事件，即 {p.task_at:%m-%d %H:%M:%S} 开始的那次工作流任务完成之处（{why}，此前最后一次完成的"
             f"就是这次任务）：新运行保留第 1–{p.kept_upto} 个事件，这次任务由现有代码重新决定")
    if dry_run:
        head = (f"［试运行，未做任何更改］事件 {p.incident_id} 的工作流任务{since}连续失败 {t.failures} 次（{t.cause_text}）。"
                f"修复时将用 Temporal 的重置功能把运行 {p.run_id} 退回到{point}；")
    else:
        head = (f"事件 {p.incident_id} 已修复：其工作流任务{since}连续失败 {t.failures} 次（{t.cause_text}）。"
                f"已用 Temporal 的重置功能把运行 {p.run_id} 退回到{point}；原运行已由 Temporal 终止，其历史保留，"
                f"事件以新运行 {p.new_run_id} 继续，事件编号不变，各处仍按编号办理；")
    if p.resend:
        verb = "将由本命令按原办理时间重新办理" if dry_run else "已由本命令按原办理时间重新办理"
        earlier = sum(r.run_id != p.run_id for r in p.resend)
        also = f"（其中 {earlier} 项是此前一次未完成的修复留下、尚未补办的）" if earlier else ""
        acts = f"该点之后已受理的 {len(p.resend)} 项操作{also}不由 Temporal 重放，{verb}：{_items(p.resend)}"
    else:
        acts = "该点之后没有已受理的操作需要重新办理"
    if p.refused_before:
        acts += f"；另有 {p.refused_before} 项当时已被拒绝的操作不再办理"
    acts += _handed(p)
    tail = "。新运行重新执行的通知、文书打印和记录保存沿用原幂等键，已送达的不会重复送达。"
    return head + acts + tail


def resume_paragraph(p: Resume, dry_run: bool = False) -> str:
    """An unfinished repair finished (or, dry, what would finish it), in one paragraph."""
    resets = "；".join(
        f"{r.at:%m-%d %H:%M:%S} 的修复已把运行 {r.base_run_id} 退回到第 {r.reset_to} 个事件、以新运行 {r.new_run_id} 继续，"
        "此后已受理的操作却没有全部重新办理（修复命令未能办完即已中断）" for r in p.resets)
    head = ("［试运行，未做任何更改］" if dry_run else "") + f"事件 {p.incident_id} 的后台处理正常，但此前的修复未完成：{resets}。"
    verb = "将由本命令按原办理时间补办" if dry_run else "已由本命令按原办理时间补办"
    acts = (f"按更新编号和信号的请求编号核对，原运行中该点之后已受理、当前运行 {p.run_id} 尚未收到的 {len(p.resend)} 项操作"
            f"{verb}：{_items(p.resend)}")
    if p.already:
        acts += f"；另有 {p.already} 项当前运行已收到，不再重发"
    acts += _handed(p)
    tail = ("。补办沿用原更新编号和请求编号，Temporal 在同一运行中对同一编号只受理一次，"
            "再次执行本命令不会重复办理。")
    return head + acts + tail
