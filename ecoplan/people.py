"""People as the roster, the pages and the posts on an incident name them: an account found by
its username or by its 姓名 (display name), how a person is shown (王伟（wangwei）), and who
may be named to a post, read from the accounts and the plan's authority table: the leads a
dispatch names (附件2 组长签字) and the 总指挥 an activation names as its approver (附件1). The
console offers these as choices and the console and the API refuse any other name, so a typo
or the wrong person is refused before the incident records it.

A group lead is an enabled account whose role may sign 附件2 for a group (`sign_off`) and
takes no other part in the same 签报单: not the office that proposes the termination
(`propose_termination`, 附件2 签报单位) and not the one who approves it (`approve_termination`,
附件2 指挥批示). Local choice: the plan names lead units per group (2.3), not people, and
accounts carry no unit, so every such account may lead any group.
"""

from __future__ import annotations

from typing import Callable

from ecoplan.accounts import Account, AccountError, AccountStore, store_target
from plan import authority


def lead_roles(plan=None) -> set[str]:
    """The roles whose accounts may be named a group's lead (see the module docstring)."""
    def roles(action: str) -> set[str]:
        r = authority.rule(action, plan)
        return set(r.roles) if r else set()

    return roles("sign_off") - roles("propose_termination") - roles("approve_termination")


def lead_refusal(acc: Account | None, username: str, group_name: str, plan=None) -> str | None:
    """None when `acc` (looked up by `username`) may lead the group; else why not, in Chinese."""
    if acc is None or acc.disabled:
        return f"没有可用的账号 {username!r}：{group_name}组长须从可担任组长的账号中选择"
    if acc.role not in lead_roles(plan):
        spec = authority.role(acc.role, plan)
        may = "、".join(r.name for r in authority.roles(plan) if r.id in lead_roles(plan))
        return (f"{acc.display or acc.username}的角色是{spec.name if spec else acc.role}，不能担任{group_name}组长"
                f"（组长由{may}担任；签报单位和批示人不为本单签字，附件2）")
    return None


def may_lead(store: AccountStore, plan=None) -> list[Account]:
    """The enabled accounts that may be named a group's lead, by display name."""
    roles = lead_roles(plan)
    return sorted((a for a in store.list() if a.role in roles and not a.disabled), key=_order)


def may_approve(store: AccountStore, action: str, plan=None) -> list[Account]:
    """The enabled accounts whose role may approve `action` (附件1: activation, the 总指挥)."""
    r = authority.rule(action, plan)
    roles = set(r.approver_roles) if r else set()
    return sorted((a for a in store.list() if a.role in roles and not a.disabled), key=_order)


def choices(accounts: list[Account]) -> tuple[tuple[str, str], ...]:
    """(username, what the person reads) per account: the display name, with the username only
    where two accounts share a display name."""
    names = [a.display or a.username for a in accounts]
    return tuple((a.username, n if names.count(n) == 1 or not a.display else f"{n}（{a.username}）")
                 for a, n in zip(accounts, names))


def display_name(store: AccountStore, username: str) -> str:
    """An account's display name, or the name as given (a lead named by the CLI is a name)."""
    acc = store.get(username) if username and username.isascii() else None
    return (acc.display or acc.username) if acc else username


def _accounts():
    """Where the bureau keeps its accounts: the shared database (ECOPLAN_DATABASE_URL), else the
    accounts file when there is one; None for an installation without accounts."""
    target = store_target()
    return target if isinstance(target, str) or target.exists() else None


def named_leads(leads: dict[str, str], plan=None) -> tuple[dict[str, str], str | None]:
    """For the CLI, which names leads as typed (--lead GROUP=NAME): where the bureau keeps
    accounts (the accounts file has an account that may lead), each name is one of them, by
    username or by a 姓名 only one account has, recorded by username as the console and the
    API record it; an installation without accounts (the CLI alone) names leads as people,
    recorded as typed. The leads to record, and None or why not."""
    target = _accounts()
    if not leads or target is None:
        return leads, None
    try:
        store = AccountStore(target)
        if not may_lead(store, plan):
            return leads, None
        who = resolver(store.list())
        groups = {g.id: g.name for g in (plan or _plan()).groups}
        named = {}
        for group, name in leads.items():
            username = who(name) or name.strip()
            why = lead_refusal(store.get(username), name.strip(), groups.get(group, group), plan)
            if why:
                return leads, f"--lead {group}={name}：{why}"
            named[group] = username
    except AccountError as e:
        return leads, str(e)
    return named, None


def named_approver(name: str, action: str, plan=None) -> tuple[Account | None, str | None]:
    """For the CLI's --approved-by: where the bureau keeps accounts with a role that may
    approve `action` (附件1: the 总指挥), the name (a username or a 姓名) must be one of them.
    The account named (None without accounts), and None or why not."""
    target = _accounts()
    if target is None:
        return None, None
    try:
        store = AccountStore(target)
        approvers = may_approve(store, action, plan)
        username = resolver(store.list())(name) or name.strip()
    except AccountError as e:
        return None, str(e)
    if not approvers:
        return None, None
    found = next((a for a in approvers if a.username == username), None)
    if found:
        return found, None
    return None, (f"--approved-by {name}：不是可批准的账号，可选 "
                  + "、".join(f"{a.display or a.username}（{a.username}）" for a in approvers))


def drill_participants(store: AccountStore | None, names: list[str], starter: str | None = None
                       ) -> tuple[list[str], str | None]:
    """A drill's participants (issue 23) as usernames, the starter first (always one of them): each
    name given (a username or a 姓名 only one account has; "a,b" lists several) must be an enabled
    account; the starter is recorded by username where an account is theirs, else as given (the
    CLI's operator may be a name). The list, and None or the one-line refusal naming every unknown
    name (nothing is started then)."""
    given = [n.strip() for name in names for n in str(name).replace("，", ",").split(",") if n.strip()]
    accounts = store.list() if store is not None and (given or starter) else []
    who = resolver([a for a in accounts if not a.disabled])
    enabled = {a.username for a in accounts if not a.disabled}
    unknown = [n for n in dict.fromkeys(given) if (who(n) or "") not in enabled]
    if unknown:
        return [], f"演练参与人：没有可用的账号 {'、'.join(unknown)}，演练未开始（参与人须是已启用的账号）"
    first = (who(starter) or starter.strip()) if starter and starter.strip() else None
    return list(dict.fromkeys(([first] if first else []) + [who(n) for n in given])), None


def resolver(accounts: list[Account]) -> Callable[[str], str | None]:
    """name -> username: a username, or a 姓名 only one enabled account has."""
    by_user = {a.username: a.username for a in accounts}
    by_display: dict[str, list[str]] = {}
    for a in accounts:
        if a.display and not a.disabled:
            by_display.setdefault(a.display, []).append(a.username)

    def who(name: str) -> str | None:
        name = name.strip()
        if name.lower() in by_user:
            return by_user[name.lower()]
        found = by_display.get(name, [])
        return found[0] if len(found) == 1 else None

    return who


def labeller(store: AccountStore) -> Callable[[str], str]:
    accounts = {a.username: a for a in store.list()}
    return lambda username: accounts[username].label if username in accounts else username


def _plan():
    from plan.loader import load_plan

    return load_plan().plan


def _order(a: Account) -> tuple[str, str]:
    return (a.display or a.username, a.username)
