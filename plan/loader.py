"""Find, read and validate plan files (plan/plans/<id>.yaml or any path the caller gives).

Every failure is a PlanError with a one-line message: callers (CLI, activities) show it as is.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from plan import files, problems
from plan.models import plan_ref, Plan

DEFAULT_PLAN_ID = "yangquan-2022"
PLANS_DIR = Path(__file__).parent / "plans"


class PlanError(ValueError):
    """A plan file that cannot be used; the message is one line."""


class LoadedPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan: Plan
    path: str
    content_hash: str  # "sha256:<hex>" of the file bytes: pins the exact revision an incident used

    @property
    def ref(self) -> dict:
        return plan_ref(self.plan.id, self.plan.version, self.content_hash)


def validation_message(err: ValidationError, prefix: str = "", data: object = None) -> str:
    """One line for a plan (or scenario) file's first error: the key path as written (given the
    file's `data`, a list item by its name: deadlines.initial_report.duration), the problem in
    Chinese (plan/problems.py; the plan models' own rules say what to write), and how many more."""
    return problems.validation_message(err, prefix, labelled=False, data=data)


def resolve_plan_path(ref: str | Path | None = None) -> Path:
    """None -> the default plan; a plan id -> PLANS_DIR/<id>.yaml (or .yml); else a file path."""
    return files.find(DEFAULT_PLAN_ID if ref is None else ref, PLANS_DIR, "预案", PlanError)


def load_plan(ref: str | Path | None = None) -> LoadedPlan:
    path = resolve_plan_path(ref)
    try:
        stat = path.stat()
    except OSError as e:
        raise PlanError(f"预案文件 {path}：读不了（{problems.os_reason(e)}）") from None
    # Keyed by modification time and size so an edited file is re-read.
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load(path: str, _mtime_ns: int, _size: int) -> LoadedPlan:
    label = f"预案文件 {Path(path).name}"
    raw = files.read_bytes(path, label, PlanError)
    data = files.mapping(files.parse(raw, label, PlanError), label, PlanError)
    try:
        plan = Plan.model_validate(data)
    except ValidationError as e:
        raise PlanError(validation_message(e, prefix=f"{label}：", data=data)) from None
    return LoadedPlan(plan=plan, path=path, content_hash="sha256:" + hashlib.sha256(raw).hexdigest())


def shipped_plan_ids() -> list[str]:
    return files.shipped_ids(PLANS_DIR)
