"""Deterministic orchestration: IncidentWorkflow and its stage machine. No I/O here."""
