"""The soak's deadline check (benchmarks/soak.py): "every deadline judged as it would be
without faults" means a due time worked out again outside ecoplan's calendar code, from the
published calendar. Dates below are worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from benchmarks.soak import _deadline_faults, fault_free_due
from plan.loader import load_plan
from plan.models.base import Duration

CST = timezone(timedelta(hours=8))


def test_the_fault_free_due_time_by_hand():
    # Hours: 10:00 + 4 h.
    assert fault_free_due(Duration(hours=4), datetime(2026, 12, 8, 10, 0, tzinfo=CST)) == \
        datetime(2026, 12, 8, 14, 0, tzinfo=CST)
    # 20 working days from Mon 2 Nov 2026 (no holiday in November): 3-6 Nov are 4, the
    # three weeks from 9 Nov make 19, Mon 30 Nov is the 20th.
    assert fault_free_due(Duration(working_days=20), datetime(2026, 11, 2, 10, 0, tzinfo=CST)) == \
        datetime(2026, 11, 30, 23, 59, 59, tzinfo=CST)
    # 2025's National Day (the State Council's notice for 2025): 1-8 Oct off, Sat 11 Oct
    # worked. Three working days from Tue 30 Sep: Thu 9, Fri 10, Sat 11 Oct.
    assert fault_free_due(Duration(working_days=3), datetime(2025, 9, 30, 16, 0, tzinfo=CST)) == \
        datetime(2025, 10, 11, 23, 59, 59, tzinfo=CST)
    # A year no notice covers: Monday to Friday. Five from Fri 2 Jun 2090: Mon 5 to Fri 9 Jun.
    assert fault_free_due(Duration(working_days=5), datetime(2090, 6, 2, 9, 0, tzinfo=CST)) == \
        datetime(2090, 6, 9, 23, 59, 59, tzinfo=CST)
    # The start is kept in Beijing time: 20:00 UTC on Sun 1 Nov is Mon 2 Nov 04:00 in Beijing.
    assert fault_free_due(Duration(working_days=20), datetime(2026, 11, 1, 20, 0, tzinfo=timezone.utc)) == \
        datetime(2026, 11, 30, 23, 59, 59, tzinfo=CST)


def _status(**deadline) -> dict:
    return {"level": "IV", "graded_level": "IV", "level_changes": [], "deadlines": [deadline]}


def test_a_due_time_a_fault_moved_is_caught_and_a_right_one_passes(tmp_path):
    plan = load_plan().plan
    started = datetime(2026, 11, 2, 10, 0, tzinfo=CST)
    right = datetime(2026, 11, 30, 23, 59, 59, tzinfo=CST)
    ok = _status(name="assessment_report", started_at=started.isoformat(), due_at=right.isoformat(),
                 met_at=(started + timedelta(minutes=5)).isoformat(), status="met")
    assert _deadline_faults(ok, plan, [tmp_path]) == []
    # A due time a fault moved by a day (1 Dec): caught.
    moved = _status(name="assessment_report", started_at=started.isoformat(),
                    due_at=(right + timedelta(days=1)).isoformat(), met_at=None, status="open")
    assert [f.split(":")[0] for f in _deadline_faults(moved, plan, [tmp_path])] == ["assessment_report"]
    # The initial report is due 4 h after the bureau learned of a level-IV incident (17号令
    # 第三条; 2 h for I and II): met 5 minutes later is "met", and a "met_late" is caught.
    late = _status(name="initial_report", started_at=started.isoformat(),
                   due_at=(started + timedelta(hours=4)).isoformat(),
                   met_at=(started + timedelta(minutes=5)).isoformat(), status="met_late")
    assert "met_late where met" in _deadline_faults(late, plan, [tmp_path])[0]
    # A year the bureau's own calendar file covers is said, not judged on the published one.
    (tmp_path / "2026.yaml").write_text("year: 2026\n", encoding="utf-8")
    assert "calendar file" in _deadline_faults(ok, plan, [tmp_path])[0]
