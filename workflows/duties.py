"""Per-level duties in the workflow (plan.duties, through the pinned snapshot): applying the
record of another body's act. The checks are in checks.py; `w` is the IncidentWorkflow."""

from __future__ import annotations

import workflows.checks as checks
import workflows.deadlines as deadlines
import workflows.messages as m
from workflows.timeline import short


def other_termination(w, inp: m.RecordOtherTermination, got, prepared: dict) -> m.ActionResult:
    """The body that led the response (the county at IV) ended it: post-event begins."""
    at, body = got
    s = w.s
    act = {"body": body, "at": at.isoformat(), "document": short(inp.document), "by": inp.by.model_dump(),
           "source": checks.duty(s, "termination").source}
    s.other_acts["termination"] = act
    entry = w.transition("record_other_termination", at, inp,
                         {"body": body, "document": act["document"], "note": short(inp.note)})
    w._event("response_terminated", at, entry)
    if "stuck_after" in prepared:
        s.stuck_after, s.stuck_key = prepared["stuck_after"], s.stage_entries
    w.notify("response_terminated", f"应急响应终止（{body}）：{s.report.title}",
             s.plan.report_recipients + [s.plan.groups.get(g, g) for g in s.leads],
             {"body": body, "document": inp.document})
    notes = w._start_deadlines(deadlines.started_by(s, "record_other_termination", inp, got), prepared)
    return w._result("record_other_termination", f"recorded: {body} ended the response ({act['document']}); "
                                                 f"post-event handling (5.x) begins{notes}")


def other_act(w, inp: m.RecordOtherAct, got, _prepared: dict) -> m.ActionResult:
    """A post-event step that is another body's act at the level, recorded."""
    at, body = got
    s = w.s
    d = checks.duty(s, inp.step)
    s.other_acts[inp.step] = {"body": body, "at": at.isoformat(), "document": short(inp.document),
                              "by": inp.by.model_dump(), "mode": d.mode, "source": d.source}
    entry = w.transition("record_other_act", at, inp, {"step": inp.step, "body": body, "mode": d.mode,
                                                       "document": short(inp.document), "note": short(inp.note)})
    if inp.step == "investigation":  # the investigation's clock (5.2) stops whoever investigated
        w._event("investigation_completed", at, entry)
    return w._result("record_other_act", f"recorded: {inp.step} by {body} ({short(inp.document)}), {d.source}")


# The apply step of each duty action (the workflow's `_act` finds it here), and the actions
# that end the response (post_event's stuck marker is asked with them).
APPLY = {"record_other_termination": other_termination, "record_other_act": other_act}
ENDS_RESPONSE = ("approve_termination", "record_other_termination")
