"""Who may do what: the plan's roles and its authority table (accounts act in a role)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from plan.models.base import Strict, wrong


# ---------------------------------------------------------------- who may do what (accounts)

RoleId = Literal["duty_officer", "commander", "deputy_commander", "lead", "supervisor", "partner", "admin"]
ROLE_IDS = ("duty_officer", "commander", "deputy_commander", "lead", "supervisor", "partner", "admin")
# How an actor was authenticated (recorded with every action).
Via = Literal["web", "api", "oidc", "cli", "intake", "schedule"]


class Cited(Strict):
    """A rule from the plan (`source`: its section) or a local choice (`local_choice`: why),
    or a plan rule with a local reading (both)."""

    source: str | None = None
    local_choice: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> "Cited":
        if not (self.source or self.local_choice):
            raise wrong("须写明出处：预案章节写在 source，本地选择写在 local_choice（注明理由），至少写一项")
        return self


class RoleSpec(Cited):
    id: RoleId
    name: str  # as the plan names it; recorded as the actor's role
    duties: str
    reads: Literal["all", "led", "bulletins", "none"]


class AuthorityRule(Cited):
    action: str  # a Workflow Update name, or start_incident
    name: str  # the action as a person reads it (zh-CN)
    roles: list[RoleId]
    named_lead_only: bool = False  # only the account named at dispatch to lead the group
    # The act needs the approval of an account of these roles: the actor, when it holds one,
    # or the approver it names (附件1: activation 经…总指挥批准).
    approver_roles: list[RoleId] = []
    approver_post: str = ""  # the approver as the plan names the post, e.g. 总指挥
