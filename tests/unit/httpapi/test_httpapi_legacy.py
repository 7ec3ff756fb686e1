"""The sms.aspx family: replies byte for byte as the originals, requests as legacy clients send them."""

from __future__ import annotations

import hashlib

import pytest
from httpapi_fakes import LIMITS, LOOKUP, NOW, get, post

from smppgw.httpapi import fronts
from smppgw.httpapi.accounts import Front
from smppgw.httpapi.errors import ApiError, Reason, error_for_status
from smppgw.httpapi.requests import (
    AccountChannel,
    BalanceRequest,
    ContentCheckRequest,
    Dialect,
    LegacyForm,
    Op,
    PullRequest,
    Rejection,
    Reply,
    SendRequest,
    Text,
)
from smppgw.httpapi.results import Accepted, Balance, ContentVerdict, EventPage, InboundEvent, ReportEvent, SendOutcome
from smppgw.httpapi.wire import HttpRequest

CREDS = [("userid", "1001"), ("account", "demo"), ("password", "demo-pass")]
SEND = Reply(Dialect.LEGACY, Op.SEND)


def parse(request):  # type: ignore[no-untyped-def]
    return fronts.parse(request, NOW, LOOKUP, LIMITS)


def render(reply: Reply, outcome):  # type: ignore[no-untyped-def]
    return fronts.render(reply, outcome, LIMITS)


def sent(task: int = 30749029, balance: int = 96801, count: int = 1) -> SendOutcome:
    accepted = tuple(Accepted(f"1380013800{i}", f"m{i}") for i in range(count))
    return SendOutcome(task, accepted, Balance("msg", balance))


# --- golden bytes -----------------------------------------------------------------------------


def test_send_success_is_the_reference_reply_byte_for_byte() -> None:
    response = render(SEND, sent())
    assert response.status == 200
    assert response.body == (
        b'<?xml version="1.0" encoding="utf-8" ?>\n'
        b"<returnsms>\n"
        b" <returnstatus>Success</returnstatus>\n"
        b" <message>ok</message>\n"
        b" <remainpoint>96801</remainpoint>\n"
        b" <taskID>30749029</taskID>\n"
        b" <successCounts>1</successCounts></returnsms>"
    )
    assert response.header("Content-Type") == "text/xml; charset=utf-8"


def test_send_failure_is_http_200_with_faild_and_zeros() -> None:
    response = render(SEND, ApiError(Reason.INVALID_CREDENTIALS))
    assert response.status == 200
    assert (
        response.body
        == (
            '<?xml version="1.0" encoding="utf-8" ?>\n'
            "<returnsms>\n"
            " <returnstatus>Faild</returnstatus>\n"
            " <message>用户名或密码错误</message>\n"
            " <remainpoint>0</remainpoint>\n"
            " <taskID>0</taskID>\n"
            " <successCounts>0</successCounts></returnsms>"
        ).encode()
    )


def test_overage_says_sucess_with_an_empty_message() -> None:
    balance = Balance("msg", 49995, topped_up=50000)
    body = render(Reply(Dialect.LEGACY, Op.BALANCE), balance).body
    assert (
        body
        == (
            '<?xml version="1.0" encoding="utf-8" ?>\n'
            "<returnsms>\n"
            " <returnstatus>Sucess</returnstatus>\n"
            " <message></message>\n"
            " <payinfo>预付费</payinfo>\n"
            " <overage>49995</overage>\n"
            " <sendTotal>50000</sendTotal>\n"
            "</returnsms>"
        ).encode()
    )


@pytest.mark.parametrize(
    ("mode", "balance", "shown"),
    [("segments", 96801 * 45, "96801"), ("li", 4356045, "4356045"), ("yuan", 4356045, "4356.045")],
)
def test_remainpoint_is_in_the_accounts_legacy_unit(mode: str, balance: int, shown: str) -> None:
    outcome = SendOutcome(
        7, (Accepted("13800138000", "m"),), Balance("li", balance, base_price_li=45, points_mode=mode)
    )
    assert f"<remainpoint>{shown}</remainpoint>".encode() in render(SEND, outcome).body


def test_checkkeyword_replies() -> None:
    check = Reply(Dialect.LEGACY, Op.CHECK)
    clean = render(check, ContentVerdict(True)).body
    expected = '<?xml version="1.0" encoding="utf-8" ?>\n<returnsms>\n <message>没有包含屏蔽词</message>\n</returnsms>'
    assert clean == expected.encode()
    hit = render(check, ContentVerdict(False, "gambling", ("博彩", "赌场"))).body
    assert "<message>包含非法字符：博彩,赌场</message>".encode() in hit
    hidden = render(check, ContentVerdict(False, "gambling", ("博彩",), show_terms=False)).body
    assert "<message>包含非法字符</message>".encode() in hidden


def test_status_pull_renders_statusboxes_with_lower_case_taskid() -> None:
    event = ReportEvent("e1", "m1", "15023239810", stat="DELIVRD", task_id=1212, extno="01", done_at=1322835131.0)
    failed = ReportEvent("e2", "m2", "13800138000", stat="REJECTD", task_id=1213, status=0x405, done_at=1322835131.0)
    body = render(Reply(Dialect.LEGACY, Op.REPORTS), EventPage(reports=(event, failed))).body
    assert body.decode() == (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        "<returnsms>\n"
        " <statusbox>\n"
        "  <mobile>15023239810</mobile><taskid>1212</taskid>\n"
        "  <status>10</status>\n"
        "  <receivetime>2011-12-02 22:12:11</receivetime>\n"
        "  <errorcode>DELIVRD</errorcode>\n"
        "  <extno>01</extno>\n"
        " </statusbox>\n"
        " <statusbox>\n"
        "  <mobile>13800138000</mobile><taskid>1213</taskid>\n"
        "  <status>20</status>\n"
        "  <receivetime>2011-12-02 22:12:11</receivetime>\n"
        "  <errorcode>GW:0405</errorcode>\n"
        "  <extno></extno>\n"
        " </statusbox>\n"
        "</returnsms>"
    )


def test_mo_pull_renders_callboxes_and_escapes_markup() -> None:
    mo = InboundEvent("e", "mo1", "13800138000", "106900112", "TD & <退订>", 1322835131.0, extno="12", task_id=5)
    body = render(Reply(Dialect.LEGACY, Op.INBOUND), EventPage(inbound=(mo,))).body.decode()
    assert "<content>TD &amp; &lt;退订&gt;</content>" in body
    assert "<mobile>13800138000</mobile>\n  <taskid>5</taskid>" in body


@pytest.mark.parametrize(
    ("reason", "code", "remark"),
    [
        (Reason.MISSING_CREDENTIALS, 1, "用户名或密码不能为空"),
        (Reason.INVALID_CREDENTIALS, 2, "用户名或密码错误"),
        (Reason.PULL_NOT_ALLOWED, 3, "该用户不允许查看状态报告"),
        (Reason.INVALID_FIELD, 4, "参数不正确"),
    ],
)
def test_pull_errors_keep_the_vendor_codes(reason: Reason, code: int, remark: str) -> None:
    body = render(Reply(Dialect.LEGACY, Op.REPORTS), ApiError(reason)).body.decode()
    assert f"<errorstatus>\n  <error>{code}</error>\n  <remark>{remark}</remark>" in body


def test_gbk_endpoint_answers_gbk_bytes_declared_gb2312() -> None:
    reply = Reply(Dialect.LEGACY, Op.SEND, LegacyForm.XML_GBK)
    response = render(reply, ApiError(Reason.INSUFFICIENT_BALANCE))
    assert response.body.startswith(b'<?xml version="1.0" encoding="gb2312" ?>\n')
    assert "<message>对不起，您当前要发送的量大于您当前余额</message>".encode("gbk") in response.body
    assert response.header("Content-Type") == "text/xml; charset=gb2312"


def test_json_variants() -> None:
    ipyy = render(Reply(Dialect.LEGACY, Op.SEND, LegacyForm.JSON), sent(1611013435567687, 21396))
    assert (
        ipyy.body
        == (
            '{"returnstatus":"Success","message":"操作成功","remainpoint":"21396",'
            '"taskID":"1611013435567687","successCounts":"1"}'
        ).encode()
    )
    v2 = render(Reply(Dialect.LEGACY, Op.SEND, LegacyForm.JSON_V2), sent(1485036, 9))
    assert v2.body == b'{"ReturnStatus":"Success","Message":"ok","RemainPoint":9,"TaskID":1485036,"SuccessCounts":1}'


# --- parse ------------------------------------------------------------------------------------


def test_send_get_with_merged_any_case_parameters_and_extno() -> None:
    request = post(
        "//SMS.aspx",
        [
            ("Account", "demo"),
            ("PASSWORD", "demo-pass"),
            ("Mobile", "13800138000,+8613900139000"),
            ("Content", "【签名】你好"),
        ],
        query=[("action", "send"), ("userid", "1001"), ("extno", "12")],
    )
    parsed = parse(request)
    assert isinstance(parsed, SendRequest)
    assert [m.to for m in parsed.messages] == ["13800138000", "13900139000"]
    assert {m.source for m in parsed.messages} == {"106900112"}
    assert parsed.messages[0].content == Text("【签名】你好")
    assert parsed.messages[0].report == AccountChannel(Front.LEGACY)


def test_gbk_form_body_is_read_in_gbk() -> None:
    pairs = [("action", "send"), *CREDS, ("mobile", "13800138000"), ("content", "【签名】验证码123")]
    parsed = parse(post("/smsGBK.aspx", pairs, charset="gb2312"))
    assert isinstance(parsed, SendRequest)
    assert parsed.messages[0].content == Text("【签名】验证码123")
    assert parsed.reply.form is LegacyForm.XML_GBK


def test_declared_charset_wins_and_raw_utf8_in_a_query_is_accepted() -> None:
    pairs = [("action", "send"), *CREDS, ("mobile", "13800138000"), ("content", "【签名】你好")]
    gbk_to_utf8_endpoint = post(
        "/sms.aspx", pairs, charset="gbk", content_type="application/x-www-form-urlencoded; charset=GBK"
    )
    parsed = parse(gbk_to_utf8_endpoint)
    assert isinstance(parsed, SendRequest) and parsed.messages[0].content == Text("【签名】你好")
    raw = get("/sms.aspx", [("action", "send"), *CREDS, ("mobile", "13800138000")])
    raw = type(raw)("GET", raw.path, query=raw.query + "&content=【签名】你好".encode(), peer=raw.peer)
    parsed = parse(raw)
    assert isinstance(parsed, SendRequest) and parsed.messages[0].content == Text("【签名】你好")


def test_chinese_account_names_decode_in_the_endpoint_charset() -> None:
    pairs = [("action", "overage"), ("account", "借鸿移动贷款"), ("password", "密码")]
    assert isinstance(parse(post("/smsGBK.aspx", pairs, charset="gbk")), BalanceRequest)


def test_md5_password_and_v2_sign() -> None:
    md5 = hashlib.md5(b"demo-api-secret").hexdigest().upper()
    pairs = [("action", "overage"), ("userid", "1001"), ("account", "demo"), ("password", md5)]
    assert isinstance(parse(get("/sms.aspx", pairs)), BalanceRequest)
    stamp = "20251201080000"  # NOW in Beijing time
    sign = hashlib.md5(f"demodemo-api-secret{stamp}".encode()).hexdigest()
    v2 = [
        ("action", "send"),
        ("userid", "1001"),
        ("timestamp", stamp),
        ("sign", sign),
        ("mobile", "13800138000"),
        ("content", "x"),
        ("rt", "json"),
    ]
    parsed = parse(get("/v2sms.aspx", v2))
    assert isinstance(parsed, SendRequest) and parsed.reply.form is LegacyForm.JSON_V2
    stale = [
        *v2[:2],
        ("timestamp", "20251201070000"),
        ("sign", hashlib.md5(b"demodemo-api-secret20251201070000").hexdigest()),
        *v2[4:],
    ]
    assert _reason(parse(get("/v2sms.aspx", stale))) is Reason.INVALID_CREDENTIALS


def test_checkkeyword_and_pulls_parse() -> None:
    check = parse(get("/sms.aspx", [("action", "checkkeyword"), *CREDS, ("content", "博彩")]))
    assert isinstance(check, ContentCheckRequest) and check.text == "博彩"
    pull = parse(get("/statusApi.aspx", [("action", "query"), *CREDS, ("statusNum", "50"), ("taskid", "1212")]))
    assert isinstance(pull, PullRequest) and (pull.limit, pull.task_id, pull.reply.op) == (50, 1212, Op.REPORTS)
    capped = parse(get("/callApi.aspx", [("action", "query"), *CREDS, ("statusNum", "99999")]))
    assert isinstance(capped, PullRequest) and capped.limit == 4000 and capped.reply.op is Op.INBOUND


def test_send_time_schedules_in_beijing_time() -> None:
    pairs = [
        ("action", "send"),
        *CREDS,
        ("mobile", "13800138000"),
        ("content", "x"),
        ("sendTime", "2025-12-01 09:00:00"),
    ]
    parsed = parse(get("/sms.aspx", pairs))
    assert isinstance(parsed, SendRequest) and parsed.messages[0].schedule_at == NOW + 3600


def test_unknown_path_is_a_404() -> None:
    response = render(*_rejected(parse(get("/nosuch.aspx"))))
    assert response.status == 404


# --- the error table --------------------------------------------------------------------------

LONG = "长" * 70 * 260


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("action", "send"), ("mobile", "13800138000"), ("content", "x")], "用户名或密码不能为空"),
        ([("action", "send"), ("userid", "1001"), ("account", "demo"), ("password", "bad")], "用户名或密码错误"),
        ([("action", "send"), ("account", "demo"), ("password", "demo-pass")], "用户名或密码错误"),  # userid wrong
        ([("action", "send"), ("account", "gone"), ("password", "pw")], "账户已被停用"),
        ([("action", "send"), ("account", "smpponly"), ("password", "pw")], "用户名或密码错误"),
        ([("action", "send"), ("account", "strict"), ("password", "pw")], "IP地址认证错误"),
        ([("action", "send"), *CREDS, ("content", "x")], "短信号码不能为空"),
        ([("action", "send"), *CREDS, ("mobile", "123,456"), ("content", "x")], "手机号码格式错误"),
        (
            [("action", "send"), *CREDS, ("mobile", ",".join(["13800138000"] * 101)), ("content", "x")],
            "号码个数超过上限",
        ),
        ([("action", "send"), *CREDS, ("mobile", "13800138000"), ("content", " ")], "短信内容不能为空"),
        ([("action", "send"), *CREDS, ("mobile", "13800138000"), ("content", LONG)], "短信内容超长"),
        (
            [("action", "send"), *CREDS, ("mobile", "13800138000"), ("content", "x"), ("sendtime", "tomorrow")],
            "定时时间格式错误",
        ),
        (
            [("action", "send"), *CREDS, ("mobile", "13800138000"), ("content", "x"), ("extno", "12a")],
            "扩展子号格式错误",
        ),
        ([("action", "nosuch"), *CREDS], "参数错误"),
        ([*CREDS], "参数错误"),
    ],
)
def test_every_parse_refusal_has_the_exact_message(pairs: list[tuple[str, str]], message: str) -> None:
    response = render(*_rejected(parse(get("/sms.aspx", pairs))))
    assert response.status == 200
    assert f"<returnstatus>Faild</returnstatus>\n <message>{message}</message>".encode() in response.body


def test_undecodable_content_is_content_parse_error() -> None:
    request = get("/sms.aspx", [("action", "send"), *CREDS, ("mobile", "13800138000")])
    request = type(request)("GET", "/sms.aspx", query=request.query + b"&content=%FF%FE%FF", peer="127.0.0.1")
    response = render(*_rejected(parse(request)))
    assert "<message>content解析错误</message>".encode() in response.body


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (0x401, "短信签名不合法或未报备"),
        (0x404, "当前时段禁止发送"),
        (0x405, "号码已退订"),
        (0x400, "对不起，您当前要发送的量大于您当前余额"),
        (0x58, "提交过快，请稍后再试"),
        (0x08, "其他错误"),
        (0x14, "其他错误"),
        (0x0B, "手机号码格式错误"),
    ],
)
def test_gateway_refusals_render_in_legacy_words(status: int, message: str) -> None:
    body = render(SEND, error_for_status(status)).body.decode()
    assert f"<message>{message}</message>" in body


def test_blocked_content_lists_the_terms() -> None:
    error = ApiError(Reason.CONTENT_REJECTED, detail="博彩,赌场")
    assert "<message>包含非法字符：博彩,赌场</message>".encode() in render(SEND, error).body


def test_pull_refusals() -> None:
    pushed = parse(get("/statusApi.aspx", [("action", "query"), ("account", "pushed"), ("password", "pw")]))
    assert _reason(pushed) is Reason.PULL_NOT_ALLOWED
    bad = parse(get("/statusApi.aspx", [("action", "query"), *CREDS, ("statusNum", "many")]))
    assert b"<error>4</error>" in render(*_rejected(bad)).body
    missing = parse(get("/callApi.aspx", [("action", "query")]))
    assert b"<error>1</error>" in render(*_rejected(missing)).body


def _rejected(parsed: object) -> tuple[Reply, ApiError]:
    assert isinstance(parsed, Rejection), parsed
    return parsed.reply, parsed.error


def _reason(parsed: object) -> Reason:
    return _rejected(parsed)[1].reason


def test_an_unknown_method_is_a_404_too() -> None:
    response = render(*_rejected(parse(HttpRequest("PUT", "/sms.aspx", query=b"action=send"))))
    assert (response.status, response.body) == (404, b"Not Found")
