"""The console's action forms, made from the action registry: what the account may do on the
incident now (the stage, the authority table, and the registry's offers at the incident's
level), each as a form whose people are chosen from the accounts that may fill the post
(ecoplan/people.py), and, after a refusal, the form again with what was typed and the field
at fault marked with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ecoplan import people
from ecoplan.accounts import Account, AccountStore
from ecoplan.web.actions import named_groups
from plan import authority
from plan.loader import load_plan
from workflows.actions import ACTIONS, offers
from workflows.actions.form import AT, BACKDATE, FormField

PICK = ("", "请选择")


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


def typed(form: Any) -> dict[str, Any]:
    """What was typed into a form, to show it again: one value per input, a list for checks."""
    return {k: (form.getlist(k) if len(form.getlist(k)) > 1 else str(v)) for k, v in form.items() if k != "csrf_token"}


@dataclass
class ActionForm:
    action: str
    name: str
    fields: list[FormField] = field(default_factory=list)
    key: str = ""  # the form's id on the page: the action, and the fixed inputs of its offer
    fixed: tuple[tuple[str, str], ...] = ()


def forms_for(account: Account, st: dict, store: AccountStore | None = None) -> list[ActionForm]:
    """The actions the stage allows now, the role permits and the incident's level offers, as forms."""
    out = []
    named = any(g in st.get("pending_signoffs", []) for g in named_groups(st, account.username))
    for action in st.get("allowed_actions", []):
        r = authority.rule(action)
        if r is None or action not in ACTIONS or authority.may(account.role, action, is_named_lead=named):
            continue
        base = form_fields(action, st, account.username)
        if store is not None:
            base = choose_people(action, base, store)
        for offer in offers(action, st):
            fixed = dict(offer.fixed)
            fields = [replace(f, kind="hidden", value=fixed[f.name]) if f.name in fixed else f for f in base]
            key = "-".join([action, *fixed.values()])
            out.append(ActionForm(action, offer.title or r.name, fields, key, offer.fixed))
    return out


def choose_people(action: str, fields: list[FormField], store: AccountStore) -> list[FormField]:
    """People are chosen, not typed: a lead named at dispatch from the accounts that may lead,
    the approving 总指挥 (附件1) from the accounts that may approve; shown by display name, in a
    select the console gives a filter by name or username (static/pick.js)."""
    spec = ACTIONS[action]
    out = []
    for f in fields:
        label = re.sub(r"（用户名）|用户名；", "", f.label)
        if f.name.partition(".")[0] in spec.names_accounts:
            f = replace(f, kind="select", label=label, options=(PICK, *people.choices(people.may_lead(store))),
                        search=True)
        elif f.name == "approved_by" and "approver" in spec.input.model_fields:
            f = replace(f, kind="select", label=label, search=True,
                        options=(("", "本人批准（总指挥本人办理）"), *people.choices(people.may_approve(store, action))))
        out.append(f)
    return out


def field_at_fault(fields: list[FormField], detail: str, named: str | None = None) -> str | None:
    """The input a refusal is about: the one it names (`named`: the incident's `Refused.field`
    or a validation error's path; or the leading "field:" of its sentence), else an input it
    names in brackets ("（follow_up.until）"), else an input whose label its sentence quotes
    ("事件概况不能为空"). None: the form as a whole (its top shows the reason)."""
    visible = [f for f in fields if f.kind != "hidden"]
    names = [f.name for f in visible]
    lead = re.match(r"^([A-Za-z_][\w.]*)\s*:", detail)
    for want in (named, lead.group(1) if lead else None):
        if want:
            hit = next((n for n in names if n == want or n.startswith(want + ".") or want.startswith(n + ".")), None)
            if hit:
                return hit
    for ident in re.findall(r"[（(]([A-Za-z_][\w.]*)[)）]", detail):
        if ident in names:
            return ident
    # a label quoted in the sentence itself, not in a citation in brackets (which may quote anything)
    plain = re.sub(r"[（(][^（）()]*[)）]", "", re.sub(r"[（(][^（）()]*[)）]", "", detail))
    labelled = sorted(((re.split(r"[（(]", f.label)[0].strip(), f.name) for f in visible), key=lambda x: -len(x[0]))
    return next((name for label, name in labelled if len(label) >= 2 and label in plain), None)
