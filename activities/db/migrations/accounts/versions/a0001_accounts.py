"""The accounts store as issue 25 left it: accounts, sessions and API tokens (digests only), the
login limiter, the second factors and the audit log. A SQLite file made before Alembic is
brought to this shape by the tables' own CREATE TABLE IF NOT EXISTS and stamped
(ecoplan/accounts.py)."""
import sqlalchemy as sa
from alembic import op

revision = "a0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    text, req = sa.Text, {"nullable": False}
    op.create_table("accounts", sa.Column("username", text, primary_key=True),
                    sa.Column("display", text, server_default="", **req), sa.Column("role", text, **req),
                    sa.Column("pw_hash", text, **req), sa.Column("disabled", sa.Integer, server_default="0", **req),
                    sa.Column("created_at", text, **req), sa.Column("updated_at", text, **req))
    op.create_table("sessions", sa.Column("digest", text, primary_key=True),
                    sa.Column("username", text, sa.ForeignKey("accounts.username"), **req),
                    *[sa.Column(c, text, **req) for c in ("kind", "csrf", "via", "created_at", "expires_at")])
    op.create_index("sessions_user", "sessions", ["username"])
    op.create_table("login_failures", sa.Column("username", text, **req), sa.Column("address", text, **req),
                    sa.Column("failures", sa.Integer, **req), sa.Column("pending", sa.Integer, server_default="0", **req),
                    sa.Column("last_at", sa.Float(precision=53), **req),  # unix time: double precision
                    sa.PrimaryKeyConstraint("username", "address"))
    op.create_index("login_failures_address", "login_failures", ["address"])
    op.create_table("login_alarms", sa.Column("username", text, primary_key=True),
                    sa.Column("raised_at", text, **req), sa.Column("failures", sa.Integer, **req),
                    sa.Column("addresses", sa.Integer, **req))
    op.create_table("account_totp", sa.Column("username", text, sa.ForeignKey("accounts.username"), primary_key=True),
                    sa.Column("secret", text, **req), sa.Column("confirmed", sa.Integer, server_default="0", **req),
                    sa.Column("last_step", sa.BigInteger, server_default="0", **req),
                    sa.Column("recovery", text, server_default="[]", **req), sa.Column("created_at", text, **req))
    op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", text, **req), sa.Column("event", text, **req),
                    *[sa.Column(c, text) for c in ("username", "actor", "address", "outcome")],
                    sa.Column("detail", text, server_default="{}", **req),
                    sqlite_autoincrement=True)
    op.create_index("audit_at", "audit", ["at"])
