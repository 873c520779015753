"""The 12369 / 119 intake service (issue 7) over real HTTP: uvicorn on 127.0.0.1 (an ephemeral
port) in the test event loop, a real Temporal dev server and worker behind it. Also the
`ecoplan intake` command as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.service import RPCError, RPCStatusCode

from ecoplan import api
from ecoplan import intake
from plan.incident import IncidentReport
from tests.foreign_words import foreign
from tests.helpers import CITY_WARNING, DUTY, eventually, now, report
from workflows import messages as m

TOKENS = {"hotline_12369": "hotline-token-" + "a" * 24, "linkage_119": "linkage-token-" + "b" * 24}
AUTH = {p: {"Authorization": f"Bearer {t}"} for p, t in TOKENS.items()}
ECOPLAN = str(Path(sys.executable).parent / "ecoplan")


# ---------------------------------------------------------------------------- helpers


async def http(method: str, url: str, body: Any = None, headers: dict | None = None,
               raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    """One HTTP/1.1 request on its own connection (Connection: close), on the event loop."""
    u = urlsplit(url)
    data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
    head = [f"{method} {u.path or '/'} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Connection: close",
            f"Content-Length: {len(data)}"]
    if data:
        head.append("Content-Type: application/json")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()
        resp = await asyncio.wait_for(reader.read(), 60)
    finally:
        writer.close()
    status_line, _, rest = resp.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    hdrs = {}
    for line in header_block.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    assert "chunked" not in hdrs.get("transfer-encoding", ""), hdrs
    parsed = json.loads(payload) if hdrs.get("content-type", "").startswith("application/json") else payload
    return int(status_line.split()[1]), hdrs, parsed


async def post(url: str, body: Any, platform: str | None = "hotline_12369", **kw) -> tuple[int, dict, Any]:
    headers = dict(AUTH[platform]) if platform else {}
    headers.update(kw.pop("headers", {}))
    return await http("POST", f"{url}/alerts", body, headers=headers, **kw)


def alert(**over: Any) -> dict:
    base = dict(alert_id=f"A{uuid.uuid4().hex[:10]}", received_at=(now() - timedelta(minutes=10)).isoformat(),
                county="平定县", location="冶西镇桃河段", incident_type="water",
                description="河水发黑，有刺鼻气味", reporter="张先生")
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


async def started(client, incident_id: str) -> bool:
    """Strongly consistent: does the incident's workflow exist?"""
    try:
        await client.get_workflow_handle(api.workflow_id(incident_id)).describe()
        return True
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise


async def count_by_workflow_id(client, incident_id: str) -> int:
    return len([w async for w in client.list_workflows(f'WorkflowId = "{api.workflow_id(incident_id)}"')])


async def start_input(client, incident_id: str) -> IncidentReport:
    """The IncidentReport the workflow was started with (from its history)."""
    handle = client.get_workflow_handle(api.workflow_id(incident_id))
    first = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
    [inp] = await client.data_converter.decode(first.input.payloads, [m.IncidentInput])
    return inp.report


def marked(st: dict, platform: str, alert_id: str) -> list[dict]:
    marker = intake.progress_marker(platform, alert_id)
    return [r for r in st["reports"] if r["summary"].startswith(marker)]


@asynccontextmanager
async def running(app):
    """uvicorn serving `app` on 127.0.0.1:<ephemeral> as a task of this event loop (the
    session worker runs here too, so nothing may block it)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def up():
        return server.started or task.done()

    await eventually(up, bool, timeout=10, interval=0.02)
    if task.done():
        task.result()  # startup failed: raise why
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture(scope="module")
async def url(client, worker):
    async with running(intake.create_app(client_factory=lambda: client, tokens=TOKENS)) as base:
        yield base


# ---------------------------------------------------------------------------- schema


async def test_openapi_schema_published(url):
    status, _, schema = await http("GET", f"{url}/openapi.json")  # public: no token needed
    assert status == 200
    op = schema["paths"]["/alerts"]["post"]
    assert op["security"] == [{"platformToken": []}]
    assert schema["components"]["securitySchemes"]["platformToken"]["scheme"].lower() == "bearer"
    assert {"200", "201", "401", "404", "409", "422"} <= set(op["responses"])
    props = schema["components"]["schemas"]["Alert"]["properties"]
    for f in ("alert_id", "received_at", "county", "location", "incident_type", "reporter", "incident_id",
              "casualties", "fire", "assessment"):
        assert props[f].get("description"), f
    assert schema["components"]["schemas"]["Alert"]["required"] == ["alert_id", "received_at"]


# ---------------------------------------------------------------------------- new alerts


@pytest.mark.parametrize("platform", ["hotline_12369", "linkage_119"])
async def test_new_alert_starts_incident_and_repeat_names_it(url, client, platform):
    a = alert()
    status, _, body = await post(url, a, platform)
    assert status == 201, body
    iid = body["incident_id"]
    assert body["created"] is True and body["entry"] == "incident" and body["platform"] == platform
    assert iid == intake.incident_id_for(platform, a["alert_id"])
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", iid)
    st = await api.status(client, iid)
    assert st["source"] == platform and st["county"] == "平定县" and st["location"] == "冶西镇桃河段"
    assert st["stage"] == "reported" and st["incident_type"] == "water"
    assert st["discovered_at"] == st["reported_at"]  # discovered_at defaults to the received time
    assert a["alert_id"] in st["title"] or intake.PLATFORM_CODE[platform] in st["title"]

    for _ in range(2):  # a repeat (even with changed content) names the same incident
        status, _, again = await post(url, {**a, "description": "重复推送"}, platform)
        assert status == 200, again
        assert again["incident_id"] == iid and again["created"] is False
    assert len((await api.status(client, iid))["timeline"]) == len(st["timeline"])


async def test_same_alert_id_from_each_platform_is_two_incidents(url):
    a = alert()
    s1, _, b1 = await post(url, a, "hotline_12369")
    s2, _, b2 = await post(url, a, "linkage_119")
    assert (s1, s2) == (201, 201)
    assert b1["incident_id"] != b2["incident_id"]


async def test_119_alert_with_fire_casualties_and_assessment(url, client):
    received = now() - timedelta(minutes=20)
    a = alert(incident_type="hazardous_chemicals", received_at=received.isoformat(),
              discovered_at=(received - timedelta(minutes=15)).isoformat(), title="桃河化工厂储罐泄漏",
              reporter="119指挥中心", reporter_phone="0353-119", cause="储罐阀门破裂",
              casualties={"deaths": 0, "injured": 3, "note": "3人送医"},
              fire={"forces": "2个中队8车40人", "water_used_m3": 350, "note": "消防水进入雨水管网"},
              hazards="消防废水可能进入桃河", assessment={"evacuated": 200, "drinking_water_interrupted": "township"})
    status, _, body = await post(url, a, "linkage_119")
    assert status == 201, body
    st = await api.status(client, body["incident_id"])
    assert st["title"] == "桃河化工厂储罐泄漏" and st["source"] == "linkage_119"
    assert st["discovered_at"] != st["reported_at"]
    assert st["graded_level"] is not None
    started_with = await start_input(client, body["incident_id"])
    assert started_with.reporter == "119指挥中心" and started_with.drill is False
    assert started_with.assessment.poisoned_or_injured == 3 and started_with.assessment.evacuated == 200
    for text in ("消防水使用量：350 m³", "2个中队8车40人", "受伤/中毒3人", "储罐阀门破裂", "0353-119",
                 "消防废水可能进入桃河", a["alert_id"]):
        assert text in started_with.description, text


async def test_odd_and_long_alert_ids_are_hashed_to_a_valid_id(url, client):
    for aid in ["119/2026/11-23 第0042号", "X" * 150]:
        a = alert(alert_id=aid)
        status, _, body = await post(url, a, "linkage_119")
        assert status == 201, body
        iid = body["incident_id"]
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", iid) and iid.startswith("119.")
        status, _, again = await post(url, a, "linkage_119")
        assert status == 200 and again["incident_id"] == iid
        assert await started(client, iid)


# ---------------------------------------------------------------------------- bad input


BAD = [
    ("missing alert_id", lambda a: a.pop("alert_id"), "alert_id"),
    ("blank alert_id", lambda a: a.update(alert_id="   "), "alert_id"),
    ("bad received_at", lambda a: a.update(received_at="yesterday"), "received_at"),
    ("missing received_at", lambda a: a.pop("received_at"), "received_at"),
    ("future received_at", lambda a: a.update(received_at=(now() + timedelta(days=1)).isoformat()), "received_at"),
    ("discovered after received", lambda a: a.update(
        discovered_at=(now() - timedelta(minutes=1)).isoformat()), "discovered_at"),
    ("unknown incident_type", lambda a: a.update(incident_type="lava"), "incident_type"),
    ("missing county", lambda a: a.pop("county"), "county"),
    ("missing reporter and location", lambda a: (a.pop("reporter"), a.pop("location")), "location"),
    ("negative deaths", lambda a: a.update(assessment={"deaths": -1}), "assessment.deaths"),
    ("fractional casualties", lambda a: a.update(casualties={"injured": 2.5}), "casualties.injured"),
    ("negative fire water", lambda a: a.update(fire={"water_used_m3": -5}), "fire.water_used_m3"),
    ("unknown field", lambda a: a.update(colour="brown"), "colour"),
    ("bad incident_id", lambda a: a.update(incident_id="../etc/passwd"), "incident_id"),
    ("control characters", lambda a: a.update(description="泄漏\x00"), "description"),
    ("wrong type drill", lambda a: a.update(drill="maybe"), "drill"),
    ("a 5,000-character title", lambda a: a.update(title="桃" * 5000), "title"),  # issue 22 item 8's probes
    ("a place over 200", lambda a: a.update(location="路" * 201), "location"),
    # Issue 25 finding 1's probe through the intake: year 1, and the far future of finding 2.
    ("year one", lambda a: a.update(discovered_at="0001-01-01T00:00", received_at="0001-01-01T01:00"), "received_at"),
    ("year 9999", lambda a: a.update(received_at="9999-12-31T23:59"), "received_at"),
]


@pytest.mark.parametrize("name,mutate,field", BAD, ids=[b[0] for b in BAD])
async def test_bad_alert_is_422_naming_the_field(url, client, name, mutate, field):
    a = alert()
    aid = a["alert_id"]
    mutate(a)
    status, _, body = await post(url, a)
    assert status == 422, body
    assert body["errors"][0]["field"] == field  # the id, for the machine; the detail is Chinese
    assert not foreign(body["detail"], ["brown", "colour"]), body
    if name == "missing reporter and location":
        assert [e["field"] for e in body["errors"]] == ["location", "reporter"]
        assert body["detail"] == "地点不能为空：接警信息未指明事件编号，新事件必须填写（另有 1 处有误）", body
    assert not await started(client, intake.incident_id_for("hotline_12369", aid))


async def test_a_county_not_the_plans_is_422_and_starts_nothing(url, client):
    """Issue 22 item 8's probe through the intake: `<i>城区</i>` opens no new county."""
    a = alert(county="<i>城区</i>")
    status, _, body = await post(url, a)
    assert status == 422 and "不是本预案所辖的县（区）" in body["detail"], body
    assert not await started(client, intake.incident_id_for("hotline_12369", a["alert_id"]))


@pytest.mark.parametrize("raw,needle", [
    (b'{"alert_id": "A1", ', "不是有效的 JSON"),
    (b"[1, 2]", "JSON 对象"),
    (b"", "JSON 对象"),
])
async def test_malformed_body_is_422(url, raw, needle):
    status, _, body = await post(url, None, raw=raw)
    assert status == 422, body
    assert needle in body["detail"] and body["errors"][0]["field"] == "body"


# ---------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-known-token-0000000000"},
    {"Authorization": f"Basic {TOKENS['hotline_12369']}"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Bearer {TOKENS['hotline_12369']}x"},
], ids=["missing", "unknown", "wrong-scheme", "empty", "near-miss"])
async def test_bad_or_missing_token_is_401_and_starts_nothing(url, client, headers):
    a = alert()
    status, hdrs, body = await post(url, a, platform=None, headers=headers)
    assert status == 401, body
    assert hdrs.get("www-authenticate", "").startswith("Bearer")
    assert "token" in body["detail"]
    # a malformed body without a token is still 401: the token is checked first
    status, _, _ = await post(url, None, platform=None, headers=headers, raw=b"{not json")
    assert status == 401
    for platform in intake.PLATFORMS:
        assert not await started(client, intake.incident_id_for(platform, a["alert_id"]))


# ---------------------------------------------------------------------------- progress


async def test_progress_alert_on_existing_incident(url, client):
    status, _, first = await post(url, alert(), "hotline_12369")
    assert status == 201
    iid = first["incident_id"]
    before = await api.status(client, iid)

    p = alert(incident_id=iid, county=None, location=None, incident_type=None, reporter=None,
              description="119到场，消防废水已围堵", fire={"water_used_m3": 120}, monitoring_data="COD 85 mg/L")
    status, _, body = await post(url, p, "linkage_119")
    assert status == 201, body
    assert body == {**body, "incident_id": iid, "created": True, "entry": "progress"}
    st = await api.status(client, iid)
    [r] = marked(st, "linkage_119", p["alert_id"])
    assert r["kind"] == "progress" and r["by"] == {"name": "linkage_119", "role": "联动单位", "role_id": "partner",
                                                  "display": None, "via": "intake"}
    assert "消防废水已围堵" in r["summary"] and "消防水使用量：120 m³" in r["summary"]
    submitted = [e for e in st["timeline"] if e["action"] == "submit_report"]
    assert [e["by"]["name"] for e in submitted] == ["linkage_119"] and st["stage"] == before["stage"]

    for _ in range(2):  # repeats: the same entry, not a new one
        status, _, again = await post(url, {**p, "description": "再次推送"}, "linkage_119")
        assert status == 200, again
        assert again["incident_id"] == iid and again["created"] is False and again["entry"] == "progress"
    st = await api.status(client, iid)
    assert len(marked(st, "linkage_119", p["alert_id"])) == 1
    assert len(st["reports"]) == 1
    assert [e["action"] for e in st["timeline"]].count("submit_report") == 1


async def test_progress_alert_on_unknown_incident_is_404(url, client):
    status, _, body = await post(url, alert(incident_id=f"nosuch-{uuid.uuid4().hex[:8]}"), "linkage_119")
    assert status == 404, body
    assert "nosuch-" in body["detail"]


async def test_progress_alert_on_closed_incident_is_409(url, client):
    iid = await api.start_incident(client, report())
    await api.act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    await api.act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="险情消除"))
    status, _, body = await post(url, alert(incident_id=iid), "hotline_12369")
    assert status == 409, body
    assert "已结案" in body["detail"]
    assert (await api.status(client, iid))["reports"] == []


async def test_update_id_keeps_a_progress_report_to_one(client, worker):
    """The layer under the in-process lock: the same update id twice, one entry."""
    iid = await api.start_incident(client, report())
    inp = intake.progress_report("hotline_12369", intake.Alert.model_validate(alert(incident_id=iid)))
    handle = client.get_workflow_handle(api.workflow_id(iid))
    results = await asyncio.gather(*[handle.execute_update("submit_report", inp, id="intake-dup-test",
                                                           result_type=m.ActionResult) for _ in range(3)])
    results.append(await handle.execute_update("submit_report", inp, id="intake-dup-test",
                                               result_type=m.ActionResult))
    assert len({r.message for r in results}) == 1
    assert len((await api.status(client, iid))["reports"]) == 1


# ---------------------------------------------------------------------------- bursts


async def test_burst_of_20_same_alert_is_one_incident(url, client):
    a = alert(alert_id=f"burst-{uuid.uuid4().hex[:8]}")
    results = await asyncio.gather(*[post(url, a, "linkage_119") for _ in range(20)])
    iid = intake.incident_id_for("linkage_119", a["alert_id"])
    assert all(body["incident_id"] == iid for _, _, body in results), results
    assert sorted(s for s, _, _ in results) == [200] * 19 + [201]
    assert [b["created"] for _, _, b in results].count(True) == 1
    await eventually(lambda: count_by_workflow_id(client, iid), lambda n: n >= 1)
    assert await count_by_workflow_id(client, iid) == 1
    st = await api.status(client, iid)
    assert st["source"] == "linkage_119"


async def test_burst_of_20_progress_posts_over_two_intakes_is_one_entry(url, client):
    """Two intake processes (two apps, two servers) race on one progress alert: the per-process
    lock cannot see the other process, the update id still keeps it to one entry."""
    iid = await api.start_incident(client, report())
    p = alert(incident_id=iid, description="续报：污染带下移2公里")
    async with running(intake.create_app(client_factory=lambda: client, tokens=TOKENS)) as url2:
        results = await asyncio.gather(*[post(u, p, "hotline_12369") for u in [url, url2] * 10])
    assert all(s in (200, 201) and b["incident_id"] == iid for s, _, b in results), results
    assert any(b["created"] for _, _, b in results)
    st = await api.status(client, iid)
    assert len(marked(st, "hotline_12369", p["alert_id"])) == 1 and len(st["reports"]) == 1


# ---------------------------------------------------------------------------- ids and tokens (no server)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=250), st.sampled_from(list(intake.PLATFORMS)))
def test_incident_id_is_valid_and_deterministic(alert_id, platform):
    iid = intake.incident_id_for(platform, alert_id)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", iid)
    assert iid == intake.incident_id_for(platform, alert_id)
    IncidentReport(**{**report().model_dump(), "incident_id": iid})


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=120), st.text(min_size=1, max_size=120),
       st.sampled_from(list(intake.PLATFORMS)), st.sampled_from(list(intake.PLATFORMS)))
def test_incident_ids_of_different_alerts_differ(a, b, pa, pb):
    if (pa, a.strip()) != (pb, b.strip()):
        assert intake.incident_id_for(pa, a) != intake.incident_id_for(pb, b)


def test_incident_id_forms():
    assert intake.incident_id_for("hotline_12369", "20261123-0042") == "12369-20261123-0042"
    assert intake.incident_id_for("linkage_119", "JQ.7") == "119-JQ.7"
    hashed = intake.incident_id_for("linkage_119", "119/2026/0042")
    assert hashed.startswith("119.") and len(hashed) == 4 + 32
    # a plain id that looks like a hash cannot collide with a hashed one: different separator
    assert intake.incident_id_for("linkage_119", hashed[4:]) == "119-" + hashed[4:]


def test_token_config():
    t = intake.parse_tokens("hotline_12369=" + "a" * 20 + ", linkage_119=" + "b" * 20 + "\n# comment\n")
    assert t == {"a" * 20: "hotline_12369", "b" * 20: "linkage_119"}
    assert intake.parse_tokens({"linkage_119": ["c" * 16, "d" * 16]}) == {"c" * 16: "linkage_119",
                                                                           "d" * 16: "linkage_119"}
    secret = "s" * 20
    for spec, needle in [("", "没有配置接警平台的令牌"), ("fire_110=" + secret, "不认识"),
                         ("hotline_12369", "平台=令牌"), ("hotline_12369=short", "至少 16"),
                         (f"hotline_12369={secret},linkage_119={secret}", "同一个令牌")]:
        with pytest.raises(intake.TokenConfigError) as e:
            intake.parse_tokens(spec)
        assert needle in str(e.value) and secret not in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(intake.TokenConfigError, match="ECOPLAN_INTAKE_TOKENS"):
        intake.tokens_from_env({})
    with pytest.raises(intake.TokenConfigError):
        intake.create_app(client_factory=lambda: None, tokens={})


def test_docs_are_served_by_the_intake_under_its_csp():
    """`ecoplan intake`'s /docs, as the console's (tests/test_incident_list.py): the page and
    every file it loads from the app itself, no token needed, under a CSP with no inline script;
    no CDN page (ReDoc) offered. Server-free: the app in this process, never calls Temporal."""
    from fastapi.testclient import TestClient

    with TestClient(intake.create_app(client_factory=lambda: None, tokens=TOKENS)) as c:
        page = c.get("/docs")
        assert page.status_code == 200 and "http" not in page.text and "<script>" not in page.text
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert 'data-openapi="/openapi.json"' in page.text and c.get("/openapi.json").status_code == 200
        for src in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/docs.js"):
            assert src in page.text
            r = c.get(src)
            assert r.status_code == 200 and len(r.content) > 200, src
            assert r.headers["content-security-policy"] == page.headers["content-security-policy"]
        assert "SwaggerUIBundle" in c.get("/docs/assets/docs.js").text
        assert c.get("/docs/assets/..%2Fswagger-ui.js.map").status_code == 401  # not a public path
        assert c.get("/redoc").status_code == 401 and c.get("/docs/oauth2-redirect").status_code == 401
        # the alerts stay behind the token; one set of security headers on every answer
        r = c.post("/alerts", json={})
        assert r.status_code == 401 and len(r.headers.get_list("content-security-policy")) == 1


def test_tokens_from_file(tmp_path):
    f = tmp_path / "tokens"
    f.write_text(f"# issued 2026-11\nhotline_12369={'x' * 20}\nlinkage_119={'y' * 20}\n")
    assert intake.tokens_from_env({"ECOPLAN_INTAKE_TOKENS_FILE": str(f)}) == {"hotline_12369": ["x" * 20],
                                                                               "linkage_119": ["y" * 20]}
    both = intake.tokens_from_env({"ECOPLAN_INTAKE_TOKENS_FILE": str(f), "ECOPLAN_INTAKE_TOKENS": "linkage_119=" + "z" * 20})
    assert both["linkage_119"] == ["z" * 20, "y" * 20]
    with pytest.raises(intake.TokenConfigError, match="ECOPLAN_INTAKE_TOKENS_FILE"):
        intake.tokens_from_env({"ECOPLAN_INTAKE_TOKENS_FILE": str(tmp_path / "missing")})


# ---------------------------------------------------------------------------- `ecoplan intake`


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOPLAN_INTAKE_")}
    env.update(extra)
    return env


async def test_cli_refuses_to_start_without_a_token():
    proc = await asyncio.create_subprocess_exec(ECOPLAN, "intake", "--port", "0", env=_env(),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [l for l in err.decode().splitlines() if l.strip()]
    assert proc.returncode == 2, err
    assert len(lines) == 1 and "ECOPLAN_INTAKE_TOKENS" in lines[0] and "Traceback" not in lines[0]


async def test_cli_serves_alerts(client, worker, temporal_address, tmp_path):
    f = tmp_path / "tokens"
    f.write_text("\n".join(f"{p}={t}" for p, t in TOKENS.items()))
    proc = await asyncio.create_subprocess_exec(
        ECOPLAN, "intake", "--host", "127.0.0.1", "--port", "0",
        env=_env(ECOPLAN_INTAKE_TOKENS_FILE=str(f), TEMPORAL_ADDRESS=temporal_address),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    seen: list[str] = []
    try:
        async def port() -> int:
            while True:
                line = (await proc.stderr.readline()).decode()
                if not line:
                    raise AssertionError("ecoplan intake exited: " + "".join(seen))
                seen.append(line)
                if m_ := re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line):
                    return int(m_.group(1))

        base = f"http://127.0.0.1:{await asyncio.wait_for(port(), 60)}"
        status, _, schema = await http("GET", f"{base}/openapi.json")
        assert status == 200 and "/alerts" in schema["paths"]
        a = alert()
        status, _, body = await post(base, a, "linkage_119")
        assert status == 201, body
        assert (await api.status(client, body["incident_id"]))["source"] == "linkage_119"
        status, _, _ = await post(base, a, None)
        assert status == 401
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(proc.stderr.read(), 30)
        await asyncio.wait_for(proc.wait(), 30)
    log = "".join(seen) + rest.decode()
    assert proc.returncode in (0, 130), log
    assert all(t not in log for t in TOKENS.values())
