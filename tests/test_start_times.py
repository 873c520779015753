"""Times no real incident has are refused where a report enters (issue 25, item 1): before
2000 or from 2100 on, by the model (a typing slip such as 0001-01-01 or 9999-12-31, which
would overflow the deadline arithmetic), and more than five minutes ahead of the receiving
clock, by ecoplan.api.start_incident. Expected bounds are written out by hand here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from plan.incident import IncidentReport, start_time_problem
from plan.problems import LABELS, validation_message
from tests.procs import ecoplan_in_process

CST = timezone(timedelta(hours=8))


def _report(**over) -> IncidentReport:
    body = {"title": "桃河化工厂泄漏", "discovered_at": "2026-12-07T08:00", "reported_at": "2026-12-07T08:30",
            "county": "平定县", "location": "桃河", "incident_type": "water", "source": "hotline_12369",
            "reporter": "12369", **over}
    return IncidentReport.model_validate(body)


@pytest.mark.parametrize("field, value", [
    ("discovered_at", "0001-01-01T00:00"), ("discovered_at", "1999-12-31T23:59"),
    ("reported_at", "2100-01-01T00:00"), ("reported_at", "9999-12-31T23:59"),
])
def test_a_time_outside_2000_to_2100_is_refused_naming_the_field(field, value):
    over = {field: value}
    if field == "discovered_at":
        over["reported_at"] = "2026-12-07T08:30"
    with pytest.raises(ValidationError) as e:
        _report(**over)
    line = validation_message(e.value)
    assert line.startswith(f"{LABELS[field]}：") and "2000-01-01 至 2100-01-01" in line and "本地规定" in line, line


def test_the_bounds_themselves():
    r = _report(discovered_at="2000-01-01T00:00", reported_at="2099-12-31T23:59")  # no offset: Asia/Shanghai
    assert r.discovered_at == datetime(2000, 1, 1, tzinfo=CST)
    # 1999-12-31 16:00 UTC is 2000-01-01 00:00 in Shanghai: the same instant, accepted
    assert _report(discovered_at="1999-12-31T16:00+00:00").discovered_at == datetime(2000, 1, 1, tzinfo=CST)


def test_a_start_report_in_the_future_is_refused_beyond_five_minutes():
    now = datetime(2026, 12, 7, 10, 0, tzinfo=CST)
    assert start_time_problem(_report(reported_at="2026-12-07T10:05"), now) is None
    why = start_time_problem(_report(reported_at="2026-12-07T10:06"), now)
    assert why == "接报时间：2026-12-07 10:06 晚于现在（2026-12-07 10:00）5 分钟以上：事件的发现和报告时间不能在将来"
    why = start_time_problem(_report(discovered_at="2027-01-01T00:00", reported_at="2027-01-01T00:10"), now)
    assert why.startswith("发现时间：2027-01-01 00:00 晚于现在")


async def test_the_cli_refuses_a_far_future_start_in_one_line(tmp_path, temporal_address):
    f = tmp_path / "incident.json"
    f.write_text('{"title": "x", "discovered_at": "9999-12-31T23:00", "reported_at": "9999-12-31T23:59", '
                 '"county": "平定县", "location": "桃河", "incident_type": "water", "source": "hotline_12369", '
                 '"reporter": "12369"}', encoding="utf-8")
    p = await ecoplan_in_process("start", str(f), address=temporal_address)
    lines = [x for x in p.err.splitlines() if x.strip()]
    assert p.code == 2 and len(lines) == 1 and "发现时间" in lines[0] and "本地规定" in lines[0], p.err
