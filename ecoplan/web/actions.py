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
from plan.loader import load_plan, validation_message
from workflows import messages as m

# Update name -> its input model (the workflow's contract, read here, never changed here).
ACTION_MODELS: dict[str, type[m.Action]] = {
    "propose_warning": m.ProposeWarning, "issue_warning": m.IssueWarning, "lift_warning": m.LiftWarning,
    "activate_response": m.ActivateResponse, "adjust_level": m.AdjustLevel,
    "record_city_started": m.RecordCityStarted, "dispatch": m.Dispatch, "submit_report": m.SubmitReport,
    "propose_termination": m.ProposeTermination, "sign_off": m.SignOff,
    "approve_termination": m.ApproveTermination, "record_aftercare": m.RecordAftercare,
    "complete_investigation": m.CompleteInvestigation, "assessment_review_passed": m.AssessmentReviewPassed,
    "submit_assessment_report": m.SubmitAssessmentReport, "close": m.Close,
    "recompute_deadlines": m.RecomputeDeadlines, "record_cross_boundary": m.RecordCrossBoundary,
    "request_support": m.RequestSupport, "answer_support": m.SupportAnswer,
    "record_joint_investigation": m.RecordJointInvestigation, "record_circumstances": m.RecordCircumstances,
    "record_other_termination": m.RecordOtherTermination, "record_other_act": m.RecordOtherAct,
}


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


def signing_roles() -> set[str]:
    r = authority.rule("sign_off")
    return set(r.roles) if r else set()


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
        raise Refusal(422, "body: 应为 JSON 对象（该操作的字段）")
    if "by" in fields:
        raise Refusal(422, "by: 由服务器按登录账号填写，请求中不能给出")
    if "approver" in fields:
        raise Refusal(422, "approver: 由服务器按 approved_by 中的账号填写，请求中不能给出")
    data = {**fields, "by": actor(account, via).model_dump()}
    if action == "activate_response" and str(fields.get("approved_by") or "").strip():
        data["approver"] = _approver(store, account, str(fields["approved_by"]).strip())
    if action == "sign_off":
        data.setdefault("lead", account.username)
    try:
        inp = ACTION_MODELS[action].model_validate(data)
    except ValidationError as e:
        raise Refusal(422, validation_message(e)) from None
    if rule.named_lead_only:
        st = await _status(client, incident_id)
        group = getattr(inp, "group", None)
        if st.get("leads", {}).get(group) != account.username or getattr(inp, "lead", None) != account.username:
            raise Refusal(403, authority.may(account.role, action, is_named_lead=False)
                          or f"{account.username} 不是 {group} 组的组长")
    if action == "dispatch":
        _check_leads(store, inp.leads)
    try:
        return await api.act(client, incident_id, action, inp)
    except api.ActionRefused as e:
        raise Refusal(409, str(e)) from None
    except api.IncidentNotFound as e:
        raise Refusal(404, f"没有事件 {incident_id}（{e}）") from None
    except (api.IncidentClosed, api.IncidentBusy) as e:
        raise Refusal(409, str(e)) from None


def _approver(store: AccountStore, account: Account, username: str) -> dict | None:
    """附件1: the 总指挥 who approved the activation, named by username: an enabled account
    whose role may approve. Naming oneself is approving oneself (no separate approver)."""
    r = authority.rule("activate_response")
    if username == account.username and r is not None and account.role in r.approver_roles:
        return None
    acc = store.get(username)
    if acc is None or acc.disabled:
        raise Refusal(422, f"approved_by: 没有可用的账号 {username!r}（批准人按用户名指定）")
    why = authority.approver_refusal("activate_response", acc.role)
    if why:
        raise Refusal(422, f"approved_by: {acc.label}：{why}")
    spec = authority.role(acc.role)
    return {"name": acc.username, "role": spec.name if spec else acc.role, "role_id": acc.role,
            "display": acc.display or None}


def _check_leads(store: AccountStore, leads: dict[str, str]) -> None:
    """Leads are named by username: each must be an enabled account whose role may sign."""
    may_sign = signing_roles()
    for group, username in leads.items():
        acc = store.get(username.strip())
        if acc is None or acc.disabled:
            raise Refusal(422, f"leads.{group}: 没有可用的账号 {username!r}（组长按用户名指定）")
        if acc.role not in may_sign:
            spec = authority.role(acc.role)
            raise Refusal(422, f"leads.{group}: {acc.label} 的角色是{spec.name if spec else acc.role}，不能担任组长")


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


@dataclass(frozen=True)
class FormField:
    name: str  # the input's key; "content.summary" nests, "leads.monitoring" fills a dict
    label: str
    kind: str = "text"  # text | textarea | select | checkbox | checks | date | datetime | lines | number | hidden
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    value: str = ""  # a hidden field's value, fixed when the page is rendered


AT = FormField("at", "发生时间（默认现在）", "datetime")
# The workflow refuses an `at` more than an hour back without it (workflows/checks.py).
BACKDATE = FormField("backdate_reason", "补录说明（发生时间早于现在 1 小时以上时必填）", "textarea")
LEVELS = (("I", "I级（特别重大）"), ("II", "II级（重大）"), ("III", "III级（较大）"), ("IV", "IV级（一般）"))


def form_fields(action: str, st: dict | None = None, username: str = "") -> list[FormField]:
    """The inputs of an action's form, in Chinese, with the plan's options."""
    plan = load_plan().plan
    st = st or {}
    groups = {g.id: g.name for g in plan.groups}
    special = plan.reporting.special_circumstances
    circumstances = tuple((c.id, c.name) for c in special.items) if special else ()
    f = FormField
    specs: dict[str, list[FormField]] = {
        "propose_warning": [f("proposal", "建议内容（3.1 预警信息发布建议；3.3 预警解除建议）", "textarea", True),
                            f("lift", "提出预警解除建议（3.3）", "checkbox")],
        "issue_warning": [f("issued_by", "发布机关（3.3 市人民政府或其授权的有关单位）", required=True),
                          f("document_number", "发布文号", required=True),
                          f("recommendation", "本局的预警信息发布建议（3.1）", "textarea"),
                          f("actions_done", "已开展的预警行动（3.2）", "checks",
                            options=tuple((a.id, a.name) for a in plan.warning.actions))],
        "lift_warning": [f("issued_by", "解除预警的机关（3.3）", required=True),
                         f("document_number", "解除文号", required=True),
                         f("reason", "解除理由（3.3）", "textarea", True)],
        "activate_response": [f("level", "响应级别（默认按附表1分级）", "select", options=(("", "按分级"),) + LEVELS),
                              f("reason", "级别与分级不同时的理由（4.1.5）", "textarea"),
                              f("city_started", "市政府已启动响应", "checkbox"),
                              f("approved_by", "批准的总指挥（用户名；附件1 经总指挥批准，值班员登记时必填，总指挥本人办理时留空）")],
        "record_city_started": [f("note", "说明", "textarea")],
        "adjust_level": [f("level", "调整为", "select", True, LEVELS), f("reason", "理由（4.1.5）", "textarea", True)],
        "dispatch": [f(f"leads.{g}", f"{groups[g]}组长（用户名）", required=g in plan.termination.signatories)
                     for g in groups],
        "submit_report": [f("kind", "报告类型", "select", True,
                            (("initial", "初报"), ("progress", "续报"), ("final", "处理结果报告"))),
                          f("content.summary", "事件概况", "textarea", True),
                          f("content.place", "地点"), f("content.main_pollutants", "主要污染物和数量"),
                          f("content.monitoring_data", "监测数据", "textarea"), f("content.casualties", "人员伤亡"),
                          f("content.trend", "发展趋势"), f("content.actions_taken", "已采取的措施", "textarea"),
                          # 17号令 第十四条: every written report names these
                          f("reporting_unit", "报告单位（默认本局）"), f("signed_by", "报告签发人", required=True),
                          f("contact_person", "联系人", required=True), f("contact_phone", "联系电话", required=True),
                          f("circumstances", "按重大/特别重大程序报告的情形（17号令 第四条）", "checks",
                            options=circumstances)],
        "propose_termination": [f("reason", "终止建议理由（4.4）", "textarea", True)],
        "sign_off": [f("group", "签署的工作组", "select", True,
                       tuple((g, groups.get(g, g)) for g in st.get("pending_signoffs", [])
                             if (st.get("leads") or {}).get(g) == username)),
                     f("decision", "意见", "select", True, (("approve", "同意终止"), ("reject", "不同意，继续处置"))),
                     f("opinion", "意见说明（不同意时必填）", "textarea"),
                     # The round the lead read on this page: the workflow refuses a sign-off for a
                     # round that is no longer open, so a page left open across rounds signs nothing.
                     f("round", "签署轮次", "hidden", True, value=str(st.get("round") or ""))],
        "approve_termination": [f("instruction", "指挥批示（附件2）", "textarea"),
                                f("follow_up.continue_monitoring", "是否继续跟踪监测（4.4）", "select", True,
                                  (("", "请选择"), ("false", "不继续跟踪监测"), ("true", "继续跟踪监测"))),
                                f("follow_up.decided_by", f"决定单位（4.4，{plan.termination.follow_up_decided_by or '市应急指挥部'}）",
                                  required=True),
                                f("follow_up.until", "继续跟踪监测至（日期）", "date"),
                                f("city_decision", "市指挥部的决定（市政府启动响应时必填，4.4）", "textarea")],
        "record_aftercare": [f("note", "善后处置情况（5.1）", "textarea", True)],
        "complete_investigation": [f("summary", "调查结论（5.2）", "textarea")],
        "assessment_review_passed": [f("review_date", "评审通过日期（5.3）", "date")],
        "submit_assessment_report": [f("recipients", "报送单位（每行一个，默认市人民政府、省生态环境厅）", "lines")],
        "close": [f("note", "说明", "textarea")],
        "recompute_deadlines": [],
        "record_cross_boundary": [f("scope", "范围", "select", True,
                                    (("county_dispute", "县区间纠纷"), ("city", "跨市"), ("province", "跨省"))),
                                  f("neighbours", "相邻地区政府或部门（每行一个）", "lines"), f("note", "说明", "textarea")],
        "request_support": [f("partner", "商请单位", "select", True,
                              tuple((p.id, p.name) for p in (plan.linkage.partners if plan.linkage else []))),
                            f("request", "商请内容（协议 二.6）", "textarea", True)],
        "answer_support": [f("request_no", "商请编号", "number", True),
                           f("answer", "答复", "select", True, (("accepted", "同意"), ("declined", "不同意"))),
                           f("note", "说明", "textarea")],
        "record_joint_investigation": [f("members", "联合调查组成员（每行一个）", "lines", True),
                                       f("note", "说明", "textarea")],
        # plan duties: another body's act, recorded (who, when, document)
        "record_other_termination": [f("body", "终止响应的单位（默认按预案）"),
                                     f("document", "终止文件（文号或标题）", required=True),
                                     f("note", "说明", "textarea")],
        "record_other_act": [f("step", "事项", "select", True, (("investigation", "事件调查（5.2）"),
                                                                ("assessment", "损害评估（5.3）"),
                                                                ("aftercare", "善后处置（5.1）"))),
                             f("body", "办理单位（默认按预案）"), f("document", "文件（文号或标题）", required=True),
                             f("note", "说明", "textarea")],
        "record_circumstances": [f("circumstances", "情形（17号令 第四条）", "checks", True, circumstances),
                                 f("note", "说明", "textarea")],
    }
    out = specs[action]
    return out if action == "recompute_deadlines" else [*out, AT, BACKDATE]


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
