"""Schema 3 (issue 24): the event's own level (事件等级: graded from 附表1, then 初步认定 and
核定) beside the response's (`level`, `shown_level`), so that the records store shows both as
the open incident does: `event_level` and `event_level_kind` columns, in the list's covering
index too (ecoplan/incident_list.py reads them and filters by `event_level`). The event level's
history and the response's note are in the record's JSON (IncidentRecord).

Rows saved before: where the stored status carries the two levels (`levels`, incidents opened
since issue 24), the columns and the record's JSON are filled from it; the others keep the
event level unknown (NULL, shown as 未记录)."""
import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None

LIST_BEFORE = ["reported_at", "incident_id", "stage", "drill", "county", "shown_level", "incident_type",
               "reported_date", "closed_at", "outcome", "title", "next_deadline"]
SHANGHAI = timezone(timedelta(hours=8))


def upgrade() -> None:
    op.add_column("incidents", sa.Column("event_level", sa.Text))
    op.add_column("incidents", sa.Column("event_level_kind", sa.Text))
    op.drop_index("incidents_list", table_name="incidents")
    op.create_index("incidents_list", "incidents", [*LIST_BEFORE, "event_level"])
    op.create_index("incidents_event_level", "incidents", ["event_level"])
    # The rows already there (in Python: the same on both databases).
    conn = op.get_bind()
    filled = []
    for incident_id, record, status in conn.execute(sa.text("SELECT incident_id, record, status FROM incidents")):
        levels = _doc(status).get("levels")
        if not isinstance(levels, dict) or not levels.get("event_level"):
            continue
        rec = _doc(record)
        if not rec:
            continue
        rec.update(event_level=levels["event_level"], event_level_kind=levels.get("event_level_kind"),
                   response_note=levels.get("response_note"),
                   event_level_history=[x for x in map(_step, levels.get("event_level_changes") or []) if x])
        filled.append({"i": incident_id, "e": levels["event_level"], "k": levels.get("event_level_kind"),
                       "r": json.dumps(rec, ensure_ascii=False)})
    if filled:
        conn.execute(sa.text("UPDATE incidents SET event_level = :e, event_level_kind = :k, record = :r"
                             " WHERE incident_id = :i"), filled)


def _step(c) -> dict | None:
    """One step as the record keeps it (records_store.EventLevelStep); None for one it cannot read."""
    if not isinstance(c, dict) or not isinstance(c.get("to_level"), str):
        return None
    try:
        at = datetime.fromisoformat(c["at"]).astimezone(SHANGHAI).isoformat()
    except (KeyError, TypeError, ValueError):
        return None
    by = c.get("by")
    return {"at": at, "from_level": c.get("from_level"), "to_level": c.get("to_level"), "kind": c.get("kind") or "graded",
            "reason": c.get("reason"), "by": by.get("name") if isinstance(by, dict) else None}


def _doc(text: str | None) -> dict:
    try:
        value = json.loads(text or "")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
