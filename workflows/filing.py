"""What the incident files as it goes, through the outbox (effects.py): its printed documents
(附件1 on activation, 附件2 at proposal and approval, each report when submitted, the case
file and the deadline chart on close) written into its archive folder, and its record in the
bureau's records store, saved when the stage, either level, a deadline or the outcome changes and on
close. The delivery activity reads the incident's status itself (claim check): the items
carry what to print, and only references (path, sha256) come back into state.

Printing has a lane of its own beside the deliveries, and starts only when they have nothing
to send: a burst of actions never waits behind its PDFs, nor notifications behind a renderer.

Functions of a Recorder (`rec`, workflows/recorder.py) or of the incident `w` and its lanes; no awaits.
An action's printings are queued with `Recorder.render`.
"""

from __future__ import annotations

from temporalio import workflow

import workflows.effects as effects


def quiet(w, now) -> bool:
    """Printing waits for a pause in the incident's actions (QUIET since the last entry): a
    burst of reports never shares the worker with its PDFs."""
    return not w.s.timeline or now - w.s.timeline[-1].recorded_at >= effects.QUIET


def keep_record(rec, sending: set[str]) -> None:
    """A save when what the store keeps changed (not on every tick); one waiting save is enough."""
    s = rec.s
    key = effects.record_key(s)
    # The event's own level (issue 24) is in the record too (schema r0003): a 初步认定 or 核定 saves it.
    # Patch to remove once no open incident predates it (docs/design.md "Changing workflow code").
    if s.levels_split and workflow.patched("record-event-level"):
        key += f"|{s.event_level}|{s.event_level_kind}"
    if key == s.record_key:
        return
    s.record_key = key
    if not effects.pending(s, "record", sending):
        rec.save_record()


def on_close(rec) -> bool:
    """Closed: the case file and the chart, and the record at once. True when the record is
    to be saved once more after the rest is out, listing every file written."""
    rec.render("case_file")
    rec.render("chart")
    rec.save_record()
    return True


def wake(w):
    """The next retry of an idle lane (a busy lane wakes the loop when it ends)."""
    times = []
    if w._flush_task is None:
        times.append(effects.next_try(w.s))
    if w._print_task is None and (t := effects.next_try(w.s, printing=True)) is not None:
        times.append(max(t, w.s.timeline[-1].recorded_at + effects.QUIET) if w.s.timeline else t)
    return min((t for t in times if t is not None), default=None)
