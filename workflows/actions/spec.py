"""What an action is, declared once (`ActionSpec`), and what its check hands to its apply
(`Checked`). The registry (`workflows.actions`) collects the specs from the modules beside
this one; the workflow's Updates, the console's forms, the API's endpoints and the CLI's
commands are all made from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from workflows.actions.form import FormField


@dataclass(frozen=True)
class Checked:
    """What an action's check worked out: its business time (`at`) and, for some actions,
    one more value the apply uses (the level, the report's header, the review date, …)."""

    at: datetime
    value: Any = None


@dataclass(frozen=True)
class Offer:
    """How the console offers an action on an incident as it stands: its title at this level
    and the inputs fixed for this offer (e.g. which other body's act it records)."""

    title: str = ""  # empty: the action's own name
    fixed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CliOption:
    """One option of the action's CLI command: `--flag` fills input field `field`.
    kind: text | int | date | flag (a switch that sets `value`, else `default`) | many
    (repeatable, a list) | pairs (repeatable KEY=VALUE, a dict) | choice (one of the two words in
    `value`: the first sets True, the second False) | report_file (a report file: its content and
    header) | approver (the account that approved, 附件1) | lead (also who acts, by default) |
    no_wait (send the action as a fire-and-forget signal). A `field` with a dot nests: the
    options of one nested object are given together or not at all."""

    flag: str
    field: str
    kind: str = "text"
    help: str = ""
    required: bool = False
    value: Any = True  # for a flag: what it sets (its absence sets `default`)
    default: Any = None


@dataclass(frozen=True)
class ActionSpec:
    """One human action on an incident.

    - `name`: the Workflow Update's name and the API's path segment (the contract);
    - `input`: its input model (workflows/messages.py), `title`: what the person does, in
      the plan's Chinese; `source`: the article of the plan or the law it carries out;
    - `moves`: its life-cycle transitions (`trigger`, `source` stages, `dest`, `conditions`
      naming guards in `guards`): the stages it is allowed in come from here;
    - `check(state, lifecycle, input, now) -> Checked`, raising `Refused` with the sentence;
      who may take it is the plan's authority table (plan/authority.py), checked in every check;
    - `apply(recorder, input, checked, prepared) -> reply`: the change, on a copy of the
      state; no awaits. `prepared` holds the calendar's answers for the deadlines it starts;
    - `starts(state, input, checked) -> [(deadline, start, level)]`: the deadlines whose times
      it needs from the working-day calendar (those it starts); with `needs_calendar`, an
      unavailable calendar refuses the action instead of leaving the deadline `scheduling`;
    - `form(plan, status, username) -> [FormField]`: the console's form;
    - `cli`: the CLI command's name, summary and options;
    - `offers(status) -> [Offer]`: what the console offers at the incident's level (see below)."""

    name: str
    input: type
    title: str
    source: str
    moves: tuple[dict, ...]
    check: Callable[..., Checked]
    apply: Callable[..., str]
    guards: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    starts: Callable[..., list] | None = None
    needs_calendar: bool = False
    form: Callable[..., list[FormField]] = lambda plan, st, username: []
    cli: str = ""
    cli_help: str = ""
    cli_options: tuple[CliOption, ...] = ()
    with_time: bool = True  # the form and the command take `at` and `backdate_reason`
    # Also taken as a fire-and-forget signal `<name>_signal`: checked like the Update; an invalid
    # or stale one is recorded as rejected with the sentence saying why, and changes nothing else.
    signal: bool = False
    # For the console and the API, which act for a logged-in account: input fields the server
    # fills with the account's username when the body leaves them out (a lead signs as itself),
    # and fields naming accounts by username, each of which must be an enabled account whose
    # role may take the action named here (the leads named at dispatch sign 附件2).
    account_fills: tuple[str, ...] = ()
    names_accounts: dict[str, str] = field(default_factory=dict)
    # What the console offers, from the incident's status (its per-level `duties`): no offer
    # where the action cannot be taken at this level (another body's act), else one per
    # variant, titled as this level makes it. None: the action as it is, when the stage allows.
    offers: Callable[[dict], list[Offer]] | None = None

    @property
    def enters(self) -> set[str]:
        """The stages the action can move the incident into."""
        return {t["dest"] for t in self.moves if t.get("dest")}
