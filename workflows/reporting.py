"""The information-reporting rules of 17号令 in a running incident: when the initial-report
clock starts and how it follows the level, the 第四条 cases, who receives each report, and
what a written report must name. Pure functions of the state and its pinned plan snapshot.

A plan without these rules (no `reporting` in its snapshot) keeps the simple behaviour:
clock from `discovered_at`, fixed at the graded level, the plan's recipients only.
"""

from __future__ import annotations

from datetime import datetime

from plan.deadlines import DeadlineTimes
from plan.models import DeadlineRule, InfoReporting, Level
import workflows.deadlines as deadlines
import workflows.levels as levels
import workflows.messages as m

HEADER_FLAGS = {"reporting_unit": "--reporting-unit", "signed_by": "--signed-by",
                "contact_person": "--contact-person", "contact_phone": "--contact-phone"}
HEADER_NAMES = {"reporting_unit": "报告单位", "signed_by": "报告签发人", "contact_person": "联系人",
                "contact_phone": "联系方式"}


KEEP_REPORTS = 20  # newest reports kept in state (their documents are in the archive)

def rules(s: m.IncidentState) -> InfoReporting | None:
    return s.plan.reporting if s.plan is not None else None


def clock_start(s: m.IncidentState, rule: DeadlineRule) -> datetime:
    """17号令 第三条 counts from when the bureau 发现或者得知 (reported_at), not from the polluter's discovery."""
    if rules(s) is not None and rule.starts_on == "bureau_learned":
        return s.report.reported_at
    return s.report.discovered_at


def _most_severe(*levels: Level | None) -> Level:
    return max((lv for lv in levels if lv is not None), key=lambda lv: lv.rank)


def cases_apply(s: m.IncidentState) -> bool:
    """Do the recorded 第四条 cases set the procedure now? They speak of events 一时无法判明等级的:
    with the plan's `until_judged`, only until the bureau judges the event's level (incidents
    opened since issue 24; before, always)."""
    r = rules(s)
    sc = r.special_circumstances if r else None
    if sc is None or not s.circumstances:
        return False
    return not (s.levels_split and sc.until_judged) or s.event_level_kind in (None, "graded")


def reporting_level(s: m.IncidentState) -> Level:
    """The level reports go by now: the event's level (17号令 第三条 初步认定; before the split, the
    incident's one level), or the II/I procedure for a 第四条 case."""
    r = rules(s)
    special = r.special_circumstances.report_as if cases_apply(s) else None
    return _most_severe(levels.event_level(s), special)


def cases_from_facts(s: m.IncidentState) -> list[str]:
    """The 第四条 cases the report's facts set by themselves (the plan's `set_by`)."""
    r = rules(s)
    sc = r.special_circumstances if r else None
    facts = s.report.assessment
    return [c.id for c in (sc.items if sc else []) if any(getattr(facts, f, None) in vals for f, vals in c.set_by.items())]


def clock_rule(s: m.IncidentState, d: m.Deadline) -> str:
    """Which rule the 初报's clock follows now, in words (issue 24: 第三条 or 第四条)."""
    level, hours = reporting_level(s), (d.due_at - d.started_at).total_seconds() / 3600 if d.due_at else None
    names = circumstance_names(s, [c["id"] for c in s.circumstances])
    if cases_apply(s) and level.rank > levels.event_level(s).rank:
        rule = f"17号令 第四条（{'；'.join(names)}）：事件等级尚未判明，按重大（Ⅱ级）程序报告"
    else:
        kind = levels.KIND_NAMES[s.event_level_kind or "graded"]
        rule = f"17号令 第三条：事件等级{levels.roman(levels.event_level(s))}（{kind}）"
        if names and not cases_apply(s):
            rule += "，已判明等级，第四条情形不再改变报告程序（本地选择，见 special_circumstances.until_judged）"
    if hours is not None and hours != rule_hours(s, level):
        rule += f"；已按较短时限{hours:g}小时起算，不因降低而延长（本地选择 keeps_shorter）"
    return rule


def clock_source(s: m.IncidentState, d: m.Deadline) -> str:
    """The 初报 deadline's source: the rule it follows now, then the plan rule's own citation."""
    rule = s.plan.deadline("initial_report")
    return f"{clock_rule(s, d)}。{rule.source if rule else ''}"


def rule_hours(s: m.IncidentState, level: Level) -> float | None:
    rule = s.plan.deadline("initial_report")
    dur = rule.duration_for(level) if rule else None
    return dur.as_timedelta().total_seconds() / 3600 if dur and not dur.is_working_days else None


def recipients(s: m.IncidentState) -> list[str]:
    """Who receives a report now: the plan's recipients, and the ministry at I/II (17号令 第三条)."""
    r = rules(s)
    if r is None:
        return list(s.plan.report_recipients)
    return r.recipients_at(reporting_level(s))


def add_circumstances(s: m.IncidentState, ids: list[str], at: datetime, by: dict, note: str = "") -> list[str]:
    """Record the 第四条 cases not yet recorded; returns the new ones."""
    known = {c["id"] for c in s.circumstances}
    new = [c for c in dict.fromkeys(ids) if c not in known]
    s.circumstances += [{"id": c, "at": at.isoformat(), "by": by, "note": note} for c in new]
    return new


def circumstance_names(s: m.IncidentState, ids: list[str]) -> list[str]:
    r = rules(s)
    return [r.special_circumstances.name(c) if r and r.special_circumstances else c for c in ids]


def refresh_initial_deadline(s: m.IncidentState, now: datetime) -> tuple[m.Deadline, datetime] | None:
    """The initial report's deadline after a level change or a 第四条 case, from the same
    start. A met deadline stays met; lowering follows the plan's choice (keeps_shorter: never
    lengthened). Returns (deadline, old due) when it moved, None otherwise."""
    r = rules(s)
    d = next((x for x in s.deadlines if x.name == "initial_report"), None)
    rule = s.plan.deadline("initial_report")
    if r is None or d is None or rule is None or d.due_at is None or d.status not in ("pending", "overdue"):
        return None
    level = reporting_level(s)
    duration = rule.duration_for(level)
    if duration.is_working_days:
        return None
    due = d.started_at + duration.as_timedelta()
    keeps_shorter = r.initial_report_clock is None or r.initial_report_clock.lowering == "keeps_shorter"
    if due == d.due_at or (keeps_shorter and due > d.due_at):
        return None
    old = d.due_at
    sent = d.reminders_sent
    reminders = sorted((due - x.as_timedelta() for x in rule.reminders if not x.is_working_days))
    deadlines.set_times(d, DeadlineTimes(due={"at": due}, reminders=[{"at": t} for t in reminders]), now)
    d.reminders_sent = max(d.reminders_sent, min(sent, len(reminders)))
    s.initial_report_level = level
    return d, old


def header(s: m.IncidentState, inp: m.SubmitReport) -> tuple[dict, list[str]]:
    """The written report's header with the plan's defaults, and the required items missing."""
    r = rules(s)
    wr = r.written_report if r else None
    h = {"reporting_unit": inp.reporting_unit or (wr.reporting_unit if wr else None),
         "signed_by": inp.signed_by, "contact_person": inp.contact_person, "contact_phone": inp.contact_phone}
    if wr is None or inp.relayed_from:
        return h, []
    return h, [f for f in wr.required if not h.get(f)]


def missing_contents(s: m.IncidentState, kind: str, content: dict) -> list[str]:
    """The items 17号令 asks this kind of report for that it does not give (labels)."""
    r = rules(s)
    spec = r.kind(kind) if r else None
    if spec is None:
        return []
    return [i.label for i in spec.contents if not content.get(i.id)]


def follow_level(rec, why: str) -> str:
    """After a level change or a 第四条 case: move the open initial-report deadline, record
    it on the timeline, and say so in the reply (17号令 第三条)."""
    s = rec.s
    moved = refresh_initial_deadline(s, rec.now())
    d = next((x for x in s.deadlines if x.name == "initial_report"), None)
    if s.levels_split and d is not None and d.status in ("pending", "overdue") and d.source != clock_source(s, d):
        d.source = clock_source(s, d)  # the clock says which rule it follows now
        if moved is None:
            return f"；初报时限依据：{clock_rule(s, d)}"
    if moved is None:
        return ""
    d, old = moved
    clock = s.plan.reporting.initial_report_clock
    rec.record(rec.now(), None, "deadline_changed",
              {"deadline": d.name, "from_due_at": old.isoformat(), "due_at": d.due_at.isoformat(),
               "level": s.initial_report_level.value, "why": why, "source": clock.source if clock else d.source})
    return f"; the initial report (初报) is now due {d.due_at.isoformat(timespec='minutes')}, " \
           f"{s.initial_report_level.value} procedure (17号令 第三条)"


def report_row(s: m.IncidentState, inp: m.SubmitReport, no: int, at: datetime, head: dict, recipients: list[str],
               summary: str) -> dict:
    """What the state keeps of a report: its header and recipients too, under the 17号令 rules."""
    row = {"kind": inp.kind, "no": no, "at": at.isoformat(), "by": inp.by.model_dump(), "summary": summary}
    if inp.by_phone:  # 17号令 第十四条: a telephone 初报, and who took the call
        row.update(by_phone=True, received_by=inp.received_by)
    if rules(s) is not None:
        row.update({k: v for k, v in head.items() if v}, recipients=recipients)
        if inp.relayed_from:
            row["relayed_from"] = inp.relayed_from
    return row


def document_data(s: m.IncidentState, inp: m.SubmitReport, kind_name: str, at: datetime, head: dict,
                  recipients: list[str]) -> tuple[dict, list[str]]:
    """The written report's document: header, each item 17号令 asks this kind for (given or
    marked), and the labels of the items not given."""
    content = inp.content.model_dump()
    data = {"kind_name": kind_name, "title": s.report.title, "kind": inp.kind, "recipients": recipients,
            "by": str(inp.by), "at": at.isoformat(), "content": content, "actor": inp.by.model_dump()}
    r = rules(s)
    if r is None:
        return data, []
    spec = r.kind(inp.kind)
    missing = missing_contents(s, inp.kind, content)
    data.update(header=head, missing_contents=missing, relayed_from=inp.relayed_from,
                items=[{"id": i.id, "label": i.label} for i in spec.contents] if spec else [])
    return data, missing


def open_clock(rec, reporter: dict) -> None:
    """At the start: the 第四条 cases the report names, then the initial-report deadline from
    when the bureau learned of the incident, at the level known (17号令 第三条). Without the
    rules: from discovered_at at the graded level, as before."""
    s = rec.s
    if rules(s) is None:
        rec.start_deadline("initial_report", s.report.discovered_at, s.grading.level, None)
        return
    if s.report.special_circumstances:
        add_circumstances(s, s.report.special_circumstances, s.report.reported_at, reporter)
    if s.levels_split:  # 第四条's cases the report's facts set by themselves (issue 24)
        add_circumstances(s, cases_from_facts(s), s.report.reported_at, reporter, "由报告的事实认定")
    s.initial_report_level = level = reporting_level(s)
    rule = s.plan.deadline("initial_report")
    if rule is not None:
        d = rec.start_deadline("initial_report", clock_start(s, rule), level, None)
        if d is not None and s.levels_split:
            d.source = clock_source(s, d)


def status(s: m.IncidentState) -> dict:
    return {"report_recipients": recipients(s), "reporting_level": reporting_level(s).value,
            "reporting_rules": int(rules(s) is not None)}
