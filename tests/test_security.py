"""Security (issue 5): who may sign and approve, that every action records who did it,
secured connections (TLS with a server CA, mutual TLS, API key) made of real certificates
and sockets, and that no secret is ever written to a log or an error line."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest
import yaml
from temporalio.service import TLSConfig

from ecoplan import api
from ecoplan.connection import ConnectionSettings
from plan.incident import Actor, ReportContent
from plan.loader import resolve_plan_path
from tests.drive import SIGNATORIES, act, sign_all, to_termination_pending
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, lead, report, settled
from tests.procs import DevServer, TlsFront, WorkerProcess, ecoplan, ecoplan_in_process, free_port, make_pki, poll
from workflows import messages as m

# ---------------------------------------------------------------------------- who may sign and approve


async def test_sign_off_only_by_the_lead_named_at_dispatch(client, worker):
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    before = await api.status(client, iid)
    attempts = [
        # someone else, claiming the lead's name as lead but acting as themselves
        m.SignOff(round=1, by=IMPOSTOR, group="monitoring", lead=LEADS["monitoring"], decision="approve"),
        # someone else, naming themselves the lead
        m.SignOff(round=1, by=IMPOSTOR, group="monitoring", lead="冒名者", decision="approve"),
        # the disposal lead signing for monitoring
        m.SignOff(round=1, by=lead("disposal"), group="monitoring", lead=LEADS["disposal"], decision="approve"),
        # the commander cannot sign for a group either
        m.SignOff(round=1, by=COMMANDER, group="investigation", lead=LEADS["investigation"], decision="approve"),
        # the right lead name, signed by the right name for another group
        m.SignOff(round=1, by=lead("monitoring"), group="disposal", lead=LEADS["monitoring"], decision="approve"),
    ]
    for inp in attempts:
        with pytest.raises(api.ActionRefused) as e:
            await api.act(client, iid, "sign_off", inp)
        # one sentence naming who tried and the lead named at dispatch
        msg = str(e.value)
        assert "\n" not in msg and inp.by.name in msg and "派遣时指定的" in msg and LEADS[inp.group] in msg, msg
    assert settled(await api.status(client, iid)) == settled(before)
    # the same through the signal form: recorded as rejected, no sign-off
    await api.signal_action(client, iid, "sign_off", attempts[0])

    async def rejected():
        st = await api.status(client, iid)
        return [e for e in st["timeline"] if e["rejected"]] and st
    st = await poll(rejected, 15, 0.2, "rejected signal recorded")
    assert st["signoffs"] == {} and st["pending_signoffs"] == list(SIGNATORIES)
    [entry] = [e for e in st["timeline"] if e["rejected"]]
    assert entry["by"]["name"] == "冒名者" and "组长是张监测" in entry["detail"]["reason"]
    # the named lead may
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring",
                                                 lead=LEADS["monitoring"], decision="approve"))
    st = await api.status(client, iid)
    assert st["signoffs"]["monitoring"]["by"]["name"] == LEADS["monitoring"]


IMPOSTOR = Actor(name="冒名者", role="工作组组长", role_id="lead", via="cli")
DEPUTY = Actor(name="周副局长", role="副指挥", role_id="deputy_commander", via="web")


async def test_commander_approval_only_by_the_commander_roles(client, worker):
    """附件2 is approved by the 指挥; the Yangquan plan lets no 副指挥 approve
    (termination.deputy_may_approve: false), whatever path the Update comes by."""
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    await sign_all(client, iid)
    before = await api.status(client, iid)
    for who, words in ((DUTY, "值班员不能办理「指挥批示终止」"), (lead("monitoring"), "工作组组长不能办理"),
                       (DEPUTY, "副指挥不能办理「指挥批示终止」：此操作由指挥办理"),
                       # a 1.x actor: a name and a free role
                       (Actor(name="李局长", role="指挥"), "未写明预案角色"),
                       # a role name that is not the plan's name for the role id
                       (Actor(name="李局长", role="副 指挥", role_id="commander", via="cli"), "角色不符")):
        with pytest.raises(api.ActionRefused) as e:
            await api.act(client, iid, "approve_termination", m.ApproveTermination(by=who, follow_up=FOLLOW_UP))
        assert words in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert settled(await api.status(client, iid)) == settled(before)  # documents filed meanwhile aside
    res = await act(client, iid, "approve_termination",
                    m.ApproveTermination(by=COMMANDER, instruction="同意", follow_up=FOLLOW_UP))
    assert res.stage == "post_event"
    st = await api.status(client, iid)
    assert st["termination"]["approved_by"] == COMMANDER.model_dump()


def plan_with_named_commanders(folder: Path) -> Path:
    data = yaml.safe_load(resolve_plan_path(None).read_text(encoding="utf-8"))
    hq = data["organisation"]["headquarters"]
    hq["commander"]["people"] = ["李局长"]
    hq["deputy_commanders"][0]["people"] = ["周副局长"]
    path = folder / "named-commanders.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def test_commander_approval_only_by_the_people_a_plan_names(client, worker, tmp_path):
    plan = plan_with_named_commanders(tmp_path)
    iid = await api.start_incident(client, report(plan=str(plan)))
    await to_termination_pending(client, iid)
    await sign_all(client, iid)
    before = await api.status(client, iid)
    with pytest.raises(api.ActionRefused, match="不是本预案写明的指挥或副指挥"):
        await api.act(client, iid, "approve_termination", m.ApproveTermination(
            by=Actor(name="王局长", role="指挥", role_id="commander", via="cli"), follow_up=FOLLOW_UP))
    with pytest.raises(api.ActionRefused, match="值班员不能办理"):  # named, but not in a commander role
        await api.act(client, iid, "approve_termination", m.ApproveTermination(
            by=Actor(name="李局长", role="值班员", role_id="duty_officer", via="cli"), follow_up=FOLLOW_UP))
    assert settled(await api.status(client, iid)) == settled(before)  # documents filed meanwhile aside
    res = await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    assert res.stage == "post_event"


async def test_every_action_records_who_did_it(client, worker):
    """A whole life cycle, each action by a different person: the timeline names each."""
    names = {"duty_officer": "值班员", "commander": "指挥"}
    vias = ("web", "api", "oidc", "cli")
    people = (Actor(name=f"user{i:02d}", display=f"人员{i:02d}", role=names[rid], role_id=rid, via=vias[i % 4])
              for i, rid in enumerate(["commander"] + ["duty_officer"] * 4 + ["commander"] + ["duty_officer"] * 6))
    iid = await api.start_incident(client, report(reporter="报告人"))
    done: list[tuple[str, Actor]] = []

    async def do(action: str, make, by: Actor | None = None):
        by = by or next(people)
        await act(client, iid, action, make(by))
        done.append((action, by))

    await do("activate_response", lambda by: m.ActivateResponse(by=by))
    await do("submit_report", lambda by: m.SubmitReport(**SIGNED, by=by, kind="initial", content=ReportContent(summary="初报")))
    await do("dispatch", lambda by: m.Dispatch(by=by, leads=LEADS))
    await do("submit_report", lambda by: m.SubmitReport(**SIGNED, by=by, kind="progress", content=ReportContent(summary="续报")))
    await do("propose_termination", lambda by: m.ProposeTermination(by=by, reason="达标"))
    for g in SIGNATORIES:
        await do("sign_off", lambda by, g=g: m.SignOff(round=1, by=by, group=g, lead=LEADS[g], decision="approve"), lead(g))
    await do("approve_termination", lambda by: m.ApproveTermination(by=by, follow_up=FOLLOW_UP))
    await do("record_aftercare", lambda by: m.RecordAftercare(by=by, note="善后"))
    await do("complete_investigation", lambda by: m.CompleteInvestigation(by=by))
    await do("assessment_review_passed", lambda by: m.AssessmentReviewPassed(by=by))
    await do("submit_assessment_report", lambda by: m.SubmitAssessmentReport(by=by))
    await do("submit_report", lambda by: m.SubmitReport(**SIGNED, by=by, kind="final", content=ReportContent(summary="处理结果报告")))
    await do("close", lambda by: m.Close(by=by))
    st = await api.status(client, iid)
    people_entries = [(e["action"], e["by"]) for e in st["timeline"] if e["by"] is not None]
    assert people_entries[0] == ("reported", {"name": "报告人", "role": "reporter", "role_id": None, "display": None, "via": None})
    assert people_entries[1:] == [(a, by.model_dump()) for a, by in done]
    # each names the account, its plan role and how it was authenticated
    assert all(by["role_id"] and by["via"] for _, by in people_entries[1:])
    assert {by["via"] for _, by in people_entries[1:]} == {"web", "api", "oidc", "cli"}
    # the system's own entries (deadlines) are marked as such, never as a person
    assert all(e["action"].startswith(("deadline_", "delivery", "delivered", "linkage")) or e["by"] is not None
               for e in st["timeline"])
    assert [s["by"] for s in st["signoff_history"]] == [lead(g).model_dump() for g in SIGNATORIES]
    assert st["termination"]["proposed_by"] == done[4][1].model_dump()


# ---------------------------------------------------------------------------- connection settings

KEY_MARK = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n"
CERT_MARK = "-----BEGIN CERTIFICATE-----\nY2xpZW50LWNlcnQtYnl0ZXM=\n-----END CERTIFICATE-----\n"
CA_MARK = "-----BEGIN CERTIFICATE-----\nc2VydmVyLWNhLWJ5dGVz\n-----END CERTIFICATE-----\n"


@pytest.fixture
def pem_files(tmp_path) -> dict[str, str]:
    out = {}
    for name, text in (("ca", CA_MARK), ("cert", CERT_MARK), ("key", KEY_MARK)):
        p = tmp_path / f"{name}.pem"
        p.write_text(text)
        out[name] = str(p)
    return out


def _leaks(text: str, *secrets_: str) -> list[str]:
    return [s for s in secrets_ if s and s in text]


def test_no_tls_by_default():
    s = ConnectionSettings.from_env({})
    assert (s.address, s.namespace) == ("localhost:7233", "default")
    assert s.tls_config() is False
    assert s.redacted() == {"address": "localhost:7233", "namespace": "default", "tls": False, "mtls": False,
                            "api_key": None}


def test_tls_with_system_roots():
    s = ConnectionSettings.from_env({"TEMPORAL_TLS": "1", "TEMPORAL_ADDRESS": "x.example:7233"})
    cfg = s.tls_config()
    assert isinstance(cfg, TLSConfig)
    assert (cfg.server_root_ca_cert, cfg.client_cert, cfg.client_private_key, cfg.domain) == (None, None, None, None)


def test_tls_with_a_server_ca(pem_files):
    s = ConnectionSettings.from_env({"TEMPORAL_TLS_CA": pem_files["ca"], "TEMPORAL_TLS_SERVER_NAME": "temporal.local",
                                     "TEMPORAL_NAMESPACE": "eco"})
    cfg = s.tls_config()
    assert isinstance(cfg, TLSConfig)
    assert cfg.server_root_ca_cert == CA_MARK.encode()
    assert cfg.client_cert is None and cfg.client_private_key is None
    assert cfg.domain == "temporal.local"
    r = s.redacted()
    assert r["tls"] is True and r["mtls"] is False and r["namespace"] == "eco"
    assert not _leaks(json.dumps(r), CA_MARK, "c2VydmVyLWNhLWJ5dGVz")


def test_mutual_tls(pem_files):
    s = ConnectionSettings.from_env({"TEMPORAL_TLS_CA": pem_files["ca"], "TEMPORAL_TLS_CERT": pem_files["cert"],
                                     "TEMPORAL_TLS_KEY": pem_files["key"]})
    cfg = s.tls_config()
    assert cfg.client_cert == CERT_MARK.encode() and cfg.client_private_key == KEY_MARK.encode()
    assert cfg.server_root_ca_cert == CA_MARK.encode()
    r = s.redacted()
    assert r["tls"] is True and r["mtls"] is True
    assert not _leaks(json.dumps(r) + repr(r), KEY_MARK, CERT_MARK, "c2VjcmV0LWtleS1ieXRlcw", "Y2xpZW50LWNlcnQtYnl0ZXM")


@pytest.mark.parametrize("only", ["TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY"])
def test_mutual_tls_needs_both(pem_files, only):
    s = ConnectionSettings.from_env({only: pem_files["cert" if only.endswith("CERT") else "key"]})
    with pytest.raises(ValueError, match="双向 TLS 须同时设置 TEMPORAL_TLS_CERT 和 TEMPORAL_TLS_KEY"):
        s.tls_config()


def test_api_key(pem_files):
    key = "tcld-" + secrets.token_hex(16)
    s = ConnectionSettings.from_env({"TEMPORAL_API_KEY": key, "TEMPORAL_ADDRESS": "eco.tmprl.cloud:7233"})
    assert s.api_key == key
    cfg = s.tls_config()
    assert isinstance(cfg, TLSConfig)  # an API key is only ever sent over TLS
    r = s.redacted()
    assert r["api_key"] == "set" and r["tls"] is True
    assert not _leaks(json.dumps(r) + repr(r) + str(r), key)


def test_the_settings_object_itself_does_not_print_the_key():
    """A settings object that ends up in a log line or a traceback (repr) must not carry the key."""
    key = "tcld-" + secrets.token_hex(16)
    s = ConnectionSettings.from_env({"TEMPORAL_API_KEY": key})
    assert key not in repr(s) and key not in str(s)


# ---------------------------------------------------------------------------- real TLS / mTLS / API key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = make_pki(tmp_path_factory.mktemp("pki"))
    if p is None:
        pytest.skip("openssl is not installed: no certificates to test TLS with")
    return p


@pytest.fixture(scope="module")
async def own_server(tmp_path_factory):
    """A dev server for worker.py processes (they poll the default task queue)."""
    srv = DevServer(log_dir=tmp_path_factory.mktemp("security-server"))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.kill()


async def test_cli_over_tls_and_mutual_tls(client, worker, temporal_address, pki):
    iid = await api.start_incident(client, report())
    expected = json.loads(json.dumps(await api.status(client, iid), ensure_ascii=False))
    upstream = int(temporal_address.rsplit(":", 1)[1])
    tls, mtls = TlsFront(pki, upstream), TlsFront(pki, upstream, require_client_cert=True)
    key = "tcld-" + secrets.token_hex(16)
    ca = {"TEMPORAL_TLS_CA": str(pki.ca), "TEMPORAL_TLS_SERVER_NAME": "localhost"}
    both = {**ca, "TEMPORAL_TLS_CERT": str(pki.client_cert), "TEMPORAL_TLS_KEY": str(pki.client_key)}
    try:
        # `process`: a real `ecoplan` process (what it writes to its stderr from any layer is
        # checked for the key); the others run the same command line in this process
        # (tests.procs.ecoplan_in_process: the settings are read from the environment per call)
        ok = [
            ("tls", tls, ca, False),
            ("tls+api-key", tls, {**ca, "TEMPORAL_API_KEY": key}, False),
            ("mtls", mtls, both, False),
            ("mtls+api-key", mtls, {**both, "TEMPORAL_API_KEY": key}, True),
        ]
        for name, front, env, process in ok:
            run = ecoplan if process else ecoplan_in_process
            r = await run("status", iid, "--json", address=front.address, env_extra=env)
            assert r.code == 0, (name, r.err)
            assert json.loads(r.out) == expected, name
            assert not _leaks(r.out + r.err, key), name
        refused = [
            ("plaintext to a TLS port", tls, {}, False),
            ("untrusted server (system roots)", tls, {"TEMPORAL_TLS": "1", "TEMPORAL_API_KEY": key}, True),
            ("mtls without a client certificate", mtls, {**ca, "TEMPORAL_API_KEY": key}, True),
        ]
        for name, front, env, process in refused:
            run = ecoplan if process else ecoplan_in_process
            r = await run("status", iid, "--json", address=front.address, env_extra=env)
            lines = r.err.strip().splitlines()
            assert r.code == 1, (name, r.code, r.err)
            assert len(lines) == 1 and "连不上 Temporal 服务" in lines[0], (name, r.err)
            assert not _leaks(r.out + r.err, key, pki.client_key.read_text()), name
        assert mtls.handshakes_failed >= 1 and tls.handshakes_ok >= 2
    finally:
        tls.close()
        mtls.close()


async def test_cli_with_only_a_client_certificate_says_so(pki):
    r = await ecoplan_in_process("status", "x", address=f"127.0.0.1:{free_port()}",
                                 env_extra={"TEMPORAL_TLS_CERT": str(pki.client_cert)})
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "双向 TLS 须同时设置 TEMPORAL_TLS_CERT 和 TEMPORAL_TLS_KEY" in lines[0]
    assert r.code in (1, 2)


async def test_cli_configuration_mistake_is_not_an_internal_error(pki):
    r = await ecoplan_in_process("status", "x", address=f"127.0.0.1:{free_port()}",
                                 env_extra={"TEMPORAL_TLS_KEY": str(pki.client_key)})
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "内部错误" not in r.err, r.err
    assert "双向 TLS 须同时设置" in lines[0] and r.code in (1, 2)
    assert pki.client_key.read_text() not in r.err


@pytest.mark.slow
async def test_no_secret_in_worker_logs_or_errors(own_server, pki, tmp_path):
    """worker.py with an API key over mutual TLS (through a TLS front of a real dev server),
    with only half of mTLS, and against an address where nothing listens: the key and the
    private key never appear in what it writes, while the settings it logs say a key is set."""
    key = "tcld-" + secrets.token_hex(24)
    private_key = pki.client_key.read_text()
    key_body = "".join(private_key.splitlines()[1:3])
    front = TlsFront(pki, own_server.port, require_client_cert=True)
    secured = WorkerProcess(front.address, tmp_path, {
        "TEMPORAL_API_KEY": key, "TEMPORAL_TLS_CA": str(pki.ca), "TEMPORAL_TLS_SERVER_NAME": "localhost",
        "TEMPORAL_TLS_CERT": str(pki.client_cert), "TEMPORAL_TLS_KEY": str(pki.client_key)}, name="secured")
    # it gives up after its connect window (ECOPLAN_CONNECT_WAIT; 30 s unless told)
    unreachable = WorkerProcess(f"127.0.0.1:{free_port()}", tmp_path, {"TEMPORAL_API_KEY": key,
                                                                        "ECOPLAN_CONNECT_WAIT": "3"}, name="unreachable")
    half = WorkerProcess(own_server.address, tmp_path, {"TEMPORAL_API_KEY": key,
                                                        "TEMPORAL_TLS_CERT": str(pki.client_cert)}, name="half")
    try:
        await unreachable.start(wait_ready=False)
        await half.start(wait_ready=False)
        await secured.start()
        # it works: an incident runs through the secured worker (and logs notifications)
        client = await own_server.client()
        iid = await api.start_incident(client, report())
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
        await api.act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                                   content=ReportContent(summary="初报")))
        await poll(lambda: asyncio.sleep(0, '"notification"' in secured.output() or "notification" in secured.output()),
                   30, 0.2, "notifications logged")
        assert await secured.terminate() == 0
        log = secured.output()
        starting = [json.loads(ln) for ln in log.splitlines() if '"worker_starting"' in ln]
        assert starting and starting[0]["api_key"] == "set" and starting[0]["mtls"] is True
        assert starting[0]["tls"] is True
        assert front.handshakes_ok >= 1

        assert await half.wait(15) == 1  # a mistake in the settings is not retried for the connect window
        half_log = half.output().strip().splitlines()
        assert half_log == ["ecoplan worker: 双向 TLS 须同时设置 TEMPORAL_TLS_CERT 和 TEMPORAL_TLS_KEY"]

        assert await unreachable.wait(90) == 1
        lines = unreachable.output().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ecoplan worker: "), lines

        for w in (secured, half, unreachable):
            out = w.output()
            assert not _leaks(out, key, private_key, key_body), f"{w.name} leaked a secret"
            assert "Traceback" not in out, w.name
        # and the command line's error line
        r = await ecoplan("status", "x", address=unreachable.address, env_extra={"TEMPORAL_API_KEY": key})
        assert r.code == 1 and not _leaks(r.out + r.err, key)
    finally:
        for w in (secured, half, unreachable):
            await w.kill()
        front.close()


def test_connect_wait_setting(monkeypatch):
    """ECOPLAN_CONNECT_WAIT (the unreachable worker above uses it): seconds, 30 unless set,
    and a value that is not a number of seconds is refused with its name."""
    from worker import connect_wait

    monkeypatch.delenv("ECOPLAN_CONNECT_WAIT", raising=False)
    assert connect_wait() == 30
    monkeypatch.setenv("ECOPLAN_CONNECT_WAIT", "2.5")
    assert connect_wait() == 2.5
    for raw in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv("ECOPLAN_CONNECT_WAIT", raw)
        with pytest.raises(ValueError, match="ECOPLAN_CONNECT_WAIT"):
            connect_wait()
