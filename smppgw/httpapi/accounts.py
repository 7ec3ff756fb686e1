"""Who is asking: the account view the fronts need, the injected lookup, and the sign-in checks.

The fronts never see a password hash or a store.  They get a `CredentialLookup` (the composition
root adapts the account registry to it) and apply one order of checks for every dialect:
credentials present, credentials right, address allowed, account active, front enabled.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Protocol

from .errors import ApiError, Reason


class Front(Enum):
    """A family of HTTP clients an account may be allowed to use (`http_api = [...]`)."""

    LEGACY = "legacy"
    JASMIN = "jasmin"
    KANNEL = "kannel"
    V1 = "v1"


@dataclass(frozen=True, slots=True)
class ApiAccount:
    """What the fronts know of an account.

    `suspended` covers both an operator suspension and an expired account (the lookup decides).
    `service_number` is the first configured source address; an `extno` is appended to it.
    """

    system_id: str
    fronts: frozenset[Front] = frozenset()
    api_secret: str = ""  # for the md5 sign, md5 passwords, v1 bearer and webhook HMAC; "" = none
    legacy_userid: str = ""
    legacy_md5_password: bool = False
    service_number: str = ""
    suspended: bool = False
    allow_private_callbacks: bool = False
    pulls_reports: bool = True  # False when its reports are pushed: statusApi answers error 3
    pulls_mo: bool = True


class CredentialLookup(Protocol):
    """The account registry as the fronts see it (implemented above this layer)."""

    def by_system_id(self, system_id: str) -> ApiAccount | None: ...

    def by_legacy_userid(self, userid: str) -> ApiAccount | None: ...

    def by_api_secret(self, secret: str) -> ApiAccount | None:
        """The account whose API secret this is (compared in constant time), else None."""
        ...

    def password_matches(self, account: ApiAccount, password: str) -> bool:
        """The SMPP password check (a one-way hash; never a string compare here)."""
        ...

    def peer_allowed(self, account: ApiAccount, peer: str) -> bool:
        """The account's `ip_allowlist` applied to the client address."""
        ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Settings of `[http_api]` that the parsers apply."""

    max_recipients: int = 1000
    max_recipients_get: int = 100  # legacy GET requests
    max_segments: int = 255  # beyond this a text is "too long" (ESME_RINVMSGLEN)
    max_body_bytes: int = 1_048_576
    max_extno_digits: int = 10
    max_source_digits: int = 20  # SMPP source_addr is a 21-octet C string
    max_schedule_ahead_s: int = 30 * 86_400
    sign_window_s: int = 300  # "时间戳有效时间为5分钟"
    max_pull: int = 4000  # statusNum cap, and its default
    max_v1_pull: int = 1000
    v1_pull_default: int = 100
    max_client_ref: int = 64
    utc_offset_minutes: int = 480  # legacy times are Beijing time
    kannel_immediate_reply: bool = False


DEFAULT_LIMITS = Limits()


def md5_hex(text: str) -> str:
    # md5 is what these legacy schemes are defined with; it signs, it does not store a secret.
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def authenticate(
    accounts: CredentialLookup,
    front: Front,
    username: str | None,
    password: str | None,
    peer: str,
    *,
    legacy_md5: bool = False,
) -> ApiAccount | ApiError:
    """Sign in with a system_id and password, then the checks every front shares."""
    if not username or not password:
        return ApiError(Reason.MISSING_CREDENTIALS, username=username or "")
    account = accounts.by_system_id(username)
    if account is None or not _password_ok(accounts, account, password, legacy_md5=legacy_md5):
        return ApiError(Reason.INVALID_CREDENTIALS, username=username)
    return admit(accounts, account, front, peer)


def _password_ok(accounts: CredentialLookup, account: ApiAccount, password: str, *, legacy_md5: bool) -> bool:
    if legacy_md5 and account.legacy_md5_password and account.api_secret and len(password) == 32:
        expected = md5_hex(account.api_secret).upper()
        if hmac.compare_digest(password.upper().encode(), expected.encode()):
            return True
    return accounts.password_matches(account, password)


def admit(accounts: CredentialLookup, account: ApiAccount, front: Front, peer: str) -> ApiAccount | ApiError:
    """The checks after the credentials: address, status, front (in the table's order)."""
    if not accounts.peer_allowed(account, peer):
        return ApiError(Reason.IP_NOT_ALLOWED, username=account.system_id)
    if account.suspended:
        return ApiError(Reason.ACCOUNT_SUSPENDED, username=account.system_id)
    if front not in account.fronts:
        return ApiError(Reason.API_NOT_ENABLED, username=account.system_id)
    return account


def authenticate_sign(
    accounts: CredentialLookup,
    *,
    userid: str | None,
    timestamp: str | None,
    sign: str | None,
    peer: str,
    now: float,
    limits: Limits,
) -> ApiAccount | ApiError:
    """The v2 scheme: `sign = md5(system_id + api_secret + timestamp)`, timestamp within a window."""
    if not userid or not timestamp or not sign:
        return ApiError(Reason.MISSING_CREDENTIALS, username=userid or "")
    account = accounts.by_legacy_userid(userid)
    if account is None or not account.api_secret:
        return ApiError(Reason.INVALID_CREDENTIALS, username=userid)
    when = parse_compact_time(timestamp, limits.utc_offset_minutes)
    if when is None or abs(when - now) > limits.sign_window_s:
        return ApiError(Reason.INVALID_CREDENTIALS, username=account.system_id)
    expected = md5_hex(account.system_id + account.api_secret + timestamp)
    if not hmac.compare_digest(sign.strip().lower().encode("utf-8", "replace"), expected.encode()):
        return ApiError(Reason.INVALID_CREDENTIALS, username=account.system_id)
    return admit(accounts, account, Front.LEGACY, peer)


def parse_compact_time(text: str, utc_offset_minutes: int) -> float | None:
    """Epoch of `yyyyMMddHHmmss` in the given UTC offset, None if it is not one."""
    if len(text) != 14 or not (text.isascii() and text.isdigit()):
        return None
    try:
        moment = datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone(timedelta(minutes=utc_offset_minutes))).timestamp()
