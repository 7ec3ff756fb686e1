"""A credential lookup over a few fixed accounts, and request builders, for the front tests."""

from __future__ import annotations

import hmac
from urllib.parse import quote_from_bytes

from smppgw.httpapi.accounts import ApiAccount, Front, Limits
from smppgw.httpapi.wire import HttpRequest

NOW = 1_764_547_200.0  # 2025-12-01 08:00:00 Beijing time
LIMITS = Limits()
ALL_FRONTS = frozenset(Front)

DEMO = ApiAccount(
    "demo",
    fronts=ALL_FRONTS,
    api_secret="demo-api-secret",
    legacy_userid="1001",
    legacy_md5_password=True,
    service_number="1069001",
    allow_private_callbacks=True,
)
CHINESE = ApiAccount("借鸿移动贷款", fronts=ALL_FRONTS, service_number="1069002")
SMPP_ONLY = ApiAccount("smpponly", fronts=frozenset())
SUSPENDED = ApiAccount("gone", fronts=ALL_FRONTS, suspended=True)
STRICT = ApiAccount("strict", fronts=ALL_FRONTS, service_number="1069003", api_secret="strict-secret")
PUSHED = ApiAccount("pushed", fronts=ALL_FRONTS, pulls_reports=False, pulls_mo=False)

PASSWORDS = {
    "demo": "demo-pass",
    "借鸿移动贷款": "密码",
    "smpponly": "pw",
    "gone": "pw",
    "strict": "pw",
    "pushed": "pw",
}
ACCOUNTS = {a.system_id: a for a in (DEMO, CHINESE, SMPP_ONLY, SUSPENDED, STRICT, PUSHED)}


class FakeLookup:
    """Accounts by name; `strict` only signs in from 10.0.0.1."""

    def by_system_id(self, system_id: str) -> ApiAccount | None:
        return ACCOUNTS.get(system_id)

    def by_legacy_userid(self, userid: str) -> ApiAccount | None:
        return next((a for a in ACCOUNTS.values() if a.legacy_userid and a.legacy_userid == userid), None)

    def by_api_secret(self, secret: str) -> ApiAccount | None:
        for account in ACCOUNTS.values():
            if account.api_secret and hmac.compare_digest(account.api_secret.encode(), secret.encode()):
                return account
        return None

    def password_matches(self, account: ApiAccount, password: str) -> bool:
        return PASSWORDS.get(account.system_id) == password

    def peer_allowed(self, account: ApiAccount, peer: str) -> bool:
        return account.system_id != "strict" or peer == "10.0.0.1"


LOOKUP = FakeLookup()


def form(pairs: list[tuple[str, str]], charset: str = "utf-8") -> bytes:
    """application/x-www-form-urlencoded in the given charset (as a Java client encodes it)."""
    return "&".join(
        f"{quote_from_bytes(k.encode(charset), safe='')}={quote_from_bytes(v.encode(charset), safe='')}"
        for k, v in pairs
    ).encode("ascii")


def get(path: str, pairs: list[tuple[str, str]] = (), charset: str = "utf-8", **kw: object) -> HttpRequest:  # type: ignore[assignment]
    return HttpRequest("GET", path, query=form(list(pairs), charset), peer=str(kw.get("peer", "127.0.0.1")))


def post(
    path: str,
    pairs: list[tuple[str, str]] = (),  # type: ignore[assignment]
    charset: str = "utf-8",
    *,
    query: list[tuple[str, str]] = (),  # type: ignore[assignment]
    content_type: str = "application/x-www-form-urlencoded",
    headers: tuple[tuple[str, str], ...] = (),
    peer: str = "127.0.0.1",
    body: bytes | None = None,
) -> HttpRequest:
    data = form(list(pairs), charset) if body is None else body
    return HttpRequest(
        "POST",
        path,
        query=form(list(query), charset),
        headers=(("Content-Type", content_type), *headers),
        body=data,
        peer=peer,
    )
