"""Find, read and validate plan files (plan/plans/<id>.yaml or any path the caller gives).

Every failure is a PlanError with a one-line message: callers (CLI, activities) show it as is.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from plan.models import Plan

DEFAULT_PLAN_ID = "yangquan-2022"
PLANS_DIR = Path(__file__).parent / "plans"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class PlanError(ValueError):
    """A plan file that cannot be used; the message is one line."""


class LoadedPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan: Plan
    path: str
    content_hash: str  # "sha256:<hex>" of the file bytes: pins the exact revision an incident used

    def snapshot(self) -> dict:
        return {"id": self.plan.id, "version": self.plan.version, "hash": self.content_hash}


def validation_message(err: ValidationError, prefix: str = "") -> str:
    """One line for the first error: "<field path>: <problem>" (+ how many more)."""
    errors = err.errors(include_url=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return f"{prefix}invalid input"
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    problem = first["msg"].removeprefix("Value error, ")
    line = f"{prefix}{where}: {problem}" if where else f"{prefix}{problem}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return " ".join(line.split())  # messages may embed newlines


def resolve_plan_path(ref: str | Path | None = None) -> Path:
    """None -> the default plan; a plan id -> PLANS_DIR/<id>.yaml (or .yml); else a file path."""
    if ref is None:
        ref = DEFAULT_PLAN_ID
    if isinstance(ref, str) and _ID.match(ref):
        for suffix in (".yaml", ".yml"):
            candidate = PLANS_DIR / f"{ref}{suffix}"
            if candidate.is_file():
                return candidate
    path = Path(ref).expanduser()
    if path.is_file():
        return path.resolve()
    raise PlanError(f"plan {str(ref)!r}: no shipped plan with that id and no such file")


def load_plan(ref: str | Path | None = None) -> LoadedPlan:
    path = resolve_plan_path(ref)
    try:
        stat = path.stat()
    except OSError as e:
        raise PlanError(f"plan file {path}: cannot read: {e.strerror}") from None
    # Keyed by modification time and size so an edited file is re-read.
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load(path: str, _mtime_ns: int, _size: int) -> LoadedPlan:
    name = Path(path).name
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise PlanError(f"plan file {name}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PlanError(f"plan file {name}: not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise PlanError(f"plan file {name}: malformed YAML{_yaml_where(e)}") from None
    if data is None:
        raise PlanError(f"plan file {name}: the file is empty")
    if not isinstance(data, dict):
        raise PlanError(f"plan file {name}: top level must be a mapping, got {type(data).__name__}")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as e:
        raise PlanError(validation_message(e, prefix=f"plan file {name}: ")) from None
    return LoadedPlan(plan=plan, path=path, content_hash="sha256:" + hashlib.sha256(raw).hexdigest())


def _yaml_where(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return where + ": " + " ".join(str(problem).split())


def shipped_plan_ids() -> list[str]:
    files = list(PLANS_DIR.glob("*.yaml")) + list(PLANS_DIR.glob("*.yml"))
    return sorted({f.stem for f in files})
