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
        raise fail(f"{what} {ref}：是文件夹，不是文件")
    if path.is_file():
        return path.resolve()
    hint = f"（随附的有：{'、'.join(shipped) or '无'}）" if shipped is not None else ""
    raise fail(f"{what} {ref}：既不是随附的编号，也没有这个文件{hint}")


def shipped_ids(folder: Path) -> list[str]:
    return sorted({f.stem for f in [*folder.glob("*.yaml"), *folder.glob("*.yml")]})


def read_bytes(path: Path | str, label: str, fail: Fail) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise fail(f"{label}：文件不存在") from None
    except IsADirectoryError:
        raise fail(f"{label}：是文件夹，不是文件") from None
    except OSError as e:
        raise fail(f"{label}：读不了（{e.strerror}）") from None


# libyaml's loader where PyYAML was built with it: the shipped plan parses in 17 ms instead of
# 92 ms (every CLI command, worker start and test that loads a plan pays it). A file it refuses
# is parsed again by the pure-Python loader, whose error gives the line and column we print.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _yaml(text: str) -> Any:
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - CSafeLoader is the safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def parse(raw: bytes, label: str, fail: Fail, as_json: bool = False) -> Any:
    """UTF-8 YAML (or JSON) text -> data, with the line and column of a syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"{label}：不是 UTF-8 文本（第 {e.start} 字节有误），请另存为 UTF-8 后再试") from None
    try:
        return json.loads(text) if as_json else _yaml(text)
    except json.JSONDecodeError as e:
        raise fail(f"{label}：JSON 格式有误（第 {e.lineno} 行第 {e.colno} 列）") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"（第 {mark.line + 1} 行第 {mark.column + 1} 列）" if mark else ""
        raise fail(f"{label}：YAML 格式有误{where}") from None
    except RecursionError:
        raise fail(f"{label}：嵌套层数过多") from None
    except ValueError:  # e.g. a 5,000-digit integer, an impossible date, !!int "abc"
        raise fail(f"{label}：有读不出的值（如超长的数字、不存在的日期）") from None


def mapping(data: Any, label: str, fail: Fail) -> dict:
    if data is None:
        raise fail(f"{label}：文件是空的")
    if not isinstance(data, dict):
        raise fail(f"{label}：顶层应为带字段名的映射")
    return data
