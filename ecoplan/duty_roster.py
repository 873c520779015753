"""The duty roster (值班表): shifts per day, each with the people on its posts (带班领导, 值班员:
the posts plan/paging_data names), and the handover notes (交接班) written between shifts.

Kept in the accounts store (tables duty_*): the shared PostgreSQL of ECOPLAN_DATABASE_URL (a
console on any machine edits the one roster every worker pages from), else the accounts' SQLite
file; every statement in this module, through the data-access layer the accounts use
(activities/db/dbapi.py: the same SQL on both databases). The tables join the accounts'
migration history (activities/db/migrations/accounts, a0002) rather than a tree of their own:
they have always lived in the accounts' file, their people are the accounts' usernames, and
the roster is copied with the accounts (`ecoplan db copy`). Times are stored as UTC ISO text
(comparable as text) and handed out in Asia/Shanghai.

Every error a person can cause is a DutyError with a one-line Chinese message.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from ecoplan.accounts_tables import AccountsTables

from plan.calendar import SHANGHAI

MAX_NOTES = 2000  # local choice: a handover note is a paragraph, not a file


class DutyError(ValueError):
    """A roster request that cannot be done; the message is one line, for a person."""


@dataclass(frozen=True)
class Shift:
    day: date
    name: str
    starts_at: datetime
    ends_at: datetime
    people: dict[str, list[str]] = field(default_factory=dict)  # post id -> usernames, in the file's order
    note: str = ""
    id: int | None = None

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def public(self) -> dict:
        return {"id": self.id, "day": self.day.isoformat(), "name": self.name,
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "people": self.people, "note": self.note}


@dataclass(frozen=True)
class Handover:
    id: int
    shift_id: int | None
    at: datetime
    by: str
    to: str
    notes: str

    def public(self) -> dict:
        return {"id": self.id, "shift_id": self.shift_id, "at": self.at.isoformat(), "by": self.by, "to": self.to,
                "notes": self.notes}


def _utc(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


class DutyStore(AccountsTables):
    error = DutyError

    # -------------------------------------------------------------- shifts

    def replace(self, shifts: list[Shift]) -> int:
        """Put these shifts in, each replacing the shift of the same day and name: all in one
        transaction, so a failure leaves the roster as it was. Returns how many."""
        with closing(self._db()) as con:
            con.execute("BEGIN")
            for s in shifts:
                con.execute("DELETE FROM duty_shifts WHERE day = ? AND name = ?", (s.day.isoformat(), s.name))
                shift_id = con.execute("INSERT INTO duty_shifts (day, name, starts_at, ends_at, note) "
                                       "VALUES (?, ?, ?, ?, ?) RETURNING id",
                                       (s.day.isoformat(), s.name, _utc(s.starts_at), _utc(s.ends_at), s.note)).fetchone()[0]
                self._insert_people(con, shift_id, s.people)
            con.execute("COMMIT")
        return len(shifts)

    @staticmethod
    def _insert_people(con, shift_id: int, people: dict[str, list[str]]) -> None:
        for post, names in people.items():
            for seq, username in enumerate(dict.fromkeys(names)):
                con.execute("INSERT INTO duty_people (shift_id, post, username, seq) VALUES (?, ?, ?, ?)",
                            (shift_id, post, username, seq))

    def set_people(self, shift_id: int, people: dict[str, list[str]]) -> Shift:
        """Correct who is on a shift: the posts given replace what the shift had on them."""
        with closing(self._db()) as con:  # an error leaves the transaction: closing rolls it back
            con.execute("BEGIN")
            if con.execute("SELECT 1 FROM duty_shifts WHERE id = ?", (shift_id,)).fetchone() is None:
                raise DutyError(f"没有编号为 {shift_id} 的班次")
            for post in people:
                con.execute("DELETE FROM duty_people WHERE shift_id = ? AND post = ?", (shift_id, post))
            self._insert_people(con, shift_id, people)
            con.execute("COMMIT")
        return self.shift(shift_id)

    def delete(self, shift_id: int) -> None:
        with closing(self._db()) as con:
            if con.execute("DELETE FROM duty_shifts WHERE id = ?", (shift_id,)).rowcount == 0:
                raise DutyError(f"没有编号为 {shift_id} 的班次")

    def shift(self, shift_id: int) -> Shift:
        found = self._select("WHERE s.id = ?", (shift_id,))
        if not found:
            raise DutyError(f"没有编号为 {shift_id} 的班次")
        return found[0]

    def between(self, start: datetime, end: datetime) -> list[Shift]:
        """Every shift that overlaps [start, end), by start time."""
        return self._select("WHERE s.starts_at < ? AND s.ends_at > ?", (_utc(end), _utc(start)))

    def on_duty(self, at: datetime) -> list[Shift]:
        """The shifts running at `at` (usually one)."""
        return self.between(at, at + timedelta(seconds=1))

    def on_day(self, day: date) -> list[Shift]:
        start = datetime.combine(day, datetime.min.time(), SHANGHAI)
        return self.between(start, start + timedelta(days=1))

    def _select(self, where: str, args: tuple) -> list[Shift]:
        with closing(self._db()) as con:
            rows = con.execute(f"SELECT s.* FROM duty_shifts s {where} ORDER BY s.starts_at, s.name", args).fetchall()
            people: dict[int, dict[str, list[str]]] = {}
            ids = [r["id"] for r in rows]
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                for p in con.execute(f"SELECT * FROM duty_people WHERE shift_id IN ({','.join('?' * len(chunk))}) "
                                     "ORDER BY shift_id, post, seq", chunk):
                    people.setdefault(p["shift_id"], {}).setdefault(p["post"], []).append(p["username"])
        return [Shift(id=r["id"], day=date.fromisoformat(r["day"]), name=r["name"], starts_at=_local(r["starts_at"]),
                      ends_at=_local(r["ends_at"]), people=people.get(r["id"], {}), note=r["note"]) for r in rows]

    # -------------------------------------------------------------- handovers (交接班)

    def hand_over(self, by: str, notes: str, at: datetime, to: str = "", shift_id: int | None = None) -> Handover:
        notes = notes.strip()
        if not notes:
            raise DutyError("交接班记录不能为空")
        if len(notes) > MAX_NOTES:
            raise DutyError(f"交接班记录过长（{len(notes)} 字），最多 {MAX_NOTES} 字")
        if shift_id is None:
            running = self.on_duty(at)
            shift_id = running[0].id if running else None
        elif not self._select("WHERE s.id = ?", (shift_id,)):
            raise DutyError(f"没有编号为 {shift_id} 的班次")
        with closing(self._db()) as con:
            new_id = con.execute("INSERT INTO duty_handovers (shift_id, at, by_user, to_user, notes) "
                                 "VALUES (?, ?, ?, ?, ?) RETURNING id", (shift_id, _utc(at), by, to, notes)).fetchone()[0]
        return Handover(new_id, shift_id, at.astimezone(SHANGHAI), by, to, notes)

    def handovers(self, start: datetime, end: datetime) -> list[Handover]:
        with closing(self._db()) as con:
            rows = con.execute("SELECT * FROM duty_handovers WHERE at >= ? AND at < ? ORDER BY at, id",
                               (_utc(start), _utc(end))).fetchall()
        return [Handover(r["id"], r["shift_id"], _local(r["at"]), r["by_user"], r["to_user"], r["notes"]) for r in rows]


# ------------------------------------------------------------------ gaps the board warns of


@dataclass(frozen=True)
class Gap:
    starts_at: datetime
    ends_at: datetime
    text: str  # one line, for a person


def gaps(shifts: list[Shift], start: datetime, end: datetime, posts: dict[str, str]) -> list[Gap]:
    """What the board warns of in [start, end): a shift with nobody on a post (`posts`: the
    required posts, id -> name) and hours no shift covers at all (24-hour duty, 临安监发〔2018〕42号 一(一))."""
    out: list[Gap] = []
    cursor = start
    for s in sorted(shifts, key=lambda s: s.starts_at):
        if s.starts_at > cursor:
            out.append(Gap(cursor, s.starts_at, f"{_when(cursor)} 至 {_when(s.starts_at)} 无人值班（值班表无班次）"))
        cursor = max(cursor, s.ends_at)
        empty = [name for post, name in posts.items() if not s.people.get(post)]
        if empty and s.ends_at > start:
            out.append(Gap(s.starts_at, s.ends_at, f"{_when(s.starts_at)} {s.name}：{'、'.join(empty)}无人"))
    if cursor < end:
        out.append(Gap(cursor, end, f"{_when(cursor)} 起无人值班（值班表无班次）"))
    return out


def _when(t: datetime) -> str:
    return t.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")
