"""The incident life cycle as a `transitions` state machine, declared as data.

The stages are here; each action declares its own moves (trigger, source stages, dest,
named guards) beside its rules in `workflows/actions/`, and the registry hands them all to
`Lifecycle`. An action that does not change the stage is an internal transition (dest
None), so the machine is the one place that says which action is allowed in which stage.
Guards are named conditions on the incident's state; the sentences a person reads come from
the actions' checks, the guards are the last word.

The machine judges a state it is given (`fire(trigger, state, at)`): it is set to that
state's stage first, so an action can move a copy of the state and the live one stays as it
was until the copy is swapped in. It keeps nothing of an incident between calls, so one
machine serves every incident of a worker (`workflows.actions.lifecycle()`); building one
per incident cost 3-10 ms of a replayed incident's 125-135 ms of CPU in the sandbox.
Incidents' tasks run on several threads: `fire` holds a lock while it sets the machine to a
state and moves it.

Plain `transitions` only (no `transitions.extensions`: it pulls in threading); the
workflow imports this module through the sandbox passthrough.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Callable

from transitions import Machine

from plan.stages import STAGES

RESPONSE = ["responding", "on_site"]
OPEN = STAGES[:-1]


class Lifecycle:
    """The machine's model, one per worker. `guards` maps each guard's name to a function
    of the incident's state."""

    state: str

    def __init__(self, transitions: list[dict], guards: dict[str, Callable[[Any], bool]]):
        self._s: Any = None
        self._at: datetime | None = None
        self._lock = threading.Lock()  # one incident's move at a time (see the module's docstring)
        for name, fn in guards.items():
            setattr(self, name, lambda _event=None, fn=fn: fn(self._s))
        self.machine = Machine(model=self, states=STAGES, transitions=transitions, initial=STAGES[0],
                               auto_transitions=False, after_state_change="_moved", send_event=True)
        self._allowed = {st: set(self.machine.get_triggers(st)) for st in STAGES}

    def allowed(self, trigger: str, stage: str) -> bool:
        """Is the action allowed in this stage (guards aside)?"""
        return trigger in self._allowed[stage]

    def stages_for(self, trigger: str) -> list[str]:
        """The stages in which an action is allowed, in life-cycle order."""
        return [st for st in STAGES if trigger in self._allowed[st]]

    def fire(self, trigger: str, s: Any, at: datetime) -> None:
        """Run a trigger on state `s` whose preconditions the caller has checked; a guard that
        still says no is a bug, not bad input, so it raises. A move sets the stage, the
        business time it was entered (`at`) and counts the entry."""
        with self._lock:
            self._s, self._at = s, at
            try:
                self.machine.set_state(s.stage)
                if not self.trigger(trigger):
                    raise RuntimeError(f"guard refused {trigger} in {s.stage}")
            finally:
                self._s = None

    def _moved(self, event) -> None:
        if event.transition.dest is not None:
            s = self._s
            s.stage, s.stage_entered_at = event.transition.dest, self._at
            s.stage_entries += 1
