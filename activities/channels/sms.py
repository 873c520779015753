"""SMS through Alibaba Cloud SMS (Dysmsapi, SendSms, version 2017-05-25), signed as its RPC API
documents (signature version 1.0): the parameters sorted by name, each name and value
percent-encoded (RFC 3986: space %20, * %2A, ~ kept), joined with & into the canonical query;
StringToSign = "POST&%2F&" + percentEncode(canonical query);
Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)). The message is the one
variable `${content}` of the approved template (ECOPLAN_SMS_TEMPLATE_CODE)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

from activities.channels.base import Hopeless, Message, Retry
from activities.settings import EcoplanSettings

TIMEOUT_S = 10
MAX_CONTENT = 300  # local choice: a template variable longer than this is cut (the link stays)
RETRY_CODES = ("Throttling", "isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable", "InternalError")


def percent(value: str) -> str:
    return urllib.parse.quote(str(value), safe="~")


def canonical(params: dict[str, str]) -> str:
    return "&".join(f"{percent(k)}={percent(params[k])}" for k in sorted(params))


def signature(secret: str, method: str, params: dict[str, str]) -> str:
    to_sign = f"{method}&{percent('/')}&{percent(canonical(params))}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def send(s: EcoplanSettings, mobile: str, m: Message) -> str:
    if not (s.sms_access_key_id and s.sms_access_key_secret and s.sms_sign_name and s.sms_template_code):
        raise Hopeless("短信渠道未配置（ECOPLAN_SMS_ACCESS_KEY_ID/_SECRET、_SIGN_NAME、_TEMPLATE_CODE）")
    text = m.subject + "：" + m.body
    content = (text[:MAX_CONTENT] + "…" if len(text) > MAX_CONTENT else text) + (f" 确认：{m.link}" if m.link else "")
    params = {"AccessKeyId": s.sms_access_key_id, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": mobile,
              "RegionId": "cn-hangzhou", "SignName": s.sms_sign_name, "SignatureMethod": "HMAC-SHA1",
              # The nonce is the idempotency key when there is one: the provider drops a repeated nonce.
              "SignatureNonce": m.key or str(uuid.uuid4()), "SignatureVersion": "1.0",
              "TemplateCode": s.sms_template_code, "TemplateParam": json.dumps({"content": content}, ensure_ascii=False),
              "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25"}
    params["Signature"] = signature(s.sms_access_key_secret, "POST", params)
    host = urllib.parse.urlsplit(s.sms_endpoint).netloc
    req = urllib.request.Request(s.sms_endpoint, data=urllib.parse.urlencode(params).encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            answer = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            answer = json.loads(e.read() or b"{}")
        except ValueError:
            answer = {}
        if e.code >= 500 or e.code in (408, 429):
            raise Retry(f"短信 {host} 答复 HTTP {e.code}") from None
        if not answer.get("Code"):
            raise Hopeless(f"短信 {host} 拒绝：HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise Retry(f"短信 {host} 未连通（{type(e).__name__}）") from None
    code = str(answer.get("Code", ""))
    if code == "OK":
        return f"短信 {host} BizId {answer.get('BizId', '')}"
    if code.startswith(RETRY_CODES):
        raise Retry(f"短信 {host} 暂不能发送（{code}）")
    raise Hopeless(f"短信 {host} 拒绝（{code} {str(answer.get('Message', ''))[:80]}）")
