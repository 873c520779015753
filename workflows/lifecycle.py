"""The incident life cycle as a `transitions` state machine, declared as data.

Stages and triggers are the incident's life cycle (docs/design.md; the ids are the contract).
Actions that do not change the stage are internal transitions (dest None), so the
machine is the one place that says which action is allowed in which stage. Guards are
named conditions on the incident; the messages a person reads come from the
workflow's validators, the guards are the last word.

Plain `transitions` only (no `transitions.extensions`: it pulls in threading); the
workflow imports this module through the sandbox passthrough.
"""

from __future__ import annotations

from typing import Callable, Protocol

from transitions import Machine

STAGES = ["reported", "warning", "responding", "on_site", "termination_pending", "post_event", "closed"]
RESPONSE = ["responding", "on_site"]

TRANSITIONS: list[dict] = [
    # 3.1 预警 / 3.3 预警解除
    {"trigger": "propose_warning", "source": ["reported", "warning"], "dest": None},  # 3.1/3.3 建议
    {"trigger": "issue_warning", "source": "reported", "dest": "warning"},
    {"trigger": "lift_warning", "source": "warning", "dest": "closed"},
    # 4.1 分级响应; 4.1.5 响应级别调整
    {"trigger": "activate_response", "source": ["reported", "warning"], "dest": "responding"},
    {"trigger": "adjust_level", "source": RESPONSE, "dest": None},
    {"trigger": "record_city_started", "source": RESPONSE + ["termination_pending"], "dest": None},
    {"trigger": "dispatch", "source": "responding", "dest": "on_site"},
    # Plan duties: a response another body led (the county at IV, 4.1.1) ends by its act, recorded.
    {"trigger": "record_other_termination", "source": RESPONSE, "dest": "post_event",
     "conditions": ["termination_is_others"]},
    # 4.2 信息报告: reports may be made from the first hour until the incident is closed
    {"trigger": "submit_report", "source": STAGES[:-1], "dest": None},
    # 4.4 响应终止, 附件2 签报单
    {"trigger": "propose_termination", "source": "on_site", "dest": "termination_pending"},
    {"trigger": "sign_off", "source": "termination_pending", "dest": None},
    {"trigger": "reject_termination", "source": "termination_pending", "dest": "on_site"},
    {
        "trigger": "approve_termination",
        "source": "termination_pending",
        "dest": "post_event",
        "conditions": ["all_signatories_approved"],
    },
    # 5.x 后期处置
    {"trigger": "record_aftercare", "source": "post_event", "dest": None},
    {"trigger": "complete_investigation", "source": "post_event", "dest": None},
    {"trigger": "assessment_review_passed", "source": "post_event", "dest": None},
    {"trigger": "submit_assessment_report", "source": "post_event", "dest": None},
    {
        "trigger": "close",
        "source": "post_event",
        "dest": "closed",
        "conditions": ["duties_done"],
    },
    # Plan duties: a post-event step that is another body's act at the level, recorded.
    {"trigger": "record_other_act", "source": "post_event", "dest": None},
    # 4.2.3 信息通报 and the linkage agreement (协议 二.5, 二.6)
    {"trigger": "record_cross_boundary", "source": STAGES[:-1], "dest": None},
    # 17号令 第四条: cases that put the reports on the II/I procedure, learned at any time
    {"trigger": "record_circumstances", "source": STAGES[:-1], "dest": None},
    {"trigger": "request_support", "source": ["warning", *RESPONSE, "termination_pending"], "dest": None},
    {"trigger": "answer_support", "source": STAGES[:-1], "dest": None},
    # 协议 二.5 联合调查组 "及时成立": from activation on.
    {"trigger": "record_joint_investigation", "source": [*RESPONSE, "termination_pending", "post_event"], "dest": None},
    # Recompute working-day due dates after a calendar update (holiday data is recorded, not re-read).
    {"trigger": "recompute_deadlines", "source": STAGES[:-1], "dest": None},
]


class Guards(Protocol):
    def all_signatories_approved(self) -> bool: ...
    def termination_is_others(self) -> bool: ...
    def duties_done(self) -> bool: ...


class Lifecycle:
    """The machine's model. Guards are delegated to the incident so that they read the
    same state the validators read."""

    state: str

    def __init__(self, guards: Guards, stage: str = "reported",
                 on_stage_change: Callable[[str, str], None] | None = None):
        self._guards = guards
        self._on_stage_change = on_stage_change
        self.machine = Machine(
            model=self,
            states=STAGES,
            transitions=TRANSITIONS,
            initial=stage,
            auto_transitions=False,
            after_state_change="_stage_changed",
            send_event=True,
        )

    # named guards (pytransitions calls them with the event when send_event=True)
    def all_signatories_approved(self, _event=None) -> bool:
        return self._guards.all_signatories_approved()

    def termination_is_others(self, _event=None) -> bool:
        return self._guards.termination_is_others()

    def duties_done(self, _event=None) -> bool:
        return self._guards.duties_done()

    def _stage_changed(self, event) -> None:
        if self._on_stage_change and event.transition.dest is not None:
            self._on_stage_change(event.transition.source, event.transition.dest)

    @property
    def stage(self) -> str:
        return self.state

    def allowed(self, trigger: str) -> bool:
        """Is the action allowed in the current stage (guards aside)?"""
        return trigger in self.machine.get_triggers(self.state)

    def stages_for(self, trigger: str) -> list[str]:
        """The stages in which an action is allowed, in life-cycle order."""
        return [s for s in STAGES if trigger in self.machine.get_triggers(s)]

    def fire(self, trigger: str) -> None:
        """Run a trigger whose preconditions the caller has checked; a guard that still
        says no is a bug, not bad input, so it raises."""
        if not self.trigger(trigger):
            raise RuntimeError(f"guard refused {trigger} in {self.state}")
