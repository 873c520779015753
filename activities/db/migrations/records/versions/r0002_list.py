"""Schema 2 (PRAGMA user_version 2 before Alembic): what the console's 事件列表 reads
(ecoplan/incident_list.py), so that it never reads the wide record and status texts: the
place and the accounts named to lead a group in narrow tables of their own, and every column
a row of the list shows in one covering index, newest first."""
import json

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    def fk():
        return sa.ForeignKey("incidents.incident_id", ondelete="CASCADE")

    search = op.create_table("incident_search", sa.Column("incident_id", sa.Text, fk(), primary_key=True),
                             sa.Column("location", sa.Text, nullable=False))
    leads = op.create_table("incident_leads", sa.Column("incident_id", sa.Text, fk(), nullable=False),
                            sa.Column("username", sa.Text, nullable=False),
                            sa.PrimaryKeyConstraint("incident_id", "username"))
    op.create_index("incident_leads_username", "incident_leads", ["username"])
    op.create_index("incidents_list", "incidents", ["reported_at", "incident_id", "stage", "drill", "county",
                                                    "shown_level", "incident_type", "reported_date", "closed_at",
                                                    "outcome", "title", "next_deadline"])
    op.create_index("incidents_county", "incidents", ["county"])
    # The rows a store of schema 1 already holds (in Python: the same on both databases).
    conn = op.get_bind()
    places, named = [], []
    for incident_id, record, status in conn.execute(sa.text("SELECT incident_id, record, status FROM incidents")):
        places.append({"incident_id": incident_id, "location": _get(record, "location") or ""})
        led = _get(status, "leads")
        for user in sorted(set(led.values()) if isinstance(led, dict) else ()):
            if isinstance(user, str):
                named.append({"incident_id": incident_id, "username": user})
    if places:
        op.bulk_insert(search, places)
    if named:
        op.bulk_insert(leads, named)


def _get(doc: str, key: str):
    try:
        value = json.loads(doc)
    except (TypeError, ValueError):
        return None
    return value.get(key) if isinstance(value, dict) else None
