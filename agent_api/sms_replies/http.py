"""Route: the SMS provider pushes the texts customers sent back; a reply to the post-call
satisfaction survey ("reply 1–5") scores its call (docs/survey.md, crm/call_surveys.py).

The push has no session: it carries the site's token (``[sms] inbound_token``) in the query
string, the one thing a provider's push URL can hold. The body is Aliyun's inbound-SMS push (上行
短信 HTTP 批量推送): a list of ``{phone_number, content, send_time, …}``; the answer is the
``{"code": 0, "msg": …}`` Aliyun expects, or it pushes the batch again. Each scored reply is
audited, as the provider.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from agent_api.context import audit, services
from agent_api.errors import Forbidden, NotFoundError
from agent_api.openapi import Endpoint, add_endpoints, endpoint
from agent_api.security import Principal, same_token
from crm import call_surveys

INBOUND_TOKEN: web.AppKey[str] = web.AppKey("sms_inbound_token", str)
ACTOR = "sms-provider"


class ReplyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(max_length=200)] = ""


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the provider adds fields (sign_name, dest_code…)

    phone_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]
    content: Annotated[str, StringConstraints(max_length=1000)]


class InboundBatch(RootModel[list[InboundSms]]):
    root: list[InboundSms] = Field(max_length=500)


class PushAnswer(BaseModel):
    code: int  # 0: taken (Aliyun's convention; anything else and it pushes again)
    msg: str
    scored: int  # replies that scored a call


@endpoint(
    "POST",
    "/api/sms/replies",
    summary="The SMS provider's push of texts customers sent; a 1–5 reply scores its call's survey",
    roles=None,
    query=ReplyQuery,
    body=InboundBatch,
    response=PushAnswer,
    tag="survey",
)
async def receive_replies(
    request: web.Request, principal: Principal | None, query: ReplyQuery, body: InboundBatch
) -> PushAnswer:
    expected = request.app.get(INBOUND_TOKEN, "")
    if not expected:
        raise NotFoundError("no SMS replies are taken here: [sms] inbound_token is not set")
    if not same_token(query.token, expected):
        raise Forbidden("wrong or missing token")
    db = services(request).db
    scored = 0
    for sms in body.root:
        score = await call_surveys.record_sms_reply(db, sms.phone_number, sms.content)
        if score is not None:
            scored += 1
            await audit(request, ACTOR, "survey.sms_reply", score.call_id, satisfaction=score.satisfaction)
    return PushAnswer(code=0, msg="成功", scored=scored)


ENDPOINTS: list[Endpoint] = [receive_replies]


def add_sms_replies(app: web.Application, token: str) -> None:
    app[INBOUND_TOKEN] = token
    add_endpoints(app, ENDPOINTS)
