"""Everything with side effects: plan snapshots, due dates, notifications, the archive."""
