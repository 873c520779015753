"""How people are reached, in the accounts store (issue 27): each account's contact methods
(ecoplan/contacts.py) and the duty roster with its handover notes (ecoplan/duty_roster.py).

They join the accounts' history rather than a tree of their own: they always lived in the
accounts' SQLite file (an owner-only file: mobile numbers and e-mail addresses are personal
data), their people are the accounts' usernames, and a SQLite file holds one store's history
(one version table). A file from before this revision may already hold these tables, made by
the modules' own CREATE TABLE IF NOT EXISTS: those are kept as they are (the same columns)."""
import sqlalchemy as sa
from alembic import op

revision = "a0002"
down_revision = "a0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text, req = sa.Text, {"nullable": False}
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "contacts" not in have:
        op.create_table("contacts", sa.Column("username", text, primary_key=True),
                        *[sa.Column(c, text, server_default="", **req) for c in ("mobile", "email", "dingtalk", "wecom")],
                        sa.Column("updated_at", text, **req))
    if "duty_shifts" not in have:
        op.create_table("duty_shifts", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                        *[sa.Column(c, text, **req) for c in ("day", "name", "starts_at", "ends_at")],
                        sa.Column("note", text, server_default="", **req),
                        sa.UniqueConstraint("day", "name"))
        op.create_index("duty_shifts_time", "duty_shifts", ["starts_at", "ends_at"])
    if "duty_people" not in have:
        op.create_table("duty_people",
                        sa.Column("shift_id", sa.Integer, sa.ForeignKey("duty_shifts.id", ondelete="CASCADE"), **req),
                        sa.Column("post", text, **req), sa.Column("username", text, **req),
                        sa.Column("seq", sa.Integer, **req), sa.PrimaryKeyConstraint("shift_id", "post", "username"))
    if "duty_handovers" not in have:
        op.create_table("duty_handovers", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                        sa.Column("shift_id", sa.Integer, sa.ForeignKey("duty_shifts.id", ondelete="SET NULL")),
                        *[sa.Column(c, text, **req) for c in ("at", "by_user")],
                        sa.Column("to_user", text, server_default="", **req), sa.Column("notes", text, **req))
