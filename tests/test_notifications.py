"""The record of the notifications sent (issue 27): the paging store's `notifications` table,
on the SQLite file and on PostgreSQL (the `store_target` fixture), written by the notifier of
every worker under the notification's idempotency key, once; the worker's outbox file is only
its log. `ecoplan notifications` reads it. No Temporal server: the notifier and the delivery's
own loop are called as the activities call them."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

from activities.delivery import DeliveryBatch, DeliveryItem, Deliverer
from activities.notify import Notification, Notifier, worker_name
from activities.page_store import PageStore
from activities.settings import ActivitySettings
from plan.calendar import SHANGHAI
from tests.procs import Webhook, ecoplan_in_process_sync

AT = datetime(2026, 12, 7, 8, 30, tzinfo=SHANGHAI)


def note(n: int, iid: str = "r-1", **over) -> Notification:
    return Notification(**{"key": f"incident-{iid}/e{n}", "incident_id": iid, "event": "incident_reported",
                           "subject": f"新接报事件：桃河（{n}）", "recipients": ["值班员", "带班领导"],
                           "at": AT + timedelta(minutes=n), **over})


def settings(tmp_path: Path, target, **over) -> ActivitySettings:
    return ActivitySettings(archive_dir=tmp_path / "archive", outbox_path=tmp_path / "outbox.jsonl", pages_db=target,
                            **over)


def outbox(tmp_path: Path) -> list[dict]:
    path = tmp_path / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_a_notification_is_recorded_once_and_read_back_in_time_order(store_target):
    store = PageStore(store_target)
    first = note(1).model_dump(mode="json")
    assert store.record_notification(first, "outbox", "11@a")
    assert not store.record_notification(first, "webhook", "22@b")  # a retry: the first record stays
    # written at 00:33 UTC with another offset: it sorts by its time, not by the text the caller wrote
    store.record_notification(note(3).model_dump(mode="json") | {"at": "2026-12-07T00:33:00+00:00"}, "outbox", "11@a")
    store.record_notification(note(2, drill=True, detail={"document": {"sha256": "ab"}}).model_dump(mode="json"),
                              "outbox", "22@b")
    store.record_notification(note(1, "r-2").model_dump(mode="json"), "outbox", "11@a")
    got = store.notifications("r-1")
    assert [(r["key"], r["channel"], r["worker"]) for r in got] == [
        ("incident-r-1/e1", "outbox", "11@a"), ("incident-r-1/e2", "outbox", "22@b"), ("incident-r-1/e3", "outbox", "11@a")]
    assert got[0]["at"] == "2026-12-07T00:31:00+00:00" and got[0]["recipients"] == ["值班员", "带班领导"]
    assert got[1]["drill"] is True and got[1]["detail"] == {"document": {"sha256": "ab"}} and got[0]["drill"] is False
    assert [r["key"] for r in store.notifications("r-1", limit=2)] == ["incident-r-1/e2", "incident-r-1/e3"]  # the newest
    assert [r["key"] for r in store.notifications(limit=2)] == ["incident-r-1/e2", "incident-r-1/e3"]  # r-2's e1: 00:31
    assert len(store.notifications()) == 4 and store.notifications("r-9") == []


def test_eight_workers_recording_one_notification_at_once_make_one_row(store_target):
    """Eight workers (threads, each with its own store object and connection, as on eight
    machines) record the same retried notification at the same moment: one row, one True."""
    stores = [PageStore(store_target) for _ in range(8)]
    start, got = threading.Barrier(8), [None] * 8
    record = note(7).model_dump(mode="json")

    def one(i: int) -> None:
        start.wait(10)
        got[i] = stores[i].record_notification(record, "outbox", f"{i}@m{i}")
    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(got) == [False] * 7 + [True]
    rows = stores[0].notifications("r-1")
    assert len(rows) == 1 and rows[0]["worker"] == f"{got.index(True)}@m{got.index(True)}"


def test_the_notifier_records_after_the_webhook_took_it_and_a_retry_adds_no_row(tmp_path, store_target):
    hook = Webhook(fail_first=1).start()
    try:
        notifier = Notifier(settings(tmp_path, store_target, webhook_url=hook.url))
        n = note(1, drill=True)
        try:
            notifier.send(n)
            raise AssertionError("the webhook's 500 should fail the first try")
        except RuntimeError as e:
            assert "500" in str(e)
        store = PageStore(store_target)
        assert store.notifications("r-1") == [] and outbox(tmp_path) == []  # not taken: not recorded
        assert notifier.send(n) == "webhook"
        assert notifier.send(n) == "webhook"  # the activity retried after it went through
    finally:
        hook.stop()
    rows = store.notifications("r-1")
    assert [(r["key"], r["channel"], r["worker"], r["subject"]) for r in rows] == [
        ("incident-r-1/e1", "webhook", worker_name(), "【演练】新接报事件：桃河（1）")]
    assert len(outbox(tmp_path)) == 2  # the worker's log has a line per send that went through


def test_a_store_that_cannot_be_written_fails_the_item_for_a_later_try_not_for_good(tmp_path):
    """The record is part of the send: with the store unreachable the delivery's item fails,
    not hopeless (the incident tries it again), and nothing is logged as sent."""
    s = settings(tmp_path, "postgresql://nobody@127.0.0.1:1/none")
    batch = DeliveryBatch(incident_id="r-1", items=[DeliveryItem(key="incident-r-1/e1", kind="notify",
                                                                 payload=note(1).model_dump(mode="json"))])
    out = Deliverer(s)._deliver(batch, {}).items
    assert [(i.ok, i.hopeless) for i in out] == [(False, False)]
    assert out[0].error.startswith("通知未能记入呼叫库：") and outbox(tmp_path) == []
    ok = Deliverer(settings(tmp_path, tmp_path / "pages.db"))._deliver(batch, {}).items
    assert [(i.ok, i.hopeless) for i in ok] == [(True, False)]
    assert [r["key"] for r in PageStore(tmp_path / "pages.db").notifications()] == ["incident-r-1/e1"]


def test_the_cli_lists_what_was_sent_in_chinese(tmp_path):
    env = {"ECOPLAN_HOME": str(tmp_path)}
    none = ecoplan_in_process_sync("notifications", env=env)
    assert (none.code, none.out.strip()) == (0, "没有已发出的通知")
    assert not (tmp_path / "pages.db").exists()  # asking makes no store
    notifier = Notifier(settings(tmp_path, tmp_path / "pages.db"))
    for n in (note(1), note(2, drill=True), note(1, "r-2")):
        notifier.send(n)
    shown = ecoplan_in_process_sync("notifications", "--incident", "r-1", env=env)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].split() == ["时间", "事件编号", "事由", "接收人", "渠道", "记录者"]
    assert lines[2].split() == ["2026-12-07", "08:31", "r-1", "新接报事件：桃河（1）", "值班员、带班领导", "仅记录",
                                worker_name()]
    assert lines[3].split()[3] == "【演练】新接报事件：桃河（2）" and len(lines) == 4
    as_json = ecoplan_in_process_sync("notifications", "--limit", "1", "--json", env=env)
    assert [r["key"] for r in json.loads(as_json.out)] == ["incident-r-1/e2"]  # the newest: 08:32
    assert ecoplan_in_process_sync("notifications", "--incident", "r-9", env=env).out.strip() == "事件 r-9 没有已发出的通知"
    bad = ecoplan_in_process_sync("notifications", "--limit", "0", env=env)
    assert bad.code == 2 and bad.err.strip() == "ecoplan: --limit 的值有误"
