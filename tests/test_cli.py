"""The `ecoplan` command as people use it: a real process against the real dev server
(grade, start, status, timeline --follow). Other cases run the same command line through
the command's own code in this process (tests.procs.ecoplan_in_process: its own stdout and
stderr, its exit status); the exit of a process is test_exit_codes' and test_bad_input's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import CITY_WARNING, now, settled
from tests.procs import ecoplan_in_process, ecoplan_in_process_sync

ECOPLAN = str(Path(sys.executable).parent / "ecoplan")


def ecoplan(*args: str, env_extra: dict | None = None, address: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ECOPLAN_USER": "王值班", **(env_extra or {})}
    if address:
        env["TEMPORAL_ADDRESS"] = address
    return subprocess.run([ECOPLAN, *args], capture_output=True, text=True, env=env, timeout=60)


async def aecoplan(*args: str, env_extra: dict | None = None, address: str | None = None) -> subprocess.CompletedProcess:
    """The same, without blocking the event loop the test worker runs on."""
    import asyncio

    env = {**os.environ, "ECOPLAN_USER": "王值班", **(env_extra or {})}
    if address:
        env["TEMPORAL_ADDRESS"] = address
    proc = await asyncio.create_subprocess_exec(ECOPLAN, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return subprocess.CompletedProcess([ECOPLAN, *args], proc.returncode, out.decode(), err.decode())


def _completed(r) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([ECOPLAN, *r.args], r.code, r.out, r.err)


def here(*args: str, env_extra: dict | None = None, address: str | None = None) -> subprocess.CompletedProcess:
    """ecoplan(...) in this process: the same command line, output and exit status."""
    return _completed(ecoplan_in_process_sync(*args, env_extra=env_extra, address=address))


async def ahere(*args: str, env_extra: dict | None = None, address: str | None = None) -> subprocess.CompletedProcess:
    return _completed(await ecoplan_in_process(*args, env_extra=env_extra, address=address))


def one_line_error(p: subprocess.CompletedProcess) -> str:
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


# ------------------------------------------------------------------ foundation commands


def test_grade_json(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"evacuated": 5000, "drinking_water_interrupted": "township"}))
    p = ecoplan("grade", str(f), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["level"] == "III" and out["level_name"] == "较大"
    assert len(out["reasons"]) == 2 and all(r.startswith("附表1 较大(III)") for r in out["reasons"])


def test_grade_yaml_and_plan_by_path(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("deaths: 30\n")
    plan = Path(__file__).resolve().parent.parent / "plan" / "plans" / "yangquan-2022.yaml"
    p = here("grade", str(f), "--plan", str(plan), "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["level"] == "I"


@pytest.mark.parametrize("content,needle", [
    ('{"deaths": -1}', "死亡人数不能为负数"),
    ('{"deaths": 2.5}', "死亡人数应为整数"),
    ('{"deaths": ', "JSON 格式有误"),
    ('{"cross_boundary": "mars"}', "跨界影响不是可选的值"),
    ('{"casualties": 3}', "「casualties」"),
    ('[1, 2]', "应为带字段名的对象"),
])
def test_grade_bad_input(tmp_path, content, needle):
    f = tmp_path / "bad.json"
    f.write_text(content)
    p = here("grade", str(f))
    assert p.returncode == 2
    assert needle in one_line_error(p)


def test_grade_missing_file_and_non_utf8(tmp_path):
    p = here("grade", str(tmp_path / "none.json"))
    assert p.returncode == 2 and "文件不存在" in one_line_error(p)
    f = tmp_path / "latin1.json"
    f.write_bytes(b'{"deaths": 1, "x": "\xff\xfe"}')
    p = here("grade", str(f))
    assert p.returncode == 2 and "不是 UTF-8" in one_line_error(p)


def test_calendar_due():
    p = here("calendar", "due", "--from", "2026-09-30", "--working-days", "20", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"due_date": "2026-11-03", "due_at": "2026-11-03T23:59:59+08:00",
                                    "provisional": False}
    p = here("calendar", "due", "--from", "2031-01-06", "--working-days", "5", "--json")
    assert json.loads(p.stdout)["provisional"] is True
    p = here("calendar", "due", "--from", "2026-02-30", "--working-days", "5")
    assert p.returncode == 2 and "--from" in one_line_error(p)
    p = here("calendar", "due", "--from", "2026-02-03", "--working-days", "0")
    assert p.returncode == 2 and "--working-days" in one_line_error(p)


def test_plan_check_reports_the_loss_discrepancy():
    p = here("plan", "check", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["plan"]["id"] == "yangquan-2022"
    warnings = [x for x in out["problems"] if x["severity"] == "warning"]
    # the two repealed bases of issue 24's rule_bases (85号 again, 国办发〔2013〕101号) come after these
    assert len(warnings) == 4 and not [x for x in out["problems"] if x["severity"] == "error"]
    assert "500万元" in warnings[0]["message"] and "50万元" in warnings[0]["message"]
    # the repealed basis (环发〔2013〕85号, 2020) and the local choices are listed (issue 13 item 10)
    assert "已于2020年废止" in warnings[1]["message"] and "环发〔2013〕85号" in warnings[1]["message"]
    infos = [x["where"] for x in out["problems"] if x["severity"] == "info"]
    assert "deadlines.investigation" in infos and "linkage" in infos and "stage_expectations.reported" in infos


def test_plan_check_broken_file(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("id: x\ntitle: [unclosed\n")
    p = here("plan", "check", "--plan", str(f))
    assert p.returncode == 2
    assert p.stdout.startswith("预案未能加载\n错误：") and "YAML 格式有误" in p.stdout


# ------------------------------------------------------------------ an incident with the CLI alone


async def test_whole_life_cycle_with_the_cli(tmp_path, temporal_address, worker):
    run = lambda *a: aecoplan(*a, address=temporal_address)  # noqa: E731
    iid = f"cli-{uuid.uuid4().hex[:8]}"
    start = tmp_path / "incident.json"
    start.write_text(json.dumps({
        "incident_id": iid, "title": "阳煤化工储罐泄漏", "discovered_at": (now() - timedelta(hours=1)).isoformat(),
        "reported_at": (now() - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%S"),  # no offset: Asia/Shanghai
        "county": "郊区", "location": "荫营镇", "incident_type": "hazardous_chemicals", "source": "linkage_119",
        "reporter": "119指挥中心", "assessment": {"direct_loss_yuan": 6_000_000},
    }, ensure_ascii=False))
    p = await run("start", str(start))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == iid
    p = await ahere("start", str(start), address=temporal_address)
    assert p.returncode == 1 and "已存在" in one_line_error(p)

    rep = tmp_path / "initial.json"
    rep.write_text(json.dumps({"summary": "储罐泄漏约2吨，已围堵", "main_pollutants": "苯", "signed_by": "李局长",
                              "contact_person": "王值班"}, ensure_ascii=False))
    until = (now().date() + timedelta(days=30)).isoformat()  # monitoring goes on a month after the approval
    steps = [
        ("activate", iid),
        ("report", iid, "--kind", "initial", "--file", str(rep), "--contact-phone", "0353-2020000"),
        ("dispatch", iid, "--lead", "monitoring=张监测", "--lead", "disposal=赵处置", "--lead", "investigation=钱排查"),
        ("propose-termination", iid, "--reason", "特征污染物降至本底水平"),
        ("sign-off", iid, "--group", "monitoring", "--lead", "张监测", "--round", "1"),
        ("sign-off", iid, "--group", "disposal", "--lead", "赵处置", "--round", "1", "--reject", "--opinion", "下游仍超标"),
        ("propose-termination", iid, "--reason", "复测达标"),
        ("sign-off", iid, "--group", "monitoring", "--lead", "张监测", "--round", "2"),
        ("sign-off", iid, "--group", "disposal", "--lead", "赵处置", "--round", "2"),
        ("sign-off", iid, "--group", "investigation", "--lead", "钱排查", "--round", "2", "--opinion", "同意"),
        ("approve-termination", iid, "--by", "李局长", "--instruction", "同意终止",
         "--follow-up", "continue", "--follow-up-by", "市应急指挥部会同专家组", "--follow-up-until", until),
        ("aftercare", iid, "--note", "督促企业清运废物"),
        # III: the province investigates (32号令 第四条); the bureau records its act (plan duties)
        ("record-other", iid, "--step", "investigation", "--document", "晋环调查〔2026〕5号"),
        ("review-passed", iid, "--date", now().date().isoformat()),
        ("submit-assessment-report", iid),
        ("report", iid, "--kind", "final", "--file", str(rep), "--contact-phone", "0353-2020000"),
        ("close", iid),
    ]
    # The steps run the command line through the same code in this process (tests/procs.py):
    # starting, reading and exiting as a process are covered above and below, and by test_exit_codes.
    for step in steps:
        p = await ecoplan_in_process(*step, "--json", address=temporal_address)
        assert p.code == 0, (step, p.err)
        answer = json.loads(p.out)  # the command's own output (the worker's log lines go elsewhere)
        assert answer["incident_id"] == iid and answer["action"], answer
    p = await run("status", iid, "--json")
    st = json.loads(p.stdout)
    assert st["stage"] == "closed" and st["outcome"] == "completed"
    assert st["level"] == "III" and st["graded_level"] == "III"
    # III: the province investigates (32号令 第四条), so no investigation clock of the bureau's (issue 24)
    assert {d["name"] for d in st["deadlines"]} == {
        "initial_report", "readiness", "assessment_completion", "assessment_report"}
    assert [s["decision"] for s in st["signoff_history"]] == ["approve", "reject", "approve", "approve", "approve"]
    # Recorded as CLI actions: the operator's name, the role the action needs (no --as given), via cli
    by = {e["action"]: e["by"] for e in st["timeline"] if e["by"] and e["action"] != "reported"}
    reported = next(e for e in st["timeline"] if e["action"] == "reported")
    assert reported["by"]["name"] == "119指挥中心"  # the reporter; who entered it, beside
    assert reported["detail"]["entered_by"] == {"name": "王值班", "role": "值班员", "role_id": "duty_officer",
                                                "display": None, "via": "cli"}
    assert {b["via"] for b in by.values()} == {"cli"}
    assert (by["activate_response"]["role_id"], by["activate_response"]["role"]) == ("commander", "指挥")
    assert (by["dispatch"]["role_id"], by["sign_off"]["role_id"]) == ("duty_officer", "lead")
    assert by["approve_termination"]["name"] == "李局长"
    assert st["termination"]["follow_up"] == {"continue_monitoring": True, "decided_by": "市应急指挥部会同专家组",
                                              "until": until, "note": ""}
    for key in ("incident_id", "title", "stage", "level", "graded_level", "plan", "leads", "signoffs",
                "pending_signoffs", "deadlines", "timeline", "outcome"):
        assert key in st
    p = await ahere("status", iid, address=temporal_address)
    assert p.returncode == 0 and iid in p.stdout and "结案阶段" in p.stdout
    assert "III级事件各事项的办理" in p.stdout and "已登记：省生态环境厅，晋环调查〔2026〕5号" in p.stdout
    archive = worker.archive_dir / iid
    names = sorted(x.name for x in archive.iterdir())
    assert any(n.endswith("activation_notice.md") for n in names)
    assert any(n.endswith("termination_form.md") for n in names)
    assert any(n.endswith("info_report.md") for n in names)
    assert "dossier.json" in names
    form = next(archive.glob("*termination_form.md")).read_text()
    assert "钱排查" in form and "同意终止" in form and "应急监测组" in form


async def test_refusals_exit_1_with_one_line(tmp_path, temporal_address, worker):
    run = lambda *a, **k: ahere(*a, address=temporal_address, **k)  # noqa: E731
    iid = f"cli-{uuid.uuid4().hex[:8]}"
    start = tmp_path / "incident.json"
    start.write_text(json.dumps({
        "incident_id": iid, "title": "河道异味", "discovered_at": (now() - timedelta(hours=1)).isoformat(),
        "reported_at": now().isoformat(), "county": "盂县", "location": "龙华河", "incident_type": "water",
        "source": "hotline_12369", "reporter": "群众"}, ensure_ascii=False))
    assert (await run("start", str(start))).returncode == 0
    before = json.loads((await run("status", iid, "--json")).stdout)
    cases = [
        (("dispatch", iid, "--lead", "monitoring=a", "--lead", "disposal=b", "--lead", "investigation=c"), 1, "处于接报阶段"),
        (("activate", iid, "--level", "II"), 1, "理由"),
        (("activate", iid, "--level", "V"), 2, "响应级别"),
        (("activate", iid, "--at", "2099-01-01T00:00"), 1, "在将来"),
        (("activate", iid, "--at", "yesterday"), 2, "--at"),
        (("activate", iid, "--by", "  "), 2, "--by"),
        (("sign-off", iid, "--group", "monitoring", "--lead", "x"), 1, "阶段"),
        (("dispatch", iid, "--lead", "monitoring"), 2, "GROUP=NAME"),
        (("status", "no-such-incident"), 1, "没有事件"),
        (("activate", "no-such-incident"), 1, "没有事件"),
    ]
    for args, code, needle in cases:
        p = await run(*args)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert needle in one_line_error(p), (args, p.stderr)
    p = await run("activate", iid, env_extra={"ECOPLAN_USER": ""})
    assert p.returncode == 2 and "--by" in one_line_error(p)
    after = json.loads((await run("status", iid, "--json")).stdout)
    assert settled(after) == settled(before)  # documents filed meanwhile aside


async def test_timeline_follow_until_closed(temporal_address, worker, client):
    """`ecoplan timeline ID --follow` prints entries as they happen and ends when the incident closes."""
    import asyncio

    from ecoplan import api
    from tests.helpers import DUTY, report
    from workflows import messages as m

    iid = await api.start_incident(client, report())
    env = {**os.environ, "TEMPORAL_ADDRESS": temporal_address}
    proc = await asyncio.create_subprocess_exec(ECOPLAN, "timeline", iid, "--follow", "--json", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    assert first["action"] == "reported"
    await api.act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    await api.act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"))
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    actions = [json.loads(l)["action"] for l in out.decode().splitlines()]
    assert actions[-2:] == ["issue_warning", "lift_warning"]
