"""The paging store as the SQLite `pages.db` had it (activities/page_store.py): page sends by
their idempotency key, channel health, pages, used acknowledgement links. A `pages.db` made
before Alembic is stamped with this revision (its tables made by the old CREATE TABLE IF NOT
EXISTS first, as activities/page_store.py kept them)."""
import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    text, req = sa.Text, {"nullable": False}
    op.create_table("page_sends", sa.Column("key", text, primary_key=True),  # page id / username / channel
                    *[sa.Column(c, text, **req) for c in ("page_id", "username", "channel", "outcome")],
                    sa.Column("detail", text, server_default="", **req), sa.Column("at", text, **req))
    op.create_table("channel_health", sa.Column("channel", text, primary_key=True),
                    sa.Column("ok", sa.Integer, **req), sa.Column("detail", text, server_default="", **req),
                    sa.Column("at", text, **req))
    op.create_table("pages", sa.Column("id", text, primary_key=True),
                    *[sa.Column(c, text, **req) for c in ("incident_id", "event", "subject", "username", "state")],
                    sa.Column("channel", text, server_default="", **req),
                    sa.Column("drill", sa.Integer, server_default="0", **req),
                    *[sa.Column(c, text, **req) for c in ("created_at", "updated_at")],
                    sa.Column("acked_by", text, server_default="", **req))
    op.create_index("pages_user", "pages", ["username", "state"])
    op.create_index("pages_incident", "pages", ["incident_id"])
    op.create_table("used_links", sa.Column("nonce", text, primary_key=True), sa.Column("at", text, **req))
