"""Load the incident's plan, pin a snapshot of it and grade the first assessment."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from plan.grading import classify
from plan.loader import PlanError, load_plan
from plan.snapshot import PlanLoaded, PlanRequest, PlanSnapshot


@activity.defn
def load_plan_snapshot(req: PlanRequest) -> PlanLoaded:
    try:
        loaded = load_plan(req.plan)
    except PlanError as e:
        # A plan that does not load will not load on retry either.
        raise ApplicationError(str(e), type="PlanError", non_retryable=True) from e
    return PlanLoaded(
        snapshot=PlanSnapshot.of(loaded.plan, loaded.content_hash),
        grading=classify(req.assessment, loaded.plan),
    )
