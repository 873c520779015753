"""An incident's printed documents on demand (`ecoplan documents`, the web console): from the
workflow's status while Temporal has the incident, else from the records store, else from the
archive's dossier. The copies the incident filed in its archive folder are the originals: a
report's PDF there carries its full text (the status keeps a summary), and a closed incident's
files are the ones it filed, so those are copied; what the archive lacks is rendered from the
status."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterable

from activities.documents import KINDS
from activities.settings import settings
from activities.documents.mapping import ACTIVATION_FILE, CASE_FILE, CHART_PNG, CHART_SVG, TERMINATION_FILE
from plan import problems


class DocumentsError(ValueError):
    """Bad input (an unknown kind, a folder that cannot be written): one line, exit 2."""


FILES = {"activation_notice": (ACTIVATION_FILE,), "termination_form": (TERMINATION_FILE,),
         "case_file": (CASE_FILE,), "chart": (CHART_SVG, CHART_PNG)}


def kinds_of(kinds: Iterable[str] | None) -> list[str]:
    wanted = list(KINDS if not kinds else kinds)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise DocumentsError(f"--kind：没有文书种类 {'、'.join(unknown)}；可选 {'、'.join(KINDS)}")
    return wanted


def archive_folder(status: dict, archive_dir: str | os.PathLike | None = None) -> Path | None:
    """Where the incident filed its documents: with the shared archive (ECOPLAN_DATABASE_URL),
    this machine's copy fetched from the database; else the folder its document references
    name, else the archive folder of this machine."""
    root = Path(archive_dir) if archive_dir else settings().archive_path
    if _fetched(str(status.get("incident_id") or ""), root):
        return root / str(status["incident_id"])
    for d in status.get("documents") or []:
        if isinstance(d, dict) and d.get("path") and Path(d["path"]).parent.is_dir():
            return Path(d["path"]).parent
    for p in status.get("archive_paths") or []:
        if Path(p).parent.is_dir():
            return Path(p).parent
    folder = root / str(status.get("incident_id", ""))
    return folder if status.get("incident_id") and folder.is_dir() else None


def _fetched(incident_id: str, root: Path) -> bool:
    """With the shared archive (activities/archive_store.py): the incident's folder here brought
    up to the database's copy; True when it holds files then."""
    url = settings().database_url
    if not url or not incident_id:
        return False
    from activities import archive_store

    try:
        archive_store.fetch(url, root, incident_id)
    except Exception as e:  # unreachable database: one line, not a traceback
        raise DocumentsError(f"共享归档读不了：{str(getattr(e, 'orig', e)).splitlines()[0]}") from None
    return (root / incident_id).is_dir() and any((root / incident_id).iterdir())


def from_dossier(incident_id: str, archive_dir: str | os.PathLike | None = None) -> dict | None:
    """A closed incident's status from its archive dossier (when neither Temporal nor the store has it)."""
    from ecoplan import records

    root = Path(archive_dir) if archive_dir else settings().archive_path
    _fetched(incident_id, root)
    path = root / incident_id / "dossier.json"
    if not path.is_file():
        return None
    try:
        st = records.normalise_status(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, records.RecordError):
        return None
    return {**st, "from_dossier": str(path)}


def filed(status: dict, kinds: Iterable[str], archive_dir: str | os.PathLike | None = None) -> list[Path]:
    """The files of `kinds` the incident filed in its archive (reports: every report-*.pdf)."""
    folder = archive_folder(status, archive_dir)
    if folder is None:
        return []
    out: list[Path] = []
    for kind in kinds:
        if kind == "info_report":
            out += sorted(folder.glob("report-*.pdf"))
        else:
            out += [folder / name for name in FILES[kind] if (folder / name).is_file()]
    return out


def write(status: dict, out_dir: str | os.PathLike, kinds: Iterable[str] | None = None,
          archive_dir: str | os.PathLike | None = None) -> list[Path]:
    """Write the documents of `kinds` (default all) into out_dir; returns the files written."""
    from activities.documents import write_documents

    wanted = kinds_of(kinds)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".ecoplan-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise DocumentsError(f"--out：无法写入 {out}（{problems.os_reason(e)}）") from None
    closed = status.get("stage") == "closed" or bool(status.get("from_records") or status.get("from_dossier"))
    originals = filed(status, wanted, archive_dir)
    # Reports are always the filed copies (full text); a closed incident's files are final.
    copy = [p for p in originals if closed or p.name.startswith("report-")]
    # Reports missing from the archive (a printing that failed) come from the status, then the
    # filed ones replace theirs.
    render = [k for k in wanted if k == "info_report" or not any(_kind(p.name) == k for p in copy)]
    written: list[Path] = []
    if render:
        written += write_documents(status, out, render)
    for p in copy:
        written.append(Path(shutil.copyfile(p, out / p.name)))
    return sorted(set(written))


def _kind(name: str) -> str:
    if name.startswith("report-"):
        return "info_report"
    return next(k for k, names in FILES.items() if name in names)
