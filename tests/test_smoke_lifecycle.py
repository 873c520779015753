from datetime import date, timedelta

from ecoplan import api
from plan.incident import ReportContent
from tests.drive import final_report
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, lead, report
from workflows import messages as m


async def test_full_lifecycle_level_iv(client, worker):
    r = report()
    iid = await api.start_incident(client, r)
    st = await api.status(client, iid)
    assert st["stage"] == "reported" and st["graded_level"] == "IV"
    assert [d["name"] for d in st["deadlines"]] == ["initial_report"]
    res = await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    assert res.stage == "responding"
    await api.act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await api.act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await api.act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    for g in ("monitoring", "disposal", "investigation"):
        await api.act(client, iid, "sign_off", m.SignOff(round=1, by=lead(g), group=g, lead=LEADS[g], decision="approve"))
    await api.act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意"))
    await api.act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY))
    await api.act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await api.act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await api.act(client, iid, "submit_report", final_report())
    res = await api.act(client, iid, "close", m.Close(by=DUTY))
    assert res.stage == "closed"
    st = await api.status(client, iid)
    assert st["outcome"] == "completed"
    print(st["deadlines"])
