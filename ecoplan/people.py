"""People as the roster and the pages name them: an account found by its username or by its
姓名 (display name), and how a person is shown (王伟（wangwei）)."""

from __future__ import annotations

from typing import Callable

from ecoplan.accounts import Account, AccountStore


def resolver(accounts: list[Account]) -> Callable[[str], str | None]:
    """name -> username: a username, or a 姓名 only one enabled account has."""
    by_user = {a.username: a.username for a in accounts}
    by_display: dict[str, list[str]] = {}
    for a in accounts:
        if a.display and not a.disabled:
            by_display.setdefault(a.display, []).append(a.username)

    def who(name: str) -> str | None:
        name = name.strip()
        if name.lower() in by_user:
            return by_user[name.lower()]
        found = by_display.get(name, [])
        return found[0] if len(found) == 1 else None

    return who


def labeller(store: AccountStore) -> Callable[[str], str]:
    accounts = {a.username: a for a in store.list()}
    return lambda username: accounts[username].label if username in accounts else username
