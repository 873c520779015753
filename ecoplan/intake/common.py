"""What the intake's modules share: the platforms, the limits."""

from __future__ import annotations

import re
from datetime import timedelta

import structlog

from ecoplan import api_docs, body_limit


log = structlog.get_logger("intake")

PLATFORMS: dict[str, str] = {"hotline_12369": "12369环保举报热线", "linkage_119": "119指挥平台"}
PLATFORM_CODE: dict[str, str] = {"hotline_12369": "12369", "linkage_119": "119"}
TYPE_LABEL: dict[str, str] = {"water": "水污染", "air": "大气污染", "soil": "土壤污染",
                              "hazardous_chemicals": "危险化学品泄漏", "solid_waste": "固体废物污染",
                              "other": "突发环境事件"}
TOKENS_ENV, TOKENS_FILE_ENV = "ECOPLAN_INTAKE_TOKENS", "ECOPLAN_INTAKE_TOKENS_FILE"
MIN_TOKEN_LENGTH = 16
MAX_BODY_BYTES = body_limit.MAX_BODY_BYTES  # counted as the body streams in (ecoplan/body_limit.py)
FUTURE_TOLERANCE = timedelta(minutes=5)  # platform clocks drift; the workflow allows the same
NEW_INCIDENT_FIELDS = ("county", "location", "incident_type", "reporter")
PUBLIC_PATHS = frozenset({"/openapi.json", *api_docs.PATHS})  # the API page and its files: no token

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")
