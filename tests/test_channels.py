"""The paging channels speaking their real protocols (activities/channels): e-mail to a real
SMTP server (aiosmtpd, with AUTH), the DingTalk robot to a local receiver that checks its
timestamp and HMAC-SHA256 signature as DingTalk documents it, the WeCom robot to one that checks
its key, and Alibaba Cloud SMS to one that checks the request signature (signature version 1.0).
The receivers recompute each signature here, independently of the code under test. No secret
appears in any result or error."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from activities.channels.base import Hopeless, Message, Retry
from activities.channels.dispatch import send
from activities.settings import settings
from tests.ports import free_port

SECRET = "SECabc123-dingtalk-signing-secret"
KEY_SECRET = "sms-access-key-secret-xyz"
MSG = Message(subject="【演练】新接报事件", body="桃河水质异常，请核实", link="http://127.0.0.1:8000/pages/p1/ack?t=x",
              key="page-1/wangwei/email")




class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    box = Mailbox()

    def auth(server, session, envelope, mechanism, data):
        text = [v.decode() if isinstance(v, bytes) else v for v in (data.login, data.password)]
        return AuthResult(success=text == ["yj", "smtp-pass-123"], handled=False)  # handled=False: 535 on failure

    c = Controller(box, hostname="127.0.0.1", port=free_port(), authenticator=auth, auth_require_tls=False)
    c.start()
    yield c, box
    c.stop()


def test_email_reaches_a_real_smtp_server_with_auth(smtp):
    c, box = smtp
    env = {"ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(c.port), "ECOPLAN_SMTP_TLS": "none",
           "ECOPLAN_SMTP_USER": "yj", "ECOPLAN_SMTP_PASSWORD": "smtp-pass-123", "ECOPLAN_SMTP_FROM": "yj@example.gov.cn"}
    result = send("email", "wangwei@example.gov.cn", MSG, settings(env))
    assert "已接收" in result and "smtp-pass-123" not in result
    (rcpt, raw), = box.messages
    assert rcpt == ["wangwei@example.gov.cn"]
    mail = message_from_bytes(raw)
    assert str(make_header(decode_header(mail["Subject"]))) == "【演练】新接报事件"
    assert mail["Message-ID"] == "<page-1.wangwei.email@ecoplan>"
    body = mail.get_payload(decode=True).decode()
    assert "桃河水质异常" in body and "确认收到：http://127.0.0.1:8000/pages/p1/ack?t=x" in body
    with pytest.raises(Hopeless) as e:
        send("email", "wangwei@example.gov.cn", MSG, settings({**env, "ECOPLAN_SMTP_PASSWORD": "wrong"}))
    assert "拒绝登录" in str(e.value) and "wrong" not in str(e.value)


def test_email_to_a_server_that_is_down_is_retried():
    env = {"ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(free_port()), "ECOPLAN_SMTP_TLS": "none",
           "ECOPLAN_SMTP_FROM": "yj@example.gov.cn"}
    with pytest.raises(Retry):
        send("email", "wangwei@example.gov.cn", MSG, settings(env))


class Receiver:
    """A local HTTP receiver: `check(path, query, body) -> (status, json answer)`; records what it took."""

    def __init__(self, check):
        self.got = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = urllib.parse.urlsplit(self.path)
                status, answer = check(parts.path, dict(urllib.parse.parse_qsl(parts.query)), body)
                if status == 200 and answer.get("errcode", 0) == 0 and answer.get("Code", "OK") == "OK":
                    outer.got.append(body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dingtalk_check(path, q, body):
    # DingTalk's documented check: timestamp within an hour, sign = base64(HMAC-SHA256(secret, ts + "\n" + secret)).
    ts = int(q.get("timestamp", "0"))
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()).decode()
    if q.get("access_token") != "tok-1" or abs(time.time() * 1000 - ts) > 3600_000 or q.get("sign") != expected:
        return 200, {"errcode": 310000, "errmsg": "sign not match"}
    return 200, {"errcode": 0, "errmsg": "ok"}


def test_dingtalk_robot_signed_as_documented():
    r = Receiver(dingtalk_check)
    try:
        env = {"ECOPLAN_DINGTALK_WEBHOOK": f"{r.url}/robot/send?access_token=tok-1", "ECOPLAN_DINGTALK_SECRET": SECRET}
        out = send("dingtalk", "ww001", MSG, settings(env))
        assert "ok" in out and "tok-1" not in out and SECRET not in out
        sent = json.loads(r.got[0])
        assert sent["at"] == {"atUserIds": ["ww001"]} and sent["text"]["content"].startswith("【演练】新接报事件")
        assert "确认收到：http://127.0.0.1:8000/pages/p1/ack?t=x" in sent["text"]["content"]
        with pytest.raises(Hopeless) as e:  # a wrong secret: the receiver refuses the signature
            send("dingtalk", "13800000000", MSG, settings({**env, "ECOPLAN_DINGTALK_SECRET": "SECwrong"}))
        assert "310000" in str(e.value) and "SECwrong" not in str(e.value) and "tok-1" not in str(e.value)
    finally:
        r.close()


def test_wecom_robot_with_its_key_and_rate_limit():
    answers = iter([(200, {"errcode": 45009, "errmsg": "api freq out of limit"})])

    def check(path, q, body):
        if path != "/cgi-bin/webhook/send" or q.get("key") != "wk-1":
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        return next(answers, (200, {"errcode": 0, "errmsg": "ok"}))

    r = Receiver(check)
    try:
        env = {"ECOPLAN_WECOM_WEBHOOK": f"{r.url}/cgi-bin/webhook/send?key=wk-1"}
        with pytest.raises(Retry):
            send("wecom", "13800000000", MSG, settings(env))
        assert "ok" in send("wecom", "13800000000", MSG, settings(env))
        assert json.loads(r.got[0])["text"]["mentioned_mobile_list"] == ["13800000000"]
    finally:
        r.close()


def sms_check(path, q, body):
    # Alibaba Cloud RPC signature v1.0, recomputed: sorted, RFC 3986-encoded, "POST&%2F&" + encoded query.
    params = dict(urllib.parse.parse_qsl(body.decode()))
    got = params.pop("Signature", "")
    enc = lambda v: urllib.parse.quote(v, safe="~")  # noqa: E731
    query = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    to_sign = "POST&%2F&" + enc(query)
    want = base64.b64encode(hmac.new((KEY_SECRET + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    if got != want or params.get("AccessKeyId") != "LTAI-test":
        return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
    if params["PhoneNumbers"] == "13900000000":
        return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid mobile"}
    return 200, {"Code": "OK", "Message": "OK", "BizId": "9006197469364984400"}


def test_alibaba_cloud_sms_signed_as_documented():
    r = Receiver(sms_check)
    try:
        env = {"ECOPLAN_SMS_ENDPOINT": r.url + "/", "ECOPLAN_SMS_ACCESS_KEY_ID": "LTAI-test",
               "ECOPLAN_SMS_ACCESS_KEY_SECRET": KEY_SECRET, "ECOPLAN_SMS_SIGN_NAME": "阳泉市生态环境局",
               "ECOPLAN_SMS_TEMPLATE_CODE": "SMS_123"}
        out = send("sms", "13800000000", MSG, settings(env))
        assert out.endswith("BizId 9006197469364984400") and KEY_SECRET not in out
        sent = dict(urllib.parse.parse_qsl(r.got[0].decode()))
        assert sent["SignName"] == "阳泉市生态环境局" and sent["SignatureNonce"] == MSG.key
        assert json.loads(sent["TemplateParam"])["content"].startswith("【演练】新接报事件：桃河水质异常")
        with pytest.raises(Hopeless, match="isv.MOBILE_NUMBER_ILLEGAL"):
            send("sms", "13900000000", MSG, settings(env))
        with pytest.raises(Hopeless, match="SignatureDoesNotMatch") as e:
            send("sms", "13800000000", MSG, settings({**env, "ECOPLAN_SMS_ACCESS_KEY_SECRET": "other"}))
        assert "other" not in str(e.value)
    finally:
        r.close()


def test_notify_test_sends_on_each_channel_and_says_which_failed(smtp, tmp_path, store_target):
    """发送测试通知 (ecoplan notify-test): e-mail reaches the SMTP server; DingTalk, set up at a
    closed port, fails; the channel's health says so. Accounts, contacts and the channel's
    health in SQLite files, then in PostgreSQL (issue 27)."""
    from argon2 import PasswordHasher

    from activities.page_store import PageStore
    from ecoplan.accounts import AccountStore
    from ecoplan.contacts import ContactStore
    from tests.procs import ecoplan_in_process_sync

    c, box = smtp
    shared = isinstance(store_target, str)
    db = store_target if shared else tmp_path / "accounts.db"
    AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)).add(
        "wangwei", "duty_officer", "pw-wangwei-桃河-2026", display="王伟")
    ContactStore(db).set("wangwei", email="wangwei@example.gov.cn", dingtalk="ww001")
    env = {**({"ECOPLAN_DATABASE_URL": db} if shared else {"ECOPLAN_ACCOUNTS_DB": str(db)}), "ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(c.port),
           "ECOPLAN_SMTP_TLS": "none", "ECOPLAN_SMTP_FROM": "yj@example.gov.cn", "ECOPLAN_SMTP_USER": "yj",
           "ECOPLAN_SMTP_PASSWORD": "smtp-pass-123",
           "ECOPLAN_DINGTALK_WEBHOOK": f"http://127.0.0.1:{free_port()}/robot/send?access_token=tok-x"}
    r = ecoplan_in_process_sync("notify-test", "wangwei", env=env)
    assert r.code == 1
    assert "钉钉：失败" in r.out and "电子邮件：已发送" in r.out and "tok-x" not in r.out
    assert [rcpt for rcpt, _ in box.messages] == [["wangwei@example.gov.cn"]]
    assert list(PageStore(db if shared else tmp_path / "pages.db").channels_down()) == ["dingtalk"]


# ------------------------------------------------------------------ e-mail over TLS (STARTTLS, implicit TLS)


class TlsMailbox(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        assert server.transport.get_extra_info("ssl_object") is not None  # the message came over TLS
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA made here and a certificate it signs for 127.0.0.1 (P-256 keys: quick to make)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("certs")
    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, key, issuer, issuer_key, ca: bool):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "阳泉测试 CA")])
    ca = cert(ca_name, ca_key, ca_name, ca_key, True)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key, ca_name, ca_key, False)
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(leaf.public_bytes(pem))
    (d / "server.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return d


def _server_tls(certs):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs / "server.pem", certs / "server.key")
    return ctx


def _auth(server, session, envelope, mechanism, data):
    return AuthResult(success=[data.login, data.password] == [b"yj", b"smtp-pass-123"], handled=False)


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_tls_with_the_servers_certificate_checked(certs, mode):
    """STARTTLS (the server refuses mail and AUTH before it) and implicit TLS, against a real
    aiosmtpd holding a certificate from a CA made here: delivered when that CA is trusted
    (ECOPLAN_SMTP_CA_FILE), refused as hopeless when only the system's CAs are."""
    box = TlsMailbox()
    # aiosmtpd offers AUTH on an implicit-TLS connection only with auth_require_tls off (it
    # counts STARTTLS alone as TLS); the whole connection is TLS there anyway.
    tls = {"tls_context": _server_tls(certs), "require_starttls": True, "auth_require_tls": True} \
        if mode == "starttls" else {"ssl_context": _server_tls(certs), "auth_require_tls": False}
    c = Controller(box, hostname="127.0.0.1", port=free_port(), authenticator=_auth, server_hostname="127.0.0.1",
                   **tls)
    c.start()
    try:
        env = {"ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(c.port), "ECOPLAN_SMTP_TLS": mode,
               "ECOPLAN_SMTP_USER": "yj", "ECOPLAN_SMTP_PASSWORD": "smtp-pass-123",
               "ECOPLAN_SMTP_FROM": "yj@example.gov.cn", "ECOPLAN_SMTP_CA_FILE": str(certs / "ca.pem")}
        assert send("email", "wangwei@example.gov.cn", MSG, settings(env)) == f"smtp 127.0.0.1:{c.port} 已接收"
        (rcpt, raw), = box.messages
        assert rcpt == ["wangwei@example.gov.cn"]
        assert str(make_header(decode_header(message_from_bytes(raw)["Subject"]))) == "【演练】新接报事件"
        with pytest.raises(Hopeless, match="证书未通过验证"):
            send("email", "wangwei@example.gov.cn", MSG, settings({**env, "ECOPLAN_SMTP_CA_FILE": ""}))
        assert len(box.messages) == 1
    finally:
        c.stop()


def test_email_with_an_unreadable_ca_file_says_so(tmp_path):
    env = {"ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(free_port()), "ECOPLAN_SMTP_TLS": "starttls",
           "ECOPLAN_SMTP_FROM": "yj@example.gov.cn", "ECOPLAN_SMTP_CA_FILE": str(tmp_path / "none.pem")}
    with pytest.raises(Hopeless, match="ECOPLAN_SMTP_CA_FILE 无法读取"):
        send("email", "wangwei@example.gov.cn", MSG, settings(env))
