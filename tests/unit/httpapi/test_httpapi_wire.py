"""The request plumbing the fronts share: parameters, charsets, paths, JSON bodies, log redaction."""

from __future__ import annotations

import pytest

from smppgw.httpapi.wire import (
    JsonBodyError,
    Params,
    basic_credentials,
    codec_for,
    load_json,
    media_type,
    normalise_path,
    redacted_query,
    split_form,
)


def test_params_are_asp_net_style_when_case_insensitive() -> None:
    params = Params(
        [("Mobile", "13800138000"), ("mobile", "13900139000"), ("action", "send")],
        [("ACTION", "overage"), ("Content", "hi")],
        case_insensitive=True,
    )
    assert params.get("MOBILE") == "13800138000,13900139000"  # a repeated name reads comma-joined
    assert params.first("mobile") == "13800138000"
    assert params.get("action") == "send"  # the query string wins over the form
    assert params.get("content") == "hi"
    assert "CONTENT" in params and len(params) == 3
    exact = Params([("to", "1")], [], case_insensitive=False)
    assert exact.get("To") is None and exact.any_of("user", "to") == "1"


def test_form_decoding_keeps_raw_high_bytes_and_plus_is_space() -> None:
    assert split_form(b"a=1+2&b=%E4%BD%A0&c=\xe4\xbd\xa0&&d") == [
        (b"a", b"1 2"),
        (b"b", "你".encode()),
        (b"c", "你".encode()),
        (b"d", b""),
    ]


def test_charsets_and_content_types() -> None:
    assert codec_for("GB2312") == "gbk" and codec_for("UTF-8") == "utf-8" and codec_for("unicode_escape") is None
    assert media_type("application/x-www-form-urlencoded;charset=gbk") == ("application/x-www-form-urlencoded", "gbk")
    assert media_type(None) == ("", None)


@pytest.mark.parametrize(
    ("raw", "path"), [("//smsGBK.aspx", "/smsGBK.aspx"), ("", "/"), ("v1/balance/", "/v1/balance")]
)
def test_paths(raw: str, path: str) -> None:
    assert normalise_path(raw) == path


def test_basic_credentials() -> None:
    assert basic_credentials("Basic ZGVtbzpkZW1vLXBhc3M=") == ("demo", "demo-pass")
    assert basic_credentials("Basic !!") is None and basic_credentials("Bearer x") is None


def test_json_bodies() -> None:
    assert load_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    for body, kind in ((b"{", "syntax"), (b'{"a": "\xff"}', "encoding"), (b'{"\\ud800": 1}', "encoding")):
        with pytest.raises(JsonBodyError) as caught:
            load_json(body)
        assert caught.value.kind == kind


def test_secrets_are_redacted_for_logs() -> None:
    query = b"action=send&account=demo&PassWord=s3cret&sign=abc&mobile=13800138000%2C8613900139000&pass=x"
    assert redacted_query(query) == (
        "action=send&account=demo&PassWord=***&sign=***&mobile=138****8000%2C861******9000&pass=***"
    )
