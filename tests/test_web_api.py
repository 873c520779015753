"""The JSON API of `ecoplan web` over real HTTP: bearer tokens, the role table deciding 403
before anything is applied, the incident's own 409 sentences, 422 for bad input; the
login rate limit and its log; the intake on the same port."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
import structlog

from ecoplan import api, views
from ecoplan.login_limiter import Limits
from ecoplan.web.auth import AuthSettings
from tests.helpers import FOLLOW_UP, SIGNED, eventually, settled
from tests.web_helpers import INTAKE_TOKENS, LEADS, incident_body, now, password, web_service


@pytest.fixture(scope="module")
async def web(client, worker, tmp_path_factory):
    async with web_service(client, tmp_path_factory.mktemp("web-api") / "accounts.db") as w:
        yield w


@pytest.fixture(scope="module")
async def http(web):
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        yield c


_tokens: dict[str, dict] = {}


async def auth(http, username: str) -> dict:
    if username not in _tokens:
        r = await http.post("/api/login", json={"username": username, "password": password(username)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["username"] == username and len(body["token"]) >= 40
        _tokens[username] = {"Authorization": f"Bearer {body['token']}"}
    return _tokens[username]


async def start(http) -> str:
    r = await http.post("/api/incidents", json=incident_body(), headers=await auth(http, "wangwei"))
    assert r.status_code == 201, r.text
    return r.json()["incident_id"]


async def action(http, who: str, iid: str, name: str, body=None) -> httpx.Response:
    return await http.post(f"/api/incidents/{iid}/actions/{name}", json={} if body is None else body,
                           headers=await auth(http, who))


async def ok(http, who: str, iid: str, name: str, body=None) -> dict:
    r = await action(http, who, iid, name, body)
    assert r.status_code == 200, (name, r.status_code, r.text)
    return r.json()


# ------------------------------------------------------------------ tokens


async def test_openapi_on_the_same_port(http):
    r = await http.get("/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    for path in ("/api/login", "/api/incidents", "/api/incidents/{incident_id}",
                 "/api/incidents/{incident_id}/actions/sign_off", "/api/overdue", "/api/stuck", "/api/list",
                 "/api/incidents/{incident_id}/documents", "/api/incidents/{incident_id}/documents/{name}",
                 "/alerts"):
        assert path in schema["paths"], path
    assert schema["paths"]["/api/list"]["get"]["security"] == [{"accountToken": []}]
    assert {"403", "409", "422"} <= set(schema["paths"]["/api/incidents/{incident_id}/actions/sign_off"]["post"]["responses"])
    assert "/login" not in schema["paths"]  # console pages are not API


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/list"), ("GET", "/api/overdue"), ("GET", "/api/stuck"), ("GET", "/api/me"),
    ("GET", "/api/incidents/x"), ("POST", "/api/incidents"), ("POST", "/api/incidents/x/actions/close"),
    ("GET", "/api/no-such-thing"),
])
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic d2FuZ3dlaTpwdw==", "Bearer", "Bearer " + "x" * 500])
async def test_every_api_call_needs_a_valid_token(http, method, path, header):
    headers = {"Authorization": header} if header is not None else {}
    r = await http.request(method, path, headers=headers, json={"title": "x"})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "POST /api/login" in r.json()["detail"]


async def test_a_web_cookie_is_not_a_bearer_token(http, web):
    token, _ = web.store.open_session("du", "web", __import__("datetime").timedelta(hours=1))
    r = await http.get("/api/list", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_login_refused_and_rate_limited_and_logged(client, worker, tmp_path):
    settings = AuthSettings(limits=Limits(free_failures=3, delay_base=900))
    async with web_service(client, tmp_path / "a.db", settings=settings) as w:
        async with httpx.AsyncClient(base_url=w.url, timeout=60) as c:
            with structlog.testing.capture_logs() as logs:
                for _ in range(3):
                    r = await c.post("/api/login", json={"username": "wangwei", "password": "wrong-password-1"})
                    assert r.status_code == 401 and r.json()["detail"] == "用户名或密码错误，或账号已停用"
                r = await c.post("/api/login", json={"username": "nobody", "password": "wrong-password-1"})
                assert r.status_code == 401 and r.json()["detail"] == "用户名或密码错误，或账号已停用"
                # From this address even the right password waits: the delay is per account and address.
                r = await c.post("/api/login", json={"username": "wangwei", "password": password("wangwei")})
                assert r.status_code == 429 and "分钟后再试" in r.json()["detail"]
                assert int(r.headers["retry-after"]) > 800
                r = await c.post("/api/login", json={"username": "li", "password": password("li")})
                assert r.status_code == 200  # another account is not locked out
                r = await c.post("/api/login", json={"username": "li", "password": 5})
                assert r.status_code == 422
    attempts = [e for e in logs if e["event"] == "login"]
    assert [e["outcome"] for e in attempts] == ["bad_credentials"] * 4 + ["rate_limited", "ok"]
    assert {e["username"] for e in attempts} == {"wangwei", "nobody", "li"}
    assert all(e["address"] == "127.0.0.1" and e["via"] == "api" for e in attempts)
    assert not any("wrong-password" in str(e) or password("wangwei") in str(e) for e in logs)


async def test_per_address_limit(client, worker, tmp_path):
    settings = AuthSettings(limits=Limits(max_failures_per_address=4))
    async with web_service(client, tmp_path / "a.db", settings=settings) as w:
        async with httpx.AsyncClient(base_url=w.url, timeout=60) as c:
            codes = [(await c.post("/api/login", json={"username": f"user{i}", "password": "x" * 12})).status_code
                     for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]


async def test_disabled_account_token_stops_working(http, web):
    web.store.add("tmpuser", "supervisor", password("tmpuser"))
    r = await http.post("/api/login", json={"username": "tmpuser", "password": password("tmpuser")})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await http.get("/api/me", headers=headers)).json()["role"] == "supervisor"
    web.store.set_disabled("tmpuser")
    assert (await http.get("/api/me", headers=headers)).status_code == 401
    r = await http.post("/api/login", json={"username": "tmpuser", "password": password("tmpuser")})
    assert r.status_code == 401


async def test_logout_ends_the_token(http):
    r = await http.post("/api/login", json={"username": "du", "password": password("du")})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await http.post("/api/logout", headers=headers)).status_code == 204
    assert (await http.get("/api/me", headers=headers)).status_code == 401


# ------------------------------------------------------------------ a whole incident through the API


async def test_whole_incident_with_roles(http, client):
    iid = await start(http)
    before = await api.status(client, iid)

    async def unchanged():
        after = await api.status(client, iid)
        assert after["timeline"] == before["timeline"] and after["stage"] == before["stage"]

    # 403: the role may not; nothing applied (checked before the incident is even read).
    for who in ("du", "zhang", "lian", "root"):
        r = await action(http, who, iid, "activate_response")
        assert r.status_code == 403, r.text
        assert "不能办理「启动应急响应」" in r.json()["detail"] and "附件1" in r.json()["detail"]
    # The duty officer may enter an activation only with the 总指挥 who approved it (附件1).
    r = await action(http, "wangwei", iid, "activate_response")
    assert r.status_code == 409 and "须经总指挥批准" in r.json()["detail"], r.text
    r = await action(http, "wangwei", iid, "activate_response", {"approved_by": "du"})
    assert r.status_code == 422 and "督查不能批准" in r.json()["detail"], r.text
    r = await action(http, "wangwei", iid, "activate_response",
                     {"approver": {"name": "li", "role": "指挥", "role_id": "commander"}})
    assert r.status_code == 422 and r.json()["detail"].startswith("批准人"), r.text
    r = await action(http, "du", iid, "activate_response", {"level": "nonsense"})
    assert r.status_code == 403  # the role is refused before the input is read
    await unchanged()

    # 422: bad input, nothing applied.
    for body, field in [({"level": "V"}, "响应级别"), ({"by": {"name": "李局长", "role": "指挥"}}, "办理人"),
                        ({"unknown": 1}, "不认识的字段「unknown」"), ([1, 2], "输入格式不对"), ({"at": "yesterday"}, "办理时间")]:
        r = await action(http, "li", iid, "activate_response", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"].startswith(field), r.text
    r = await action(http, "li", iid, "no_such_action")
    assert r.status_code == 404 and "未知操作" in r.json()["detail"]
    await unchanged()

    # 409: the incident refuses, with its own sentence.
    r = await action(http, "wangwei", iid, "dispatch", {"leads": LEADS})
    assert r.status_code == 409 and "处于接报阶段，不能派出工作组" in r.json()["detail"]
    await unchanged()

    res = await ok(http, "li", iid, "activate_response")
    assert res["stage"] == "responding"
    r = await action(http, "li", iid, "activate_response")
    assert r.status_code == 409
    await ok(http, "wangwei", iid, "submit_report", {"kind": "initial", "content": {"summary": "储罐泄漏，部分物料入河"},
                                                    **SIGNED})
    await ok(http, "li", iid, "adjust_level", {"level": "III", "reason": "下游有饮用水源"})

    # Leads are named by username: an unknown account (a typo), an unfit one, or the duty
    # officer who proposes the termination its lead would sign (附件2) is bad input, named.
    for leads, msg, group in [({**LEADS, "investigation": "nobody"}, "没有可用的账号", "investigation"),
                              ({**LEADS, "investigation": "du"}, "不能担任污染排查组组长", "investigation"),
                              ({**LEADS, "monitoring": "wangwei"}, "不能担任应急监测组组长", "monitoring")]:
        r = await action(http, "wangwei", iid, "dispatch", {"leads": leads})
        assert r.status_code == 422 and msg in r.json()["detail"], r.text
        assert r.json()["field"] == f"leads.{group}"
    await ok(http, "wangwei", iid, "dispatch", {"leads": LEADS})
    await ok(http, "wangwei", iid, "propose_termination", {"reason": "特征污染物已降至本底水平"})

    before = await api.status(client, iid)
    # A lead of another group, a lead of none, a lead signing in another's name: 403, nothing applied.
    for who, body in [("zhao", {"group": "monitoring", "decision": "approve"}),
                      ("sun", {"group": "monitoring", "decision": "approve"}),
                      ("zhang", {"group": "monitoring", "lead": "zhao", "decision": "approve"}),
                      ("du", {"group": "monitoring", "decision": "approve"})]:
        r = await action(http, who, iid, "sign_off", body)
        assert r.status_code == 403, (who, r.text)
    await unchanged()
    # The commander cannot approve before the three leads have signed: the incident says so.
    r = await action(http, "li", iid, "approve_termination", {"instruction": "同意", "follow_up": FOLLOW_UP})
    assert r.status_code == 409 and "尚待" in r.json()["detail"]

    # A sign-off names the round it answers: without it the incident says which round is open.
    before = await api.status(client, iid)
    assert before["round"] == before["open_round"] == 1
    r = await action(http, "qian", iid, "sign_off", {"group": "investigation", "decision": "approve"})
    assert r.status_code == 409, r.text
    assert "请写明签署的轮次" in r.json()["detail"] and "正在签署第 1 轮" in r.json()["detail"]
    assert "特征污染物已降至本底水平" in r.json()["detail"]  # the proposal's reason, as the lead should read it
    await unchanged()

    # One lead rejects first: back on site; then a second round where all three approve.
    r = await action(http, "qian", iid, "sign_off", {"group": "investigation", "decision": "reject", "round": 1})
    assert r.status_code == 409 and "意见说明" in r.json()["detail"]  # the incident's own guard
    assert r.json()["field"] == "opinion"  # the input it is about, named by the incident (Refused.field)
    await ok(http, "qian", iid, "sign_off",
             {"group": "investigation", "decision": "reject", "opinion": "下游仍超标", "round": 1})
    assert (await api.status(client, iid))["stage"] == "on_site"
    await ok(http, "wangwei", iid, "propose_termination", {"reason": "复测达标"})
    st = await api.status(client, iid)
    assert st["round"] == st["open_round"] == 2
    # A sign-off for the round that is over (a resent request) is refused, not counted in round 2.
    before = st
    r = await action(http, "zhang", iid, "sign_off", {"group": "monitoring", "decision": "approve", "round": 1})
    assert r.status_code == 409, r.text
    assert "第 1 轮已不在签署中" in r.json()["detail"] and "正在签署第 2 轮" in r.json()["detail"]
    await unchanged()
    for group, who in LEADS.items():
        await ok(http, who, iid, "sign_off", {"group": group, "decision": "approve", "opinion": "同意", "round": 2})
    r = await action(http, "li", iid, "approve_termination", {"instruction": "同意终止", "follow_up": {
        "continue_monitoring": True, "decided_by": "市应急指挥部会同专家组"}})
    assert r.status_code == 409 and "至何时" in r.json()["detail"], r.text  # 4.4, nothing applied
    res = await ok(http, "li", iid, "approve_termination", {"instruction": "同意终止", "follow_up": FOLLOW_UP})
    assert res["stage"] == "post_event"

    # The response was raised to III, the event stays 一般 (IV): the city bureau investigates (32号令 第四条)
    await ok(http, "wangwei", iid, "complete_investigation", {"summary": "储罐阀门老化"})
    await ok(http, "wangwei", iid, "assessment_review_passed", {})
    await ok(http, "wangwei", iid, "submit_assessment_report", {})
    await ok(http, "wangwei", iid, "submit_report", {"kind": "final", "content": {"summary": "处理结果报告"}, **SIGNED})
    r = await action(http, "du", iid, "close")
    assert r.status_code == 403
    await ok(http, "li", iid, "close", {"note": "结案"})

    # The record: `by` is the account (username, the plan's role name), never what a client typed.
    r = await http.get(f"/api/incidents/{iid}", headers=await auth(http, "du"))
    st = r.json()
    assert st["outcome"] == "completed"
    by = {e["action"]: e["by"] for e in st["timeline"] if e["by"]}
    li = {"name": "li", "display": "李局长", "role": "指挥", "role_id": "commander", "via": "api"}
    assert by["activate_response"] == li and by["approve_termination"] == li
    assert by["dispatch"] == {"name": "wangwei", "display": "王伟", "role": "值班员", "role_id": "duty_officer",
                              "via": "api"}
    # the account that entered the report, beside the reporter
    reported = next(e for e in st["timeline"] if e["action"] == "reported")
    assert reported["detail"]["entered_by"] == by["dispatch"]
    assert st["leads"] == LEADS
    assert [(s["group"], s["decision"], s["by"]["name"]) for s in st["signoff_history"]][0] == \
        ("investigation", "reject", "qian")
    assert [(s["round"], s["group"], s["decision"]) for s in st["signoff_history"]] == \
        [(1, "investigation", "reject"), *((2, g, "approve") for g in LEADS)]


async def test_backdating_needs_a_reason(http, client):
    """An action entered more than an hour after its `at` needs backdate_reason (补录说明):
    without it the incident refuses (409) and nothing is applied; with it the entry keeps it."""
    t = now()
    iid = (await http.post("/api/incidents", headers=await auth(http, "wangwei"), json=incident_body(
        discovered_at=(t - timedelta(hours=5)).isoformat(), reported_at=(t - timedelta(hours=4)).isoformat()))).json()[
        "incident_id"]
    before = await api.status(client, iid)
    at = (t - timedelta(hours=3)).isoformat()
    r = await action(http, "li", iid, "activate_response", {"at": at})
    assert r.status_code == 409, r.text
    assert "早 1 小时以上" in r.json()["detail"] and "补录说明" in r.json()["detail"]
    assert r.json()["field"] == "backdate_reason"
    after = await api.status(client, iid)
    assert after["timeline"] == before["timeline"] and after["stage"] == "reported"
    r = await action(http, "li", iid, "activate_response", {"at": at, "backdate_reason": "   "})
    assert r.status_code == 409 and "补录说明" in r.json()["detail"], r.text
    await ok(http, "li", iid, "activate_response", {"at": at, "backdate_reason": "现场通讯中断，事后补录"})
    st = (await http.get(f"/api/incidents/{iid}", headers=await auth(http, "du"))).json()
    entry = next(e for e in st["timeline"] if e["action"] == "activate_response")
    assert entry["backdate_reason"] == "现场通讯中断，事后补录" and entry["by"]["name"] == "li"
    assert datetime.fromisoformat(entry["at"]) == datetime.fromisoformat(at)
    assert datetime.fromisoformat(entry["recorded_at"]) - datetime.fromisoformat(entry["at"]) > timedelta(hours=2)


async def test_reading_by_role(http, client):
    iid = await start(http)
    await ok(http, "li", iid, "activate_response")
    await ok(http, "wangwei", iid, "dispatch", {"leads": LEADS})
    for who in ("du", "wangwei", "li", "zhang"):  # zhang leads a group of this incident
        r = await http.get(f"/api/incidents/{iid}", headers=await auth(http, who))
        assert r.status_code == 200, (who, r.text)
        # what background deliveries change (documents filed meanwhile) aside
        assert settled(r.json()) == settled(await api.status(client, iid))
    for who, msg in [("sun", "只能查看派遣时被指定为组长的事件"), ("lian", "联动单位不能查看"), ("root", "系统管理员不能查看")]:
        r = await http.get(f"/api/incidents/{iid}", headers=await auth(http, who))
        assert r.status_code == 403 and msg in r.json()["detail"], (who, r.text)
    for view in ("/api/overdue", "/api/stuck", "/api/list"):
        for who in ("zhang", "lian", "root"):
            assert (await http.get(view, headers=await auth(http, who))).status_code == 403
    r = await http.get("/api/incidents/no-such-incident", headers=await auth(http, "du"))
    assert r.status_code == 404 and "没有事件" in r.json()["detail"]


async def test_documents_over_the_api(http, client):
    """The printable documents, listed and downloaded with a bearer token, read rights as
    for the incident itself."""
    iid = await start(http)
    await ok(http, "li", iid, "activate_response")
    r = await http.get(f"/api/incidents/{iid}/documents", headers=await auth(http, "du"))
    assert r.status_code == 200, r.text
    titles = {d["name"]: d["title"] for d in r.json()}
    assert titles["activation-notice.pdf"] == "附件1 应急响应启动通知"
    assert "termination-form.pdf" not in titles  # no 附件2 before a proposal
    r = await http.get(f"/api/incidents/{iid}/documents/activation-notice.pdf", headers=await auth(http, "wangwei"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and f"{iid}-activation-notice.pdf" in r.headers["content-disposition"]
    for who, code in [("lian", 403), ("sun", 403), ("root", 403)]:
        r = await http.get(f"/api/incidents/{iid}/documents/activation-notice.pdf", headers=await auth(http, who))
        assert r.status_code == code, (who, r.text)
    for name in ("termination-form.pdf", "no-such.pdf", "..%2F..%2Fetc%2Fpasswd", "case-file.exe"):
        r = await http.get(f"/api/incidents/{iid}/documents/{name}", headers=await auth(http, "du"))
        assert r.status_code == 404, (name, r.text)
    assert (await http.get(f"/api/incidents/{iid}/documents/activation-notice.pdf")).status_code == 401


async def test_start_needs_the_duty_officer_and_good_input(http):
    r = await http.post("/api/incidents", json=incident_body(), headers=await auth(http, "du"))
    assert r.status_code == 403 and "督查不能办理「接报立案」" in r.json()["detail"]
    r = await http.post("/api/incidents", json=incident_body(county=""), headers=await auth(http, "wangwei"))
    assert r.status_code == 422 and r.json()["detail"] == "县（区）不能为空"
    for probe, said in [({"title": "桃" * 5000}, "事件名称过长：最多 100 字"), ({"county": "<i>城区</i>"}, "不是本预案所辖的县（区）"),
                        ({"assessment": {"deaths": -3}}, "死亡人数不能为负数")]:  # issue 22 item 8's probes
        r = await http.post("/api/incidents", json=incident_body(**probe), headers=await auth(http, "wangwei"))
        assert r.status_code == 422 and said in r.json()["detail"], r.text
    r = await http.post("/api/incidents", json=incident_body(plan="no-such-plan"), headers=await auth(http, "wangwei"))
    assert r.status_code == 422 and "no-such-plan" in r.json()["detail"]
    iid = await start(http)
    r = await http.post("/api/incidents", json=incident_body(incident_id=iid), headers=await auth(http, "wangwei"))
    assert r.status_code == 409 and "已存在" in r.json()["detail"]


async def test_views_are_the_cli_rows(http, client):
    iid = await start(http)
    headers = await auth(http, "du")

    async def listed():
        return (await http.get("/api/list", params={"all": "true"}, headers=headers)).json()

    rows = await eventually(listed, lambda rs: any(r["incident_id"] == iid for r in rs))
    mine = next(r for r in rows if r["incident_id"] == iid)
    same = next(r for r in await views.list_incidents(client, limit=None) if r["incident_id"] == iid)
    assert mine == {**same, "next_deadline": mine["next_deadline"]} and set(mine) == set(same)
    r = await http.get("/api/list", params={"stage": "nowhere"}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"].startswith("阶段")
    r = await http.get("/api/stuck", params={"idle": "soon"}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"].startswith("空闲时长")
    r = await http.get("/api/stuck", params={"idle": "0m", "all": "true"}, headers=headers)
    assert r.status_code == 200 and set(r.json()[0]) == {"incident_id", "title", "stage", "since", "idle_seconds",
                                                          "waiting_on", "county", "level", "event_level", "faults"}
    r = await http.get("/api/overdue", headers=headers)
    assert r.status_code == 200 and isinstance(r.json(), list)
    # = `ecoplan faults --json`; like the other views, only for roles that read every incident.
    # (Other modules' incidents may gain or clear a fault meanwhile: compare a moment where both agree.)
    async def both():
        r = await http.get("/api/faults", params={"all": "true"}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json(), list(await views.faults(client, limit=None))

    await eventually(both, lambda pair: pair[0] == pair[1])
    r = await http.get("/api/faults", headers=await auth(http, "zhang"))
    assert r.status_code == 403


async def test_intake_served_on_the_same_port(http, client):
    alert = {"alert_id": "W-" + __import__("uuid").uuid4().hex[:8], "received_at": incident_body()["reported_at"],
             "county": "盂县", "location": "某村", "incident_type": "water", "reporter": "张先生"}
    r = await http.post("/alerts", json=alert)
    assert r.status_code == 401  # the platform token, not an account token
    r = await http.post("/alerts", json=alert, headers=await auth(http, "wangwei"))
    assert r.status_code == 401
    r = await http.post("/alerts", json=alert,
                        headers={"Authorization": f"Bearer {INTAKE_TOKENS['hotline_12369']}"})
    assert r.status_code == 201, r.text
    assert (await api.status(client, r.json()["incident_id"]))["county"] == "盂县"


# ------------------------------------------------------------------ the console over plain HTTP


def _hidden(html: str, name: str) -> str:
    import re

    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


async def test_console_login_form_needs_its_csrf_token_and_redirects_only_locally(web):
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        r = await c.get("/login")
        assert r.status_code == 200 and "ecoplan_login_csrf" in r.headers["set-cookie"]
        assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
        token = _hidden(r.text, "csrf_token")
        form = {"username": "du", "password": password("du"), "next": "/"}
        r = await c.post("/login", data=form)  # no csrf_token field
        assert r.status_code == 403 and "ecoplan_session" not in r.headers.get("set-cookie", "")
        r = await c.post("/login", data={**form, "csrf_token": "x" * 43})
        assert r.status_code == 403
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            r = await c.post("/login", data={**form, "csrf_token": token, "next": target})
            assert r.status_code == 303 and r.headers["location"] == "/", target
            c.cookies.delete("ecoplan_session")
            token = _hidden((await c.get("/login")).text, "csrf_token")  # one login per form token
        r = await c.post("/login", data={**form, "csrf_token": token, "next": "/incidents/x?y=1"})
        assert r.status_code == 303 and r.headers["location"] == "/incidents/x?y=1"
        cookie = r.headers["set-cookie"].lower()
        assert "ecoplan_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        r = await c.get("/")
        assert r.status_code == 200 and "总览" in r.text
        for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
            assert header in r.headers
        assert "script-src 'self'" in r.headers["content-security-policy"]


async def test_console_post_without_session_changes_nothing(web, client, http):
    iid = await start(http)
    before = await api.status(client, iid)
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        r = await c.post(f"/incidents/{iid}/actions/activate_response", data={"csrf_token": "x"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        r = await c.get("/board/live")
        assert r.status_code == 401  # the page's script reloads into the login page
    assert (await api.status(client, iid))["timeline"] == before["timeline"]


# ------------------------------------------------------------------ `ecoplan web` as a process


async def test_ecoplan_web_command(tmp_path, temporal_address, worker):
    import asyncio
    import os
    import signal
    import sys
    from pathlib import Path

    from tests.ports import free_port

    ecoplan = str(Path(sys.executable).parent / "ecoplan")
    env = {**os.environ, "ECOPLAN_ACCOUNTS_DB": str(tmp_path / "acc.db"), "TEMPORAL_ADDRESS": temporal_address}
    env.pop("ECOPLAN_INTAKE_TOKENS", None)

    # Bad configuration: one line, exit 2, nothing served.
    bad = await asyncio.create_subprocess_exec(ecoplan, "web", env={**env, "ECOPLAN_OIDC_ISSUER": "https://idp.example"},
                                               stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(bad.communicate(), 60)
    assert bad.returncode == 2 and err.decode().strip().splitlines() == [
        "ecoplan: 控制台：统一身份认证（OIDC）除地址外还须设置 ECOPLAN_OIDC_CLIENT_ID 和 ECOPLAN_OIDC_CLIENT_SECRET"]

    port = free_port()
    proc = await asyncio.create_subprocess_exec(ecoplan, "web", "--port", str(port), env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert "尚无账号" in first.decode() and "ecoplan users add" in first.decode()  # no default account

        async def up():
            try:
                async with httpx.AsyncClient(timeout=5) as c:
                    return (await c.get(f"http://127.0.0.1:{port}/login")).status_code
            except httpx.TransportError:
                return None

        assert await eventually(up, lambda s: s == 200, timeout=30) == 200
        async with httpx.AsyncClient(timeout=10) as c:
            assert (await c.post(f"http://127.0.0.1:{port}/alerts", json={})).status_code == 503  # no platform tokens
            assert (await c.get(f"http://127.0.0.1:{port}/openapi.json")).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0, (await proc.stderr.read()).decode()[-500:]


# ------------------------------------------------------------------ times no real incident has (issue 25)


async def test_year_one_and_next_year_are_refused_by_the_api_and_nothing_starts(http):
    headers = await auth(http, "wangwei")
    before = (await http.get("/api/list", headers=await auth(http, "li"), params={"all": True})).json()
    next_year = (now() + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    for body, words in [
        (incident_body(discovered_at="0001-01-01T00:00", reported_at="0001-01-01T01:00"), "发现时间"),
        (incident_body(discovered_at=next_year, reported_at=next_year), "事件的发现和报告时间不能在将来"),
    ]:
        r = await http.post("/api/incidents", headers=headers, json=body)
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    after = (await http.get("/api/list", headers=await auth(http, "li"), params={"all": True})).json()
    assert len(after) == len(before)


async def test_year_one_through_the_console_form_is_refused_and_keeps_what_was_typed(web, http):
    """Finding 1's probe through the console's 新建事件 form: the page comes back (422) with the
    field marked and everything typed still in it; nothing starts."""
    before = (await http.get("/api/list", headers=await auth(http, "li"), params={"all": True})).json()
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        page = await c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = await c.post("/login", data={"username": "wangwei", "password": password("wangwei"), "next": "/",
                                         "csrf_token": token})
        assert r.status_code == 303
        form = await c.get("/incidents/new")
        csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = await c.post("/incidents/new", data={
            "csrf_token": csrf, "title": "元年测试：桃河异味", "county": "平定县", "location": "冶西镇桃河段",
            "incident_type": "hazardous_chemicals", "source": "linkage_119", "reporter": "119指挥中心",
            "discovered_at": "0001-01-01T00:00", "reported_at": "0001-01-01T01:00"})
    assert r.status_code == 422 and "发现时间" in r.text, r.text[:500]
    assert 'value="元年测试：桃河异味"' in r.text and 'value="0001-01-01T00:00"' in r.text
    assert 'name="discovered_at" aria-invalid="true"' in r.text  # the field at fault is marked
    after = (await http.get("/api/list", headers=await auth(http, "li"), params={"all": True})).json()
    assert len(after) == len(before) and not any(i.get("title") == "元年测试：桃河异味" for i in after)


async def test_an_idle_time_too_long_for_any_incident_is_bad_input_not_a_crash(http):
    r = await http.get("/api/stuck", headers=await auth(http, "li"), params={"idle": "5000000d"})
    assert r.status_code == 422 and "空闲时长" in r.json()["detail"] and "36500 天" in r.json()["detail"], r.text
    r = await http.get("/api/stuck", headers=await auth(http, "li"), params={"idle": "36500d"})
    assert r.status_code == 200, r.text


async def test_the_incident_pages_deadlines_cite_the_law_in_chinese(web, client):
    """The plan data's reviewer notes (in English: "第四条 cases: 2 h (…); reminder/escalation:
    ecoplan default") stay out of the page: each deadline and the investigation line show the
    citation only (plan/citation.py), as the CLI and the documents do."""
    import re

    from plan.incident import IncidentReport
    from tests.foreign_words import assert_chinese

    iid = await api.start_incident(client, IncidentReport(**incident_body()))
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        token = _hidden((await c.get("/login")).text, "csrf_token")
        r = await c.post("/login", data={"username": "du", "password": password("du"), "next": "/", "csrf_token": token})
        assert r.status_code == 303
        page = await c.get(f"/incidents/{iid}/live")
    assert page.status_code == 200
    cited = re.findall(r'<span class="muted small src">([^<]*)</span>', page.text)
    assert cited and any("17号令 第三条" in x for x in cited), cited
    assert assert_chinese(cited, what="deadline citations") == len(cited)
