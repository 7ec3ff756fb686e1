"""The sms.aspx family ("短信网关二次开发接口"): parse and render, quirks kept byte for byte.

Unchanged legacy clients parse these replies with substring searches and exact string compares,
so the misspellings (`Faild`, `Sucess`), the element case (`taskID` but `taskid`), the XML prolog,
HTTP 200 for every error and the Chinese messages are all part of the contract.

Unknown arguments are ignored, as ASP.NET's `Request[...]` ignores them (legacy clients send
vendor extras); an unknown *action* is `参数错误`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .accounts import ApiAccount, CredentialLookup, Front, Limits, authenticate, authenticate_sign
from .errors import ApiError, Reason, gateway_code
from .fields import check_extno as _check_extno
from .fields import (
    dedupe,
    local_time,
    mainland_mobile,
    split_numbers,
    text_too_long,
    well_formed_text,
)
from .fields import legacy_send_time as _send_time
from .fields import parse_int as _parse_int
from .fields import source_with_extno as _source
from .requests import (
    AccountChannel,
    ApiRequest,
    BalanceRequest,
    ContentCheckRequest,
    Dialect,
    LegacyForm,
    Op,
    OutboundMessage,
    PullRequest,
    Refusal,
    Rejection,
    Reply,
    SendRequest,
    Text,
)
from .results import Balance, ContentVerdict, EventPage, InboundEvent, Outcome, ReportEvent, SendOutcome
from .wire import HttpRequest, HttpResponse, Params, codec_for, decode_bytes, media_type, normalise_path, split_form

# --- endpoints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Endpoint:
    ops: tuple[Op, ...]  # SEND (send/overage/checkkeyword) or a pull kind
    form: LegacyForm
    codec: str
    signed: bool  # v2: userid + timestamp + sign


_SEND_OPS = (Op.SEND, Op.BALANCE, Op.CHECK)
ENDPOINTS: dict[str, _Endpoint] = {
    "/sms.aspx": _Endpoint(_SEND_OPS, LegacyForm.XML, "utf-8", signed=False),
    "/smsgbk.aspx": _Endpoint(_SEND_OPS, LegacyForm.XML_GBK, "gbk", signed=False),
    "/smsjson.aspx": _Endpoint(_SEND_OPS, LegacyForm.JSON, "utf-8", signed=False),
    "/v2sms.aspx": _Endpoint(_SEND_OPS, LegacyForm.XML, "utf-8", signed=True),
    "/statusapi.aspx": _Endpoint((Op.REPORTS,), LegacyForm.XML, "utf-8", signed=False),
    "/callapi.aspx": _Endpoint((Op.INBOUND,), LegacyForm.XML, "utf-8", signed=False),
    "/v2statusapi.aspx": _Endpoint((Op.REPORTS,), LegacyForm.XML, "utf-8", signed=True),
    "/v2callapi.aspx": _Endpoint((Op.INBOUND,), LegacyForm.XML, "utf-8", signed=True),
}

_ACTIONS = {"send": Op.SEND, "overage": Op.BALANCE, "checkkeyword": Op.CHECK}


def legacy_path(path: str) -> str | None:
    """The endpoint key of a path (any case, repeated slashes), None if it is not one of ours."""
    key = normalise_path(path).lower()
    return key if key in ENDPOINTS else None


# --- parse ----------------------------------------------------------------------------------


def _decoded_params(request: HttpRequest, endpoint: _Endpoint) -> tuple[Params, bool]:
    """Query and form merged, names any case; and whether some value would not decode."""
    kind, declared = media_type(request.header("Content-Type"))
    first = codec_for(declared) if declared else None
    # The endpoint's charset (or the declared one), then GB18030, then UTF-8: quirk 6.
    order = tuple(dict.fromkeys((first or endpoint.codec, "gb18030", "utf-8")))
    bad = False

    def decode(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
        nonlocal bad
        out: list[tuple[str, str]] = []
        for raw_name, raw_value in pairs:
            name = decode_bytes(raw_name, ("ascii",))
            if name is None:
                continue  # no parameter of ours has a non-ASCII name
            value = decode_bytes(raw_value, order)
            if value is None:
                bad = True
                value = ""
            out.append((name, value))
        return out

    query = decode(split_form(request.query))
    form: list[tuple[str, str]] = []
    if request.method.upper() == "POST" and kind in ("", "application/x-www-form-urlencoded"):
        form = decode(split_form(request.body))
    return Params(query, form, case_insensitive=True), bad


def _form(endpoint: _Endpoint, params: Params) -> LegacyForm:
    if endpoint.form is not LegacyForm.JSON and (params.get("rt") or "").strip().lower() == "json":
        return LegacyForm.JSON_V2
    return endpoint.form


def parse_legacy(
    request: HttpRequest, now: float, accounts: CredentialLookup, limits: Limits
) -> ApiRequest | Rejection:
    """A legacy request as a typed request, or the refusal its reply will show."""
    key = legacy_path(request.path)
    if key is None:
        return Rejection(Reply(Dialect.LEGACY, Op.SEND), ApiError(Reason.NOT_FOUND))
    endpoint = ENDPOINTS[key]
    if request.method.upper() not in ("GET", "POST", "HEAD"):
        return Rejection(Reply(Dialect.LEGACY, endpoint.ops[0]), ApiError(Reason.METHOD_NOT_ALLOWED))
    params, bad_bytes = _decoded_params(request, endpoint)
    form = _form(endpoint, params)
    action = (params.get("action") or "").strip().lower()

    if endpoint.ops == _SEND_OPS:
        op = _ACTIONS.get(action)
        if op is None:
            return Rejection(Reply(Dialect.LEGACY, Op.SEND, form), ApiError(Reason.UNKNOWN_FIELD, "action", action))
    else:
        op = endpoint.ops[0]
        if action not in ("", "query"):
            return Rejection(Reply(Dialect.LEGACY, op), ApiError(Reason.UNKNOWN_FIELD, "action", action))
    reply = Reply(Dialect.LEGACY, op, form if op in _SEND_OPS else LegacyForm.XML)

    if len(request.body) > limits.max_body_bytes:
        return Rejection(reply, ApiError(Reason.BODY_TOO_LARGE))
    if bad_bytes:
        return Rejection(reply, ApiError(Reason.BAD_ENCODING, field="content"))

    signed = _sign_in(request, params=params, endpoint=endpoint, now=now, accounts=accounts, limits=limits)
    if isinstance(signed, ApiError):
        return Rejection(reply, signed)
    account = signed

    if op is Op.SEND:
        return _send(request, reply, account, params, now=now, limits=limits)
    if op is Op.BALANCE:
        return BalanceRequest(reply, account)
    if op is Op.CHECK:
        content = params.get("content") or ""
        if not content.strip():
            return Rejection(reply, ApiError(Reason.EMPTY_CONTENT, field="content", username=account.system_id))
        return ContentCheckRequest(reply, account, content)
    return _pull(reply, account, params, limits)


def _sign_in(
    request: HttpRequest,
    *,
    params: Params,
    endpoint: _Endpoint,
    now: float,
    accounts: CredentialLookup,
    limits: Limits,
) -> ApiAccount | ApiError:
    if endpoint.signed:
        return authenticate_sign(
            accounts,
            userid=params.get("userid"),
            timestamp=params.get("timestamp"),
            sign=params.get("sign"),
            peer=request.peer,
            now=now,
            limits=limits,
        )
    name = params.get("account")
    result = authenticate(accounts, Front.LEGACY, name, params.get("password"), request.peer, legacy_md5=True)
    userid = (params.get("userid") or "").strip()
    if isinstance(result, ApiAccount) and result.legacy_userid and userid != result.legacy_userid:
        return ApiError(Reason.INVALID_CREDENTIALS, field="userid", username=result.system_id)
    return result


def _send(
    request: HttpRequest, reply: Reply, account: ApiAccount, params: Params, *, now: float, limits: Limits
) -> SendRequest | Rejection:
    who = account.system_id
    numbers = split_numbers(params.get("mobile") or "")
    if not numbers:
        return Rejection(reply, ApiError(Reason.NO_RECIPIENT, field="mobile", username=who))
    cap = limits.max_recipients_get if request.method.upper() == "GET" else limits.max_recipients
    if len(numbers) > cap:
        return Rejection(reply, ApiError(Reason.TOO_MANY_RECIPIENTS, field="mobile", value=str(len(numbers))))
    content = params.get("content") or ""
    if not content.strip():
        return Rejection(reply, ApiError(Reason.EMPTY_CONTENT, field="content", username=who))
    if not well_formed_text(content):
        return Rejection(reply, ApiError(Reason.BAD_ENCODING, field="content", username=who))
    if text_too_long(content, limits):
        return Rejection(reply, ApiError(Reason.TEXT_TOO_LONG, field="content", username=who))
    when = _send_time(params.get("sendTime") or "", now, limits)
    if isinstance(when, ApiError):
        return Rejection(reply, when)
    extno = _check_extno(params.get("extno") or "", limits)
    if isinstance(extno, ApiError):
        return Rejection(reply, extno)
    source = _source(account, extno, limits)
    if isinstance(source, ApiError):
        return Rejection(reply, source)

    messages: list[OutboundMessage] = []
    refused: list[Refusal] = []
    for raw in dedupe(numbers):  # the platforms send once per distinct number
        mobile = mainland_mobile(raw)
        if mobile is None:
            refused.append(Refusal(raw, ApiError(Reason.INVALID_NUMBER, field="mobile", value=raw)))
            continue
        messages.append(
            OutboundMessage(
                to=mobile,
                content=Text(content),
                source=source,
                extno=extno,
                schedule_at=when,
                report=AccountChannel(Front.LEGACY),
            )
        )
    if not messages:
        return Rejection(reply, refused[0].error)
    return SendRequest(reply, account, tuple(dedupe_messages(messages)), tuple(refused))


def dedupe_messages(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """`138...` and `+86138...` are one handset: keep its first message."""
    seen: set[str] = set()
    out: list[OutboundMessage] = []
    for message in messages:
        if message.to not in seen:
            seen.add(message.to)
            out.append(message)
    return out


def _pull(reply: Reply, account: ApiAccount, params: Params, limits: Limits) -> PullRequest | Rejection:
    allowed = account.pulls_reports if reply.op is Op.REPORTS else account.pulls_mo
    if not allowed:
        return Rejection(reply, ApiError(Reason.PULL_NOT_ALLOWED, username=account.system_id))
    raw_limit = params.get("statusNum")
    limit = limits.max_pull
    if raw_limit is not None and raw_limit.strip():
        parsed = _parse_int(raw_limit, 1, 10**9)
        if parsed is None:
            return Rejection(reply, ApiError(Reason.INVALID_FIELD, field="statusNum", value=raw_limit))
        limit = min(parsed, limits.max_pull)
    task_id = None
    raw_task = params.get("taskid")
    if raw_task is not None and raw_task.strip():
        task_id = _parse_int(raw_task, 0, 2**63 - 1)
        if task_id is None:
            return Rejection(reply, ApiError(Reason.INVALID_FIELD, field="taskid", value=raw_task))
    return PullRequest(reply, account, limit, task_id)


# --- render ---------------------------------------------------------------------------------

MESSAGES: dict[Reason, str] = {
    Reason.MISSING_CREDENTIALS: "用户名或密码不能为空",
    Reason.INVALID_CREDENTIALS: "用户名或密码错误",
    Reason.IP_NOT_ALLOWED: "IP地址认证错误",
    Reason.ACCOUNT_SUSPENDED: "账户已被停用",
    Reason.API_NOT_ENABLED: "用户名或密码错误",  # a legacy client cannot tell the two apart
    Reason.PULL_NOT_ALLOWED: "用户名或密码错误",
    Reason.NO_RECIPIENT: "短信号码不能为空",
    Reason.INVALID_NUMBER: "手机号码格式错误",
    Reason.NO_ROUTE: "手机号码格式错误",
    Reason.TOO_MANY_RECIPIENTS: "号码个数超过上限",
    Reason.EMPTY_CONTENT: "短信内容不能为空",
    Reason.BAD_ENCODING: "content解析错误",
    Reason.TEXT_TOO_LONG: "短信内容超长",
    Reason.INVALID_SCHEDULE: "定时时间格式错误",
    Reason.INVALID_VALIDITY: "定时时间格式错误",
    Reason.INVALID_SOURCE: "扩展子号格式错误",
    Reason.SIGNATURE_REQUIRED: "短信签名不合法或未报备",
    Reason.CONTENT_REJECTED: "包含非法字符",
    Reason.OUTSIDE_SEND_WINDOW: "当前时段禁止发送",
    Reason.OPTED_OUT: "号码已退订",
    Reason.INSUFFICIENT_BALANCE: "对不起，您当前要发送的量大于您当前余额",
    Reason.THROTTLED: "提交过快，请稍后再试",
    Reason.UNAVAILABLE: "其他错误",
}
_OTHER = "参数错误"

# statusApi/callApi `errorstatus` codes (1 missing, 2 wrong, 3 may not pull, 4 bad parameters).
_PULL_CODES: dict[Reason, int] = {
    Reason.MISSING_CREDENTIALS: 1,
    Reason.INVALID_CREDENTIALS: 2,
    Reason.IP_NOT_ALLOWED: 2,
    Reason.API_NOT_ENABLED: 3,
    Reason.PULL_NOT_ALLOWED: 3,
    Reason.ACCOUNT_SUSPENDED: 3,
}
_PULL_REMARKS = {
    1: "用户名或密码不能为空",
    2: "用户名或密码错误",
    4: "参数不正确",
}
_PULL_FORBIDDEN = {Op.REPORTS: "该用户不允许查看状态报告", Op.INBOUND: "该用户不允许查看短信回复"}

PROLOG_UTF8 = '<?xml version="1.0" encoding="utf-8" ?>\n'
PROLOG_GBK = '<?xml version="1.0" encoding="gb2312" ?>\n'


def message_for(error: ApiError) -> str:
    """The `message` of a `Faild` reply (checkkeyword's `message` too)."""
    text = MESSAGES.get(error.reason, _OTHER)
    if error.reason is Reason.CONTENT_REJECTED and error.detail:
        return f"{text}：{error.detail}"
    return text


def points(balance: Balance, amount: int) -> tuple[str, int | float]:
    """An amount as `remainpoint`/`overage` show it: (XML text, JSON number)."""
    if balance.billing_unit == "msg" or balance.points_mode == "li":
        return str(amount), amount
    if balance.points_mode == "yuan":
        sign = "-" if amount < 0 else ""
        whole, li = divmod(abs(amount), 1000)
        text = f"{sign}{whole}.{li:03d}"
        return text, float(text)
    # "segments": how many base-price CMCC parts the money still buys
    if balance.base_price_li <= 0:
        return str(max(amount, 0)), max(amount, 0)
    count = max(amount, 0) // balance.base_price_li
    return str(count), count


_XML_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}


def xml_text(value: str) -> str:
    """Element text: markup escaped, characters XML 1.0 forbids dropped (MO can carry them)."""
    kept = "".join(
        ch
        for ch in value
        if ch in "\t\n\r" or 0x20 <= ord(ch) <= 0xD7FF or 0xE000 <= ord(ch) <= 0xFFFD or ord(ch) >= 0x10000
    )
    return kept.translate(_XML_ESCAPES)


def _xml(form: LegacyForm, body: str) -> HttpResponse:
    if form is LegacyForm.XML_GBK:
        data = (PROLOG_GBK + body).encode("gbk", errors="xmlcharrefreplace")
        return HttpResponse(200, (("Content-Type", "text/xml; charset=gb2312"),), data)
    return HttpResponse(200, (("Content-Type", "text/xml; charset=utf-8"),), (PROLOG_UTF8 + body).encode("utf-8"))


def _json(value: dict[str, object]) -> HttpResponse:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return HttpResponse(200, (("Content-Type", "application/json; charset=utf-8"),), data)


def render_send(form: LegacyForm, outcome: SendOutcome | ApiError) -> HttpResponse:
    if isinstance(outcome, ApiError):
        remain: tuple[str, int | float] = ("0", 0)
        status, message, task, count = "Faild", message_for(outcome), 0, 0
    else:
        status, message = "Success", "ok"
        remain = points(outcome.balance, outcome.balance.balance)
        task, count = outcome.task_id, len(outcome.accepted)
    if form is LegacyForm.JSON:
        ok_message = "操作成功" if status == "Success" else message
        return _json(
            {
                "returnstatus": status,
                "message": ok_message,
                "remainpoint": remain[0],
                "taskID": str(task),
                "successCounts": str(count),
            }
        )
    if form is LegacyForm.JSON_V2:
        return _json(
            {
                "ReturnStatus": status,
                "Message": message,
                "RemainPoint": remain[1],
                "TaskID": task,
                "SuccessCounts": count,
            }
        )
    return _xml(
        form,
        "<returnsms>\n"
        f" <returnstatus>{status}</returnstatus>\n"
        f" <message>{xml_text(message)}</message>\n"
        f" <remainpoint>{remain[0]}</remainpoint>\n"
        f" <taskID>{task}</taskID>\n"
        f" <successCounts>{count}</successCounts></returnsms>",
    )


def render_overage(form: LegacyForm, outcome: Balance | ApiError) -> HttpResponse:
    if isinstance(outcome, ApiError):
        status, message, payinfo = "Faild", message_for(outcome), ""
        left: tuple[str, int | float] = ("0", 0)
        total: tuple[str, int | float] = ("0", 0)
    else:
        # "Sucess" as the original spells it here (and only here); the message must stay empty.
        status, message = "Sucess", ""
        payinfo = "预付费" if outcome.prepaid else "后付费"
        left, total = points(outcome, outcome.balance), points(outcome, outcome.topped_up)
    if form is LegacyForm.JSON:
        return _json(
            {"returnstatus": status, "message": message, "payinfo": payinfo, "overage": left[0], "sendTotal": total[0]}
        )
    if form is LegacyForm.JSON_V2:
        return _json(
            {"ReturnStatus": status, "Message": message, "Payinfo": payinfo, "Overage": left[1], "SendTotal": total[1]}
        )
    return _xml(
        form,
        "<returnsms>\n"
        f" <returnstatus>{status}</returnstatus>\n"
        f" <message>{xml_text(message)}</message>\n"
        f" <payinfo>{payinfo}</payinfo>\n"
        f" <overage>{left[0]}</overage>\n"
        f" <sendTotal>{total[0]}</sendTotal>\n"
        "</returnsms>",
    )


def render_check(form: LegacyForm, outcome: ContentVerdict | ApiError) -> HttpResponse:
    if isinstance(outcome, ApiError):
        message = message_for(outcome)
    elif outcome.allowed:
        message = "没有包含屏蔽词"  # clients test indexOf of exactly this phrase
    elif outcome.show_terms and outcome.matches:
        message = "包含非法字符：" + ",".join(outcome.matches)
    else:
        message = "包含非法字符"
    if form is LegacyForm.JSON:
        return _json({"message": message})
    if form is LegacyForm.JSON_V2:
        return _json({"Message": message})
    return _xml(form, f"<returnsms>\n <message>{xml_text(message)}</message>\n</returnsms>")


def report_status(event: ReportEvent) -> int:
    """10 delivered, 20 anything else: the family's report status is binary."""
    return 10 if event.stat == "DELIVRD" else 20


def report_errorcode(event: ReportEvent) -> str:
    """The carrier's own code if any, else a gateway code for a refusal, else the stat word."""
    if event.carrier_code:
        return event.carrier_code
    if event.status is not None and event.status != 0:
        return gateway_code(event.status)
    return event.stat


def statusbox(event: ReportEvent, limits: Limits) -> str:
    return (
        " <statusbox>\n"
        f"  <mobile>{xml_text(event.to)}</mobile><taskid>{event.task_id}</taskid>\n"
        f"  <status>{report_status(event)}</status>\n"
        f"  <receivetime>{local_time(event.done_at, limits)}</receivetime>\n"
        f"  <errorcode>{xml_text(report_errorcode(event))}</errorcode>\n"
        f"  <extno>{xml_text(event.extno)}</extno>\n"
        " </statusbox>\n"
    )


def callbox(event: InboundEvent, limits: Limits) -> str:
    return (
        " <callbox>\n"
        f"  <mobile>{xml_text(event.msisdn)}</mobile>\n"
        f"  <taskid>{event.task_id}</taskid>\n"
        f"  <content>{xml_text(event.text)}</content>\n"
        f"  <receivetime>{local_time(event.received_at, limits)}</receivetime>\n"
        f"  <extno>{xml_text(event.extno)}</extno>\n"
        " </callbox>\n"
    )


def render_pull(op: Op, outcome: EventPage | ApiError, limits: Limits) -> HttpResponse:
    if isinstance(outcome, ApiError):
        code = _PULL_CODES.get(outcome.reason, 4)
        remark = _PULL_FORBIDDEN[op] if code == 3 else _PULL_REMARKS[code]
        return _xml(
            LegacyForm.XML,
            "<returnsms>\n"
            " <errorstatus>\n"
            f"  <error>{code}</error>\n"
            f"  <remark>{remark}</remark>\n"
            " </errorstatus>\n"
            "</returnsms>",
        )
    if op is Op.REPORTS:
        boxes = "".join(statusbox(event, limits) for event in outcome.reports)
    else:
        boxes = "".join(callbox(event, limits) for event in outcome.inbound)
    return _xml(LegacyForm.XML, f"<returnsms>\n{boxes}</returnsms>")


def render_legacy(reply: Reply, outcome: Outcome, limits: Limits) -> HttpResponse:
    """The reply bytes: always 200 with XML (or the endpoint's JSON), except 404 for a bad path."""
    if isinstance(outcome, ApiError) and outcome.reason in (Reason.NOT_FOUND, Reason.METHOD_NOT_ALLOWED):
        return HttpResponse(404, (("Content-Type", "text/plain; charset=utf-8"),), b"Not Found")
    op = reply.op
    if op is Op.SEND and isinstance(outcome, SendOutcome | ApiError):
        return render_send(reply.form, outcome)
    if op is Op.BALANCE and isinstance(outcome, Balance | ApiError):
        return render_overage(reply.form, outcome)
    if op is Op.CHECK and isinstance(outcome, ContentVerdict | ApiError):
        return render_check(reply.form, outcome)
    if op in (Op.REPORTS, Op.INBOUND) and isinstance(outcome, EventPage | ApiError):
        return render_pull(op, outcome, limits)
    raise TypeError(f"a legacy {op.value} reply cannot show {type(outcome).__name__}")
