"""The incident engine of ecoplan 1.x, frozen: incidents begun before the 2.0 engine
(`workflows/incident.py`) keep running, and their recorded histories keep replaying, on
exactly the commands they were recorded with. IncidentWorkflow hands such an incident to
this class when `workflow.patched("incident-2")` is false for it (no 2.0 marker in its
history). Do not change what this code emits; delete it once no incident begun before
2.0 can still be running or be queried (tests/histories/README.md says how to tell).

A 1.x incident that continues as new starts its next run on the 2.0 engine, which adopts
its state (`workflows.incident.adopt_v1`).

The engine is split by concern, each module a mixin of IncidentV1 with its code moved
verbatim: `engine.py` (run loop, continue-as-new, status, the other actions), `deadlines.py`,
`termination.py`, `linkage.py`, `effects.py`, `publishing.py`; `common.py` the shared
imports and constants.
"""

from workflows.legacy.engine import VALIDATORS, IncidentV1  # noqa: F401
