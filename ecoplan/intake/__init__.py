"""The HTTP intake for the 12369 hotline platform and the 119 command platform (issue 7).

郑环办〔2013〕84号 (seed 000) asks the bureau to connect 12369 环保举报热线 and the 119
指挥平台 (互联互通，及时通报接警信息); this service is that connection on the bureau's side.
A platform POSTs an alert (接警信息) to `/alerts`:

- a new alert starts an incident (`api.start_incident`) whose id is derived from the
  platform and the platform's own alert id, so a repeated or concurrent post of the same
  alert names the same incident and never starts a second one (Temporal's workflow-id
  uniqueness decides: the loser gets `IncidentExists`);
- an alert that names an existing incident (`incident_id`) becomes a progress report
  (续报, `submit_report`) on it, recorded once per platform alert id.

Each request carries its platform's token (`Authorization: Bearer <token>`); the token
says which platform is speaking. Tokens come from `ECOPLAN_INTAKE_TOKENS`
("hotline_12369=TOKEN1,linkage_119=TOKEN2") or a file named by `ECOPLAN_INTAKE_TOKENS_FILE`
(the same pairs, one a line or comma-separated; `#` comments). Token values are never logged.

Responses: 201 {incident_id, created: true, ...} the first time; 200 {…, created: false}
for a repeat; 401 unknown or missing token (nothing touched); 404 the named incident does
not exist; 409 the incident refused (its own sentence); 413 body too large; 422 bad input
(the message names the field); 503 Temporal unreachable (retry: the post is idempotent).
The OpenAPI schema is served at /openapi.json, the API page at /docs (ecoplan/api_docs.py: offline,
under the same Content-Security-Policy as the console's).

Modules: alert (the request and response bodies), tokens (the platforms' tokens and the
gate that checks them), mapping (alert → incident report or 续报), service (the app and
`ecoplan intake`); common names are in common.
"""

from ecoplan.intake.alert import (Alert, AlertAccepted, Casualties, FieldProblem, FireInfo, Problem,
                                  ValidationProblem, _problem)
from ecoplan.intake.common import (FUTURE_TOLERANCE, MAX_BODY_BYTES, MIN_TOKEN_LENGTH, NEW_INCIDENT_FIELDS,
                                   PLATFORM_CODE, PLATFORMS, PUBLIC_PATHS, TOKENS_ENV, TOKENS_FILE_ENV, TYPE_LABEL)
from ecoplan.intake.mapping import (incident_id_for, incident_report, platform_actor, progress_marker,
                                    progress_report)
from ecoplan.intake.service import ClientFactory, create_app, serve
from ecoplan.intake.tokens import TokenConfigError, TokenSpec, parse_tokens, tokens_from_env

__all__ = ["Alert", "AlertAccepted", "Casualties", "ClientFactory", "FUTURE_TOLERANCE", "FieldProblem", "FireInfo",
           "MAX_BODY_BYTES", "MIN_TOKEN_LENGTH", "NEW_INCIDENT_FIELDS", "PLATFORMS", "PLATFORM_CODE", "PUBLIC_PATHS",
           "Problem", "TOKENS_ENV", "TOKENS_FILE_ENV", "TYPE_LABEL", "TokenConfigError", "TokenSpec",
           "ValidationProblem", "_problem", "create_app", "incident_id_for", "incident_report", "parse_tokens",
           "platform_actor", "progress_marker", "progress_report", "serve", "tokens_from_env"]
