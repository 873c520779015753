"""The shared archive (issue 27): with ECOPLAN_DATABASE_URL, every file an incident files in
its archive folder is also kept in the database, as bytes with their SHA-256, so that nothing
of an incident lives only on one worker's disk. The folder stays the working copy each
process reads and writes (the renderers, `ecoplan documents`, the console's downloads):

- `publish` after a delivery writes files: each file whose content the database does not have
  yet goes in (a retried delivery, the same bytes: nothing); the daily reports' full copies
  (`daily/<date>.json` and `.md`, activities/daily_report.py) go in the same way, folder `daily`;
- `fetch` before a process reads an incident's folder (a worker taking over an incident
  another worker started, a console or CLI on another machine): the files it lacks, or has
  with other content, come out of the database, written whole (tmp + rename).

A file is written once per content: a document never changes after it is filed; the
timeline.jsonl and dossier.json grow or are rewritten with the incident, and then their new
content replaces the old. Without ECOPLAN_DATABASE_URL this module is not used.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

from activities import db
from activities.db import migrate
from plan.calendar import SHANGHAI


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.name: p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".tmp")}


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def publish(target: str, root: Path, folder_name: str, names: list[str] | None = None) -> int:
    """Put the folder's new or changed files into the database (`names`: only those); how many
    went in."""
    migrate.upgrade(target, "archive")
    from sqlalchemy import text

    local = {name: p.read_bytes() for name, p in _files(Path(root) / folder_name).items()
             if names is None or name in names}
    if not local:
        return 0
    with db.write(db.engine(target)) as conn:
        db.lock_key(conn, "archive:" + folder_name)
        have = dict(conn.execute(text("SELECT name, sha256 FROM archive_files WHERE folder = :f"),
                                 {"f": folder_name}).all())
        new = {n: b for n, b in local.items() if have.get(n) != _sha(b)}
        stamp = datetime.now(SHANGHAI).isoformat(timespec="seconds")
        for name, body in sorted(new.items()):
            conn.execute(text("DELETE FROM archive_files WHERE folder = :f AND name = :n"), {"f": folder_name, "n": name})
            conn.execute(text("INSERT INTO archive_files (folder, name, sha256, size, body, written_at)"
                              " VALUES (:f, :n, :h, :s, :b, :w)"),
                         {"f": folder_name, "n": name, "h": _sha(body), "s": len(body), "b": body, "w": stamp})
    return len(new)


def fetch(target: str, root: Path, folder_name: str) -> int:
    """Bring the folder up to the database's copy: the files missing here or different; how many."""
    if not folder_name or "/" in folder_name or folder_name.startswith("."):
        return 0  # an incident id is a plain name: never a path out of the archive
    from sqlalchemy import bindparam, text

    migrate.upgrade(target, "archive")
    folder = Path(root) / folder_name
    local = {name: _sha(p.read_bytes()) for name, p in _files(folder).items()}
    with db.read(db.engine(target)) as conn:
        listed = conn.execute(text("SELECT name, sha256 FROM archive_files WHERE folder = :f"), {"f": folder_name}).all()
        wanted = [n for n, h in listed if local.get(n) != h]
        got = conn.execute(text("SELECT name, body FROM archive_files WHERE folder = :f AND name IN :names")
                           .bindparams(bindparam("names", expanding=True)),
                           {"f": folder_name, "names": wanted}).all() if wanted else []
    for name, body in got:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (name + ".fetch.tmp")
        tmp.write_bytes(bytes(body))
        os.replace(tmp, folder / name)  # a reader never sees half a file
    return len(got)
