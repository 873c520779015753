"""The response (4.1): activation (附件1), the city government's own start, level changes
(4.1.5) and the work groups' dispatch. A mixin of IncidentWorkflow: each `_apply_*` is the
all-or-nothing step of one action, run under the incident's lock after its checks
(incident.py `_act`)."""

from __future__ import annotations

from datetime import datetime

import workflows.checks as checks
import workflows.deadlines as deadlines
import workflows.filing as filing
import workflows.linkage as linkage
import workflows.messages as m
import workflows.reporting as reporting
import workflows.timeline as timeline


class ResponseActions:
    def _apply_activate_response(self, inp: m.ActivateResponse, got, prepared: dict) -> m.ActionResult:
        at, level = got
        s = self.s
        graded = s.grading.level
        s.level = level
        s.level_changes.append(m.LevelChange(at=at, by=inp.by, from_level=None, to_level=level, reason=inp.reason))
        s.city_started = inp.city_started
        # 附件1 经总指挥批准: the approving account, not the one who typed it
        approver = checks.approver(s, "activate_response", inp)
        approved_by = approver.display or approver.name
        entry = self.transition("activate_response", at, inp, {
            "level": level.value, "graded_level": graded.value, "reason": timeline.short(inp.reason),
            "approved_by": approved_by, "city_started": inp.city_started,
            "approver": approver.model_dump(exclude_none=True)})
        brief = s.plan.levels[level]
        r = s.report
        self.document("activation_notice", {
            "plan_title": s.plan.title, "plan_document_number": s.plan.document_number,
            "approved_by": approved_by, "discovered_at": r.discovered_at.isoformat(),
            "county": r.county, "location": r.location, "title": r.title, "level": level.value,
            "level_name": brief.name, "graded_level": graded.value, "reason": inp.reason,
            "at": at.isoformat()}, entry.seq)
        filing.render(self, "activation_notice", entry.seq)
        recipients = list(s.plan.report_recipients)
        if brief.asks_city_to_start:
            recipients.append("市突发环境事件应急指挥部")  # 4.1.2(1): ask the city HQ to start its plan
        self.notify("response_activated", f"启动{brief.response_name}：{r.title}", recipients,
                    {"level": level.value, "city_started": inp.city_started})
        linkage.bulletin(self, "response_activated", at)
        notes = self._start_deadlines(deadlines.started_by(self.s, "activate_response", inp, got), prepared)
        return self._result("activate_response", f"{brief.response_name} ({brief.name}) activated{notes}"
                                                  f"{reporting.follow_level(self, f'activated at level {level.value}')}")

    def _apply_record_city_started(self, inp: m.RecordCityStarted, at: datetime, _p) -> m.ActionResult:
        self.s.city_started = True
        self.transition("record_city_started", at, inp, {"note": timeline.short(inp.note)})
        decides = ("the city HQ decides termination (4.4)" if self.s.plan.termination.city_decides_when_city_started
                   else "the plan leaves termination with the bureau's headquarters")
        return self._result("record_city_started", f"recorded: the city government started its response; {decides}")

    def _apply_adjust_level(self, inp: m.AdjustLevel, at: datetime, prepared: dict) -> m.ActionResult:
        s = self.s
        old = s.level
        s.level = inp.level
        s.level_changes.append(m.LevelChange(at=at, by=inp.by, from_level=old, to_level=inp.level, reason=inp.reason))
        self.transition("adjust_level", at, inp, {"from_level": old.value, "to_level": inp.level.value,
                                                  "reason": timeline.short(inp.reason)})
        self.notify("level_adjusted", f"响应级别调整 {old.value}→{inp.level.value}：{s.report.title}",
                    s.plan.report_recipients, {"reason": inp.reason})
        notes = self._start_deadlines(deadlines.started_by(self.s, "adjust_level", inp, at), prepared)
        return self._result("adjust_level", f"level {old.value} → {inp.level.value} (4.1.5){notes}"
                                            f"{reporting.follow_level(self, f'level {old.value} → {inp.level.value}')}")

    def _apply_dispatch(self, inp: m.Dispatch, at: datetime, _p) -> m.ActionResult:
        s = self.s
        s.leads = {g: name.strip() for g, name in inp.leads.items()}
        entry = self.transition("dispatch", at, inp, {"leads": s.leads})
        self._event("dispatched", at, entry)
        self.notify("groups_dispatched", f"工作组出动：{s.report.title}",
                    [f"{s.plan.groups.get(g, g)} {n}" for g, n in s.leads.items()], {"leads": s.leads})
        return self._result("dispatch", f"{len(s.leads)} groups dispatched; on site")
