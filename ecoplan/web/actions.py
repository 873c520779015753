"""One action taken by an authenticated account, for the console's forms and the JSON API
alike: the role is checked against the plan's authority table first (403, nothing
applied), then the input (422), then the incident decides (409 with its own sentence).
The server fills `by` from the account: a request never says who it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.client import Client

from ecoplan import api, people
from ecoplan.accounts import Account, AccountStore
from plan import authority
from plan.incident import Actor
from plan.loader import load_plan
from plan.problems import validation_message
from workflows import messages as m
from workflows.actions import ACTIONS

# Update name -> its input model (the workflow's contract, from the action registry).
ACTION_MODELS: dict[str, type[m.Action]] = {name: spec.input for name, spec in ACTIONS.items()}


# The incident's refusal kinds (workflows/errors.py) as HTTP statuses: what the account may
# not do is 403; every other refusal by the incident stays 409, as the API has always answered
# (422 is for input the server rejects before the incident sees it).
REFUSAL_STATUS = {"forbidden": 403, "conflict": 409, "invalid": 409}


class Refusal(Exception):
    """Why an action or a read was not done: an HTTP status and one sentence for the person;
    `field`: the input at fault when one is (a form marks it, the API names it)."""

    def __init__(self, status: int, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


class Stuck(Refusal):
    """The incident's workflow task keeps failing: it cannot be read until it is repaired."""


def actor(account: Account, via: str = "web") -> Actor:
    """The account as the workflow records it: leads are named at dispatch by username, so
    the username is the name; the plan's role id and name; the display name; how the
    account was authenticated (web: password session, oidc, api: bearer token)."""
    spec = authority.role(account.role)
    return Actor(name=account.username, role=spec.name if spec else account.role, role_id=account.role,
                 display=(account.display or "").strip() or None, via=via)


async def read_incident(client: Client, account: Account, incident_id: str) -> dict:
    """The incident's status, when the account's role may read it."""
    reads = authority.reads(account.role)
    if reads not in ("all", "led"):
        spec = authority.role(account.role)
        raise Refusal(403, f"{spec.name if spec else account.role}不能查看事件详情")
    st = await _status(client, incident_id)
    if reads == "led" and account.username not in (st.get("leads") or {}).values():
        raise Refusal(403, "只能查看派遣时被指定为组长的事件")
    return st


async def _status(client: Client, incident_id: str) -> dict:
    try:
        st = await api.status(client, incident_id)
    except api.IncidentNotFound as e:
        raise Refusal(404, f"没有事件 {incident_id}（{e}）") from None
    except api.IncidentClosed as e:
        raise Refusal(404, f"事件 {incident_id} 已关闭（{e}）") from None
    except api.IncidentStuck as e:  # its workflow task keeps failing: say so, with the remedy
        raise Stuck(409, str(e)) from None
    if st.get("loading"):
        raise Refusal(409, f"事件 {incident_id} 正在加载预案，请稍后再试")
    return st


def named_groups(st: dict, username: str) -> list[str]:
    """The groups this account was named to lead at dispatch."""
    return [g for g, who in (st.get("leads") or {}).items() if who == username]


async def perform(client: Client, store: AccountStore, account: Account, incident_id: str, action: str,
                  fields: dict[str, Any], via: str = "web") -> m.ActionResult:
    rule = authority.rule(action)
    if rule is None or action not in ACTION_MODELS:
        raise Refusal(404, f"未知操作 {action!r}")
    # The role first: a role that may never take the action learns nothing about the incident.
    why = authority.may(account.role, action, is_named_lead=True)
    if why:
        raise Refusal(403, why)
    if not isinstance(fields, dict):
        raise Refusal(422, "请求内容应为 JSON 对象（该操作的字段）")
    if "by" in fields:
        raise Refusal(422, "办理人由服务器按登录账号填写，请求中不能给出")
    if "approver" in fields:
        raise Refusal(422, "批准人由服务器按“批准的总指挥”中的账号填写，请求中不能给出")
    spec = ACTIONS[action]
    data = {**fields, "by": actor(account, via).model_dump()}
    if "approver" in spec.input.model_fields and str(fields.get("approved_by") or "").strip():
        data["approver"] = _approver(store, account, action, str(fields["approved_by"]).strip())
    for name in spec.account_fills:
        data.setdefault(name, account.username)
    try:
        inp = spec.input.model_validate(data)
    except ValidationError as e:
        loc = e.errors(include_url=False)[0]["loc"]
        raise Refusal(422, validation_message(e), ".".join(str(p) for p in loc) or None) from None
    for name in spec.names_accounts:
        _check_named(store, name, getattr(inp, name))
    try:
        return await api.act(client, incident_id, action, inp)
    except api.ActionRefused as e:
        raise Refusal(REFUSAL_STATUS.get(e.kind, 409), str(e), e.field) from None
    except api.IncidentNotFound as e:
        raise Refusal(404, f"没有事件 {incident_id}（{e}）") from None
    except (api.IncidentClosed, api.IncidentBusy) as e:
        raise Refusal(409, str(e)) from None


def _approver(store: AccountStore, account: Account, action: str, username: str) -> dict | None:
    """附件1: the 总指挥 who approved (the activation), named by username: an enabled account
    whose role may approve. Naming oneself is approving oneself (no separate approver)."""
    r = authority.rule(action)
    if username == account.username and r is not None and account.role in r.approver_roles:
        return None
    acc = store.get(username)
    if acc is None or acc.disabled:
        raise Refusal(422, f"批准的总指挥：没有可用的账号「{username}」，请从可批准的账号中选择", "approved_by")
    why = authority.approver_refusal(action, acc.role)
    if why:
        raise Refusal(422, f"批准的总指挥：{acc.label}：{why}", "approved_by")
    spec = authority.role(acc.role)
    return {"name": acc.username, "role": spec.name if spec else acc.role, "role_id": acc.role,
            "display": acc.display or None}


def _check_named(store: AccountStore, field: str, named: dict[str, str]) -> None:
    """People named by username (the leads at dispatch): each must be an enabled account that
    may lead the group (ecoplan/people.py: 附件2 组长签字)."""
    groups = {g.id: g.name for g in load_plan().plan.groups}
    for key, username in named.items():
        why = people.lead_refusal(store.get(username.strip()), username.strip(), groups.get(key, key))
        if why:
            raise Refusal(422, why, f"{field}.{key}")


async def start(client: Client, account: Account, report, wait_ready: float, via: str = "web",
                store: AccountStore | None = None, participants: list[str] = ()) -> str:
    """Start an incident; a drill with its participants (usernames; the account starting it always
    takes part), each an enabled account of `store` (422 naming the unknown ones, nothing started)."""
    why = authority.may(account.role, "start_incident")
    if why:
        raise Refusal(403, why)
    named: list[str] = []
    if report.drill:
        named, why = people.drill_participants(store, list(participants), account.username)
        if why:
            raise Refusal(422, why, "participants")
    elif any(str(p).strip() for p in participants):
        raise Refusal(422, "只有演练可以指定演练参与人", "participants")
    try:
        return await api.start_incident(client, report, wait_ready=wait_ready, started_by=actor(account, via),
                                        drill_participants=named)
    except api.IncidentExists as e:
        raise Refusal(409, str(e)) from None
    except api.ActionRefused as e:
        raise Refusal(422, str(e)) from None
