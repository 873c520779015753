"""The shipped plan file, the loader's errors, and the plan checker."""

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest

from plan.check import check_plan
from plan.loader import (
    DEFAULT_PLAN_ID, PLANS_DIR, PlanError, load_plan, resolve_plan_path, shipped_plan_ids,
)
from plan.models import GROUP_IDS, Level

SHIPPED = PLANS_DIR / f"{DEFAULT_PLAN_ID}.yaml"


def variant(tmp_path: Path, old: str, new: str, name: str = "variant.yaml") -> Path:
    """A copy of the shipped plan with the first `old` replaced by `new`."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def plan_error(ref) -> str:
    with pytest.raises(PlanError) as info:
        load_plan(ref)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


# ---------------------------------------------------------------- shipped plan


def test_shipped_plan_loads():
    loaded = load_plan()
    p = loaded.plan
    assert (p.id, p.version, p.issued_on) == ("yangquan-2022", "2022.1", date(2022, 3, 17))
    assert p.document_number == "阳环发〔2022〕24号"
    assert p.title == "阳泉市生态环境局突发环境事件应急预案"
    assert p.organisation.headquarters.commander.holder == "市生态环境局局长"
    assert loaded.ref == {"id": "yangquan-2022", "version": "2022.1", "hash": loaded.content_hash}
    assert DEFAULT_PLAN_ID in shipped_plan_ids()


def test_resolve():
    assert resolve_plan_path(None) == SHIPPED
    assert resolve_plan_path("yangquan-2022") == SHIPPED
    assert resolve_plan_path(SHIPPED) == SHIPPED.resolve()
    assert load_plan("yangquan-2022").plan.id == load_plan(str(SHIPPED)).plan.id


def test_hash_stable_and_content_sensitive(tmp_path):
    expected = "sha256:" + hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert load_plan().content_hash == expected
    assert load_plan().content_hash == expected  # stable across loads
    copy = tmp_path / "copy.yaml"
    shutil.copy(SHIPPED, copy)
    assert load_plan(copy).content_hash == expected  # same bytes, same hash wherever they live
    with copy.open("a", encoding="utf-8") as f:
        f.write("# a comment changes the bytes\n")
    assert load_plan(copy).content_hash != expected  # the cache notices the edit


def test_six_groups():
    p = load_plan().plan
    assert [g.id for g in p.groups] == list(GROUP_IDS)
    assert p.group("investigation").name == "污染排查组"
    assert "局指挥部根据事件类型" in p.group("disposal").lead_units[0]
    assert all(g.duties and g.source for g in p.groups)


def test_levels():
    p = load_plan().plan
    assert [p.level(l).name for l in "I II III IV".split()] == ["特别重大", "重大", "较大", "一般"]
    assert p.level("II").builds_on == Level.III and p.level("I").builds_on == Level.II
    assert [p.level(l).asks_city_to_start for l in "I II III IV".split()] == [True, True, True, False]
    assert p.level("IV").led_by.startswith("事发地县（区）级人民政府")
    assert any(a.source == "4.1.2(4)" for a in p.level("III").actions)


def test_deadlines():
    p = load_plan().plan
    names = {d.name for d in p.deadlines}
    assert names == {"initial_report", "readiness", "assessment_report", "assessment_completion", "investigation",
                     "written_report"}
    assert all(d.source.strip() for d in p.deadlines)
    ir = p.deadline("initial_report")
    assert [ir.duration_for(Level(l)).hours for l in "I II III IV".split()] == [2, 2, 4, 4]
    assert "第三条" in ir.source
    ready = p.deadline("readiness")
    assert ready.applies_to(Level.III) and not ready.applies_to(Level.IV)
    assert p.deadline("assessment_report").duration.working_days == 20
    ac = p.deadline("assessment_completion")
    assert ac.duration.working_days == 30
    [repealed] = [b for b in ac.basis if b.status == "repealed"]
    assert (repealed.document, repealed.repealed_in) == ("环发〔2013〕85号", 2020)
    assert p.deadline("investigation").duration.days == 60


def test_tables():
    p = load_plan().plan
    assert p.grading.default_level == Level.IV
    iv_loss = [c for c in p.response_conditions.criteria if (c.level, c.field) == (Level.IV, "direct_loss_yuan")]
    assert [c.below for c in iv_loss] == [500_000]  # transcribed as written
    assert p.termination.signatories == ["monitoring", "disposal", "investigation"]
    assert {s.stage for s in p.stage_expectations} == {
        "reported", "warning", "responding", "on_site", "termination_pending", "post_event"}


def test_second_plan_by_path(tmp_path):
    path = variant(tmp_path, "id: yangquan-2022", "id: other-2023", name="other.yaml")
    other = load_plan(path)
    assert other.plan.id == "other-2023"
    assert other.path == str(path.resolve())
    assert other.content_hash != load_plan().content_hash
    assert load_plan().plan.id == "yangquan-2022"


# ---------------------------------------------------------------- loader errors


def test_missing_file(tmp_path):
    msg = plan_error(tmp_path / "nope.yaml")
    assert "nope.yaml" in msg and "no such file" in msg
    assert "no-such-plan" in plan_error("no-such-plan")


def test_malformed_yaml(tmp_path):
    path = variant(tmp_path, "title: 阳泉", "title: [阳泉")
    msg = plan_error(path)
    assert msg.startswith("plan file variant.yaml: malformed YAML at line ")


def test_bad_field(tmp_path):
    msg = plan_error(variant(tmp_path, "- id: publicity", "- id: press"))
    assert msg.startswith("plan file variant.yaml: groups.4.id: Input should be ")


def test_unknown_key(tmp_path):
    msg = plan_error(variant(tmp_path, "issued_on: 2022-03-17\n", "issued_on: 2022-03-17\ntime_zone: Asia/Shanghai\n"))
    assert msg == "plan file variant.yaml: time_zone: Extra inputs are not permitted"


def test_model_level_error(tmp_path):
    # Errors from the Plan's own validator have no field path: the message alone.
    msg = plan_error(variant(tmp_path, "- name: investigation", "- name: readiness"))
    assert msg == "plan file variant.yaml: deadline names must be unique"


def test_not_utf8_and_not_mapping(tmp_path):
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("id: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in plan_error(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    assert plan_error(listy) == "plan file list.yaml: top level must be a mapping, got list"


# ---------------------------------------------------------------- check_plan


def test_check_shipped_plan():
    loaded, problems = check_plan()
    assert loaded is not None
    assert [p for p in problems if p.severity == "error"] == []
    warnings = [p for p in problems if p.severity == "warning"]
    assert [w.where for w in warnings] == ["response_conditions.IV.direct_loss_yuan", "deadlines.assessment_completion",
                                           "rule_bases.assessment", "rule_bases.plan_management"]
    w = warnings[0]
    assert (w.severity, w.where) == ("warning", "response_conditions.IV.direct_loss_yuan")
    assert "附表2" in w.message and "附表1" in w.message
    assert "500000 (50万元)" in w.message and "5000000 (500万元)" in w.message
    assert "grading follows 附表1" in w.message


def test_check_unloadable(tmp_path):
    loaded, problems = check_plan(variant(tmp_path, "title: 阳泉", "title: [阳泉"))
    assert loaded is None
    assert [p.severity for p in problems] == ["error"]
    assert "malformed YAML" in problems[0].message


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        ("at_least: 10, below: 30,", "at_least: 10, below: 25,", "grading.II.deaths", "does not meet"),
        ("source: 2.3(六)", 'source: " "', "groups.5.source", "source is empty"),
        ("  - {stage: warning,", "  #", "stage_expectations", "'warning'"),
        ("{level: III, field: cross_boundary, equals: city,", "{level: III, field: cross_boundary, equals: town,",
         "grading.criteria", "expected one of"),
        ("levels: [I, II, III]\n", "levels: [I, II, III]\n    by_level: {IV: {hours: 3}}\n",
         "deadlines.readiness.by_level", "not in the deadline's levels"),
        ("reminders: [{hours: 0.25}]", "reminders: [{hours: 1}]", "deadlines.readiness.reminders", "not shorter"),
    ],
)
def test_check_reports_errors(tmp_path, old, new, where, words):
    loaded, problems = check_plan(variant(tmp_path, old, new))
    errors = [p for p in problems if p.severity == "error"]
    assert loaded is not None
    assert any(p.where.startswith(where) and words in p.message for p in errors), problems
