"""What the incident files as it goes, through the outbox (effects.py): its printed documents
(附件1 on activation, 附件2 at proposal and approval, each report when submitted, the case
file and the deadline chart on close) written into its archive folder, and its record in the
bureau's records store, saved when the stage, level, a deadline or the outcome changes and on
close. The delivery activity reads the incident's status itself (claim check): the items
carry what to print, and only references (path, sha256) come back into state.

Printing has a lane of its own beside the deliveries, and starts only when they have nothing
to send: a burst of actions never waits behind its PDFs, nor notifications behind a renderer.

Functions of the incident `w` (its state `w.s`, `w._now`, and its lanes); no awaits.
"""

from __future__ import annotations

from temporalio import workflow

import workflows.effects as effects
from workflows import timeline


def render(w, kind: str, seq: int | None = None, report: dict | None = None) -> None:
    """Print `kind` into the archive (the chart: SVG and PNG). One waiting printing of a kind
    is enough: it reads the status when it is sent; a report joins a waiting list of reports."""
    s = w.s
    seq = seq or timeline.last_seq(s)
    if effects.join_render(s, kind, seq, report, w._printing):
        return
    payload = {"incident_id": s.incident_id, "kind": kind, "seq": seq, "reports": [report] if report else []}
    if report:  # a report prints without asking the status: its head is the title and the plan
        payload.update(title=s.report.title, drill=s.report.drill, plan={"id": s.plan.id})
    effects.add(s, workflow.info().workflow_id, "render", payload, f"printed {kind}", w._now())
    w._dirty = True


def report(w, entry, inp, at) -> None:
    """A report's printing: its number and timeline entry; the rest is in the archive beside
    its Markdown (who, when, the full text), so a burst of reports carries little."""
    render(w, "info_report", entry.seq, {"no": sum(w.s.reports_count.values()), "seq": entry.seq})


def quiet(w, now) -> bool:
    """Printing waits for a pause in the incident's actions (QUIET since the last entry): a
    burst of reports never shares the worker with its PDFs."""
    return not w.s.timeline or now - w.s.timeline[-1].recorded_at >= effects.QUIET


def keep_record(w) -> None:
    """A save when what the store keeps changed (not on every tick); one waiting save is enough."""
    s = w.s
    key = effects.record_key(s)
    if key == s.record_key:
        return
    s.record_key = key
    if not effects.pending(s, "record", w._sending):
        add_record(w)


def add_record(w) -> None:
    effects.add(w.s, workflow.info().workflow_id, "record", {}, "record (records store)", w._now())
    w._dirty = True


def on_close(w) -> bool:
    """Closed: the case file and the chart, and the record at once. True when the record is
    to be saved once more after the rest is out, listing every file written."""
    render(w, "case_file")
    render(w, "chart")
    add_record(w)
    return True


def wake(w):
    """The next retry of an idle lane (a busy lane wakes the loop when it ends)."""
    times = []
    if w._flush_task is None:
        times.append(effects.next_try(w.s))
    if w._print_task is None and (t := effects.next_try(w.s, printing=True)) is not None:
        times.append(max(t, w.s.timeline[-1].recorded_at + effects.QUIET) if w.s.timeline else t)
    return min((t for t in times if t is not None), default=None)
