"""The incident action commands: `ecoplan start` and every action on a running incident
(warn, activate, dispatch, report, sign-off, approve-termination, close …). Each one parses
its options into the action's message (workflows/messages.py) and sends it (do_action).

Kept together in this one module: it is to be generated from the action registry
(ecoplan/api.py) later. Shared helpers: ecoplan/cli/common.py.
"""

from __future__ import annotations

from typing import Optional

import typer

from ecoplan.cli.common import (AtOpt, BackdateOpt, ByOpt, DocumentOpt, IssuedByOpt, JsonOpt, RoleOpt, actor, approver,
                                cli_user, do_action, emit, parse, parse_date, parse_time, read_data, run)
from ecoplan.errors import bad
from plan.incident import Actor, IncidentReport, ReportFile
from workflows.messages import (ActivateResponse, AdjustLevel, ApproveTermination, AssessmentReviewPassed, Close,
                                CompleteInvestigation, Dispatch, IssueWarning, LiftWarning, ProposeTermination,
                                ProposeWarning, RecomputeDeadlines, RecordAftercare, RecordCircumstances,
                                RecordCityStarted, RecordCrossBoundary, RecordJointInvestigation, RecordOtherAct,
                                RecordOtherTermination, RequestSupport, SignOff, SubmitAssessmentReport, SubmitReport,
                                SupportAnswer)

app = typer.Typer()


@app.command()
def start(file: str = typer.Argument(..., help="incident report JSON/YAML ('-' for stdin); incident_type: water | air | "
                                      "soil | hazardous_chemicals | solid_waste | other; source: hotline_12369 | "
                                      "linkage_119 | inspection | county_bureau | other. Every field: "
                                      "`ecoplan schema incident` and docs/contracts.md"),
          by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, as_json: bool = JsonOpt):
    """Start an incident from a report file; prints the incident id. With --by (or
    $ECOPLAN_USER) the operator who entered it is recorded beside the reporter."""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help

    report = parse(IncidentReport, read_data(file))
    who = by or cli_user()
    started_by = Actor(**actor(who, role, "start_incident")) if who and who.strip() else None
    iid = run(api.start_incident, report, api.TASK_QUEUE, 30.0, started_by)
    emit({"incident_id": iid}, as_json, lambda d: d["incident_id"])



@app.command()
def warn(incident_id: str, recommendation: str = typer.Option("", "--recommendation", help="预警信息发布建议 (3.1)"),
         action: list[str] = typer.Option([], "--action", help="3.2 action already under way (repeatable); the "
                                          "shipped plan's: analysis (分析研判), prevention (防范处置), preparation "
                                          "(应急准备), public_opinion (舆论引导)"),
         issued_by: Optional[str] = IssuedByOpt, document_number: Optional[str] = DocumentOpt,
         by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record the warning the city government issued (预警, 3.1–3.3): the bureau records it with
    the issuing authority and its document number; its own proposal is `propose-warning`."""
    do_action(incident_id, "issue_warning", IssueWarning, dict(by=actor(by, role, "issue_warning"), at=parse_time(at), backdate_reason=backdate_reason,
              recommendation=recommendation, actions_done=action, issued_by=issued_by,
              document_number=document_number), as_json)


@app.command("propose-warning")
def propose_warning(incident_id: str, proposal: str = typer.Option(..., "--proposal", help="the bureau's 建议, in words"),
                    lift: bool = typer.Option(False, "--lift", help="propose lifting the warning (3.3) instead of issuing one (3.1)"),
                    by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                    backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """The bureau proposes a warning to the city and provincial headquarters (3.1), or its lifting (3.3)."""
    do_action(incident_id, "propose_warning", ProposeWarning, dict(
        by=actor(by, role, "propose_warning"), at=parse_time(at), backdate_reason=backdate_reason, proposal=proposal,
        lift=lift), as_json)


@app.command("lift-warning")
def lift_warning(incident_id: str, reason: str = typer.Option(..., "--reason"),
                 issued_by: Optional[str] = IssuedByOpt, document_number: Optional[str] = DocumentOpt,
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                 as_json: bool = JsonOpt):
    """Record the lifting of the warning by the city government (3.3): closes the incident
    with outcome warning_lifted."""
    do_action(incident_id, "lift_warning", LiftWarning, dict(by=actor(by, role, "lift_warning"), at=parse_time(at), backdate_reason=backdate_reason,
              reason=reason, issued_by=issued_by, document_number=document_number), as_json)


@app.command()
def activate(incident_id: str, level: Optional[str] = typer.Option(None, "--level", help="I–IV (default: graded)"),
             reason: Optional[str] = typer.Option(None, "--reason", help="why another level than graded (4.1.5)"),
             city_started: bool = typer.Option(False, "--city-started", help="the city government started its response"),
             approved_by: Optional[str] = typer.Option(None, "--approved-by", help="the 总指挥 who approved (附件1), "
                                                      "when you enter it for them (then --as defaults to duty_officer)"),
             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Activate the response at a level (4.1)."""
    named = approver(approved_by)
    who = actor(by, role or ("duty_officer" if named else None), "activate_response")
    if named and who["role_id"] != "duty_officer" and named["name"] == who["name"]:
        named = None  # the approver entering their own approval
    do_action(incident_id, "activate_response", ActivateResponse, dict(
        by=who, at=parse_time(at), backdate_reason=backdate_reason, level=level, reason=reason,
        city_started=city_started, approver=named), as_json)


@app.command("city-started")
def city_started(incident_id: str, note: str = typer.Option("", "--note"),
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                 as_json: bool = JsonOpt):
    """Record that the city government started its own response (4.1.2–4.1.4, 4.4)."""
    do_action(incident_id, "record_city_started", RecordCityStarted,
              dict(by=actor(by, role, "record_city_started"), at=parse_time(at), backdate_reason=backdate_reason, note=note), as_json)


@app.command("adjust-level")
def adjust_level(incident_id: str, level: str = typer.Option(..., "--level"), reason: str = typer.Option(..., "--reason"),
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                 as_json: bool = JsonOpt):
    """Raise or lower the response level (4.1.5)."""
    do_action(incident_id, "adjust_level", AdjustLevel,
              dict(by=actor(by, role, "adjust_level"), at=parse_time(at), backdate_reason=backdate_reason, level=level, reason=reason), as_json)


@app.command()
def dispatch(incident_id: str,
             lead: list[str] = typer.Option(..., "--lead", help="GROUP=NAME, repeatable; monitoring, disposal and investigation are required"),
             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Send the work groups out, naming each group's lead (2.3, 4.3) → on_site."""
    leads: dict[str, str] = {}
    for item in lead:
        group, sep, name = item.partition("=")
        if not sep or not group.strip() or not name.strip():
            raise bad(f"--lead: {item!r} is not GROUP=NAME")
        if group.strip() in leads:
            raise bad(f"--lead: {group.strip()} named twice")
        leads[group.strip()] = name.strip()
    do_action(incident_id, "dispatch", Dispatch, dict(by=actor(by, role, "dispatch"), at=parse_time(at), backdate_reason=backdate_reason, leads=leads), as_json)


CircumstanceOpt = typer.Option(None, "--circumstance", help="17号令 第四条 case (repeatable): drinking_water_source, "
                               "sensitive_area, heavy_metal, cross_province, mass_incident, other")


@app.command()
def report(incident_id: str, kind: str = typer.Option(..., "--kind", help="initial, progress or final: 初报, 续报 or 处理结果报告"),
           file: str = typer.Option(..., "--file", help="report JSON/YAML: summary required; time, place, source, "
                                    "cause_and_nature, basic_process, main_pollutants, monitoring_data, casualties, "
                                    "drinking_water_sources_affected, trend, actions_taken, next_measures, "
                                    "sensitive_points_map (初报); progress (续报); measures_process_result, "
                                    "potential_harm_and_losses, social_impact, remaining_problems, accountability "
                                    "(处理结果报告); fire_forces, fire_water_used, hidden_dangers, affected_area "
                                    "optional (text, 17号令 第十三条); the header reporting_unit, signed_by, "
                                    "contact_person, contact_phone (第十四条) here or as flags. "
                                    "See `ecoplan schema report` and docs/contracts.md"),
           reporting_unit: Optional[str] = typer.Option(None, "--reporting-unit", help="报告单位 (default: the plan's, the bureau)"),
           signed_by: Optional[str] = typer.Option(None, "--signed-by", help="报告签发人 (17号令 第十四条)"),
           contact_person: Optional[str] = typer.Option(None, "--contact-person", help="联系人"),
           contact_phone: Optional[str] = typer.Option(None, "--contact-phone", help="联系方式, e.g. 0353-2020000"),
           circumstance: Optional[list[str]] = CircumstanceOpt,
           by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Submit an information report (4.2; 17号令 第十二条–第十四条)."""
    content, head = parse(ReportFile, read_data(file)).split()
    flags = dict(reporting_unit=reporting_unit, signed_by=signed_by, contact_person=contact_person,
                 contact_phone=contact_phone)
    header = {**head.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
    do_action(incident_id, "submit_report", SubmitReport,
              dict(by=actor(by, role, "submit_report"), at=parse_time(at), backdate_reason=backdate_reason, kind=kind,
                   content=content, circumstances=circumstance or [], **header), as_json)


@app.command()
def circumstances(incident_id: str, circumstance: list[str] = typer.Option(..., "--circumstance", help=CircumstanceOpt.help),
                  note: str = typer.Option("", "--note"),
                  by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                  backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record 17号令 第四条 cases learned after the start: reports go by the II/I procedure (2 h, the ministry too)."""
    do_action(incident_id, "record_circumstances", RecordCircumstances,
              dict(by=actor(by, role, "record_circumstances"), at=parse_time(at), backdate_reason=backdate_reason,
                   circumstances=circumstance, note=note), as_json)


@app.command("propose-termination")
def propose_termination(incident_id: str, reason: str = typer.Option(..., "--reason"),
                        by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                        as_json: bool = JsonOpt):
    """Propose ending the response (4.4); the three group leads then sign 附件2."""
    do_action(incident_id, "propose_termination", ProposeTermination,
              dict(by=actor(by, role, "propose_termination"), at=parse_time(at), backdate_reason=backdate_reason, reason=reason), as_json)


@app.command("sign-off")
def sign_off(incident_id: str, group: str = typer.Option(..., "--group", help="monitoring | disposal | investigation"),
             lead: str = typer.Option(..., "--lead", help="your name, as named at dispatch"),
             round_: Optional[int] = typer.Option(None, "--round", help="the termination round you sign (status shows the open one)"),
             reject: bool = typer.Option(False, "--reject", help="refuse termination (give --opinion)"),
             opinion: str = typer.Option("", "--opinion"),
             no_wait: bool = typer.Option(False, "--no-wait", help="send as a signal and return at once"),
             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Sign the termination form (附件2) for your group: approve, or --reject with an opinion."""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help

    fields = dict(by=actor(by or lead, role, "sign_off"), at=parse_time(at), backdate_reason=backdate_reason, group=group, lead=lead,
                  decision="reject" if reject else "approve", opinion=opinion, round=round_)
    if no_wait:
        run(api.signal_sign_off, incident_id, parse(SignOff, fields))
        emit({"incident_id": incident_id, "sent": True}, as_json,
             lambda d: f"{incident_id}: sign-off sent; check `ecoplan status {incident_id}`")
        return
    do_action(incident_id, "sign_off", SignOff, fields, as_json)


@app.command("approve-termination")
def approve_termination(incident_id: str, instruction: str = typer.Option("", "--instruction", help="指挥批示"),
                        city_decision: Optional[str] = typer.Option(None, "--city-decision",
                                                                    help="who at the city HQ decided, and what (4.4)"),
                        follow_up: Optional[str] = typer.Option(None, "--follow-up", help="continue | stop: follow-up "
                                                                "monitoring after termination (4.4)"),
                        follow_up_by: Optional[str] = typer.Option(None, "--follow-up-by", help="who decided it (4.4: "
                                                                   "市应急指挥部会同专家组)"),
                        follow_up_until: Optional[str] = typer.Option(None, "--follow-up-until",
                                                                      help="YYYY-MM-DD: until when monitoring continues"),
                        by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                        as_json: bool = JsonOpt):
    """The commander approves termination (附件2 指挥批示) → post_event, recording the decision
    on follow-up monitoring (4.4)."""
    decision = None
    if follow_up is not None:
        if follow_up not in ("continue", "stop"):
            raise bad(f"--follow-up: {follow_up!r} is not continue or stop")
        decision = {"continue_monitoring": follow_up == "continue", "decided_by": follow_up_by or "",
                    "until": parse_date(follow_up_until, "--follow-up-until") if follow_up_until else None}
    elif follow_up_by or follow_up_until:
        raise bad("--follow-up: say continue or stop (4.4)")
    do_action(incident_id, "approve_termination", ApproveTermination, dict(
        by=actor(by, role, "approve_termination"), at=parse_time(at), backdate_reason=backdate_reason, instruction=instruction,
        city_decision=city_decision, follow_up=decision), as_json)


@app.command()
def aftercare(incident_id: str, note: str = typer.Option(..., "--note"),
              by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record aftercare work (善后处置, 5.1)."""
    do_action(incident_id, "record_aftercare", RecordAftercare,
              dict(by=actor(by, role, "record_aftercare"), at=parse_time(at), backdate_reason=backdate_reason, note=note), as_json)


@app.command("complete-investigation")
def complete_investigation(incident_id: str, summary: str = typer.Option("", "--summary"),
                           by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                           as_json: bool = JsonOpt):
    """Record that the investigation (事件调查, 5.2) is complete."""
    do_action(incident_id, "complete_investigation", CompleteInvestigation,
              dict(by=actor(by, role, "complete_investigation"), at=parse_time(at), backdate_reason=backdate_reason, summary=summary), as_json)


@app.command("review-passed")
def review_passed(incident_id: str, date_: str = typer.Option(..., "--date", help="the date the assessment report passed review"),
                  by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                  as_json: bool = JsonOpt):
    """The damage-assessment report passed review: starts the 20-working-day report deadline (5.3)."""
    do_action(incident_id, "assessment_review_passed", AssessmentReviewPassed, dict(
        by=actor(by, role, "assessment_review_passed"), at=parse_time(at), backdate_reason=backdate_reason, review_date=parse_date(date_, "--date")), as_json)


@app.command("submit-assessment-report")
def submit_assessment_report(incident_id: str,
                             recipient: list[str] = typer.Option([], "--to", help="recipient (default: the plan's, 5.3)"),
                             by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                             as_json: bool = JsonOpt):
    """Send the damage-assessment report to the city government and the provincial department (5.3)."""
    do_action(incident_id, "submit_assessment_report", SubmitAssessmentReport,
              dict(by=actor(by, role, "submit_assessment_report"), at=parse_time(at), backdate_reason=backdate_reason, recipients=recipient or None), as_json)


@app.command()
def close(incident_id: str, note: str = typer.Option("", "--note"),
          by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Close the incident once the investigation is complete and the assessment report submitted."""
    do_action(incident_id, "close", Close, dict(by=actor(by, role, "close"), at=parse_time(at), backdate_reason=backdate_reason, note=note), as_json)


@app.command("recompute-deadlines")
def recompute_deadlines(incident_id: str, by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt,
                        as_json: bool = JsonOpt):
    """Recompute provisional working-day due dates after a calendar update."""
    do_action(incident_id, "recompute_deadlines", RecomputeDeadlines, dict(by=actor(by, role, "recompute_deadlines")), as_json)


@app.command("cross-boundary")
def cross_boundary(incident_id: str, scope: str = typer.Option(..., "--scope", help="county_dispute | city | province"),
                   neighbour: list[str] = typer.Option([], "--neighbour", help="a neighbouring government/bureau (repeatable)"),
                   note: str = typer.Option("", "--note"),
                   by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """The incident crosses (or may cross) a boundary: notify the neighbours (4.2.3)."""
    do_action(incident_id, "record_cross_boundary", RecordCrossBoundary, dict(
        by=actor(by, role, "record_cross_boundary"), at=parse_time(at), backdate_reason=backdate_reason, scope=scope, neighbours=neighbour, note=note), as_json)


@app.command("request-support")
def request_support(incident_id: str, partner: str = typer.Option(..., "--partner", help="a linkage partner id, e.g. fire_brigade"),
                    request: str = typer.Option(..., "--request", help="what is asked: experts, rescue teams …"),
                    by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """商请: ask a linkage partner for experts or rescue teams (协议 二.6)."""
    do_action(incident_id, "request_support", RequestSupport, dict(
        by=actor(by, role, "request_support"), at=parse_time(at), backdate_reason=backdate_reason, partner=partner, request=request), as_json)


@app.command("answer-support")
def answer_support(incident_id: str, request_no: int = typer.Option(..., "--request", help="the request number"),
                   declined: bool = typer.Option(False, "--declined"), note: str = typer.Option("", "--note"),
                   by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record a partner's answer to a support request."""
    do_action(incident_id, "answer_support", SupportAnswer, dict(
        by=actor(by, role, "answer_support"), at=parse_time(at), backdate_reason=backdate_reason, request_no=request_no,
        answer="declined" if declined else "accepted", note=note), as_json)


@app.command("joint-investigation")
def joint_investigation(incident_id: str, member: list[str] = typer.Option(..., "--member", help="repeatable"),
                        note: str = typer.Option("", "--note"),
                        by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt, backdate_reason: Optional[str] = BackdateOpt,
                        as_json: bool = JsonOpt):
    """Record the joint investigation group with the fire brigade (联合调查组, 协议 二.5)."""
    do_action(incident_id, "record_joint_investigation", RecordJointInvestigation, dict(
        by=actor(by, role, "record_joint_investigation"), at=parse_time(at), backdate_reason=backdate_reason, members=member, note=note), as_json)


@app.command("record-termination")
def record_termination(incident_id: str,
                       document: str = typer.Option(..., "--document", help="the other body's document (文号 or title)"),
                       body: Optional[str] = typer.Option(None, "--body", help="who ended the response (default: the plan's)"),
                       note: str = typer.Option("", "--note"),
                       by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                       backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record that the body that led the response ended it (plan duties: the county at IV, 4.1.1)."""
    do_action(incident_id, "record_other_termination", RecordOtherTermination, dict(
        by=actor(by, role, "record_other_termination"), at=parse_time(at), backdate_reason=backdate_reason, body=body, document=document,
        note=note), as_json)


@app.command("record-other")
def record_other(incident_id: str,
                 step: str = typer.Option(..., "--step", help="investigation | assessment | aftercare"),
                 document: str = typer.Option(..., "--document", help="the other body's document (文号 or title)"),
                 body: Optional[str] = typer.Option(None, "--body", help="who did it (default: the plan's)"),
                 note: str = typer.Option("", "--note"),
                 by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, at: Optional[str] = AtOpt,
                 backdate_reason: Optional[str] = BackdateOpt, as_json: bool = JsonOpt):
    """Record a post-event step that is another body's act at this level (plan duties; 32号令 第四条)."""
    do_action(incident_id, "record_other_act", RecordOtherAct, dict(
        by=actor(by, role, "record_other_act"), at=parse_time(at), backdate_reason=backdate_reason, step=step, body=body,
        document=document, note=note), as_json)
