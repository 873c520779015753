"""Everything with side effects: plan snapshots, due dates, notifications, the archive, the
records store, and the visibility queries the supervisor views and the daily report make."""
