"""Bad input, table-driven (issue 5): through the `ecoplan` command (exit code 2 for bad
input, 1 for a refusal or an unknown incident, one line on stderr, never a traceback: the
whole table through the command's code in this process, one case of each kind in a real
process) and through the client API; in every case `ecoplan status ID --json` is the
same before and after and the workflow is still running. Then hypothesis fuzzing of the
parsers: they validate or raise ValidationError / cli.Fail(code 2), nothing else."""

from __future__ import annotations

import asyncio
import json
import string
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from ecoplan import api
from ecoplan.cli import common as cli
from plan.grading import Assessment, validation_message
from plan.incident import IncidentReport, ReportContent
from tests.drive import act, sign_all, to_on_site, to_post_event, to_termination_pending
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, eventually, lead, now, report, settled
from tests.procs import ecoplan, ecoplan_in_process
from workflows import messages as m
from workflows.actions import ACTION_NAMES, TRANSITIONS

BIG = "污" * 10_001  # over the 10,000-character limit of a text field

# ---------------------------------------------------------------------------- incidents in every stage


@pytest.fixture(scope="module")
async def stages(client, worker) -> dict[str, str]:
    """One incident per stage (TA: termination_pending with all three approved)."""
    ids: dict[str, str] = {}

    async def new(key: str, **over):
        ids[key] = await api.start_incident(client, report(**over))
        return ids[key]

    await new("reported")
    await act(client, await new("warning"), "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    iid = await new("responding")
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报")))
    await to_on_site(client, await new("on_site"))
    iid = await new("termination_pending")
    await to_termination_pending(client, iid)
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring", lead=LEADS["monitoring"],
                                                 decision="approve"))
    iid = await new("TA")
    await to_termination_pending(client, iid)
    await sign_all(client, iid)
    # III: the assessment report is the bureau's own step (5.3), so close waits for it (plan duties)
    iid = await new("post_event", assessment=Assessment(direct_loss_yuan=5_000_000))
    await to_post_event(client, iid)
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="省厅调查报告"))
    iid = await new("closed")
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"))

    async def done():  # closed: its case file, chart and record filed, then it completes
        return (await client.get_workflow_handle(api.workflow_id(iid)).describe()).status

    await eventually(done, lambda st: st == WorkflowExecutionStatus.COMPLETED, timeout=30)
    return ids


async def snapshot(client, ids: dict[str, str]) -> dict[str, dict]:
    # what background deliveries change (documents filed meanwhile) aside
    return {k: settled(await api.status(client, iid)) for k, iid in ids.items()}


async def cli_status(address: str, ids: dict[str, str]) -> dict[str, dict]:
    out = {}
    for k, iid in ids.items():
        r = await ecoplan_in_process("status", iid, "--json", address=address)
        assert r.code == 0, r.err
        out[k] = json.loads(r.out)
    return out


async def still_running(client, ids: dict[str, str]) -> None:
    for k, iid in ids.items():
        desc = await client.get_workflow_handle(api.workflow_id(iid)).describe()
        want = WorkflowExecutionStatus.COMPLETED if k == "closed" else WorkflowExecutionStatus.RUNNING
        assert desc.status == want, (k, desc.status)


# ---------------------------------------------------------------------------- files


def files(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    t = now()
    good = dict(title="河道异味", discovered_at=(t - timedelta(hours=1)).isoformat(), reported_at=t.isoformat(),
                county="盂县", location="龙华河", incident_type="water", source="hotline_12369", reporter="群众")

    def start(name: str, **over) -> str:
        data = {**good, **over}
        for k in [k for k, v in over.items() if v is ...]:
            data.pop(k)
        (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return str(folder / name)

    def raw(name: str, content: bytes | str) -> str:
        p = folder / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(p)

    f = {
        "ok_report": raw("ok.json", '{"summary": "续报"}'),
        "malformed_json": raw("bad.json", '{"title": "x", '),
        "malformed_yaml": raw("bad.yaml", "title: [unclosed\ncounty: x\n"),
        "list_json": raw("list.json", "[1, 2]"),
        "scalar_yaml": raw("scalar.yaml", "just a line\n"),
        "extra_field": raw("extra.json", '{"summary": "x", "foo": 1}'),
        "empty_summary": raw("empty.json", '{"summary": "   "}'),
        "big_summary": raw("big.json", json.dumps({"summary": BIG}, ensure_ascii=False)),
        "latin1_json": raw("latin1.json", b'{"title": "\xe9\xff"}'),
        "latin1_yaml": raw("latin1.yaml", b"summary: \xff\xfe caf\xe9\n"),
        "nul_summary": raw("nul.json", '{"summary": "a\\u0000b"}'),
        "deaths_negative": start("neg.json", assessment={"deaths": -1}),
        "deaths_float": start("float.json", assessment={"deaths": 2.5}),
        "deaths_string": start("str.json", assessment={"deaths": "3"}),
        "deaths_bool": start("bool.json", assessment={"deaths": True}),
        "evacuated_absurd": start("absurd.json", assessment={"evacuated": 10**12}),
        "loss_absurd": start("loss.json", assessment={"direct_loss_yuan": 1e300}),
        "big_title": start("bigtitle.json", title=BIG),
        "blank_reporter": start("blank.json", reporter="  \t "),
        "reported_before_discovered": start("order.json", reported_at=(t - timedelta(hours=2)).isoformat()),
        "bad_time": start("time.json", discovered_at="yesterday"),
        "bad_id": start("id.json", incident_id="no spaces allowed!"),
        "unknown_type": start("type.json", incident_type="radioactive"),
        "missing_title": start("notitle.json", title=...),
        "dir": str(folder),
        "missing": str(folder / "none.json"),
    }
    return f


# ---------------------------------------------------------------------------- the CLI table

R, W, RS, OS, TP, TA, PE, CL = ("reported", "warning", "responding", "on_site", "termination_pending", "TA",
                                 "post_event", "closed")
LEAD_ARGS = ("--lead", "monitoring=张监测", "--lead", "disposal=赵处置", "--lead", "investigation=钱排查")
FAR_FUTURE = "2099-01-01T00:00"

# (id, incident, args after the command's incident id (or whole args when incident is None), exit code, needle)
CASES = [
    # every action in a wrong stage (refused: 1)
    ("warn/on_site", OS, ("warn",), 1, "（stage on_site），不能登记预警发布"),
    ("lift-warning/reported", R, ("lift-warning", "--reason", "x"), 1, "（stage reported），不能登记预警解除"),
    ("activate/on_site", OS, ("activate",), 1, "（stage on_site），不能启动应急响应"),
    ("city-started/reported", R, ("city-started",), 1, "（stage reported）"),
    ("adjust-level/reported", R, ("adjust-level", "--level", "III", "--reason", "x"), 1, "不能调整响应级别"),
    ("dispatch/reported", R, ("dispatch", *LEAD_ARGS), 1, "（stage reported），不能派出工作组"),
    ("report/closed", CL, ("report", "--kind", "progress", "--file", "@ok_report"), 1, "closed"),
    ("propose/responding", RS, ("propose-termination", "--reason", "x"), 1, "（stage responding）"),
    ("sign-off/on_site", OS, ("sign-off", "--group", "monitoring", "--lead", "张监测"), 1, "（stage on_site）"),
    ("approve/on_site", OS, ("approve-termination", "--by", "李局长"), 1, "（stage on_site）"),
    ("aftercare/on_site", OS, ("aftercare", "--note", "x"), 1, "（stage on_site），不能登记善后处置"),
    ("investigation/termination_pending", TP, ("complete-investigation",), 1, "（stage termination_pending）"),
    ("review-passed/on_site", OS, ("review-passed", "--date", "@today"), 1, "（stage on_site）"),
    ("assessment-report/termination_pending", TP, ("submit-assessment-report",), 1, "（stage termination_pending）"),
    ("close/on_site", OS, ("close",), 1, "（stage on_site），不能结案"),
    ("recompute/closed", CL, ("recompute-deadlines",), 1, "closed"),
    # plan duties: another body's act, in the wrong stage, at the wrong level, or malformed
    ("record-termination/reported", R, ("record-termination", "--document", "x"), 1, "（stage reported）"),
    ("record-other/level-III-own-step", PE, ("record-other", "--step", "assessment", "--document", "x"), 1,
     "the bureau's own step at level III"),
    ("record-other/bad-step", PE, ("record-other", "--step", "nope", "--document", "x"), 2, "step"),
    ("record-other/blank-document", PE, ("record-other", "--step", "investigation", "--document", "  "), 2, "document"),
    # unknown group, duplicate sign-off, the wrong person, the commander too early or in the wrong role
    ("dispatch/unknown-group", RS, ("dispatch", *LEAD_ARGS, "--lead", "nosuch=某人"), 1, "unknown group 'nosuch'"),
    ("sign-off/unknown-group", TP, ("sign-off", "--group", "nosuch", "--lead", "某人"), 1, "unknown group 'nosuch'"),
    ("sign-off/duplicate", TP, ("sign-off", "--group", "monitoring", "--lead", "张监测", "--round", "1"), 1, "already signed"),
    ("sign-off/impostor", TP, ("sign-off", "--group", "disposal", "--lead", "赵处置", "--round", "1", "--by", "冒名者"), 1,
     "冒名者不是污染处置组组长"),
    ("sign-off/not-the-lead", TP, ("sign-off", "--group", "disposal", "--lead", "别人", "--round", "1"), 1,
     "派遣时指定的污染处置组组长是赵处置"),
    ("approve/before-all-three", TP, ("approve-termination", "--by", "李局长"), 1, "waiting for sign-off"),
    ("approve/wrong-role", TA, ("approve-termination", "--by", "王值班", "--role", "值班员"), 1,
     "值班员不能办理「指挥批示终止」"),
    ("approve/deputy", TA, ("approve-termination", "--by", "周副局长", "--as", "deputy_commander",
                            "--follow-up", "stop", "--follow-up-by", "市应急指挥部"), 1, "副指挥不能办理「指挥批示终止」"),
    # 4.4: follow-up may be decided later (decide_follow_up, issue 24), but a decision given is checked
    ("approve/stop-with-until", TA, ("approve-termination", "--by", "李局长", "--follow-up", "stop",
                                     "--follow-up-by", "市应急指挥部会同专家组", "--follow-up-until", "2030-01-01"), 1,
     "不写截止日期"),
    ("approve/follow-up-no-until", TA, ("approve-termination", "--by", "李局长", "--follow-up", "continue",
                                        "--follow-up-by", "市应急指挥部会同专家组"), 1, "至何时"),
    ("approve/follow-up-word", TA, ("approve-termination", "--by", "李局长", "--follow-up", "maybe"), 2, "--follow-up"),
    # who acts: a role the plan does not have; the duty officer without the 总指挥's approval (附件1)
    ("as/unknown-role", R, ("activate", "--as", "局长"), 2, "--as"),
    ("activate/no-approver", R, ("activate", "--as", "duty_officer"), 1, "须经总指挥批准"),
    ("activate/approver-not-commander", R, ("activate", "--as", "supervisor"), 1, "督查不能办理「启动应急响应」"),
    # a warning is the city government's act: recorded with its issuer and document (3.3)
    ("warn/no-issuer", R, ("warn",), 1, "请写明发布机关"),
    ("warn/no-document", R, ("warn", "--issued-by", "阳泉市人民政府"), 1, "文号"),
    # empty or whitespace names and texts (bad input: 2)
    ("by/blank", R, ("activate", "--by", "   "), 2, "--by"),
    ("reason/blank", OS, ("propose-termination", "--reason", "  \t "), 2, "reason"),
    ("sign-off/blank-lead", TP, ("sign-off", "--group", "disposal", "--lead", "  "), 2, "--by"),
    ("report/blank-summary", RS, ("report", "--kind", "progress", "--file", "@empty_summary"), 2, "summary"),
    # `at` in the future, before discovery, malformed
    ("at/future", R, ("activate", "--at", FAR_FUTURE), 1, "in the future"),
    ("at/before-discovery", R, ("activate", "--at", "2000-01-01T00:00"), 1, "before the incident was discovered"),
    ("at/malformed", R, ("activate", "--at", "2026-13-01T00:00"), 2, "--at"),
    ("review-date/malformed", PE, ("review-passed", "--date", "2026-02-30"), 2, "--date"),
    # level outside I–IV
    ("level/V", R, ("activate", "--level", "V"), 2, "level"),
    ("level/0", R, ("activate", "--level", "0"), 2, "level"),
    ("adjust/empty-level", RS, ("adjust-level", "--level", "", "--reason", "x"), 2, "level"),
    # malformed JSON / YAML files
    ("file/malformed-json", None, ("start", "@malformed_json"), 2, "malformed JSON"),
    ("file/malformed-yaml", RS, ("report", "--kind", "progress", "--file", "@malformed_yaml"), 2, "malformed YAML"),
    ("file/extra-field", RS, ("report", "--kind", "progress", "--file", "@extra_field"), 2, "foo"),
    ("report/kind", RS, ("report", "--kind", "bogus", "--file", "@ok_report"), 2, "kind"),
    # counts: negative, not an integer, absurdly large
    ("count/negative", None, ("start", "@deaths_negative"), 2, "deaths"),
    ("count/absurd", None, ("start", "@evacuated_absurd"), 2, "evacuated"),
    # strings over 10 KB, control characters, non-UTF-8
    ("text/10k-summary", RS, ("report", "--kind", "progress", "--file", "@big_summary"), 2, "summary"),
    ("text/10k-reason", OS, ("propose-termination", "--reason", BIG), 2, "reason"),
    ("utf8/report-file", RS, ("report", "--kind", "progress", "--file", "@latin1_yaml"), 2, "not UTF-8"),
    ("utf8/argument", OS, ("propose-termination", "--reason", "!bytes:\xff\xfe"), 2, "reason"),
    # unknown incidents
    ("unknown/status", None, ("status", "nope-no-such-incident"), 1, "no incident nope-no-such-incident"),
    ("unknown/sign-off", None, ("sign-off", "nope-no-such", "--group", "monitoring", "--lead", "张"), 1, "no incident"),
    ("unknown/option", R, ("activate", "--no-such-option"), 2, "no-such-option"),
]


def _argv(case_args: tuple, iid: str | None, f: dict[str, str]) -> tuple[list, dict]:
    env: dict[str, str] = {}
    out: list = []
    for i, a in enumerate(case_args):
        if a.startswith("@"):
            a = now().date().isoformat() if a == "@today" else f[a[1:]]
        elif a.startswith("!env:"):
            k, _, v = a[5:].partition("=")
            env[k] = v
            continue
        elif a.startswith("!bytes:"):
            a = a[7:].encode("latin-1").decode("utf-8", "surrogateescape")
        out.append(a)
        if i == 0 and iid is not None:
            out.append(iid)
    return out, env


# The same parsing the CLI does (read_data, then the model), in-process: files a person may hand over.
FILE_CASES = [
    # (id, file key, model, needle)
    ("malformed-json", "malformed_json", IncidentReport, "malformed JSON"),
    ("malformed-yaml", "malformed_yaml", ReportContent, "malformed YAML"),
    ("list", "list_json", ReportContent, "expected an object with named fields, got list"),
    ("scalar-yaml", "scalar_yaml", ReportContent, "expected an object with named fields, got str"),
    ("extra-field", "extra_field", ReportContent, "foo: Extra inputs are not permitted"),
    ("blank-summary", "empty_summary", ReportContent, "summary: must not be empty"),
    ("10k-summary", "big_summary", ReportContent, "summary: String should have at most 10000 characters"),
    ("nul-summary", "nul_summary", ReportContent, "control characters"),
    ("latin1-json", "latin1_json", IncidentReport, "not UTF-8"),
    ("latin1-yaml", "latin1_yaml", ReportContent, "not UTF-8"),
    ("deaths-negative", "deaths_negative", IncidentReport, "assessment.deaths"),
    ("deaths-float", "deaths_float", IncidentReport, "assessment.deaths"),
    ("deaths-string", "deaths_string", IncidentReport, "assessment.deaths"),
    ("deaths-bool", "deaths_bool", IncidentReport, "assessment.deaths"),
    ("evacuated-absurd", "evacuated_absurd", IncidentReport, "assessment.evacuated"),
    ("loss-absurd", "loss_absurd", IncidentReport, "assessment.direct_loss_yuan"),
    ("10k-title", "big_title", IncidentReport, "title"),
    ("blank-reporter", "blank_reporter", IncidentReport, "reporter: must not be empty"),
    ("reported-before-discovered", "reported_before_discovered", IncidentReport, "reported_at is before discovered_at"),
    ("bad-time", "bad_time", IncidentReport, "discovered_at"),
    ("bad-id", "bad_id", IncidentReport, "incident_id"),
    ("unknown-type", "unknown_type", IncidentReport, "incident_type"),
    ("missing-field", "missing_title", IncidentReport, "title: Field required"),
    ("missing", "missing", IncidentReport, "no such file"),
    ("directory", "dir", IncidentReport, "is a directory"),
]


@pytest.mark.parametrize("name, key, model, needle", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_files_in_process(tmp_path, name, key, model, needle):
    f = files(tmp_path)
    with pytest.raises(cli.Fail) as exc:
        cli.parse(model, cli.read_data(f[key]))
    assert exc.value.code == 2
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg, msg


def test_the_table_is_big_enough():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


def _check(case, r, problems: list[str]) -> None:
    """Exit status, one line on stderr holding the needle, never a traceback or an internal error."""
    name, key, args, code, needle = case
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    if r.code != code:
        problems.append(f"{name}: exit {r.code}, expected {code}: {r.err.strip()[:300]}")
    elif len(lines) != 1 or "Traceback" in r.err:
        problems.append(f"{name}: stderr is not one line: {r.err[:300]!r}")
    elif needle not in lines[0]:
        problems.append(f"{name}: {needle!r} not in {lines[0]!r}")
    elif "internal error" in lines[0]:
        problems.append(f"{name}: {lines[0]}")


async def test_bad_input_through_the_cli(client, worker, temporal_address, stages, tmp_path):
    """The whole table through the command's own code (cli.invoke: parsing, the call to
    Temporal, the one-line error and the exit status), in this process, one case after
    another; the exit of a real process is test_bad_input_in_a_real_process's."""
    f = files(tmp_path)
    before = await snapshot(client, stages)
    problems: list[str] = []
    for case in CASES:
        name, key, args, code, needle = case
        argv, env = _argv(args, stages[key] if key else None, f)
        _check(case, await ecoplan_in_process(*argv, address=temporal_address, env_extra=env), problems)
        if key and settled(await api.status(client, stages[key])) != before[key]:
            problems.append(f"{name}: the incident's state changed")
    assert not problems, "\n".join(problems)
    # `ecoplan status ID --json` after all of it shows what the incident showed before
    assert {k: settled(v) for k, v in (await cli_status(temporal_address, stages)).items()} == \
        json.loads(json.dumps(before, ensure_ascii=False))
    await still_running(client, stages)


# One case of each way out (a refusal, bad input from a file, argv bytes that are not UTF-8,
# a usage error), the same table rows as a person sees them: a process of its own, its exit
# status, what it wrote to stderr. (An unknown incident in a process: test_exit_codes.)
IN_A_PROCESS = ["warn/on_site", "file/malformed-json", "utf8/argument", "unknown/option"]


@pytest.mark.slow
async def test_bad_input_in_a_real_process(client, worker, temporal_address, stages, tmp_path):
    f = files(tmp_path)
    cases = [c for c in CASES if c[0] in IN_A_PROCESS]
    assert len(cases) == len(IN_A_PROCESS)
    before = await snapshot(client, stages)
    sem = asyncio.Semaphore(4)
    problems: list[str] = []

    async def one(case):
        name, key, args, code, needle = case
        argv, env = _argv(args, stages[key] if key else None, f)
        async with sem:
            r = await ecoplan(*argv, address=temporal_address, env_extra=env)
        _check(case, r, problems)

    await asyncio.gather(*(one(c) for c in cases))
    assert not problems, "\n".join(problems)
    assert await snapshot(client, stages) == before


# ---------------------------------------------------------------------------- found while building the table
# (each was an internal error, exit 1, or a two-line message; fixed in cli.read_data)

PATHOLOGICAL_FILES = [
    ("deep-json-array", "deep.json", "[" * 100_000),
    ("deep-json-object", "deep2.json", '{"a":' * 100_000),
    ("deep-yaml", "deep.yaml", "[" * 100_000),
    ("int-over-4300-digits", "huge.json", '{"deaths": ' + "9" * 5000 + "}"),
    ("yaml-impossible-date", "date.yaml", "deaths: 1\nreported: 2026-02-30\n"),
    ("yaml-impossible-time", "time.yaml", "deaths: 1\nreported: 2026-01-01 25:00:00\n"),
    ("yaml-bad-int-tag", "tag.yaml", 'deaths: !!int "abc"\n'),
    ("yaml-bad-float-tag", "tagf.yaml", 'direct_loss_yuan: !!float "abc"\n'),
]


@pytest.mark.parametrize("name, filename, content", PATHOLOGICAL_FILES, ids=[b[0] for b in PATHOLOGICAL_FILES])
def test_read_data_rejects_pathological_files_as_bad_input(tmp_path, name, filename, content):
    p = tmp_path / filename
    p.write_text(content)
    with pytest.raises(cli.Fail) as exc:
        cli.read_data(str(p))
    assert exc.value.code == 2 and str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_yaml_reader_error_is_one_line(tmp_path):
    p = tmp_path / "nul.yaml"
    p.write_bytes(b"\x00")
    with pytest.raises(cli.Fail) as exc:
        cli.read_data(str(p))
    assert exc.value.code == 2
    assert "\n" not in str(exc.value), str(exc.value)


@pytest.mark.slow
async def test_pathological_file_through_the_cli_is_not_an_internal_error(tmp_path):
    """The same, as a person sees it (one case; the others behave alike)."""
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000)
    r = await ecoplan("grade", str(p))
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.err and "internal error" not in r.err, r.err
    assert r.code == 2 and str(p) in lines[0]


# ---------------------------------------------------------------------------- the API table


def _allowed(stage: str) -> set[str]:
    out = set()
    for t in TRANSITIONS:
        src = t["source"] if isinstance(t["source"], list) else [t["source"]]
        if stage in src:
            out.add(t["trigger"])
    return out


INPUTS = {
    "propose_warning": lambda: m.ProposeWarning(by=COMMANDER, proposal="建议发布预警"),
    "issue_warning": lambda: m.IssueWarning(by=DUTY, **CITY_WARNING),
    "lift_warning": lambda: m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"),
    "activate_response": lambda: m.ActivateResponse(by=COMMANDER),
    "adjust_level": lambda: m.AdjustLevel(by=COMMANDER, level="II", reason="升级"),
    "record_city_started": lambda: m.RecordCityStarted(by=DUTY),
    "dispatch": lambda: m.Dispatch(by=DUTY, leads=LEADS),
    "submit_report": lambda: m.SubmitReport(**SIGNED, by=DUTY, kind="progress", content=ReportContent(summary="续报")),
    "propose_termination": lambda: m.ProposeTermination(by=DUTY, reason="达标"),
    "sign_off": lambda: m.SignOff(round=1, by=lead("disposal"), group="disposal", lead=LEADS["disposal"], decision="approve"),
    "approve_termination": lambda: m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
    "record_aftercare": lambda: m.RecordAftercare(by=DUTY, note="善后"),
    "complete_investigation": lambda: m.CompleteInvestigation(by=DUTY),
    "assessment_review_passed": lambda: m.AssessmentReviewPassed(by=DUTY),
    "submit_assessment_report": lambda: m.SubmitAssessmentReport(by=DUTY),
    "close": lambda: m.Close(by=DUTY),
    "recompute_deadlines": lambda: m.RecomputeDeadlines(by=DUTY),
    # linkage (added with the 119 linkage agreement); built by name so this file loads without them
    "record_cross_boundary": lambda: m.RecordCrossBoundary(by=DUTY, scope="city"),
    "request_support": lambda: m.RequestSupport(by=DUTY, partner="fire", request="派专家"),
    "answer_support": lambda: m.SupportAnswer(by=DUTY, request_no=1, answer="accepted"),
    "record_joint_investigation": lambda: m.RecordJointInvestigation(by=DUTY, members=["王"]),
    "record_other_termination": lambda: m.RecordOtherTermination(by=DUTY, document="县政府终止响应通知"),
    "record_other_act": lambda: m.RecordOtherAct(by=DUTY, step="aftercare", document="县政府善后方案"),
    "record_circumstances": lambda: m.RecordCircumstances(by=DUTY, circumstances=["heavy_metal"]),
    # issue 24: the event's level, and the follow-up decided after termination (4.4)
    "determine_event_level": lambda: m.DetermineEventLevel(by=COMMANDER, level="III", reason="核定"),
    "decide_follow_up": lambda: m.DecideFollowUp(by=DUTY, follow_up=FOLLOW_UP),
}


def test_every_action_has_an_input_here():
    """New actions need a line in INPUTS so the wrong-stage matrix covers them."""
    missing = sorted(set(ACTION_NAMES) - set(INPUTS))
    assert not missing, f"actions without a wrong-stage case (add them to INPUTS in this file): {missing}"


async def test_every_action_in_every_wrong_stage_through_the_api(client, stages):
    before = await snapshot(client, stages)
    tried, problems = 0, []
    for key, iid in stages.items():
        stage = before[key]["stage"]
        for action, make in INPUTS.items():
            if action in _allowed(stage):
                continue
            tried += 1
            try:
                await api.act(client, iid, action, make())
                problems.append(f"{action} accepted in {stage}")
            except api.IncidentClosed as e:
                assert stage == "closed", (action, stage, e)
            except api.ActionRefused as e:
                want = f"（stage {stage}），不能{ACTION_NAMES[action]}：只能在"
                if want not in str(e):
                    problems.append(f"{action} in {stage}: {e}")
    assert tried >= 70, tried
    assert not problems, "\n".join(problems)
    assert await snapshot(client, stages) == before
    await still_running(client, stages)


API_CASES = [
    # (id, incident, action, input, words the refusal must hold)
    ("unknown-group-dispatch", RS, "dispatch", lambda: m.Dispatch(by=DUTY, leads={**LEADS, "nosuch": "某"}),
     ["unknown group 'nosuch'"]),
    ("unknown-group-sign-off", TP, "sign_off",
     lambda: m.SignOff(round=1, by=lead("disposal"), group="nosuch", lead="x", decision="approve"), ["unknown group"]),
    ("non-signatory-group", TP, "sign_off",
     lambda: m.SignOff(round=1, by=DUTY, group=next(iter(set(_plan_groups()) - set(LEADS))), lead="x", decision="approve"),
     ["does not sign termination"]),
    ("duplicate-sign-off", TP, "sign_off",
     lambda: m.SignOff(round=1, by=lead("monitoring"), group="monitoring", lead=LEADS["monitoring"], decision="approve"),
     ["already signed"]),
    ("sign-off-by-impostor", TP, "sign_off",
     lambda: m.SignOff(round=1, by=DUTY, group="disposal", lead=LEADS["disposal"], decision="approve"),
     ["王值班不是污染处置组组长", "赵处置"]),
    ("sign-off-wrong-lead-name", TP, "sign_off",
     lambda: m.SignOff(round=1, by=lead("disposal"), group="disposal", lead="李四", decision="approve"),
     ["named at dispatch is 赵处置", "not 李四"]),
    ("approve-before-all-three", TP, "approve_termination", lambda: m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
     ["waiting for sign-off", "disposal", "investigation"]),
    ("approve-by-duty-officer", TA, "approve_termination", lambda: m.ApproveTermination(by=DUTY, follow_up=FOLLOW_UP),
     ["值班员不能办理「指挥批示终止」", "此操作由指挥办理"]),
    ("at-in-the-future", R, "activate_response", lambda: m.ActivateResponse(by=COMMANDER, at=now() + timedelta(hours=1)),
     ["in the future"]),
    ("at-before-discovery", R, "activate_response",
     lambda: m.ActivateResponse(by=COMMANDER, at=now() - timedelta(days=3)), ["before the incident was discovered"]),
    ("other-level-without-reason", R, "activate_response", lambda: m.ActivateResponse(by=COMMANDER, level="I"),
     ["give a reason"]),
    ("same-level", RS, "adjust_level", lambda: m.AdjustLevel(by=COMMANDER, level="IV", reason="x"), ["already at level IV"]),
    ("initial-report-twice", RS, "submit_report",
     lambda: m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="x")), ["初报"]),
    ("review-in-the-future", PE, "assessment_review_passed",
     lambda: m.AssessmentReviewPassed(by=DUTY, review_date=(now() + timedelta(days=2)).date()), ["in the future"]),
    ("assessment-report-missing-recipient", PE, "submit_assessment_report",
     lambda: m.SubmitAssessmentReport(by=DUTY, recipients=["市人民政府"]), ["not passed review"]),
    ("close-too-early", PE, "close", lambda: m.Close(by=DUTY), ["cannot close yet", "assessment report is not submitted"]),
]


def _plan_groups() -> list[str]:
    from plan.loader import load_plan

    return [g.id for g in load_plan().plan.groups]


@pytest.mark.parametrize("name, key, action, make, words", API_CASES, ids=[c[0] for c in API_CASES])
async def test_refusals_through_the_api(client, stages, name, key, action, make, words):
    iid = stages[key]
    before = await api.status(client, iid)
    with pytest.raises(api.ActionRefused) as exc:
        await api.act(client, iid, action, make())
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)
    assert settled(await api.status(client, iid)) == settled(before)
    desc = await client.get_workflow_handle(api.workflow_id(iid)).describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING


async def test_unknown_incident_and_closed_incident_through_the_api(client, stages):
    with pytest.raises(api.IncidentNotFound, match="no incident nope-api"):
        await api.status(client, "nope-api")
    with pytest.raises(api.IncidentNotFound):
        await api.act(client, "nope-api", "close", m.Close(by=DUTY))
    with pytest.raises(api.IncidentClosed, match="closed"):
        await api.act(client, stages[CL], "submit_report", INPUTS["submit_report"]())
    with pytest.raises(api.IncidentExists, match="already exists"):
        await api.start_incident(client, report(incident_id=stages[R]))


@pytest.mark.parametrize("payload", [
    {"by": {"name": "  ", "role": "值班员"}, "reason": "x"},  # blank name past the client's model
    {"by": {"name": "王", "role": "值班员"}, "reason": BIG},  # 10 KB + 1
    {"by": {"name": "王", "role": "值班员"}, "reason": "x", "extra": 1},
    {"by": "王值班", "reason": "x"},
    "not an object",
    {"by": {"name": "王", "role": "值班员"}, "reason": "x", "at": "yesterday"},
], ids=["blank-name", "10k", "extra-field", "by-not-an-actor", "string", "bad-at"])
async def test_malformed_payloads_past_the_client_model_are_refused(client, stages, payload):
    """A caller that skips the pydantic models (another SDK, a hand-made request) cannot
    hurt the incident: the update is refused and nothing changes."""
    iid = stages[OS]
    handle = client.get_workflow_handle(api.workflow_id(iid))
    before = await api.status(client, iid)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("propose_termination", payload)
    assert settled(await api.status(client, iid)) == settled(before)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_malformed_sign_off_signals_change_nothing(client, stages):
    iid = stages[TP]
    handle = client.get_workflow_handle(api.workflow_id(iid))
    before = await api.status(client, iid)
    for payload in ({"group": "monitoring"}, "garbage", {"by": "x", "group": 1}):
        await handle.signal("sign_off_signal", payload)
    await handle.signal("no_such_signal", {"x": 1})
    # a refused update after them runs after they were processed (history order): a barrier
    with pytest.raises(api.ActionRefused, match="already signed"):
        await api.act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring",
                                                         lead=LEADS["monitoring"], decision="approve"))
    after = await api.status(client, iid)
    assert settled(after) == settled(before)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


# ---------------------------------------------------------------------------- fuzzing the parsers

json_scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c,
                                                                                              max_size=5), max_leaves=20)
times = st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=25), st.integers(), st.none())


def field_dicts(fields: dict) -> st.SearchStrategy:
    """Dicts over a model's own keys (valid-ish values mixed with junk) plus stray keys."""
    return st.fixed_dictionaries({}, optional={k: v | json_values for k, v in fields.items()}).flatmap(
        lambda d: st.dictionaries(st.text(max_size=8), json_values, max_size=2).map(lambda extra: {**d, **extra})
        | st.just(d))


ASSESSMENT_FIELDS = {
    "deaths": st.integers(-5, 10**9), "poisoned_or_injured": st.integers(-5, 10**9),
    "evacuated": st.integers(-5, 10**10), "direct_loss_yuan": st.floats(allow_nan=True) | st.integers(),
    "drinking_water_interrupted": st.sampled_from(["none", "township", "county", "city", "x"]),
    "cross_boundary": st.sampled_from(["none", "county_dispute", "city", "province", "mars"]),
    "ecological_impact": st.sampled_from(["none", "protected_species_damaged", "x"]),
}
REPORT_FIELDS = {
    "incident_id": st.text(alphabet=string.ascii_letters + string.digits + "-_. !", max_size=90),
    "title": st.text(max_size=50), "discovered_at": times, "reported_at": times, "county": st.text(max_size=20),
    "location": st.text(max_size=20),
    "incident_type": st.sampled_from(["water", "air", "soil", "hazardous_chemicals", "solid_waste", "other", "x"]),
    "description": st.text(max_size=50),
    "source": st.sampled_from(["hotline_12369", "linkage_119", "inspection", "county_bureau", "other", "x"]),
    "reporter": st.text(max_size=20), "assessment": field_dicts(ASSESSMENT_FIELDS), "drill": st.booleans(),
    "plan": st.text(max_size=20),
}
CONTENT_FIELDS = {k: st.text(max_size=40) for k in ReportContent.model_fields}

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _validates_or_validation_error(model, data) -> None:
    try:
        model.model_validate(data)
    except ValidationError as e:
        msg = validation_message(e)
        assert "\n" not in msg and msg.strip(), msg


@FUZZ
@given(field_dicts(REPORT_FIELDS) | json_values)
def test_fuzz_incident_report(data):
    _validates_or_validation_error(IncidentReport, data)


@FUZZ
@given(field_dicts(CONTENT_FIELDS) | json_values)
@example({"summary": "a\x00b"})
@example({"summary": "x" * 10_001})
def test_fuzz_report_content(data):
    _validates_or_validation_error(ReportContent, data)


@FUZZ
@given(field_dicts(ASSESSMENT_FIELDS) | json_values)
@example({"deaths": True})
@example({"direct_loss_yuan": float("inf")})
@example({"deaths": 10**30})
def test_fuzz_assessment(data):
    _validates_or_validation_error(Assessment, data)


@FUZZ
@given(field_dicts({**REPORT_FIELDS, "summary": st.text(max_size=10)}) | json_values)
def test_validation_message_is_always_one_line(data):
    for model in (IncidentReport, ReportContent, Assessment, m.SignOff, m.Dispatch):
        try:
            model.model_validate(data)
        except ValidationError as e:
            for prefix in ("", "file.json: ", "a\nb: "):
                msg = validation_message(e, prefix=prefix)
                assert "\n" not in msg and "\r" not in msg and msg.strip()


def _read_data_contract(path: Path) -> None:
    try:
        data = cli.read_data(str(path))
    except cli.Fail as e:
        assert e.code == 2, e
        return
    assert isinstance(data, dict)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".json", ".yaml", ".yml", ""]))
@example(b"\xff\xfe", ".json")
@example(b"", ".json")
@example(b"null", ".yaml")
@example(b"- a\n- b\n", ".yaml")
@example(b"a: *x\n", ".yaml")
@example(b"!!python/object:os.system {}", ".yaml")
def test_fuzz_read_data_on_random_bytes(tmp_path_factory, raw, suffix):
    p = tmp_path_factory.mktemp("fuzz", numbered=True) / f"f{suffix}"
    p.write_bytes(raw)
    _read_data_contract(p)


@FUZZ
@given(json_values, st.sampled_from(["json", "yaml"]))
def test_fuzz_read_data_on_well_formed_documents(tmp_path_factory, value, kind):
    p = tmp_path_factory.mktemp("fuzz", numbered=True) / f"f.{kind}"
    text = json.dumps(value) if kind == "json" else yaml.safe_dump(value, allow_unicode=True)
    p.write_text(text, encoding="utf-8")
    _read_data_contract(p)
