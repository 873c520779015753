"""The cuts of issue 26 keep what they replaced (server-free): the settings read once per
environment, and the delivery's status asked with its outbox answer only when an item reads it."""

from __future__ import annotations

from activities.channels.dispatch import configured_channels
from activities.settings import settings
from tests.unit_state import in_stage
from workflows import effects


def test_settings_follow_the_environment_and_are_never_shared(monkeypatch):
    monkeypatch.delenv("ECOPLAN_SMTP_HOST", raising=False)
    monkeypatch.delenv("ECOPLAN_SMTP_FROM", raising=False)
    assert "email" not in configured_channels()
    monkeypatch.setenv("ECOPLAN_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("ECOPLAN_SMTP_FROM", "bureau@example.org")
    assert "email" in configured_channels()  # the very next call sees the change
    first = settings()
    first.smtp_host = "changed by one caller"
    assert settings().smtp_host == "smtp.example.org"  # a copy each time
    monkeypatch.delenv("ECOPLAN_SMTP_HOST")
    assert settings().smtp_host is None and "email" not in configured_channels()


def _entry(key: str, kind: str, payload: dict) -> dict:
    return {"key": key, "kind": kind, "payload": payload}


def test_the_outbox_answer_carries_the_status_only_for_items_that_read_it():
    s = in_stage("on_site").s
    s.outbox = [
        _entry("w/e1", "notify", {"subject": "x"}),
        _entry("w/e2", "render", {"kind": "info_report", "reports": []}),
        _entry("w/e3", "render", {"kind": "activation_notice"}),
        _entry("w/e4", "record", {}),
        _entry("w/e5", "document", {"kind": "dossier", "data": {"read": True}}),
        _entry("w/e6", "document", {"kind": "info_report", "data": {}}),
    ]
    # Notifications, the reports' printing and a report's text need no status (delivery.py).
    assert not effects.reads_status(s, ["w/e1", "w/e2", "w/e6"])
    for key in ("w/e3", "w/e4", "w/e5"):  # a printed form, the record, the dossier do
        assert effects.reads_status(s, ["w/e1", key]), key
    assert not effects.reads_status(s, ["w/e9"])  # gone from the outbox: nothing to read
