"""Who is told what (plan/paging_data/<plan id>.yaml): the posts of a duty shift (值班表), the
escalation chain and window of a page, and for each event the people it goes to, named as
duty posts (`duty:officer`), account roles (`role:commander`) or the incident's `leads`.
Pure data: resolving a target to people is the callers' (ecoplan/paging_people.py)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from plan.loader import DEFAULT_PLAN_ID, PlanError, validation_message

PAGING_DIR = Path(__file__).parent / "paging_data"  # not plans/: those files are plans

CHANNELS = ("dingtalk", "wecom", "sms", "email")
CHANNEL_NAMES = {"dingtalk": "钉钉", "wecom": "企业微信", "sms": "短信", "email": "电子邮件"}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(_Model):
    minutes: int = 0
    hours: int = 0

    @property
    def delta(self) -> timedelta:
        return timedelta(minutes=self.minutes, hours=self.hours)


def _target(value: str) -> str:
    kind, _, name = value.partition(":")
    if value == "leads" or (kind in ("duty", "role") and name):
        return value
    raise ValueError(f"收件对象 {value!r} 应为 duty:<岗位>、role:<角色> 或 leads")


class DutyPost(_Model):
    id: str
    name: str
    required: bool = True
    source: str


class Escalation(_Model):
    chain: list[str]
    window: Span
    channel_order: list[str]
    link_valid: Span
    source: str
    local_choice: Optional[str] = None

    _chain = field_validator("chain", mode="after")(lambda cls, v: [_target(t) for t in v])

    @field_validator("channel_order")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in CHANNELS]
        if unknown:
            raise ValueError(f"未知渠道 {unknown}，可用 {list(CHANNELS)}")
        return v


class Event(_Model):
    id: str
    name: str
    to: list[str]
    page: bool = False  # True: acknowledgement asked for and escalation when none comes
    before: Optional[Span] = None
    source: str
    local_choice: Optional[str] = None

    _to = field_validator("to", mode="after")(lambda cls, v: [_target(t) for t in v])


class Paging(_Model):
    plan: str
    source: str
    duty_posts: list[DutyPost]
    escalation: Escalation
    events: list[Event]

    def post(self, post_id: str) -> DutyPost | None:
        return next((p for p in self.duty_posts if p.id == post_id), None)

    def event(self, event_id: str) -> Event | None:
        return next((e for e in self.events if e.id == event_id), None)

    @property
    def post_names(self) -> dict[str, str]:
        return {p.id: p.name for p in self.duty_posts}


@lru_cache(maxsize=4)
def load_paging(plan_id: str = DEFAULT_PLAN_ID, path: Path | None = None) -> Paging:
    path = path or PAGING_DIR / f"{plan_id}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        paging = Paging.model_validate(data)
    except OSError as e:
        raise PlanError(f"通知配置文件无法读取：{path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise PlanError(f"通知配置文件不是有效的 YAML：{path}: {str(e).splitlines()[0]}") from None
    except ValidationError as e:
        raise PlanError(validation_message(e, f"{path.name}: ")) from None
    posts = {p.id for p in paging.duty_posts}
    for t in [*paging.escalation.chain, *(t for e in paging.events for t in e.to)]:
        if t.startswith("duty:") and t[5:] not in posts:
            raise PlanError(f"{path.name}: 值班岗位 {t[5:]} 未在 duty_posts 中列出")
    return paging
