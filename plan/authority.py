"""Who may do what: the plan's role and authority tables as one pure question.

`may(role, action)` answers None (allowed) or the sentence that refuses, in Chinese, citing
the plan section the rule comes from. The stage in which an action may be taken is the
incident life cycle's answer, not this one: the console and the API ask both.
"""

from __future__ import annotations

from typing import Any

from plan.models import AuthorityRule, Plan, RoleSpec

# `plan` below is a Plan or the snapshot an incident pinned of it (plan/snapshot.py): both
# carry `roles` and `authority`, so the console, the API and the workflow ask the same table.


def _plan(plan: Any | None) -> Any:
    if plan is not None:
        return plan
    from plan.loader import load_plan

    return load_plan().plan


def roles(plan: Plan | None = None) -> list[RoleSpec]:
    return list(_plan(plan).roles)


def role(role_id: str, plan: Plan | None = None) -> RoleSpec | None:
    return next((r for r in _plan(plan).roles if r.id == role_id), None)


def rule(action: str, plan: Plan | None = None) -> AuthorityRule | None:
    return next((a for a in _plan(plan).authority if a.action == action), None)


def actions(plan: Plan | None = None) -> list[str]:
    return [a.action for a in _plan(plan).authority]


def why(r: AuthorityRule) -> str:
    """The rule's citation as a person reads it."""
    return r.source or "本局规定"


def may(role_id: str, action: str, *, is_named_lead: bool = False, plan: Plan | None = None) -> str | None:
    """None when an account of `role_id` may take `action`; else the one sentence that says
    why not. `is_named_lead`: the account was named at dispatch to lead the group the action
    is for (only asked by rules marked named_lead_only, i.e. the 附件2 sign-off)."""
    p = _plan(plan)
    spec = role(role_id, p)
    if spec is None:
        return f"未知角色 {role_id!r}，不能办理任何操作"
    r = rule(action, p)
    if r is None:
        return f"未知操作 {action!r}"
    if role_id not in r.roles:
        who = "、".join(x.name for x in p.roles if x.id in r.roles)
        return f"{spec.name}不能办理「{r.name}」：此操作由{who}办理（{why(r)}）"
    if r.named_lead_only and not is_named_lead:
        return f"「{r.name}」只能由派遣时被指定为该组组长的账号为本组办理（{why(r)}）"
    return None


def action_of(update: str, via: str | None) -> str:
    """The authority table's action for an Update sent through `via`: a linkage platform's
    follow-up alert arrives through the intake as submit_report and is its own act."""
    return "intake_report" if update == "submit_report" and via == "intake" else update


def approver_refusal(action: str, approver_role: str | None, plan: Plan | None = None) -> str | None:
    """None when an account of `approver_role` may approve `action` (rules with approver
    roles, e.g. activation 经总指挥批准); else the sentence that says who approves."""
    p = _plan(plan)
    r = rule(action, p)
    if r is None or not r.approver_roles:
        return None
    if approver_role in r.approver_roles:
        return None
    post = r.approver_post or "、".join(x.name for x in p.roles if x.id in r.approver_roles)
    spec = role(approver_role, p) if approver_role else None
    who = f"{spec.name}不能批准" if spec else "须写明批准人，"
    return f"{who}「{r.name}」须经{post}批准（{why(r)}）"


def actions_for(role_id: str, plan: Plan | None = None) -> list[str]:
    """The actions an account of this role may take somewhere (named-lead rules included)."""
    p = _plan(plan)
    return [a.action for a in p.authority if role_id in a.roles]


def reads(role_id: str, plan: Plan | None = None) -> str:
    """What the role may read: all | led | bulletins | none (unknown roles: none)."""
    spec = role(role_id, plan)
    return spec.reads if spec else "none"
