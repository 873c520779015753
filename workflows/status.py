"""What `ecoplan status` shows of an incident (the `status` query): its state, the report's
facts, and what is derived for people: pending sign-offs, who it waits on, faults, the
actions the stage allows, the level's duties and the reporting rules in force.

The answer is an IncidentView (workflows/incident_view.py), built here field by field from
the internal state: the state may change freely, the view is the contract its readers
share. A new key in one of the state's free-form records (warning, termination, linkage…)
shows only once it is mapped here and described in the view."""

from __future__ import annotations

import workflows.actions.termination as termination
import workflows.duties as duties
import workflows.effects as effects
import workflows.incident_view as v
import workflows.levels as levels
import workflows.publishing as publishing
import workflows.reporting as reporting


def _actor(a) -> v.ActorView | None:
    """An actor as recorded: the Actor model (typed parts of the state) or its dump (records)."""
    if a is None:
        return None
    d = a if isinstance(a, dict) else a.model_dump()
    return v.ActorView(name=d["name"], role=d["role"], role_id=d.get("role_id"), display=d.get("display"),
                       via=d.get("via"))


def _other_act(d: dict | None) -> v.OtherActView | None:
    if d is None:
        return None
    return v.OtherActView(body=d["body"], at=d["at"], document=d["document"], by=_actor(d["by"]),
                          source=d["source"], mode=d.get("mode"))


def _transfer(d: dict | None) -> v.InvestigationTransferView | None:
    if d is None:
        return None
    return v.InvestigationTransferView(kind=d["kind"], body=d["body"], at=d["at"], document=d["document"],
                                       by=_actor(d["by"]), source=d["source"])


def _warning(w: dict | None) -> v.WarningView | None:
    if w is None:
        return None
    return v.WarningView(
        at=w["at"], by=_actor(w["by"]), recommendation=w.get("recommendation", ""),
        actions=[v.WarningActionView(id=a["id"], name=a["name"], source=a["source"], done=a["done"])
                 for a in w.get("actions", [])],
        issued_by=w.get("issued_by"), document_number=w.get("document_number"))


def _signoff(r) -> v.SignOffView:
    return v.SignOffView(round=r.round, group=r.group, lead=r.lead, decision=r.decision, opinion=r.opinion,
                         at=r.at, by=_actor(r.by))


def _follow_up(f: dict | None) -> v.FollowUpView | None:
    return None if f is None else v.FollowUpView(continue_monitoring=f["continue_monitoring"],
                                                 decided_by=f["decided_by"], until=f.get("until"), note=f.get("note", ""))


def _termination(t: dict | None) -> v.TerminationView | None:
    if t is None:
        return None
    f = t.get("follow_up")
    return v.TerminationView(
        round=t["round"], proposed_by=_actor(t["proposed_by"]), proposed_at=t["proposed_at"], reason=t["reason"],
        approved_by=_actor(t.get("approved_by")), approved_at=t.get("approved_at"),
        instruction=t.get("instruction"), city_decision=t.get("city_decision"),
        follow_up=None if f is None else v.FollowUpView(
            continue_monitoring=f["continue_monitoring"], decided_by=f["decided_by"], until=f.get("until"),
            note=f.get("note", "")))


def _report(r: dict) -> v.ReportView:
    return v.ReportView(kind=r["kind"], no=r["no"], at=r["at"], by=_actor(r["by"]), summary=r["summary"],
                        reporting_unit=r.get("reporting_unit"), signed_by=r.get("signed_by"),
                        contact_person=r.get("contact_person"), contact_phone=r.get("contact_phone"),
                        recipients=r.get("recipients"), relayed_from=r.get("relayed_from"),
                        by_phone=r.get("by_phone", False), received_by=r.get("received_by"))


def _deadline(d) -> v.DeadlineView:
    e = d.repeat_every
    return v.DeadlineView(
        name=d.name, title=d.title, source=d.source, who_acts=d.who_acts, started_at=d.started_at, due_at=d.due_at,
        due_date=d.due_date, provisional=d.provisional, status=d.status, met_at=d.met_at,
        reminders_at=d.reminders_at, reminders_sent=d.reminders_sent, escalations=d.escalations,
        next_escalation_at=d.next_escalation_at,
        repeat_every=v.DurationView(hours=e.hours, days=e.days, working_days=e.working_days),
        notify_on_overdue=d.notify_on_overdue, repeats_at=d.repeats_at, met_backdated=d.met_backdated,
        met_seq=d.met_seq)


def _entry(e) -> v.TimelineEntryView:
    return v.TimelineEntryView(seq=e.seq, at=e.at, recorded_at=e.recorded_at, by=_actor(e.by), action=e.action,
                               from_stage=e.from_stage, to_stage=e.to_stage, detail=e.detail, rejected=e.rejected,
                               backdate_reason=e.backdate_reason)


def _summary(t: dict | None) -> v.TimelineSummaryView | None:
    if t is None:
        return None
    return v.TimelineSummaryView(entries=t["entries"], from_seq=t["from_seq"], from_at=t["from_at"],
                                 to_seq=t.get("to_seq"), to_at=t.get("to_at"), by_action=t.get("by_action", {}),
                                 archive=t.get("archive"))


def _linkage(lk: dict) -> v.LinkageView:
    def request(r: dict) -> v.SupportRequestView:
        a = r.get("answer")
        return v.SupportRequestView(
            no=r["no"], partner=r["partner"], partner_name=r["partner_name"], request=r["request"], at=r["at"],
            by=_actor(r["by"]),
            answer=None if a is None else v.SupportAnswerView(answer=a["answer"], note=a.get("note"), at=a["at"],
                                                              by=_actor(a["by"])))

    j = lk.get("joint_investigation")
    return v.LinkageView(
        bulletins=lk.get("bulletins", 0), facts=lk.get("facts", {}), cross_boundary=lk.get("cross_boundary"),
        support_requests=[request(r) for r in lk.get("support_requests", [])],
        support_requests_made=lk.get("support_requests_made"),
        joint_investigation=None if j is None else v.JointInvestigationView(
            members=j["members"], note=j.get("note"), at=j["at"], by=_actor(j["by"])),
        fire_engaged=lk.get("fire_engaged", False))


def _document(d: dict) -> v.DocumentView:
    return v.DocumentView(key=d.get("key"), kind=d["kind"], format=d.get("format"), seq=d["seq"],
                          path=d.get("path"), sha256=d.get("sha256"))


def _duty(d: dict) -> v.DutyView:
    return v.DutyView(step=d["step"], name=d["name"], mode=d["mode"], body=d["body"], source=d["source"],
                      level=d["level"], needed_to_close=d["needed_to_close"], done=d["done"],
                      recorded_as_other=_other_act(d["recorded_as_other"]))


def _fault(f: dict) -> v.FaultView:
    return v.FaultView(fault=f["fault"], since=f["since"], error=f.get("error"), count=f.get("count"),
                       last=f.get("last"))


def _levels(s) -> v.LevelsView | None:
    """Both levels, each with its history (incidents opened since issue 24)."""
    if not s.levels_split:
        return None
    ev = levels.event_level(s)
    return v.LevelsView(
        event_level=ev.value, event_level_name=s.plan.levels[ev].name, event_level_kind=s.event_level_kind or "graded",
        event_level_changes=[v.EventLevelChangeView(at=c.at, by=_actor(c.by), from_level=c.from_level and c.from_level.value,
                                                    to_level=c.to_level.value, kind=c.kind, reason=c.reason)
                             for c in s.event_level_changes],
        response_level=s.level.value if s.level else None, response_note=levels.response_note(s), line=levels.line(s))


def incident_view(s, allowed: list[str]) -> v.IncidentView:
    """The view of a loaded incident `s` (m.IncidentState); `allowed`: the actions its stage allows."""
    r, g = s.report, s.grading
    rep = reporting.status(s)
    return v.IncidentView(
        incident_id=s.incident_id, title=r.title, county=r.county, location=r.location,
        description=r.description, reporter=r.reporter, incident_type=r.incident_type, source=r.source,
        drill=r.drill, drill_participants=list(s.drill_participants), discovered_at=r.discovered_at, reported_at=r.reported_at,
        plan=v.PlanRefView(**s.plan.ref),
        grading=None if g is None else v.GradingView(level=g.level.value, level_name=g.level_name,
                                                     reasons=g.reasons),
        graded_level=g.level.value if g else None,
        stage=s.stage, stage_entered_at=s.stage_entered_at, stage_entries=s.stage_entries, outcome=s.outcome,
        level=s.level.value if s.level else None,
        level_name=s.plan.levels[s.level].name if s.level else None,
        level_changes=[v.LevelChangeView(at=c.at, by=_actor(c.by), from_level=c.from_level and c.from_level.value,
                                         to_level=c.to_level.value, reason=c.reason) for c in s.level_changes],
        levels=_levels(s),
        city_started=s.city_started,
        warning=_warning(s.warning),
        leads=dict(s.leads),
        round=s.round, open_round=s.round if s.stage == "termination_pending" else None,
        signoffs={grp: _signoff(x) for grp, x in s.signoffs.items()},
        pending_signoffs=termination.pending(s),
        signoff_history=[_signoff(x) for x in s.signoff_history],
        termination=_termination(s.termination),
        follow_up=_follow_up(s.follow_up or (s.termination or {}).get("follow_up")),
        events=dict(s.events), review_date=s.review_date,
        aftercare=[v.AftercareView(at=a["at"], by=_actor(a["by"]), note=a["note"]) for a in s.aftercare],
        other_acts={step: _other_act(x) for step, x in s.other_acts.items()},
        duties=[_duty(d) for d in duties.duties_view(s)],
        investigation_transfer=_transfer(s.investigation_transfer),
        assessment_published=None if s.assessment_published is None else v.PublicationView(
            where=s.assessment_published["where"], at=s.assessment_published["at"],
            by=_actor(s.assessment_published["by"])),
        reports=[_report(x) for x in s.reports], reports_count=dict(s.reports_count),
        circumstances=[v.CircumstanceView(id=c["id"], at=c["at"], by=_actor(c["by"]), note=c.get("note", ""))
                       for c in s.circumstances],
        initial_report_level=s.initial_report_level.value if s.initial_report_level else None,
        report_recipients=rep["report_recipients"], reporting_level=rep["reporting_level"],
        reporting_rules=rep["reporting_rules"],
        deadlines=[_deadline(d) for d in s.deadlines],
        waiting_on=publishing.waiting_on(s),
        stuck_after=s.stuck_after, stuck_key=s.stuck_key,
        faults=[_fault(f) for f in publishing.faults(s)],
        allowed_actions=list(allowed),
        authority_checked=True,  # every action's actor is checked against the plan's authority table
        engine=2,
        timeline=[_entry(e) for e in s.timeline], timeline_summary=_summary(s.timeline_summary),
        timeline_archived=s.timeline_archived, runs=s.runs,
        linkage=_linkage(s.linkage),
        notices=s.notices, effects_made=s.effects_made,
        deliveries_overdue=[v.DeliveryOverdueView(what=x["what"], since=x["since"], tries=x["tries"])
                            for x in effects.overdue(s)],
        delivery_failures=[v.DeliveryFailureView(key=x["key"], what=x["what"], since=x["since"], at=x["at"],
                                                 reason=x["reason"]) for x in s.delivery_failures],
        delivery_failures_count=s.delivery_failures_count,
        documents=[_document(d) for d in s.documents], documents_count=s.documents_count,
        closed_at=s.stage_entered_at if s.stage == "closed" else None,
    )


def view(s, allowed: list[str]) -> dict:
    """The `status` answer of a loaded incident: its IncidentView as JSON."""
    return incident_view(s, allowed).to_json()


def loading(problem: str | None) -> dict:
    """The `status` answer while the incident is still loading its plan."""
    return v.IncidentLoading(problem=problem).model_dump(mode="json")
