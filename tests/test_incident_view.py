"""The incident view (workflows/incident_view.py), the public shape of the `status` query:
its JSON Schema is pinned, so a change of contract is a visible diff, and a real incident's
answers are read back strictly (unknown keys refused) at every stage, after close and in
the archive's dossier, so the view cannot drift from what the workflow returns."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import get_args

from activities.settings import ActivitySettings
from ecoplan import api
from plan.grading import Assessment
from plan.incident import ReportContent
from tests.drive import LEADS, SIGNATORIES, act, archived, final_report, sign_all, to_on_site
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, eventually, lead, report
from workflows import incident_view as v
from workflows import messages as m
from workflows.lifecycle import STAGES

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "contracts" / "incident_view.schema.json"
REGENERATE = ("python -m ecoplan.contracts --view-schema > tests/contracts/incident_view.schema.json "
              "&& python -m ecoplan.contracts > docs/contracts.md")


def test_the_view_schema_is_pinned():
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    assert pinned == v.IncidentView.model_json_schema(), (
        "the incident view's contract (IncidentView) changed. If that is meant: regenerate the pinned schema and "
        f"the reference page ({REGENERATE}); a key renamed or removed also bumps VIEW_VERSION and is listed in "
        "VIEW_CHANGES (ecoplan/contracts.py), since the records store, the documents, the console, the CLI and "
        "the drills read it.")


def test_every_field_is_typed_and_described():
    assert list(get_args(v.Stage)) == STAGES
    models = [v.IncidentView, v.IncidentLoading]
    seen = set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            for arg in _leaves(info.annotation):
                if isinstance(arg, type) and issubclass(arg, v.View):
                    models.append(arg)
                assert arg not in (dict, list), f"{model.__name__}.{name} is an untyped {arg.__name__}"
    doc = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    for model in seen:
        for name in model.model_fields:
            assert f"| `{name}` |" in doc, f"{model.__name__}.{name} is not in docs/contracts.md"


def _leaves(t):
    args = get_args(t)
    if not args:
        return [t]
    return [x for a in args for x in _leaves(a)]


def read_back(st: dict, stage: str | None = None) -> v.IncidentView:
    """The answer is an IncidentView exactly: every key known, every value of its type, and
    nothing the view would add or drop (its JSON is the answer itself)."""
    view = v.IncidentView.model_validate(st)
    assert view.to_json() == st
    assert v.parse_status(st) == view
    if stage is not None:
        assert view.stage == stage
    return view


async def test_a_real_incident_answers_the_view_at_every_stage(client, worker):
    iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000),
                                                  special_circumstances=["sensitive_area"]))
    read_back(await api.status(client, iid), "reported")
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING, recommendation="建议发布黄色预警"))
    view = read_back(await api.status(client, iid), "warning")
    assert view.warning.issued_by == CITY_WARNING["issued_by"] and view.warning.actions

    await to_on_site(client, iid)
    await act(client, iid, "record_cross_boundary", m.RecordCrossBoundary(by=DUTY, scope="city", neighbours=["晋中市"]))
    await act(client, iid, "request_support", m.RequestSupport(by=DUTY, partner="fire_brigade", request="危化品专家"))
    await act(client, iid, "answer_support", m.SupportAnswer(by=DUTY, request_no=1, answer="accepted", note="已派出"))
    await act(client, iid, "record_joint_investigation", m.RecordJointInvestigation(by=DUTY, members=["张", "李"]))
    await act(client, iid, "submit_report", m.SubmitReport(by=DUTY, kind="progress", signed_by="李局长",
                                                           contact_person="王值班", contact_phone="0353-2020000",
                                                           content=ReportContent(summary="续报", fire_forces="消防车2辆")))
    view = read_back(await api.status(client, iid), "on_site")
    assert view.linkage.support_requests[0].answer.answer == "accepted" and view.linkage.joint_investigation
    assert [c.id for c in view.circumstances] == ["sensitive_area"] and view.reports[-1].recipients

    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="已降至本底水平"))
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring",
                                                 lead=LEADS["monitoring"], decision="reject", opinion="复测未达标"))
    read_back(await api.status(client, iid), "on_site")
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="复测达标"))
    await sign_all(client, iid, round=2)
    view = read_back(await api.status(client, iid), "termination_pending")
    assert view.open_round == 2 and view.pending_signoffs == [] and set(view.signoffs) == set(SIGNATORIES)

    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP,
                                                                       instruction="同意终止"))
    view = read_back(await api.status(client, iid), "post_event")
    assert view.termination.approved_by.name == COMMANDER.name and view.termination.follow_up

    await act(client, iid, "record_aftercare", m.RecordAftercare(by=DUTY, note="指导县政府善后"))
    await act(client, iid, "submit_report", final_report())
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation",
                                                                document="省生态环境厅调查报告（测试）"))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    view = read_back(await api.status(client, iid), "post_event")
    assert view.other_acts["investigation"].body and view.review_date and view.aftercare

    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await act(client, iid, "close", m.Close(by=DUTY, note="处置完毕"))
    view = read_back(await api.status(client, iid), "closed")
    assert view.outcome == "completed" and view.allowed_actions == []
    # The closed dossier: the archive writes the status answer (its whole timeline merged in).
    files = await archived(worker, iid, "dossier.json", timeout=30)
    dossier = read_back(json.loads(files["dossier.json"]), "closed")
    assert dossier.incident_id == iid and [e.seq for e in dossier.timeline] == list(range(1, len(dossier.timeline) + 1))
    # and the incident's answer once its last documents are filed
    st = await eventually(lambda: api.status(client, iid), lambda s: any(d["kind"] == "dossier" for d in s["documents"]),
                          timeout=30)
    read_back(st, "closed")
    # What answers when Temporal no longer holds it: the records store, then the dossier (both marked so).
    from ecoplan import documents, records

    stored = await eventually(lambda: asyncio.to_thread(records.status_of, iid, worker.records_db),
                              lambda s: s is not None and s["closed_record"], timeout=30)
    view = v.IncidentView.model_validate(stored)
    assert view.to_json() == stored and view.from_records and view.closed_at == v.IncidentView.model_validate(st).closed_at and view.archive_paths
    view = v.IncidentView.model_validate(documents.from_dossier(iid, worker.archive_dir))
    assert view.from_dossier.endswith("dossier.json") and view.stage == "closed"


async def test_the_loading_answer_is_its_documented_shape(client, tmp_path):
    from worker import build_worker

    src = (ROOT / "plan" / "plans" / "yangquan-2022.yaml").read_text(encoding="utf-8")
    plan_file = tmp_path / "our-plan.yaml"
    plan_file.write_text(src, encoding="utf-8")
    tq = f"view-{uuid.uuid4().hex[:6]}"
    iid = await api.start_incident(client, report(plan=str(plan_file)), task_queue=tq, wait_ready=0)
    plan_file.write_text("id: [broken", encoding="utf-8")  # broken after the start request checked it
    settings = ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl")
    async with build_worker(client, settings, task_queue=tq):
        st = await eventually(lambda: api.status(client, iid), lambda s: s.get("problem"), timeout=30)
        loading = v.parse_status(st)
        assert isinstance(loading, v.IncidentLoading) and loading.model_dump(mode="json") == st
        assert st["stage"] is None and st["loading"] is True and "cannot load the plan" in st["problem"]
        plan_file.write_text(src, encoding="utf-8")
        st = await eventually(lambda: api.status(client, iid), lambda s: s.get("stage") == "reported", timeout=30)
        assert read_back(st).loading is False
