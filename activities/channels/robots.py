"""The group robots: DingTalk custom robot (自定义机器人) and WeCom group robot (群机器人).

DingTalk, with a signing secret: each call carries `timestamp` (ms) and
`sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))` in its query, as
DingTalk documents it; the person is @-mentioned by user id (or mobile). WeCom: the webhook's
`key` is the credential; the person is @-mentioned by user id (or mobile). Both answer
{"errcode": 0, "errmsg": "ok"}; a rate limit is retried, any other error is hopeless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from activities.channels.base import Hopeless, Message, Retry
from activities.settings import EcoplanSettings

TIMEOUT_S = 10
RATE_LIMITED = {130101, 45009, 45033, -1}  # DingTalk 130101 发送太快; WeCom 45009 接口调用超过限制; -1 系统繁忙


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk(s: EcoplanSettings, who: str, m: Message) -> str:
    if not s.dingtalk_webhook:
        raise Hopeless("钉钉渠道未配置（ECOPLAN_DINGTALK_WEBHOOK）")
    url = s.dingtalk_webhook
    if s.dingtalk_secret:
        ts = int(time.time() * 1000)
        url += f"&timestamp={ts}&sign={dingtalk_sign(s.dingtalk_secret, ts)}"
    at = {"atMobiles": [who]} if who.isdigit() else {"atUserIds": [who]}
    body = {"msgtype": "text", "text": {"content": f"{m.text}\n@{who}"}, "at": at}
    return _post("钉钉", url, body)


def wecom(s: EcoplanSettings, who: str, m: Message) -> str:
    if not s.wecom_webhook:
        raise Hopeless("企业微信渠道未配置（ECOPLAN_WECOM_WEBHOOK）")
    mention = {"mentioned_mobile_list": [who]} if who.isdigit() else {"mentioned_list": [who]}
    return _post("企业微信", s.wecom_webhook, {"msgtype": "text", "text": {"content": m.text, **mention}})


def _post(name: str, url: str, body: dict) -> str:
    host = urllib.parse.urlsplit(url).netloc  # never the query: it holds the token and the signature
    req = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            answer = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        if e.code in (408, 429) or e.code >= 500:
            raise Retry(f"{name}机器人 {host} 答复 HTTP {e.code}") from None
        raise Hopeless(f"{name}机器人 {host} 拒绝：HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise Retry(f"{name}机器人 {host} 未连通（{type(e).__name__}）") from None
    code = answer.get("errcode")
    if code == 0:
        return f"{name}机器人 {host} ok"
    if code in RATE_LIMITED:
        raise Retry(f"{name}机器人限流（{code} {answer.get('errmsg', '')[:80]}）")
    raise Hopeless(f"{name}机器人拒绝（{code} {str(answer.get('errmsg', ''))[:80]}）")
