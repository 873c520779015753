"""`ecoplan calendar add-year NOTICE` as a person runs it: the real `ecoplan` process, a
notice file, answers on standard input, temporary calendar directories. No server needed.

The notice below is a made-up 2027 notice in the published form (the real one is not out
yet). Its days, worked out by hand: 1 Jan 2027 is a Friday, so 元旦 is Fri 1 – Sun 3 Jan and
"1月4日（周一）上班" is an ordinary Monday; 春节 is Fri 5 – Fri 12 Feb (Mon 8 – Fri 12 off),
Sat 20 Feb is a make-up working day. Days off on Mon–Fri: 1 Jan, 5 Feb, 8–12 Feb = 7.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from plan.calendar import load_calendar
from tests.procs import ecoplan_in_process_sync

ECOPLAN = str(Path(sys.executable).parent / "ecoplan")

NOTICE_2027 = """\
国务院办公厅关于2027年部分节假日安排的通知
国办发明电〔2026〕99号

各省、自治区、直辖市人民政府，国务院各部委、各直属机构：

　　经国务院批准，现将2027年元旦、春节放假调休日期的具体安排通知如下。

　　一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。1月4日（周一）上班。

　　二、春节：2月5日（农历除夕、周五）至12日（农历正月初七、周五）放假调休，共8天。2月20日（周六）上班。

　　节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作，遇有重大突发事件，要按规定及时报告并妥善处置。

国务院办公厅
2026年11月4日
"""

# 5–12 Feb is 8 days; this copy states 共9天, so the notice cannot be read in full.
UNREADABLE = NOTICE_2027.replace("共8天", "共9天")


def process(*args: str, stdin: str = "", env_extra: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`ecoplan …` as a process of its own, without ECOPLAN_HOME unless given."""
    env = {k: v for k, v in os.environ.items() if k != "ECOPLAN_HOME"}
    return subprocess.run([ECOPLAN, *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env={**env, **(env_extra or {})}, cwd=cwd)


def run(*args: str, stdin: str = "", env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """The same command line through the same code (cli.invoke) in this process
    (tests.procs.ecoplan_in_process_sync): stdin piped, ECOPLAN_HOME unset unless given."""
    r = ecoplan_in_process_sync(*args, env={"ECOPLAN_HOME": None, **(env_extra or {})}, stdin=stdin)
    return subprocess.CompletedProcess([ECOPLAN, *r.args], r.code, r.out, r.err)


def one_chinese_line(p: subprocess.CompletedProcess) -> str:
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert any("\u4e00" <= ch <= "\u9fff" for ch in lines[0]), lines[0]
    return lines[0]


def notice_file(tmp_path: Path, text: str = NOTICE_2027) -> str:
    path = tmp_path / "notice.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_shows_what_it_found_and_writes_when_confirmed(tmp_path):
    cal_dir = tmp_path / "cal"
    p = run("calendar", "add-year", notice_file(tmp_path), "--dir", str(cal_dir), stdin="y\n")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕99号)" in out
    assert "元旦：2027-01-01（周五）至2027-01-03（周日），共3天" in out
    assert "春节：2027-02-05（周五）至2027-02-12（周五），共8天" in out
    assert "2027-02-20（周六）（春节）" in out  # the make-up working day
    assert "2027-01-04（周一）（元旦）：本就是工作日" in out
    assert "放假日中落在周一至周五的共7天" in out
    assert "确认写入2027年节假日安排？[y/N]" in out
    assert f"已写入 {cal_dir / '2027.yaml'}" in out
    assert (cal_dir / "2027.yaml").is_file()


def test_yes_writes_a_file_load_calendar_reads(tmp_path):
    cal_dir = tmp_path / "new" / "calendars"  # created when missing
    p = run("calendar", "add-year", notice_file(tmp_path), "--yes", "--dir", str(cal_dir))
    assert p.returncode == 0, p.stderr
    text = (cal_dir / "2027.yaml").read_text(encoding="utf-8")
    assert "year: 2027" in text and 'source: "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕99号)"' in text
    assert 'name: "元旦"' in text and 'name: "春节"' in text
    cal = load_calendar([cal_dir])
    off = [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 2, 5), date(2027, 2, 8),
           date(2027, 2, 12), date(2027, 2, 13)]
    on = [date(2027, 1, 4), date(2027, 2, 4), date(2027, 2, 15), date(2027, 2, 20), date(2027, 12, 31)]
    assert [cal.is_working_day(d) for d in off] == [(False, False)] * len(off)
    assert [cal.is_working_day(d) for d in on] == [(True, False)] * len(on)
    assert cal.is_working_day(date(2027, 2, 21)) == (False, False)  # the Sunday after the make-up Saturday
    assert cal.describe()["sources"]["2027"].endswith("(国办发明电〔2026〕99号)")
    # 4 Jan (a Monday) is not written as a make-up day: the file loaded, which it would not otherwise.


def test_default_directory_is_ecoplan_home_calendars(tmp_path):
    home = tmp_path / "home"
    p = run("calendar", "add-year", notice_file(tmp_path), "--yes", env_extra={"ECOPLAN_HOME": str(home)})
    assert p.returncode == 0, p.stderr
    assert (home / "calendars" / "2027.yaml").is_file()
    work = tmp_path / "work"
    work.mkdir()
    # a relative ECOPLAN_HOME is taken from the current directory (without one: the project's .ecoplan,
    # whatever the current directory; tests/test_settings.py)
    # (a process of its own: the current directory is the process's)
    p = process("calendar", "add-year", notice_file(tmp_path), "--yes", cwd=work, env_extra={"ECOPLAN_HOME": "data"})
    assert p.returncode == 0, p.stderr
    assert (work / "data" / "calendars" / "2027.yaml").is_file()


def test_without_confirmation_nothing_is_written(tmp_path):
    cal_dir = tmp_path / "cal"
    for answer in ("", "n\n", "是的吧\n"):
        p = run("calendar", "add-year", notice_file(tmp_path), "--dir", str(cal_dir), stdin=answer)
        assert p.returncode == 1, p.stderr
        assert "未写入" in one_chinese_line(p)
        assert "元旦：2027-01-01（周五）至2027-01-03（周日），共3天" in p.stdout  # it did show what it read
        assert not cal_dir.exists()


def test_notice_on_stdin_needs_yes(tmp_path):
    cal_dir = tmp_path / "cal"
    p = run("calendar", "add-year", "-", "--dir", str(cal_dir), stdin=NOTICE_2027)
    assert p.returncode == 1 and "--yes" in one_chinese_line(p) and not cal_dir.exists()
    p = run("calendar", "add-year", "-", "--yes", "--json", "--dir", str(cal_dir), stdin=NOTICE_2027)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # with --json, stdout is the result alone
    assert out["year"] == 2027 and out["path"] == str((cal_dir / "2027.yaml").absolute()) and out["replaced"] is False
    assert [(h["name"], h["first"], h["last"], h["days"]) for h in out["holidays"]] == [
        ("元旦", "2027-01-01", "2027-01-03", 3), ("春节", "2027-02-05", "2027-02-12", 8)]
    assert [w["day"] for w in out["makeup_workdays"]] == ["2027-02-20"]
    assert [w["day"] for w in out["ordinary_workdays"]] == ["2027-01-04"]
    assert out["weekday_days_off"] == 7
    assert "元旦：2027-01-01" in p.stderr  # the summary went to stderr


def test_an_existing_year_is_refused_without_replace(tmp_path):
    cal_dir = tmp_path / "cal"
    cal_dir.mkdir()
    existing = cal_dir / "2027.yaml"
    existing.write_text("year: 2027\nsource: 手工录入\nholidays: [2027-01-01]\n", encoding="utf-8")
    p = run("calendar", "add-year", notice_file(tmp_path), "--yes", "--dir", str(cal_dir))
    assert p.returncode == 2
    line = one_chinese_line(p)
    assert "2027年已有日历文件" in line and "--replace" in line
    assert existing.read_text(encoding="utf-8").startswith("year: 2027\nsource: 手工录入")
    p = run("calendar", "add-year", notice_file(tmp_path), "--yes", "--replace", "--json", "--dir", str(cal_dir))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["replaced"] is True
    assert load_calendar([cal_dir]).is_working_day(date(2027, 2, 20)) == (True, False)


def test_an_unreadable_notice_is_refused_and_nothing_written(tmp_path):
    cal_dir = tmp_path / "cal"
    p = run("calendar", "add-year", notice_file(tmp_path, UNREADABLE), "--yes", "--dir", str(cal_dir))
    assert p.returncode == 2
    line = one_chinese_line(p)
    assert "未写入" in line and "共9天" in line and "8天" in line
    assert not cal_dir.exists()
    assert p.stdout == ""


def test_a_missing_or_non_utf8_file_is_refused(tmp_path):
    p = run("calendar", "add-year", str(tmp_path / "nope.txt"), "--yes", "--dir", str(tmp_path / "cal"))
    assert p.returncode == 2 and "文件不存在" in one_chinese_line(p)
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(NOTICE_2027.encode("gbk"))
    p = run("calendar", "add-year", str(gbk), "--yes", "--dir", str(tmp_path / "cal"))
    assert p.returncode == 2 and "UTF-8" in one_chinese_line(p)
    assert not (tmp_path / "cal").exists()


def test_calendar_due_still_answers():
    # Moved from ecoplan/cli.py into ecoplan/cli/calendar.py unchanged (tests/test_cli.py has the full case).
    p = run("calendar", "due", "--from", "2026-09-30", "--working-days", "20", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"due_date": "2026-11-03", "due_at": "2026-11-03T23:59:59+08:00",
                                    "provisional": False}
    p = run("calendar", "due", "--from", "2026-02-30", "--working-days", "5")
    assert p.returncode == 2 and "--from" in p.stderr
