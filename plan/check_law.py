"""The plan check's law part (issue 24): every area of rules with its basis and where that
stands (in force, repealed, local choice, adopted), every local choice the reporting rules
make, and the areas left without a basis. Listed for `ecoplan plan check`, in the plan's Chinese
(Basis.label says where each basis stands); never raises."""

from __future__ import annotations

from plan.models import Plan

# The areas of rules ecoplan enforces that must each name a basis in the plan's `rule_bases`.
AREAS = ("grading", "response", "reporting", "reporting_neighbours", "duties", "investigation", "assessment",
         "termination", "follow_up", "warning", "plan_management")


NO_BASIS = "这一类规则没有记录依据"


def law_problems(plan: Plan, problem) -> list:
    """`problem(severity, where, message)` makes one Problem (plan/check.py)."""
    out = []
    for area in AREAS:
        if not plan.rule_bases.get(area):
            out.append(problem("warning", f"rule_bases.{area}", NO_BASIS))
    for area, bases in plan.rule_bases.items():
        for b in bases:
            sev = "warning" if b.status == "repealed" else "info"
            # the label says the standing (现行有效, 已废止, 本地选择, 参照采用) and carries a local
            # choice's or an adopted rule's note; the others' note follows it
            note = f"——{b.note}" if b.note and b.status in ("in_force", "repealed") else ""
            out.append(problem(sev, f"rule_bases.{area}", f"{b.label()}{note}"))
    r = plan.reporting
    if r.initial_report_clock is not None:
        out.append(problem("info", "reporting.initial_report_clock",
                           f"本地选择（{r.initial_report_clock.lowering}）：{r.initial_report_clock.local_choice}"))
    sc = r.special_circumstances
    if sc is not None and sc.until_judged:
        out.append(problem("info", "reporting.special_circumstances", f"本地选择（until_judged）：{sc.until_judged}"))
    wr = r.written_report
    if wr is not None and any(w in (wr.reporting_unit_source or "") for w in ("本地选择", "local choice")):
        out.append(problem("info", "reporting.written_report.reporting_unit", wr.reporting_unit_source))
    return out
