"""Where the activities write and whom they call; read once by the worker."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from activities.documents.fonts import FontSettings


@dataclass(frozen=True)
class ActivitySettings:
    archive_dir: Path = Path(".ecoplan/archive")
    outbox_path: Path = Path(".ecoplan/outbox.jsonl")
    # The records store (SQLite, activities/records_store.py); default: records.db beside the archive folder
    # (.ecoplan/records.db for the default archive), so a worker given its own archive keeps its own store.
    records_db: Path | None = None
    webhook_url: str | None = None
    webhook_timeout_s: float = 10.0
    calendar_dirs: tuple[Path, ...] = field(default_factory=tuple)  # extra plan calendar dirs
    # The data folder's calendars (`ecoplan calendar add-year` writes there), read when present;
    # None in tests that give their own dirs, so they never see a machine's loaded years.
    calendar_data: Path | None = None
    fonts: FontSettings | None = None  # the documents' fonts; None: ECOPLAN_FONT_* at each rendering

    def __post_init__(self) -> None:
        if self.records_db is None:
            object.__setattr__(self, "records_db", Path(self.archive_dir).parent / "records.db")

    @classmethod
    def from_env(cls) -> "ActivitySettings":
        e = os.environ
        return cls(
            archive_dir=Path(e.get("ECOPLAN_ARCHIVE_DIR", ".ecoplan/archive")),
            outbox_path=Path(e.get("ECOPLAN_OUTBOX", ".ecoplan/outbox.jsonl")),
            records_db=Path(e.get("ECOPLAN_RECORDS_DB") or ".ecoplan/records.db"),
            webhook_url=e.get("ECOPLAN_WEBHOOK_URL") or None,
            calendar_dirs=tuple(Path(p) for p in e.get("ECOPLAN_CALENDAR_DIRS", "").split(os.pathsep) if p),
            calendar_data=calendar_data_dir(),
        )


def calendar_dirs_from_env() -> list[Path]:
    """Every calendar directory a process of this bureau reads, in order (later wins): the
    shipped plan/calendars, $ECOPLAN_CALENDAR_DIRS, and the data folder's when it exists."""
    from plan.calendar import DEFAULT_DIR

    s = ActivitySettings.from_env()
    return [DEFAULT_DIR, *s.calendar_dirs, *([s.calendar_data] if s.calendar_data and s.calendar_data.is_dir() else [])]


def calendar_data_dir() -> Path:
    """The data folder's calendar directory, $ECOPLAN_HOME/calendars (ECOPLAN_HOME: .ecoplan):
    where `ecoplan calendar add-year` writes a year's file read from the State Council notice."""
    return Path(os.environ.get("ECOPLAN_HOME", ".ecoplan")) / "calendars"
