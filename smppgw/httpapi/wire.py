"""HTTP requests and replies as plain values, and the form/charset/path rules the fronts share.

The listener copies what it received into an `HttpRequest` (header values as latin-1 text, the
body as bytes) and writes an `HttpResponse` back; nothing here touches a socket.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

# Charsets a client may name (Content-Type, Kannel's `charset`).  Anything else is refused rather
# than handed to an arbitrary codec: Python also registers codecs such as `unicode_escape` that
# are no text encoding a client could mean.
_CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "gbk": "gbk",
    "gb2312": "gbk",  # clients say gb2312 and mean its superset; GBK reads every GB2312 text
    "cp936": "gbk",
    "gb18030": "gb18030",
    "big5": "big5",
    "iso-8859-1": "latin-1",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "utf-16be": "utf-16-be",
    "utf-16le": "utf-16-le",
    "utf-16": "utf-16",
    "ucs-2": "utf-16-be",
    "ucs-2be": "utf-16-be",
    "windows-1252": "cp1252",
    "iso-8859-15": "iso8859-15",
}

_SLASHES = re.compile(r"/{2,}")


def codec_for(charset: str) -> str | None:
    """The Python codec for a charset a client named, or None if it is not one we accept."""
    name = charset.strip().strip('"').lower()
    codec = _CHARSETS.get(name)
    if codec is None:
        return None
    codecs.lookup(codec)  # every entry above exists; this keeps the table honest
    return codec


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the listener received it."""

    method: str
    path: str  # without the query string, still percent-encoded
    query: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    peer: str = ""  # the client's address, for allowlists and lockouts

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What the listener writes back: status, headers, body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def normalise_path(path: str) -> str:
    """Repeated slashes collapsed (legacy clients send `//smsGBK.aspx`); no trailing slash."""
    collapsed = _SLASHES.sub("/", path or "/")
    if not collapsed.startswith("/"):
        collapsed = "/" + collapsed
    if len(collapsed) > 1 and collapsed.endswith("/"):
        collapsed = collapsed[:-1]
    return collapsed


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """(`type/subtype` lower-cased, charset parameter or None) of a Content-Type value."""
    if not content_type:
        return "", None
    head, *params = content_type.split(";")
    charset = None
    for param in params:
        key, sep, value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    return head.strip().lower(), charset


def split_form(data: bytes) -> list[tuple[bytes, bytes]]:
    """`a=1&b=2` as raw (name, value) byte pairs: `+` is a space, %-escapes decoded.

    Bytes >= 0x80 that a client put in unencoded pass through as they are (legacy quirk 7).
    """
    pairs: list[tuple[bytes, bytes]] = []
    for item in data.split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def decode_bytes(raw: bytes, codecs_to_try: tuple[str, ...]) -> str | None:
    """`raw` read with the first codec that accepts it, or None if none does."""
    for codec in codecs_to_try:
        try:
            return raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


class Params:
    """Request parameters by name, ASP.NET style when `case_insensitive`.

    Lookups try the query string first, then the form (ASP.NET's `Request[...]` order).  A name
    repeated within one source reads as its values joined by commas, as `NameValueCollection`
    returns it; `first` gives only the first value (Twisted's `args[name][0]`, what Jasmin and
    Kannel read).
    """

    __slots__ = ("_case_insensitive", "_form", "_order", "_query")

    def __init__(
        self,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
        *,
        case_insensitive: bool,
    ) -> None:
        self._case_insensitive = case_insensitive
        self._query: dict[str, list[str]] = {}
        self._form: dict[str, list[str]] = {}
        self._order: list[str] = []
        for source, pairs in ((self._query, query), (self._form, form)):
            for name, value in pairs:
                key = self._key(name)
                if key not in self._query and key not in self._form:
                    self._order.append(name)
                source.setdefault(key, []).append(value)

    def _key(self, name: str) -> str:
        return name.lower() if self._case_insensitive else name

    def _values(self, name: str) -> list[str] | None:
        key = self._key(name)
        return self._query.get(key) or self._form.get(key)

    def get(self, name: str) -> str | None:
        values = self._values(name)
        return None if values is None else ",".join(values)

    def first(self, name: str) -> str | None:
        values = self._values(name)
        return None if values is None else values[0]

    def any_of(self, *names: str) -> str | None:
        """The first of several aliases that is present (Kannel's `username`/`user`)."""
        for name in names:
            value = self.first(name)
            if value is not None:
                return value
        return None

    def names(self) -> list[str]:
        """Every name present, in first-seen order, as the client spelled it."""
        return list(self._order)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._values(name) is not None

    def __len__(self) -> int:
        return len(self._order)


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic` header, None if absent or malformed."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    text = decode_bytes(raw, ("utf-8", "latin-1"))
    if text is None or ":" not in text:
        return None
    user, _, password = text.partition(":")
    return user, password


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class JsonBodyError(Exception):
    """A body that is not JSON text: `encoding` (not UTF-8, or escapes of lone surrogates) or `syntax`."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _well_formed(value: object, depth: int = 0) -> bool:
    if isinstance(value, str):
        return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, list):
        return all(_well_formed(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(_well_formed(k, depth + 1) and _well_formed(v, depth + 1) for k, v in value.items())
    return True


def load_json(body: bytes) -> object:
    """The JSON value of a UTF-8 body (a BOM allowed); raises JsonBodyError.

    `"\\ud800"` escapes decode to lone surrogates that no reply could encode again, so they count
    as bad encoding here rather than failing later.
    """
    try:
        text = body.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("encoding") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise JsonBodyError("syntax") from None
    if not _well_formed(value):
        raise JsonBodyError("encoding")
    return value


# Parameters whose values are secrets in one front or another, and those that hold phone numbers.
SECRET_NAMES = frozenset({"password", "pass", "pwd", "sign", "apikey", "api_secret", "secret", "token"})
NUMBER_NAMES = frozenset({"mobile", "to", "phone"})
_LONG_DIGITS = re.compile(r"\d{7,}")


def _mask_numbers(text: str) -> str:
    # "13800138000" -> "138****8000": enough to tell numbers apart, not enough to dial one.
    return _LONG_DIGITS.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 7) + m.group(0)[-4:], text)


def redacted_query(query: bytes) -> str:
    """A query string fit for a log line: secrets replaced by `***`, phone numbers masked."""
    parts = []
    for item in query.split(b"&"):
        name, sep, value = item.partition(b"=")
        shown = name.decode("ascii", "backslashreplace")
        key = _unquote_plus(name).decode("ascii", "replace").lower()
        if sep and key in SECRET_NAMES:
            parts.append(f"{shown}=***")
        elif sep and key in NUMBER_NAMES:
            parts.append(f"{shown}={_mask_numbers(value.decode('ascii', 'backslashreplace'))}")
        else:
            parts.append(item.decode("ascii", "backslashreplace"))
    return "&".join(parts)
