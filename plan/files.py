"""Reading the data files people hand to ecoplan (plans, drill scenarios, report files):
one place for the one-line error a person gets when a file is missing, is not UTF-8, or
is not well-formed YAML or JSON. `fail` turns the sentence into the caller's exception."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import yaml

Fail = Callable[[str], Exception]
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # a shipped file's id, never a path


def find(ref: str | Path, folder: Path, what: str, fail: Fail, shipped: list[str] | None = None) -> Path:
    """An id -> folder/<id>.yaml (or .yml); otherwise a file path."""
    if isinstance(ref, str) and _ID.match(ref):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{ref}{suffix}"
            if candidate.is_file():
                return candidate
    path = Path(ref).expanduser()
    if path.is_dir():
        raise fail(f"{what} {str(ref)!r}: is a directory, not a {what} file")
    if path.is_file():
        return path.resolve()
    hint = f" (shipped: {', '.join(shipped) or 'none'})" if shipped is not None else ""
    raise fail(f"{what} {str(ref)!r}: no shipped {what} with that id and no such file{hint}")


def shipped_ids(folder: Path) -> list[str]:
    return sorted({f.stem for f in [*folder.glob("*.yaml"), *folder.glob("*.yml")]})


def read_bytes(path: Path | str, label: str, fail: Fail) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise fail(f"{label}: no such file") from None
    except IsADirectoryError:
        raise fail(f"{label}: is a directory, not a file") from None
    except OSError as e:
        raise fail(f"{label}: cannot read: {e.strerror}") from None


def parse(raw: bytes, label: str, fail: Fail, as_json: bool = False) -> Any:
    """UTF-8 YAML (or JSON) text -> data, with the line and column of a syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"{label}: not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        return json.loads(text) if as_json else yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise fail(f"{label}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or str(e).splitlines()[0]).split())
        raise fail(f"{label}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise fail(f"{label}: nested too deeply") from None
    except ValueError as e:  # e.g. a 5,000-digit integer, an impossible date, !!int "abc"
        raise fail(f"{label}: unreadable value: {str(e).splitlines()[0][:200]}") from None


def mapping(data: Any, label: str, fail: Fail) -> dict:
    if data is None:
        raise fail(f"{label}: the file is empty")
    if not isinstance(data, dict):
        raise fail(f"{label}: top level must be a mapping, got {type(data).__name__}")
    return data
