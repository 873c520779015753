"""The records store's tables as the code writes them (SQLAlchemy Core, both databases). The
schema itself is made and changed by the migrations (activities/db/migrations/records): when a
migration changes a table, change it here too."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()

incidents = Table(
    "incidents", metadata,
    *[Column(c, Text) for c in ("incident_id", "title", "county", "incident_type", "source")],
    Column("drill", Integer), Column("stage", Text),
    *[Column(c, Text) for c in ("outcome", "graded_level", "level", "shown_level", "discovered_at", "reported_at",
                                "reported_date", "activated_at", "terminated_at", "closed_at", "initial_report_at",
                                "next_deadline")],
    Column("seq", Integer), *[Column(c, Text) for c in ("hash", "record", "status")],
    Column("event_level", Text), Column("event_level_kind", Text),  # r0003 (issue 24)
)
level_changes = Table("level_changes", metadata, Column("incident_id", Text), Column("n", Integer),
                      *[Column(c, Text) for c in ("at", "from_level", "to_level", "reason", "by")])
deadlines = Table("deadlines", metadata,
                  *[Column(c, Text) for c in ("incident_id", "name", "title", "started_at", "due_at", "due_date")],
                  Column("provisional", Integer), Column("status", Text), Column("met_at", Text),
                  Column("late_by_seconds", Integer))
archive_paths = Table("archive_paths", metadata, Column("incident_id", Text), Column("path", Text))
incident_search = Table("incident_search", metadata, Column("incident_id", Text), Column("location", Text))
incident_leads = Table("incident_leads", metadata, Column("incident_id", Text), Column("username", Text))
