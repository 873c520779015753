"""The incident's timeline: every action, timer and delivery, with its business time (`at`)
and the workflow time it was recorded (`recorded_at`).

The state keeps the newest entries only: older ones have been written to the archive
(`timeline.jsonl`, by the delivery activity, see effects.py) and are counted in
`timeline_summary`, so a long incident's state stays small while nothing is lost.
"""

from __future__ import annotations

from datetime import datetime

from plan.incident import Actor
import workflows.messages as m

KEEP = 100  # entries kept in state (and in `ecoplan status`); the archive has them all.
# 100 entries are about 55 kB of the 256 kB a continue-as-new may carry (tests/test_workflow2.py).
TEXT = 200  # characters of a free text kept in an entry; the full text is in the archive's documents


def short(text: str | None, limit: int = TEXT) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_seq(s: m.IncidentState) -> int:
    summarised = s.timeline_summary["entries"] if s.timeline_summary else 0
    return summarised + len(s.timeline)


def record(s: m.IncidentState, now: datetime, at: datetime, by: Actor | None, action: str, from_stage: str,
           detail: dict, rejected: bool = False, backdate_reason: str | None = None) -> m.TimelineEntry:
    entry = m.TimelineEntry(seq=last_seq(s) + 1, at=at, recorded_at=now, by=by, action=action,
                            from_stage=from_stage, to_stage=s.stage, detail=detail, rejected=rejected,
                            backdate_reason=short(backdate_reason) if backdate_reason else None)
    s.timeline.append(entry)
    return entry


def unarchived(s: m.IncidentState) -> list[m.TimelineEntry]:
    return [e for e in s.timeline if e.seq > s.timeline_archived]


def trim(s: m.IncidentState, keep: int = KEEP) -> None:
    """Summarise entries beyond the newest `keep`, but only those already in the archive."""
    cut = 0
    while len(s.timeline) - cut > keep and s.timeline[cut].seq <= s.timeline_archived:
        cut += 1
    if not cut:
        return
    old, s.timeline = s.timeline[:cut], s.timeline[cut:]
    summary = s.timeline_summary or {"entries": 0, "from_seq": old[0].seq, "from_at": old[0].at.isoformat(),
                                     "by_action": {}}
    summary["entries"] += len(old)
    summary["to_seq"], summary["to_at"] = old[-1].seq, old[-1].at.isoformat()
    for e in old:
        summary["by_action"][e.action] = summary["by_action"].get(e.action, 0) + 1
    summary["archive"] = "timeline.jsonl"
    s.timeline_summary = summary
