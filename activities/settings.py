"""Where the activities write and whom they call; read once by the worker."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ActivitySettings:
    archive_dir: Path = Path(".ecoplan/archive")
    outbox_path: Path = Path(".ecoplan/outbox.jsonl")
    records_db: Path = Path(".ecoplan/records.db")  # the records store (SQLite), ecoplan/records.py
    webhook_url: str | None = None
    webhook_timeout_s: float = 10.0
    calendar_dirs: tuple[Path, ...] = field(default_factory=tuple)  # extra plan calendar dirs

    @classmethod
    def from_env(cls) -> "ActivitySettings":
        e = os.environ
        return cls(
            archive_dir=Path(e.get("ECOPLAN_ARCHIVE_DIR", ".ecoplan/archive")),
            outbox_path=Path(e.get("ECOPLAN_OUTBOX", ".ecoplan/outbox.jsonl")),
            records_db=Path(e.get("ECOPLAN_RECORDS_DB") or ".ecoplan/records.db"),
            webhook_url=e.get("ECOPLAN_WEBHOOK_URL") or None,
            calendar_dirs=tuple(Path(p) for p in e.get("ECOPLAN_CALENDAR_DIRS", "").split(os.pathsep) if p),
        )
