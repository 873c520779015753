"""What the console offers at the incident's level (ActionSpec.offers), read from the
incident's status view: its per-level `duties` (plan duties, workflows/duties.py) say whose
act each post-event step and the termination are. The checks refuse the same cases (the
bureau's own investigation where another body investigates, 5.2 and 32号令 第四条; the county's
termination where the bureau terminates, 4.1.1 and 4.4), so an action offered is one the
incident can take; where the status has no duties (a plan still loading) the action is
offered as it is and its check decides."""

from __future__ import annotations

from workflows.actions.spec import Offer

OTHERS = ("records", "assists")
# Another body's post-event act, as the bureau records it: 登记省生态环境厅的调查结论.
OTHER_ACT = {"investigation": "登记{body}的调查结论", "assessment": "登记{body}的损害评估",
             "aftercare": "登记{body}的善后处置"}


def _duty(st: dict, step: str) -> dict | None:
    return next((d for d in st.get("duties") or () if d.get("step") == step), None)


def own(step: str):
    """The bureau's own act: not offered where another body's act records the step, nor once done."""
    def offers(st: dict) -> list[Offer]:
        d = _duty(st, step)
        return [] if d and (d.get("mode") == "records" or d.get("done")) else [Offer()]
    return offers


def others_termination(st: dict) -> list[Offer]:
    """The end of a response another body led (the county at IV, 4.1.1), named as that body's."""
    d = _duty(st, "termination")
    if d is None:
        return [Offer()]
    return [Offer(f"登记{d['body']}终止响应")] if d.get("mode") == "records" and not d.get("done") else []


def other_acts(st: dict) -> list[Offer]:
    """One offer per post-event step that is another body's act at this level, not yet recorded."""
    if not st.get("duties"):
        return [Offer()]
    return [Offer(OTHER_ACT[d["step"]].format(body=d["body"]), (("step", d["step"]),))
            for d in st["duties"] if d.get("step") in OTHER_ACT and d.get("mode") in OTHERS
            and not d.get("recorded_as_other")]


def review_pending(st: dict) -> list[Offer]:
    """The assessment report passes review once (5.3)."""
    return [] if st.get("review_date") else [Offer()]


def report_due(st: dict) -> list[Offer]:
    """The assessment report is sent once, after its review (5.3)."""
    due = st.get("review_date") and "assessment_report_submitted" not in (st.get("events") or {})
    return [Offer()] if due else []


def event_level_judged(st: dict) -> list[Offer]:
    """The event's own level is judged only on an incident that has one apart from the response's
    (opened since issue 24; `levels` null: one level, adjusted as the response's, 4.1.5)."""
    return [] if "levels" in st and not st["levels"] else [Offer()]


def follow_up_due(st: dict) -> list[Offer]:
    """4.4: decided once the response has ended, once (with the approval or as its own act)."""
    ended = "response_terminated" in (st.get("events") or {})
    return [Offer()] if ended and not st.get("follow_up") else []


def assessment_unpublished(st: dict) -> list[Offer]:
    """5.3 信息公开: recorded once, after the assessment report was sent."""
    sent = "assessment_report_submitted" in (st.get("events") or {})
    return [Offer()] if sent and not st.get("assessment_published") else []


# 32号令 第四条: what may move an investigation depends on whose it is at the event's level.
TRANSFER = {"delegated": "登记上级委托本局调查处理", "taken_over": "登记上级直接组织调查处理",
            "referred": "登记报请上一级决定调查处理"}


def investigation_transfers(st: dict) -> list[Offer]:
    """Another body's investigation may be delegated to the bureau (第二款); the bureau's own may be
    taken over or referred upward (第二、三款); none once the investigation is done or has moved."""
    d = _duty(st, "investigation")
    if d is None:
        return [Offer()]
    moved = st.get("investigation_transfer")
    if d.get("done") or (moved and moved.get("kind") != "referred"):
        return []
    kinds = ("taken_over", "referred") if d.get("mode") in ("performs", "optional") else ("delegated",)
    return [Offer(TRANSFER[k], (("kind", k),)) for k in kinds]
