"""Alembic's entry for the paging store (pages): runs on the connection activities/db/migrate.py gives."""
from alembic import context

conn = context.config.attributes["connection"]
context.configure(connection=conn, version_table=context.config.attributes["version_table"],
                  render_as_batch=conn.dialect.name == "sqlite")
context.run_migrations()
