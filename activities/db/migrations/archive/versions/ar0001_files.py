"""The shared archive: every file of every incident's archive folder (PDFs, the chart, the
Markdown and JSON copies, timeline.jsonl, dossier.json) as bytes with their SHA-256."""
import sqlalchemy as sa
from alembic import op

revision = "ar0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("archive_files",
                    sa.Column("folder", sa.Text, nullable=False),   # the incident id (or `daily`)
                    sa.Column("name", sa.Text, nullable=False),     # the file's name in it
                    sa.Column("sha256", sa.Text, nullable=False),
                    sa.Column("size", sa.BigInteger, nullable=False),
                    sa.Column("body", sa.LargeBinary, nullable=False),
                    sa.Column("written_at", sa.Text, nullable=False),
                    sa.PrimaryKeyConstraint("folder", "name"))
