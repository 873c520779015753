"""The records store as schema 1 had it (PRAGMA user_version 1 before Alembic)."""
import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def _child(name: str, *columns, pk: tuple[str, ...]) -> None:
    op.create_table(name, sa.Column("incident_id", sa.Text,
                                    sa.ForeignKey("incidents.incident_id", ondelete="CASCADE"), nullable=False),
                    *columns, sa.PrimaryKeyConstraint("incident_id", *pk))


def upgrade() -> None:
    text, req = sa.Text, {"nullable": False}
    op.create_table(
        "incidents",
        sa.Column("incident_id", text, primary_key=True),
        *[sa.Column(c, text, **req) for c in ("title", "county", "incident_type", "source")],
        sa.Column("drill", sa.Integer, **req),
        sa.Column("stage", text, **req),
        *[sa.Column(c, text) for c in ("outcome", "graded_level", "level", "shown_level")],
        *[sa.Column(c, text, **req) for c in ("discovered_at", "reported_at", "reported_date")],
        *[sa.Column(c, text) for c in ("activated_at", "terminated_at", "closed_at", "initial_report_at",
                                       "next_deadline")],
        sa.Column("seq", sa.Integer, **req),
        *[sa.Column(c, text, **req) for c in ("hash", "record", "status")],
    )
    op.create_index("incidents_reported", "incidents", ["reported_date"])
    op.create_index("incidents_closed", "incidents", ["closed_at"])
    _child("level_changes", sa.Column("n", sa.Integer, **req), sa.Column("at", text, **req),
           sa.Column("from_level", text), sa.Column("to_level", text, **req), sa.Column("reason", text),
           sa.Column("by", text), pk=("n",))
    _child("deadlines", sa.Column("name", text, **req), sa.Column("title", text, **req),
           sa.Column("started_at", text, **req), sa.Column("due_at", text), sa.Column("due_date", text),
           sa.Column("provisional", sa.Integer, **req), sa.Column("status", text, **req),
           sa.Column("met_at", text), sa.Column("late_by_seconds", sa.Integer), pk=("name",))
    op.create_index("deadlines_due", "deadlines", ["due_at"])
    _child("archive_paths", sa.Column("path", text, **req), pk=("path",))
