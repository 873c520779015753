"""One action taken by an authenticated account, for the console's forms and the JSON API
alike: the role is checked against the plan's authority table first (403, nothing
applied), then the input (422), then the incident decides (409 with its own sentence).
The server fills `by` from the account: a request never says who it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client

from ecoplan import api
from ecoplan.accounts import Account, AccountStore
from plan import authority
from plan.incident import Actor
from plan.loader import load_plan
from plan.problems import validation_message
from workflows import messages as m
from workflows.actions import ACTIONS
from workflows.actions.form import AT, BACKDATE, FormField

# Update name -> its input model (the workflow's contract, from the action registry).
ACTION_MODELS: dict[str, type[m.Action]] = {name: spec.input for name, spec in ACTIONS.items()}


# The incident's refusal kinds (workflows/errors.py) as HTTP statuses: what the account may
# not do is 403; every other refusal by the incident stays 409, as the API has always answered
# (422 is for input the server rejects before the incident sees it).
REFUSAL_STATUS = {"forbidden": 403, "conflict": 409, "invalid": 409}


class Refusal(Exception):
    """Why an action or a read was not done: an HTTP status and one sentence for the person."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


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
        raise Refusal(422, validation_message(e)) from None
    for name, takes in spec.names_accounts.items():
        _check_named(store, name, getattr(inp, name), takes)
    try:
        return await api.act(client, incident_id, action, inp)
    except api.ActionRefused as e:
        raise Refusal(REFUSAL_STATUS.get(e.kind, 409), str(e)) from None
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
        raise Refusal(422, f"批准的总指挥：没有可用的账号「{username}」（批准人按用户名指定）")
    why = authority.approver_refusal(action, acc.role)
    if why:
        raise Refusal(422, f"批准的总指挥：{acc.label}：{why}")
    spec = authority.role(acc.role)
    return {"name": acc.username, "role": spec.name if spec else acc.role, "role_id": acc.role,
            "display": acc.display or None}


def _check_named(store: AccountStore, field: str, named: dict[str, str], takes: str) -> None:
    """People named by username (the leads at dispatch): each must be an enabled account whose
    role may take the action they are named for (the sign-off, 附件2)."""
    r = authority.rule(takes)
    may = set(r.roles) if r else set()
    for key, username in named.items():
        acc = store.get(username.strip())
        if acc is None or acc.disabled:
            raise Refusal(422, f"{field}.{key}: 没有可用的账号 {username!r}（组长按用户名指定）")
        if acc.role not in may:
            spec = authority.role(acc.role)
            raise Refusal(422, f"{field}.{key}: {acc.label} 的角色是{spec.name if spec else acc.role}，不能担任组长")


async def start(client: Client, account: Account, report, wait_ready: float, via: str = "web") -> str:
    why = authority.may(account.role, "start_incident")
    if why:
        raise Refusal(403, why)
    try:
        return await api.start_incident(client, report, wait_ready=wait_ready, started_by=actor(account, via))
    except api.IncidentExists as e:
        raise Refusal(409, str(e)) from None
    except api.ActionRefused as e:
        raise Refusal(422, str(e)) from None


# ------------------------------------------------------------------ the console's forms


def form_fields(action: str, st: dict | None = None, username: str = "") -> list[FormField]:
    """The inputs of an action's form, in Chinese, with the plan's options (declared with the
    action in the registry), then when it happened and why it is entered late."""
    spec = ACTIONS[action]
    out = spec.form(load_plan().plan, st or {}, username)
    return [*out, AT, BACKDATE] if spec.with_time else out


def fields_from_form(action: str, form: Any) -> dict[str, Any]:
    """A submitted form as the action's fields: empty inputs are left out (the model's
    defaults apply), nested names are nested, lines become lists."""
    out: dict[str, Any] = {}
    for spec in form_fields(action):
        if spec.kind == "checks":
            value: Any = [v for v in form.getlist(spec.name) if v]
        elif spec.kind == "checkbox":
            value = spec.name in form
        else:
            raw = form.get(spec.name)
            if raw is None or not str(raw).strip():
                continue
            value = str(raw)
            if spec.kind == "lines":
                value = [line.strip() for line in value.splitlines() if line.strip()]
        head, _, tail = spec.name.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = value
        else:
            out[head] = value
    return out


@dataclass
class ActionForm:
    action: str
    name: str
    fields: list[FormField] = field(default_factory=list)


def forms_for(account: Account, st: dict) -> list[ActionForm]:
    """The actions the stage allows now and the role permits, as forms."""
    out = []
    mine = named_groups(st, account.username)
    for action in st.get("allowed_actions", []):
        r = authority.rule(action)
        if r is None:
            continue
        named = any(g in st.get("pending_signoffs", []) for g in mine)
        if authority.may(account.role, action, is_named_lead=named) is None:
            out.append(ActionForm(action, r.name, form_fields(action, st, account.username)))
    return out
