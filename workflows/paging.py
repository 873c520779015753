"""One page (呼叫), one workflow (`page-<id>`): who it goes to is worked out when it starts
(ecoplan/paging_people.py, an activity); it goes to the first person on their first channel,
waits the plan's window (a durable timer) for an acknowledgement, then tries their next channel,
then the next person in the chain (值班员 → 带班领导 → 副指挥 → 指挥, plan 4.2.2). A channel that
fails is retried with backoff by the activity, then the page falls back to the next channel.
Acknowledged (Update `acknowledge`: the console's link, `POST /api/pages/{id}/ack`, `ecoplan ack`),
it stops. Every step is kept in the workflow's `steps` (query `status`) and the page's state in
the page store for the console. An event that asks for no acknowledgement is told once to each.

Sends carry an idempotency key (page / person / channel) checked by the activity, so a worker
SIGKILLed mid-page resumes from history and never sends the same thing twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.paging import PagePlan, PageRecord, PageRequest, SendInput

DRILL_PREFIX = "【演练】"
PLAN = dict(start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)))
# A channel's send: retried with backoff (1 s, 2 s, 4 s), then the page falls back to the next channel.
SEND = dict(start_to_close_timeout=timedelta(seconds=40),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                     maximum_attempts=3, non_retryable_error_types=["Hopeless"]))
RECORD = dict(start_to_close_timeout=timedelta(seconds=10),
              retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)))


class Ack(BaseModel):
    by: str  # the username acknowledging
    via: str  # link | api | cli | web


class PageStatus(BaseModel):
    page_id: str
    incident_id: str
    event: str
    state: str  # planning | open | acknowledged | exhausted | told
    current: str = ""  # the username it is with
    acked_by: str = ""
    steps: list[dict] = []


def page_workflow_id(page_id: str) -> str:
    return f"page-{page_id}"


@workflow.defn
class PagingWorkflow:
    def __init__(self) -> None:
        self.req: PageRequest | None = None
        self.st = PageStatus(page_id="", incident_id="", event="", state="planning")
        self.ack: Ack | None = None
        self._told: list[asyncio.Task] = []  # the incident's timeline being told of each step

    @workflow.run
    async def run(self, req: PageRequest) -> PageStatus:
        st = await self._page(req)
        await asyncio.gather(*self._told)  # every step on the incident's timeline before the page ends
        return st

    async def _page(self, req: PageRequest) -> PageStatus:
        if req.drill and not req.subject.startswith(DRILL_PREFIX):
            req = req.model_copy(update={"subject": DRILL_PREFIX + req.subject})
        self.req = req
        self.st = PageStatus(page_id=req.page_id, incident_id=req.incident_id, event=req.event, state="planning")
        plan: PagePlan = await workflow.execute_activity("plan_page", req, result_type=PagePlan, **PLAN)
        if not plan.people:
            self._step("", "", "nobody", "无人可通知：值班表、账号或联系方式缺失")
            self.st.state = "exhausted"
            await self._record("")
            return self.st
        if not plan.ack:
            await self._tell_all(plan)
            return self.st
        self.st.state = "open"
        for i, person in enumerate(plan.people):
            self.st.current = person.username
            if i:
                self._step(person.username, "", "escalated", f"升级至 {person.label}（{person.target}）")
            await self._record("")
            link = await workflow.execute_activity("page_link", [req.page_id, person.username, plan.link_valid_s],
                                                   result_type=str, **PLAN)
            if not person.channels:
                self._step(person.username, "", "failed", f"{person.label} 没有可用的联系方式")
            for ch in person.channels:
                if self.ack is not None:  # acknowledged meanwhile (from the console's list): send no more
                    break
                if not await self._send(person.username, ch.channel, ch.address, link):
                    continue
                await self._record(ch.channel)
                try:
                    await workflow.wait_condition(lambda: self.ack is not None, timeout=timedelta(seconds=plan.window_s))
                except TimeoutError:
                    self._step(person.username, ch.channel, "unacknowledged", f"{int(plan.window_s // 60)} 分钟内未确认")
                    continue
                return await self._acknowledged()
            if self.ack is not None:
                return await self._acknowledged()
        self.st.state = "exhausted"
        self._step("", "", "exhausted", "呼叫链上无人确认")
        await self._record("")
        return self.st

    async def _send(self, username: str, channel: str, address: str, link: str) -> bool:
        r = self.req
        inp = SendInput(page_id=r.page_id, incident_id=r.incident_id, username=username, channel=channel,
                        address=address, subject=r.subject, body=r.body, link=link)
        try:
            said = await workflow.execute_activity("send_page", inp, result_type=str, **SEND)
        except ActivityError as e:
            self._step(username, channel, "failed", str(e.cause or e)[:200])
            return False
        self._step(username, channel, "sent" if said == "sent" else said, "")
        return True

    async def _tell_all(self, plan: PagePlan) -> None:
        for person in plan.people:
            for ch in person.channels:
                if await self._send(person.username, ch.channel, ch.address, ""):
                    break
            else:
                self._step(person.username, "", "failed", f"{person.label} 未能通知")
        self.st.state = "told"
        await self._record("")

    async def _acknowledged(self) -> PageStatus:
        self.st.state, self.st.acked_by = "acknowledged", self.ack.by
        await self._record("")
        return self.st

    def _step(self, username: str, channel: str, what: str, detail: str) -> None:
        step = {"at": workflow.now().isoformat(), "username": username, "channel": channel, "step": what,
                "detail": detail}
        self.st.steps.append(step)
        before = self._told[-1] if self._told else None
        self._told.append(asyncio.create_task(self._tell(step, before)))

    async def _tell(self, step: dict, before: asyncio.Task | None) -> None:
        """The step on the incident's timeline (its `page_step` signal), after the step before it
        (signals sent from separate tasks may otherwise arrive out of order); an incident that is
        gone (closed, or a test's page with none) leaves it in this page's own steps only."""
        r = self.req
        if before is not None:
            await before
        try:
            await workflow.get_external_workflow_handle(f"incident-{r.incident_id}").signal(
                "page_step", {**step, "page_id": r.page_id, "event": r.event})
        except Exception:  # noqa: BLE001 - the page goes on whatever the incident's state
            pass

    async def _record(self, channel: str) -> None:
        r = self.req
        await workflow.execute_activity(
            "record_page", PageRecord(page_id=r.page_id, incident_id=r.incident_id, event=r.event, subject=r.subject,
                                      username=self.st.current, state=self.st.state, channel=channel, drill=r.drill,
                                      acked_by=self.st.acked_by), **RECORD)

    @workflow.update
    def acknowledge(self, ack: Ack) -> str:
        self.ack = ack
        self._step(ack.by, "", "acknowledged", f"经{ {'link': '确认链接', 'api': 'API', 'cli': '命令行', 'web': '控制台'}.get(ack.via, ack.via)}确认")
        return "已确认收到"

    @acknowledge.validator
    def _may_acknowledge(self, ack: Ack) -> None:
        if self.st.state not in ("open", "planning"):
            raise ValueError({"acknowledged": "该呼叫已确认", "exhausted": "该呼叫已结束（无人确认）",
                              "told": "该通知无需确认"}.get(self.st.state, "该呼叫已结束"))
        if self.ack is not None:
            raise ValueError("该呼叫已确认")

    @workflow.query
    def status(self) -> PageStatus:
        return self.st
