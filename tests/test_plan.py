"""The shipped plan file, the loader's errors, and the plan checker."""

import copy
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
    assert "nope.yaml" in msg and "没有这个文件" in msg
    assert "no-such-plan" in plan_error("no-such-plan")


def test_malformed_yaml(tmp_path):
    path = variant(tmp_path, "title: 阳泉", "title: [阳泉")
    msg = plan_error(path)
    assert msg.startswith("预案文件 variant.yaml：YAML 格式有误（第 ")


def test_bad_field(tmp_path):
    msg = plan_error(variant(tmp_path, "- id: publicity", "- id: press"))
    assert msg == ("预案文件 variant.yaml：groups.4.id不是可选的值（可选：coordination、monitoring、disposal、"
                   "investigation、publicity、experts）")


def test_unknown_key(tmp_path):
    msg = plan_error(variant(tmp_path, "issued_on: 2022-03-17\n", "issued_on: 2022-03-17\ntime_zone: Asia/Shanghai\n"))
    assert msg == "预案文件 variant.yaml：不认识的字段「time_zone」（字段名写错了？）"


def test_model_level_error(tmp_path):
    # The Plan's own rules name the key they find wrong, by its path in the file, in Chinese.
    msg = plan_error(variant(tmp_path, "- name: investigation", "- name: readiness"))
    assert msg == "预案文件 variant.yaml：deadlines.5.name：期限 readiness 写了不止一次：每个期限只写一次"


def test_a_list_item_is_named_by_its_identifier(tmp_path):
    """deadlines.initial_report.duration, not deadlines.0.duration: the name the file gives."""
    msg = plan_error(variant(tmp_path, "duration: {hours: 4}", "duration: {hours: 4, days: 1}"))
    assert msg == ("预案文件 variant.yaml：deadlines.initial_report.duration：时长须且只能写 hours、days、working_days "
                   "中的一项，如 hours: 1 或 working_days: 30")


def test_not_utf8_and_not_mapping(tmp_path):
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("id: caf\xe9\n".encode("latin-1"))
    assert "不是 UTF-8 文本" in plan_error(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    assert plan_error(listy) == "预案文件 list.yaml：顶层应为带字段名的映射"


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
    assert "分级以附表1为准" in w.message


def test_check_unloadable(tmp_path):
    loaded, problems = check_plan(variant(tmp_path, "title: 阳泉", "title: [阳泉"))
    assert loaded is None
    assert [p.severity for p in problems] == ["error"]
    assert "YAML 格式有误" in problems[0].message


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        ("at_least: 10, below: 30,", "at_least: 10, below: 25,", "grading.II.deaths", "不衔接"),
        ("source: 2.3(六)", 'source: " "', "groups.5.source", "来源为空"),
        ("  - {stage: warning,", "  #", "stage_expectations", "阶段 warning 没有停滞时限"),
        ("{level: III, field: cross_boundary, equals: city,", "{level: III, field: cross_boundary, equals: town,",
         "grading.criteria", "不在可选值之内"),
        ("levels: [I, II, III]\n", "levels: [I, II, III]\n    by_level: {IV: {hours: 3}}\n",
         "deadlines.readiness.by_level", "不在该期限的 levels 之内"),
        ("reminders: [{hours: 0.25}]", "reminders: [{hours: 1}]", "deadlines.readiness.reminders", "不短于"),
    ],
)
def test_check_reports_errors(tmp_path, old, new, where, words):
    loaded, problems = check_plan(variant(tmp_path, old, new))
    errors = [p for p in problems if p.severity == "error"]
    assert loaded is not None
    assert any(p.where.startswith(where) and words in p.message for p in errors), problems


# ---------------------------------------------------------------- what `ecoplan plan check` prints (issue 22)


# Single-word identifiers the check's sentences name (YAML keys and values, a stage); every other
# identifier it names has an underscore (deadline, action and field names: until_judged, keeps_shorter).
CHECK_KEYS = ["below", "equals", "levels", "kind", "referred", "status", "basis", "warning", "closed", "id"]


def _check_identifiers() -> list[str]:
    """What names the data in a check line and stays as written: the plan models' and the typed
    inputs' snake_case names and values (as in the --help test), the graded facts' names and
    values (附表1's fields), and CHECK_KEYS. A plain English word that happens to be a field name
    (hours, source, plan) is not let through."""
    from plan.grading import Assessment
    from plan.models import Plan
    from tests.test_cli_help import _model_words, typed_words

    snake = {w for w in _model_words(Plan, set()) | typed_words() if "_" in w}
    graded = _model_words(Assessment, set())  # the facts 附表1 grades and their values (city, province)
    return sorted(snake | graded | set(CHECK_KEYS), key=len, reverse=True)


def _without_identifiers(texts: list[str], data: list[str]) -> list[str]:
    """Each text with the data it shows back (field paths first, whole) and each identifier as 〇."""
    import re

    typed = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, _check_identifiers())) + r")(?![\w-])")
    out = []
    for t in texts:
        for d in sorted(data, key=len, reverse=True):
            t = t.replace(d, "〇")
        out.append(typed.sub("〇", t))
    return out


def test_plan_check_prints_every_line_in_chinese():
    """`ecoplan plan check` on the shipped plan, run in this process: the head line, the severity
    labels (错误/警告/提示), the check's own sentences and the plan's notes are all Chinese; the
    data's identifiers (field paths such as deadlines.initial_report, action and field names)
    stay as written."""
    from typer.testing import CliRunner

    from ecoplan.cli import app
    from tests.foreign_words import assert_chinese

    loaded, problems = check_plan()
    r = CliRunner().invoke(app, ["plan", "check"], prog_name="ecoplan")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == len(problems) + 1 >= 50
    assert lines[0] == f"预案 yangquan-2022（版本 2022.1，{loaded.content_hash[:19]}）"
    assert {line.split("：", 1)[0] for line in lines[1:]} == {"警告", "提示"}
    data = [p.where for p in problems] + ["yangquan-2022", loaded.content_hash[:19]]  # field paths, the plan's id and hash
    assert assert_chinese(_without_identifiers(lines, data), (), "ecoplan plan check") == len(lines)
    # the citations are kept exactly as the plan writes them
    text = r.output
    for cited in ("环境保护部令第17号 第三条", "阳环发〔2022〕24号 4.2.1, 4.2.2", "阳环发〔2022〕24号 附表1（事件分级标准）：现行有效",
                  "环发〔2013〕85号（30 个工作日（经批准可延长 30 个工作日））：已于2020年废止",
                  "分级以附表1为准", "本地选择（提醒和督办）：预案和规定均未规定：到期前 1 小时提醒，逾期后每 2 小时督办一次"):
        assert cited in text, cited


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("at_least: 10, below: 30,", "at_least: 10, below: 25,"),
        ("source: 2.3(六)", 'source: " "'),
        ("  - {stage: warning,", "  #"),
        ("{level: III, field: cross_boundary, equals: city,", "{level: III, field: cross_boundary, equals: town,"),
        ("levels: [I, II, III]\n", "levels: [I, II, III]\n    by_level: {IV: {hours: 3}}\n"),
        ("reminders: [{hours: 0.25}]", "reminders: [{hours: 1}]"),
        ("source: \"ecoplan default (not in the plan)\", basis: [{status: local_choice, note: "
         "\"预案未规定：供督查识别停滞事件的标记\"}]}", "source: \"ecoplan default (not in the plan)\"}"),
    ],
)
def test_the_checks_errors_and_warnings_are_chinese_too(tmp_path, old, new):
    """The sentences a broken plan gets (not shown by the shipped plan) pass the same check;
    the value the plan file gave (town) is its own word, shown back as given."""
    from tests.foreign_words import assert_chinese

    _, problems = check_plan(variant(tmp_path, old, new))
    raised = [p.message for p in problems if p.severity == "error" or "未标明" in p.message]
    assert raised, problems
    data = [p.where for p in problems] + ["town"]
    assert_chinese(_without_identifiers(raised, data), (), "plan check errors")


# ---------------------------------------------------------------- a plan that does not load, in Chinese (issue 22)


def _dl(d: dict, name: str) -> dict:
    return next(x for x in d["deadlines"] if x["name"] == name)


def _auth(d: dict, action: str) -> dict:
    return next(x for x in d["authority"] if x["action"] == action)


def _set(obj: dict, key, value) -> None:
    obj[key] = value


def _copy_last(items: list, i: int = 0) -> None:
    import copy

    items.append(copy.deepcopy(items[i]))


# (case, how the shipped plan's data is broken, the key path the line names, what it says,
#  the single-word identifiers it names as the file writes them). One per kind of error: each
#  rule of the plan models (plan/models, base.wrong) and each kind of pydantic error a plan file
#  gets (plan/problems.py).
BROKEN = [
    ("duration-two-units", lambda d: _dl(d, "initial_report")["duration"].update(days=1),
     "deadlines.initial_report.duration", "时长须且只能写 hours、days、working_days 中的一项",
     ["working_days", "hours", "days"]),
    ("basis-without-document", lambda d: d["rule_bases"]["grading"][0].pop("document"),
     "rule_bases.grading.0.document", "的依据须写明文件", ["document"]),
    ("repealed-without-year", lambda d: _set(d["rule_bases"]["grading"], 0, {"status": "repealed", "document": "某号"}),
     "rule_bases.grading.0.repealed_in", "须写明废止年份", ["repealed"]),
    ("local-choice-without-note", lambda d: _set(d["rule_bases"]["grading"], 0, {"status": "local_choice"}),
     "rule_bases.grading.0.note", "须在 note 中写明理由", ["note"]),
    ("repealed-in-for-a-basis-in-force", lambda d: _set(d["rule_bases"]["grading"][0], "repealed_in", 2020),
     "rule_bases.grading.0.repealed_in", "才写 repealed_in 和 replaced_by", ["repealed"]),
    ("extendable-by", lambda d: _set(_dl(d, "investigation"), "extendable_by", {"days": 30}),
     "deadlines.investigation.extendable_by", "不支持 extendable_by", ["extendable_by", "covers"]),
    ("duty-step-twice", lambda d: _copy_last(d["duties"][0]["steps"]),
     "duties.IV.steps.6.step", "IV级的事项 dispatch 写了不止一次", ["dispatch"]),
    ("county-twice", lambda d: d["counties"]["names"].append("盂县"), "counties.names.6", "盂县 列了两次", []),
    ("timezone", lambda d: _set(d, "timezone", "Asia/Shanghai"), "timezone", "不是预案的设置项", ["Asia/Shanghai"]),
    ("group-missing", lambda d: _set(d, "groups", [g for g in d["groups"] if g["id"] != "experts"]),
     "groups", "应恰好列出六个工作组", list(GROUP_IDS)),
    ("level-missing", lambda d: _set(d, "levels", [x for x in d["levels"] if x["id"] != "I"]),
     "levels", "缺少 I", []),
    ("deadline-twice", lambda d: _copy_last(d["deadlines"]), "deadlines.6.name", "期限 initial_report 写了不止一次", []),
    ("role-twice", lambda d: _copy_last(d["roles"]), "roles.7.id", "角色 duty_officer 写了不止一次", []),
    ("action-twice", lambda d: _copy_last(d["authority"]), "authority.", "操作 start_incident 在权限表中写了不止一次",
     ["start_incident"]),
    ("action-without-role", lambda d: _set(_auth(d, "start_incident"), "roles", []),
     "authority.start_incident.roles", "没有可办理的角色", ["start_incident", "roles"]),
    ("role-not-in-table", lambda d: _set(d, "roles", [r for r in d["roles"] if r["id"] != "commander"]),
     "authority.propose_warning.roles", "角色 commander 不在角色表", ["commander", "roles"]),
    ("duties-level-twice", lambda d: _copy_last(d["duties"]), "duties.4.level", "IV级的职责写了不止一次", []),
    ("deputy-flag-against-the-table", lambda d: _set(d["termination"], "deputy_may_approve", True),
     "termination.deputy_may_approve", "与权限表不一致", ["true", "false", "roles"]),
    ("daily-report-in-working-days", lambda d: _set(d["daily_report"], "period", {"working_days": 1}),
     "daily_report.period", "只能写 hours 或 days", ["working_days", "hours", "days"]),
    ("daily-content-twice", lambda d: d["daily_report"]["contents"].append("overdue"),
     "daily_report.contents.5", "overdue 写了不止一次", ["overdue"]),
    ("role-without-citation", lambda d: [d["roles"][0].pop(k, None) for k in ("source", "local_choice")],
     "roles.duty_officer", "须写明出处", ["source"]),
    ("missing-field", lambda d: d.pop("title"), "title", "缺少必填项", ["title"]),
    ("not-a-number", lambda d: _set(_dl(d, "initial_report"), "duration", {"hours": "四"}),
     "deadlines.initial_report.duration.hours", "应为数字", []),
    ("not-a-whole-number", lambda d: _set(_dl(d, "investigation"), "duration", {"days": 1.5}),
     "deadlines.investigation.duration.days", "应为整数", []),
    ("not-an-allowed-value", lambda d: _set(_dl(d, "initial_report"), "starts_on", "whenever"),
     "deadlines.initial_report.starts_on", "不是可选的值（可选：discovered、bureau_learned", ["discovered"]),
    ("not-an-allowed-key", lambda d: _set(_dl(d, "initial_report")["by_level"], "V", {"hours": 1}),
     "deadlines.initial_report.by_level.V（键名）", "不是可选的值（可选：I、II、III、IV）", []),
    ("unknown-key", lambda d: _set(_dl(d, "readiness"), "extra_note", "x"),
     "deadlines.readiness.extra_note", "不认识的字段", []),
    ("not-positive", lambda d: _set(_dl(d, "initial_report"), "reminders", [{"hours": -1}]),
     "deadlines.initial_report.reminders.0.hours", "hours应大于 0", []),
    ("not-a-mapping", lambda d: _set(d, "organisation", "市生态环境局"), "organisation", "应为带字段名的对象", []),
    ("not-a-list", lambda d: _set(d, "groups", "全部"), "groups", "应为列表", []),
    ("not-a-flag", lambda d: _set(d["termination"], "deputy_may_approve", "也许"),
     "termination.deputy_may_approve", "应为 true 或 false", ["true", "false"]),
    ("not-a-date", lambda d: _set(d, "issued_on", "去年"), "issued_on", "不是有效的日期", []),
    ("not-a-time", lambda d: _set(d["daily_report"], "at", "8点"), "daily_report.at", "应为时:分", []),
]


def test_every_load_error_of_a_broken_plan_is_chinese_and_names_the_key(tmp_path):
    """`ecoplan plan check --plan FILE` on broken copies of the shipped plan: each gets 预案未能加载
    and one 错误 line naming the key by its path in the file (a list item by its name), saying in
    Chinese what is wrong and what to write; the file's identifiers (keys, allowed values) stay
    as written and are the only ASCII words on the line."""
    import yaml
    from typer.testing import CliRunner

    from ecoplan.cli import app
    from tests.foreign_words import assert_chinese

    assert len(BROKEN) >= 10
    checked = 0
    shipped = yaml.load(SHIPPED.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for case, spoil, where, says, named in BROKEN:
        data = copy.deepcopy(shipped)
        spoil(data)
        path = tmp_path / f"{case}.yaml"
        # libyaml's dumper where it is built (the pure-Python one made this test 12 s of CPU)
        path.write_text(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                                  sort_keys=False), encoding="utf-8")
        r = CliRunner().invoke(app, ["plan", "check", "--plan", str(path)], prog_name="ecoplan")
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert getattr(r.exception, "code", None) == 2, (case, r.output)  # Fail: the CLI's main exits 2
        assert lines[0] == "预案未能加载" and len(lines) == 2, (case, lines)
        assert lines[1].startswith(f"错误：{path}：预案文件 {path.name}："), (case, lines[1])
        assert where in lines[1] and says in lines[1], (case, lines[1])
        checked += assert_chinese(_without_identifiers(lines, [str(path), path.name, where, *named]), (), case)
    assert checked == 2 * len(BROKEN)


def test_every_rule_of_the_plan_models_speaks_chinese():
    """Each sentence the plan models raise (base.wrong), read in the source: Chinese, naming
    keys and values as a plan file writes them (tests/foreign_words.py MESSAGE_CALLS)."""
    from tests.foreign_words import assert_chinese, source_messages

    texts = [t for f in sorted((PLANS_DIR.parent / "models").glob("*.py")) for _, t in source_messages(f)]
    named = ["working_days", "hours", "days", "document", "note", "repealed", "covers", "roles", "source", "true", "false",
             "Asia/Shanghai", "extendable_by"]
    assert assert_chinese(_without_identifiers(texts, named), (), "plan model rules") >= 20


def test_the_fast_yaml_loader_reads_what_the_pure_one_reads():
    """plan/files.py parses with libyaml where it is built, the pure-Python loader otherwise
    and for the error of a file libyaml refuses: the same data, the same line and column."""
    import yaml

    from plan import files
    from plan.loader import PlanError

    raw = SHIPPED.read_bytes()
    assert files.parse(raw, "预案文件", PlanError) == yaml.safe_load(raw.decode("utf-8"))
    # line 2, column 6 by the pure loader (libyaml would say line 3, column 1)
    with pytest.raises(PlanError) as e:
        files.parse("a: [1,\n b: 2".encode(), "预案文件", PlanError)
    assert str(e.value) == "预案文件：YAML 格式有误（第 2 行第 6 列）"
