"""Who a page goes to, worked out when it is sent (an activity: the roster, the accounts and
the contacts are read then, not when the plan was written): the event's targets from
plan/paging_data, then for a page the rest of the escalation chain (值班员 → 带班领导 → 副指挥 →
指挥, plan 4.2.2), each target resolved to people through the duty roster (duty:), the accounts
(role:) or the incident's named leads; each person with their channels in the plan's order,
channels that are down now moved to the end.

A drill (issue 23) pages its participants only (`PageRequest.participants`: usernames, the drill's
starter first). Its page goes to the people it would reach for a real incident (the same targets,
chain, roster, accounts and named leads, in the same order), limited to the drill's participants;
when none of them would be reached, it goes to the drill's starter, who runs the drill and so hears
what nobody in it would have (the 总指挥's approval, say, when no 指挥 takes part). Nobody outside
the list is ever paged, and every subject starts 【演练】 (workflows/paging.py)."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.page_store import PageStore
from activities.paging import Channel, PagePerson, PagePlan, PageRequest
from ecoplan import page_links
from ecoplan.accounts import AccountStore
from ecoplan.contacts import ContactStore, configured_channels
from ecoplan.duty_roster import DutyStore
from plan.calendar import SHANGHAI
from plan.paging import Paging, load_paging


def targets(paging: Paging, event_id: str) -> list[str]:
    """The event's targets; for a page, then the chain after the last of them it holds."""
    event = paging.event(event_id)
    if event is None:
        raise ApplicationError(f"unknown paging event {event_id}", non_retryable=True)
    out = list(event.to)
    if event.page:
        chain = paging.escalation.chain
        after = max((chain.index(t) + 1 for t in out if t in chain), default=0)
        out += [t for t in chain[after:] if t not in out]
    return out


class PagingPeople:
    def __init__(self, accounts_path=None):
        self.accounts_path = accounts_path

    @activity.defn
    def plan_page(self, req: PageRequest) -> PagePlan:
        paging = load_paging()
        accounts = AccountStore(self.accounts_path)
        enabled = {a.username: a for a in accounts.list() if not a.disabled}
        contacts = ContactStore(accounts.target).all()
        at = req.at or datetime.now(SHANGHAI)
        on_duty = DutyStore(accounts.target).on_duty(at)
        configured = configured_channels()
        down = set(PageStore.beside(accounts.target).channels_down())
        order = [c for c in paging.escalation.channel_order if c in configured]
        order = [c for c in order if c not in down] + [c for c in order if c in down]
        people: list[PagePerson] = []
        seen: set[str] = set()
        for t in targets(paging, req.event):
            for username in self._resolve(t, on_duty, enabled, req.leads):
                if username in seen or username not in enabled:
                    continue
                if req.drill and username not in req.participants:
                    continue  # a drill tells its participants only
                seen.add(username)
                people.append(self._person(username, t, enabled, contacts, order))
        starter = req.participants[0] if req.participants else ""
        if req.drill and not people and starter in enabled:  # no participant would be reached: its starter
            people.append(self._person(starter, "drill", enabled, contacts, order))
        event = paging.event(req.event)
        window, valid = paging.escalation.window.delta.total_seconds(), paging.escalation.link_valid.delta.total_seconds()
        # Each person's signed link is made here, in the one activity that plans the page (not an
        # activity per person: a round trip fewer before the first send). Made now, it is valid
        # for the plan's lifetime plus the longest wait before the page can reach them.
        waits = sum(len(p.channels) for p in people) * window
        links = {p.username: page_links.make(req.page_id, p.username, valid + waits) for p in people} if event.page else {}
        return PagePlan(people=people, window_s=window, ack=event.page, link_valid_s=valid, links=links)

    @staticmethod
    def _person(username: str, target: str, enabled: dict, contacts: dict, order: list[str]) -> PagePerson:
        c = contacts.get(username)
        chans = [Channel(channel=ch, address=c.address(ch)) for ch in order if c and c.address(ch)]
        return PagePerson(username=username, label=enabled[username].label, target=target, channels=chans)

    @staticmethod
    def _resolve(target: str, on_duty, enabled: dict, leads: list[str]) -> list[str]:
        kind, _, name = target.partition(":")
        if kind == "duty":
            return [u for s in on_duty for u in s.people.get(name, [])]
        if kind == "role":
            return sorted(u for u, a in enabled.items() if a.role == name)
        return list(leads) if target == "leads" else []

    @activity.defn
    def page_link(self, page_id_user_valid: list) -> str:
        """The signed acknowledgement link for one person ([page id, username, seconds valid])."""
        page_id, username, valid = page_id_user_valid
        return page_links.make(page_id, username, float(valid))
