"""The README's pictures of a page (issue 23): the e-mail as a real SMTP server (aiosmtpd)
received it from the e-mail channel, and the console's panel of one's own open pages (the
account page, served by the real app over HTTP). Chromium (Debian's, /usr/bin/chromium).

    python docs/screenshots/paging_shots.py      writes page-email.png, console-my-pages.png here
"""

from __future__ import annotations

import asyncio
import html
import os
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
CHROMIUM = os.environ.get("ECOPLAN_CHROMIUM", "/usr/bin/chromium")
INCIDENT = "YQ-20261207-003"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Box:
    raw: bytes = b""

    async def handle_DATA(self, server, session, envelope):
        self.raw = envelope.content
        return "250 OK"


def setup(home: Path, smtp_port: int):
    os.environ.update({"ECOPLAN_HOME": str(home), "ECOPLAN_ACCOUNTS_DB": str(home / "accounts.db"),
                       "ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(smtp_port), "ECOPLAN_SMTP_TLS": "none",
                       "ECOPLAN_SMTP_FROM": "yjzb@yqhb.example.gov.cn", "ECOPLAN_PAGE_LINK_SECRET": "screenshot-key",
                       "ECOPLAN_CONSOLE_URL": "https://yj.yqhb.example.gov.cn"})
    from argon2 import PasswordHasher

    from ecoplan.accounts import AccountStore
    from ecoplan.contacts import ContactStore

    store = AccountStore(home / "accounts.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    store.add("wangwei", "duty_officer", "pw-wangwei-桃河-2026", display="王伟")
    ContactStore(store.path).set("wangwei", email="wangwei@yqhb.example.gov.cn", mobile="13800001234")
    return store


def send_the_page(home: Path) -> None:
    """A new incident's page, made and sent the way the page workflow's activities do."""
    from activities.page_store import PageStore
    from activities.paging import PageActivities, SendInput
    from activities.page_events import new_incident_body
    from ecoplan.paging_people import PagingPeople
    from plan.calendar import SHANGHAI
    from plan.incident import IncidentReport

    now = datetime.now(SHANGHAI)
    report = IncidentReport(incident_id=INCIDENT, title="桃河化工厂储罐泄漏", county="平定县", location="冶西镇桃河段",
                            incident_type="water", discovered_at=now - timedelta(minutes=25),
                            reported_at=now - timedelta(minutes=20), description="储罐泄漏，部分物料进入桃河",
                            source="hotline_12369", reporter="刘报告")
    page_id = f"{INCIDENT}-new_incident-3f9c1a"
    subject = f"新接报事件：{report.title}"
    store = PageStore(home / "pages.db")
    store.put_page(page_id, INCIDENT, "new_incident", subject, "wangwei", "open", "email")
    link = PagingPeople().page_link([page_id, "wangwei", 86400])
    PageActivities(store).send_page(SendInput(page_id=page_id, incident_id=INCIDENT, username="wangwei", channel="email",
                                              address="wangwei@yqhb.example.gov.cn", subject=subject,
                                              body=new_incident_body(report.model_dump(mode="json")), link=link))
    store.put_page(f"incident-{INCIDENT}-e7", INCIDENT, "report_due", "即将到期（30分钟后）：初报 — 桃河化工厂储罐泄漏",
                   "wangwei", "open", "email")


def mail_html(raw: bytes) -> str:
    """The message as a mail client shows it: its headers decoded, its text as sent."""
    m = message_from_bytes(raw)
    head = "".join(f"<tr><th>{name}</th><td>{html.escape(str(make_header(decode_header(m[key] or ''))))}</td></tr>"
                   for key, name in [("From", "发件人"), ("To", "收件人"), ("Date", "日期"), ("Subject", "主题"),
                                     ("Message-ID", "Message-ID")])
    body = html.escape(m.get_payload(decode=True).decode(m.get_content_charset() or "utf-8"))
    body = body.replace("确认收到：", "确认收到：<br>")
    return ("<html><head><meta charset='utf-8'><style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:24px;"
            "background:#f4f5f7}.mail{background:#fff;border:1px solid #ccd;border-radius:6px;padding:20px;max-width:760px}"
            "th{text-align:left;color:#666;font-weight:normal;padding:3px 14px 3px 0;vertical-align:top}"
            "td{padding:3px 0}table{border-bottom:1px solid #dde;padding-bottom:10px;margin-bottom:14px}"
            "pre{white-space:pre-wrap;word-break:break-all;font:15px/1.7 'Noto Sans CJK SC',sans-serif}</style></head>"
            f"<body><div class='mail'><table>{head}</table><pre>{body}</pre></div></body></html>")


def serve(store, port: int) -> None:
    import uvicorn

    from ecoplan.web import create_app

    def no_temporal():
        raise RuntimeError("no Temporal for the screenshots")

    app = create_app(client_factory=no_temporal, store=store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    end = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > end:
            raise RuntimeError("the console did not start within 30 s")
        time.sleep(0.1)


async def shoot(raw: bytes, store, port: int) -> None:
    from playwright.async_api import async_playwright

    from ecoplan.web.auth import SESSION_COOKIE

    token, _ = store.open_session("wangwei", "web", timedelta(hours=1))
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = await b.new_page(viewport={"width": 820, "height": 400})
        await page.set_content(mail_html(raw))
        await page.locator(".mail").screenshot(path=str(HERE / "page-email.png"))
        ctx = await b.new_context(viewport={"width": 1100, "height": 700})
        await ctx.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": f"http://127.0.0.1:{port}"}])
        page = await ctx.new_page()
        await page.goto(f"http://127.0.0.1:{port}/account")
        await page.screenshot(path=str(HERE / "console-my-pages.png"), full_page=True)
        await b.close()


def main() -> None:
    from aiosmtpd.controller import Controller

    home = Path(tempfile.mkdtemp(prefix="ecoplan-shots-"))
    box = Box()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        store = setup(home, smtp.port)
        send_the_page(home)
    finally:
        smtp.stop()
    port = free_port()
    serve(store, port)
    asyncio.run(shoot(box.raw, store, port))
    print(f"written: {HERE / 'page-email.png'}, {HERE / 'console-my-pages.png'}")


if __name__ == "__main__":
    main()
