"""A store whose tables live in the accounts store (the contacts, the duty roster): the same
SQLite file or database URL, created and migrated by the accounts store on first use (its
Alembic tree, revision a0002). AccountStore is imported when a store is made, not here: the
paging activities import these stores, and the accounts module brings the password hashing."""

from __future__ import annotations

from pathlib import Path


class AccountsTables:
    error: type[Exception] = ValueError  # what the store raises, with the accounts store's one line

    def __init__(self, path: Path | str | None = None):
        """`path`: the accounts store's SQLite file or a database URL (default: ECOPLAN_DATABASE_URL,
        else ECOPLAN_ACCOUNTS_DB)."""
        from ecoplan.accounts import AccountStore

        self._accounts = AccountStore(path)
        self.target = self._accounts.target

    @property
    def path(self) -> Path | str:
        return self.target

    def _db(self):
        from ecoplan.accounts import AccountError

        try:
            return self._accounts.connect()  # the accounts store, created or migrated on first use
        except AccountError as e:
            raise self.error(str(e)) from None
