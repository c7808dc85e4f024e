"""A local stand-in for Aliyun's SMS API (dysmsapi, RPC style) on 127.0.0.1.

It checks what the real service checks before it sends: the signature (its own HMAC-SHA1 over the
sorted, percent-encoded parameters, written here apart from crm/sms.py), a nonce used once, the
registered signature name and template codes, and its own flow control per number; it keeps each
accepted message and answers QuerySendDetails with the delivery a test decides: by BizId, or
every message to a number (each naming its OutId), as the real service does. A test may make it
lose its answers: ``stall`` "after_accept" keeps the message and answers only when released (the
client times out not knowing), "before_accept" holds the request without taking it; ``down``
answers every request with a gateway's HTML error page.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Sent:
    biz_id: str
    number: str
    sign_name: str
    template: str
    params: dict[str, Any]
    out_id: str


@dataclass
class FakeAliyun:
    key_id: str = "LTAI-test"
    secret: str = "test-secret"
    sign_names: frozenset[str] = frozenset({"热线客服"})
    templates: frozenset[str] = frozenset({"SMS_100", "SMS_200"})
    limit_per_number: int = 100  # accepted messages per number before flow control answers
    sent: list[Sent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the Code of each refusal
    delivery: dict[str, tuple[str, str]] = field(default_factory=dict)  # biz id → (SendStatus, ErrCode)
    nonces: set[str] = field(default_factory=set)
    stall: str = ""  # "", "after_accept" or "before_accept" (SendSms only)
    down: bool = False
    server: TestServer | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()
        return str(self.server.make_url("/"))

    async def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            await self.server.close()

    def _signature(self, params: dict[str, str]) -> str:
        quote = lambda text: urllib.parse.quote(text, safe="~")  # noqa: E731
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(params.items()) if k != "Signature")
        text = "POST&%2F&" + quote(query)
        mac = hmac.new((self.secret + "&").encode(), text.encode(), hashlib.sha1).digest()
        return base64.b64encode(mac).decode()

    def _refuse(self, code: str, message: str) -> web.Response:
        self.refused.append(code)
        return web.json_response({"Code": code, "Message": message, "RequestId": "r"})

    async def _held(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.released.wait(), timeout=10)

    async def _rpc(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in (await request.post()).items()}
        if self.down:
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if params.get("AccessKeyId") != self.key_id:
            return self._refuse("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("Signature") != self._signature(params):
            return self._refuse(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self.nonces:
            return self._refuse("SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(nonce)
        if params.get("Action") == "SendSms":
            if self.stall == "before_accept":
                await self._held()
                return self._refuse("isp.RAM_PERMISSION_DENY", "held and dropped")
            answer = self._send(params)
            if self.stall == "after_accept":
                await self._held()
            return answer
        if params.get("Action") == "QuerySendDetails":
            return self._details(params)
        return self._refuse("InvalidAction.NotFound", "Specified api is not found.")

    def _send(self, params: dict[str, str]) -> web.Response:
        if params.get("SignName") not in self.sign_names:
            return self._refuse("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        if params.get("TemplateCode") not in self.templates:
            return self._refuse("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
        number = params.get("PhoneNumbers", "")
        if not number.isdigit() or len(number) != 11:
            return self._refuse("isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误")
        if sum(1 for s in self.sent if s.number == number) >= self.limit_per_number:
            return self._refuse("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控")
        biz_id = f"{900000 + len(self.sent)}^0"
        self.sent.append(
            Sent(
                biz_id,
                number,
                params["SignName"],
                params["TemplateCode"],
                json.loads(params.get("TemplateParam", "{}")),
                params.get("OutId", ""),
            )
        )
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "r"})

    def _details(self, params: dict[str, str]) -> web.Response:
        biz_id = params.get("BizId", "")
        found = [
            s
            for s in self.sent
            if s.number == params.get("PhoneNumber") and (not biz_id or s.biz_id == biz_id)
        ]
        details = []
        for sent in found:
            status, error = self.delivery.get(sent.biz_id, ("1", ""))
            details.append(
                {
                    "PhoneNum": sent.number,
                    "SendStatus": int(status),
                    "ErrCode": error or "DELIVERED",
                    "TemplateCode": sent.template,
                    "OutId": sent.out_id,
                }
            )
        return web.json_response(
            {"Code": "OK", "TotalCount": len(details), "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}}
        )
