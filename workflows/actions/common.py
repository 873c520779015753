"""The checks every action shares, run by the registry before the action's own check: the
incident is open, the stage allows the action, the business time is sane, and the actor is
who the plan's authority table says may take it (plan/authority.py). Also the checks several
actions use: the approver an act needs (附件1), a known group, a warning's issuer (3.3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from plan import authority
from plan.calendar import SHANGHAI
import workflows.messages as m
from workflows.errors import Refused
from plan.stages import OUTCOME_NAMES, STAGE_NAMES
from workflows.lifecycle import Lifecycle
from workflows.recorder import BACKDATE_LIMIT, fmt

FUTURE_TOLERANCE = timedelta(minutes=5)


def open_and_allowed(s: m.IncidentState, lc: Lifecycle, action: str, title: str) -> None:
    """The incident is open and its stage allows the action."""
    if s.outcome is not None:
        raise Refused(f"事件 {s.incident_id} 已结案（{OUTCOME_NAMES.get(s.outcome, '已结束')}），不能再办理任何操作")
    if not lc.allowed(action, s.stage):
        where = "、".join(STAGE_NAMES[st] for st in lc.stages_for(action))
        raise Refused(f"本事件处于{STAGE_NAMES[s.stage]}阶段，不能{title}：只能在{where}阶段办理")


def business_time(s: m.IncidentState, inp: m.Action, now: datetime) -> datetime:
    """The action's `at` (default now), refused in the future, before discovery, or more than
    an hour back without the reason for the late entry (补录说明)."""
    at = (inp.at or now).astimezone(SHANGHAI)
    if at > now + FUTURE_TOLERANCE:
        raise Refused(f"办理时间 {fmt(at)} 在将来（比现在 {fmt(now)} 晚 5 分钟以上）", "invalid", "at")
    if at < s.report.discovered_at:
        raise Refused(f"办理时间 {fmt(at)} 早于事件发现时间（{fmt(s.report.discovered_at)}）", "invalid", "at")
    if now - at > BACKDATE_LIMIT and not (inp.backdate_reason or "").strip():
        raise Refused(f"办理时间 {fmt(at)} 比现在（{fmt(now)}）早 1 小时以上：请填写补录说明", "invalid", "backdate_reason")
    return at


def not_before_stage(s: m.IncidentState, at: datetime) -> None:
    """An action that moves the incident on is not dated before its current stage began: the
    record would show the stages out of order and the clocks it starts would start early."""
    if at < s.stage_entered_at:
        raise Refused(f"办理时间 {fmt(at)} 早于事件进入{STAGE_NAMES[s.stage]}阶段的时间（{fmt(s.stage_entered_at)}）："
                      "推进事件的操作只能晚于该时间", "invalid")


def allowed(s: m.IncidentState, action: str, by) -> None:
    """Who acts: the pinned plan's authority table decides."""
    if not by.accountable:
        raise Refused(f"{by.name}（{by.role}）未写明预案角色和认证途径：本事件的每项操作都按预案权限表核对办理人",
                      "forbidden")
    spec = authority.role(by.role_id, s.plan)
    if spec is None:
        raise Refused(f"未知角色“{by.role_id}”：本预案的角色是{'、'.join(r.name for r in s.plan.roles)}", "forbidden")
    if by.role != spec.name:
        raise Refused(f"角色不符：该角色在本预案中称为{spec.name}，不是{by.role}", "forbidden")
    why = authority.may(by.role_id, authority.action_of(action, by.via), is_named_lead=True, plan=s.plan)
    if why:
        raise Refused(why, "forbidden")


def approver(s: m.IncidentState, action: str, inp) -> "m.Actor":
    """The account that approved an act needing approval (附件1: activation 经总指挥批准): the
    actor when its role may approve, else the approver it names."""
    r = authority.rule(action, s.plan)
    if r is None or not r.approver_roles:
        return inp.by
    post = r.approver_post or "、".join(x.name for x in s.plan.roles if x.id in r.approver_roles)
    named = inp.approver
    if named is None:
        if inp.by.role_id in r.approver_roles:
            if inp.approved_by and inp.approved_by.strip() not in (inp.by.name, inp.by.display):
                raise Refused(f"「{r.name}」由{inp.by.name}本人批准时不另写批准人；由{inp.approved_by.strip()}批准的，"
                              f"以其账号写明批准人（{authority.why(r)}）", "invalid")
            return inp.by
        raise Refused(f"「{r.name}」须经{post}批准：请写明批准的{post}账号（{authority.why(r)}）", "invalid",
                      "approved_by")
    # The approver is named by the actor (the approval was given in person or by phone), so
    # it carries the plan role it approved in, not how it logged in.
    if named.role_id not in r.approver_roles:
        spec = authority.role(named.role_id, s.plan) if named.role_id else None
        raise Refused(f"{named.name}（{spec.name if spec else named.role}）不能批准「{r.name}」：须经{post}批准"
                      f"（{authority.why(r)}）", "invalid")
    spec = authority.role(named.role_id, s.plan)
    if spec is not None and named.role != spec.name:
        raise Refused(f"批准人角色不符：该角色在本预案中称为{spec.name}，不是{named.role}", "invalid")
    return named


def known_group(s: m.IncidentState, gid: str) -> None:
    if gid not in s.plan.groups:
        raise Refused(f"没有工作组“{gid}”：本预案的工作组是{'、'.join(s.plan.groups.values())}", "invalid")
