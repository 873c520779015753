"""The records store's activity: save an incident's case-file facts (17号令 第十条) to the
bureau's records database, on close and whenever the incident changes. Idempotent: a retry
or a re-run with the same status changes nothing, and an older status arriving after a newer
one is ignored."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import records_store
from activities.settings import ActivitySettings


class Records:
    def __init__(self, settings: ActivitySettings):
        self.settings = settings

    @activity.defn
    def save_record(self, status: dict) -> str:
        """`status`: the incident's status dict (as the `status` query returns it, or the
        dossier). Returns inserted / updated / unchanged / stale."""
        try:
            if self.settings.database_url:  # the files another worker filed are listed too
                from pathlib import Path

                from activities import archive_store

                archive_store.fetch(self.settings.database_url, Path(self.settings.archive_dir),
                                    str(status.get("incident_id") or ""))
            return records_store.save_status(status, archive_dir=self.settings.archive_dir, path=self.settings.records_db)
        except records_store.RecordError as e:
            # A status the record cannot be built from will not get better on retry.
            raise ApplicationError(str(e), type="RecordError", non_retryable=True) from None
