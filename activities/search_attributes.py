"""Custom search attributes: the supervisor views are visibility queries over these. The
incident sets them (workflows/publishing.py), the views query them
(activities/supervisor_views.py), the dev server declares them (ecoplan/server.py); they sit
in the lowest of those layers.

They must fit the dev server's SQLite visibility limits per namespace: at most 3 each of
Datetime / KeywordList / Bool and 10 Keyword (docs/design.md, "Supervisor views").
"""

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("EcoStage")
LEVEL = SearchAttributeKey.for_keyword("EcoLevel")
COUNTY = SearchAttributeKey.for_keyword("EcoCounty")
INCIDENT_TYPE = SearchAttributeKey.for_keyword("EcoIncidentType")
PLAN = SearchAttributeKey.for_keyword("EcoPlan")
NEXT_DEADLINE = SearchAttributeKey.for_keyword("EcoNextDeadline")
OUTCOME = SearchAttributeKey.for_keyword("EcoOutcome")
# Internal faults supervisors must see (calendar_unavailable, delivery_overdue, delivery_failed), comma-joined.
FAULT = SearchAttributeKey.for_keyword("EcoFault")
# Open deadlines whose due date is provisional (a year without a holiday notice), comma-joined.
PROVISIONAL = SearchAttributeKey.for_keyword("EcoProvisional")

STAGE_ENTERED_AT = SearchAttributeKey.for_datetime("EcoStageEnteredAt")
NEXT_DEADLINE_AT = SearchAttributeKey.for_datetime("EcoNextDeadlineAt")
OVERDUE_SINCE = SearchAttributeKey.for_datetime("EcoOverdueSince")  # earliest due time among overdue deadlines

OVERDUE = SearchAttributeKey.for_keyword_list("EcoOverdue")  # overdue deadline names
PENDING_SIGNOFFS = SearchAttributeKey.for_keyword_list("EcoPendingSignoffs")  # group ids
WAITING_ON = SearchAttributeKey.for_keyword_list("EcoWaitingOn")  # people/roles who must act

DRILL = SearchAttributeKey.for_bool("EcoDrill")

ALL = [
    STAGE, LEVEL, COUNTY, INCIDENT_TYPE, PLAN, NEXT_DEADLINE, OUTCOME, FAULT, PROVISIONAL,
    STAGE_ENTERED_AT, NEXT_DEADLINE_AT, OVERDUE_SINCE,
    OVERDUE, PENDING_SIGNOFFS, WAITING_ON,
    DRILL,
]

_CLI_TYPE = {
    "KEYWORD": "Keyword", "DATETIME": "Datetime", "KEYWORD_LIST": "KeywordList", "BOOL": "Bool",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPE[key.indexed_value_type.name]}"]
    return flags
