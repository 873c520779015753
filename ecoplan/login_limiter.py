"""The login limit, kept in the accounts database so every web process shares it and a
restart does not reset it.

What it does, and why (issue 25, findings 3 and 4):
- An attempt is counted BEFORE its password is checked, in one write transaction (BEGIN
  IMMEDIATE: SQLite's write lock, or PostgreSQL's advisory lock, activities/db/dbapi.py), as `pending`: 20 parallel guesses see each other's counts, and once the
  failures and the attempts still being checked reach the free allowance, the next attempt
  waits for those to end (BUSY) before it is judged, so none slips past the limit while
  another's argon2 check runs, and parallel right passwords are not refused either. A right
  password clears the pair's failures; a wrong one turns its pending count into a failure.
- Only failures count, never successes: an office behind one NAT address can log in all day.
- The delay is per (account, client address) and grows: after `free_failures` wrong
  passwords the next try waits `delay_base` seconds, doubling with each further failure up to
  `delay_cap`. A stranger's guesses from elsewhere never stop the commander at his own desk.
- Per address, across accounts, failures beyond `max_failures_per_address` are delayed too
  (one address spraying many usernames).
- Across all addresses an account gets an ALARM, not a lock: `alarm_failures` wrong passwords
  within `forget_after` are logged (login_alarm), written to the audit log and listed for
  admins (`ecoplan users list`, `ecoplan audit`, the console's /admin/audit) until an admin
  runs `ecoplan users unlock USER`, which also lifts the delays of that account.

GB/T 22239-2019 8.1.4.1 b) asks for login-failure handling (限制非法登录次数); the numbers are
local choices (AuthSettings in ecoplan/web/auth.py).
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass

import structlog

from ecoplan import audit

log = structlog.get_logger("ecoplan.web")

# The tables as files made before Alembic had them (activities/db/migrations/accounts makes them now).
SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    username TEXT NOT NULL,             -- as typed at login, case-folded (unknown names too)
    address  TEXT NOT NULL,             -- the client's address
    failures INTEGER NOT NULL,          -- wrong passwords
    pending  INTEGER NOT NULL DEFAULT 0, -- attempts counted, their password still being checked
    last_at  REAL NOT NULL,             -- unix time of the last attempt
    PRIMARY KEY (username, address)
);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures(address);
CREATE TABLE IF NOT EXISTS login_alarms (
    username  TEXT PRIMARY KEY,
    raised_at TEXT NOT NULL,
    failures  INTEGER NOT NULL,
    addresses INTEGER NOT NULL
);
"""


BUSY = -1.0  # begin(): attempts still being checked use up the allowance; ask again shortly


@dataclass(frozen=True)
class Limits:
    free_failures: int = 5           # per (account, address) before any delay
    delay_base: float = 30.0         # then 30 s, 60 s, 120 s ... (doubling)
    delay_cap: float = 15 * 60       # never more than 15 minutes at a time
    forget_after: float = 60 * 60    # failures an hour old are forgotten
    max_failures_per_address: int = 50
    alarm_failures: int = 10         # account-wide, within forget_after: alarm (never a lock)


@dataclass(frozen=True)
class Alarm:
    username: str
    raised_at: str
    failures: int
    addresses: int


class LoginLimiter:
    """`begin` before the password check, then `succeeded` or `failed`."""

    def __init__(self, store, limits: Limits, clock=time.time):
        self.store, self.s, self.clock = store, limits, clock

    def _delay(self, over: int) -> float:
        """The wait after `over` failures beyond the free ones (over >= 0)."""
        return min(self.s.delay_cap, self.s.delay_base * 2 ** min(over, 30))

    def begin(self, username: str, address: str) -> float:
        """0: the attempt is counted (pending) and may be checked now. > 0: seconds this
        (username, address) must still wait; nothing counted. BUSY (< 0): attempts being
        checked use up the allowance; ask again when they end."""
        now = self.clock()
        with closing(self.store.connect()) as con:
            con.execute("BEGIN IMMEDIATE")  # the write lock first: concurrent attempts queue here
            try:
                con.execute("DELETE FROM login_failures WHERE last_at < ?", (now - self.s.forget_after,))
                # A check that never ended (a process killed mid-login) stops counting after a minute.
                con.execute("UPDATE login_failures SET pending = 0 WHERE pending > 0 AND last_at < ?", (now - 60,))
                row = con.execute("SELECT failures, pending, last_at FROM login_failures WHERE username = ? AND address = ?",
                                  (username, address)).fetchone()
                failures, pending = (row["failures"], row["pending"]) if row else (0, 0)
                wait = 0.0
                if failures >= self.s.free_failures:  # measured from the last attempt, so one at a time
                    wait = max(0.0, row["last_at"] + self._delay(failures - self.s.free_failures) - now)
                total, latest = con.execute("SELECT coalesce(sum(failures), 0), max(last_at) FROM login_failures"
                                            " WHERE address = ?", (address,)).fetchone()
                if total >= self.s.max_failures_per_address:
                    wait = max(wait, latest + self._delay(total - self.s.max_failures_per_address) - now)
                if wait == 0 and failures < self.s.free_failures <= failures + pending:
                    wait = BUSY
                if wait == 0:
                    con.execute("INSERT INTO login_failures(username, address, failures, pending, last_at)"
                                " VALUES (?,?,0,1,?) ON CONFLICT(username, address)"
                                " DO UPDATE SET pending = login_failures.pending + 1, last_at = ?", (username, address, now, now))
                con.execute("COMMIT")
                return wait
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def succeeded(self, username: str, address: str) -> None:
        """A right password: this pair's failures are forgotten."""
        with closing(self.store.connect()) as con:
            con.execute("UPDATE login_failures SET failures = 0, pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END"
                        " WHERE username = ? AND address = ?", (username, address))
            con.execute("DELETE FROM login_failures WHERE failures = 0 AND pending = 0")

    def retract(self, username: str, address: str) -> None:
        """A right password still waiting for its second factor: only this attempt's count is
        taken back, so guessed codes keep adding up between password entries."""
        with closing(self.store.connect()) as con:
            con.execute("UPDATE login_failures SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE username = ? AND address = ?",
                        (username, address))
            con.execute("DELETE FROM login_failures WHERE failures = 0 AND pending = 0")

    def failed(self, username: str, address: str) -> Alarm | None:
        """A wrong password (or code): its pending count becomes a failure; the account's alarm
        is raised when its failures from all addresses reach `alarm_failures`: the new alarm,
        or None."""
        now = self.clock()
        with closing(self.store.connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute("INSERT INTO login_failures(username, address, failures, pending, last_at) VALUES (?,?,1,0,?)"
                            " ON CONFLICT(username, address) DO UPDATE SET failures = login_failures.failures + 1,"
                            " pending = CASE WHEN login_failures.pending > 0 THEN login_failures.pending - 1 ELSE 0 END,"
                            " last_at = ?", (username, address, now, now))
                total, addresses = con.execute(
                    "SELECT coalesce(sum(failures), 0), count(*) FROM login_failures WHERE username = ? AND last_at >= ?",
                    (username, now - self.s.forget_after)).fetchone()
                alarm = None
                if total >= self.s.alarm_failures and con.execute(
                        "SELECT 1 FROM login_alarms WHERE username = ?", (username,)).fetchone() is None:
                    alarm = Alarm(username=username, raised_at=audit._stamp(), failures=total, addresses=addresses)
                    con.execute("INSERT INTO login_alarms(username, raised_at, failures, addresses) VALUES (?,?,?,?)",
                                (username, alarm.raised_at, total, addresses))
                    audit.record(con, "login_alarm", username, actor="system", address=address,
                                 failures=total, addresses=addresses)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        if alarm:
            log.warning("login_alarm", username=username, failures=total, addresses=addresses, last_address=address)
        return alarm

    def unlock(self, username: str, actor: str) -> tuple[int, bool]:
        """Lift every delay of this account and clear its alarm: (failures forgotten, had an alarm)."""
        with closing(self.store.connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                n = con.execute("SELECT coalesce(sum(failures), 0) FROM login_failures WHERE username = ?",
                                (username,)).fetchone()[0]
                con.execute("DELETE FROM login_failures WHERE username = ?", (username,))
                had = con.execute("DELETE FROM login_alarms WHERE username = ?", (username,)).rowcount > 0
                audit.record(con, "unlock", username, actor=actor, failures=n, alarm=had)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return n, had

    def alarms(self) -> list[Alarm]:
        with closing(self.store.connect()) as con:
            return [Alarm(username=r["username"], raised_at=r["raised_at"], failures=r["failures"],
                          addresses=r["addresses"])
                    for r in con.execute("SELECT * FROM login_alarms ORDER BY raised_at DESC")]


def limiter_for(store, limits: Limits | None = None) -> LoginLimiter:
    return LoginLimiter(store, limits or Limits())

