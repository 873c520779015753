"""The organisation (2.x, 附表3) and the response levels (4.1)."""

from __future__ import annotations

from plan.models.base import GroupId, Level, Strict


# ---------------------------------------------------------------- organisation (2.x, 附表3)


class Post(Strict):
    role: str  # e.g. 指挥, 副指挥
    holder: str  # the office that holds it, e.g. 市生态环境局局长
    # Named people who may act in this role (issue: commander approval by the commander or a
    # named deputy). Empty in the shipped plan: it names offices, not persons.
    people: list[str] = []


class Headquarters(Strict):
    name: str
    commander: Post
    deputy_commanders: list[Post]
    member_units: list[str]
    source: str


class Office(Strict):
    name: str
    located_in: str
    director: str
    deputy_director: str
    duties: list[str]
    source: str


class MemberUnit(Strict):
    name: str
    duties: list[str]
    source: str


class WorkGroup(Strict):
    id: GroupId
    name: str
    lead_units: list[str]
    members: list[str] = []
    duties: list[str]
    source: str


class Organisation(Strict):
    headquarters: Headquarters
    office: Office
    member_units: list[MemberUnit]
    county_bureaus: str  # 2.4 事发地县（区）生态环境分局 role, as text
    county_bureaus_source: str


# ---------------------------------------------------------------- levels and responses (4.1)


class ResponseAction(Strict):
    text: str
    source: str


class LevelSpec(Strict):
    id: Level
    name: str  # 特别重大 / 重大 / 较大 / 一般
    response_name: str  # e.g. III级响应
    led_by: str  # who leads the response at this level
    builds_on: Level | None = None  # II and I build on the level below (4.1.3, 4.1.4)
    reports_to: list[str]
    asks_city_to_start: bool  # the bureau asks the city HQ to start the city plan (4.1.2-4.1.4)
    actions: list[ResponseAction]
    source: str
