"""The notifications an incident sent (issue 27): one row per notification, keyed by its
idempotency key ("<workflow id>/e<n>"), with what it said, to whom, the channel it went by
(outbox: recorded only; webhook: POSTed and taken) and which worker recorded it when. This
table is the record of what was sent; each worker's JSON-lines outbox is its local log.

It joins the paging store's history: the paging store is the one every worker already writes
at each send (pages.db on SQLite, the shared PostgreSQL otherwise)."""
import sqlalchemy as sa
from alembic import op

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text, req = sa.Text, {"nullable": False}
    op.create_table("notifications", sa.Column("key", text, primary_key=True),
                    *[sa.Column(c, text, **req) for c in ("incident_id", "event", "subject")],
                    sa.Column("recipients", text, server_default="[]", **req),  # JSON list
                    sa.Column("at", text, **req),
                    sa.Column("drill", sa.Integer, server_default="0", **req),
                    sa.Column("detail", text, server_default="{}", **req),  # JSON object
                    sa.Column("channel", text, **req),  # outbox | webhook
                    sa.Column("recorded_at", text, **req),
                    sa.Column("worker", text, server_default="", **req))  # pid@host
    op.create_index("notifications_incident", "notifications", ["incident_id", "at"])
    op.create_index("notifications_recorded", "notifications", ["recorded_at"])
