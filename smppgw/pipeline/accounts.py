"""Accounts at run time: configuration plus what the store and operators changed (status, binds),
bind authentication and the per-account throughput limit."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from ..billing.ledger import MONEY, LedgerEntry, Wallets
from ..config import AccountConfig
from ..model import AccountStatus
from ..passwords import verify_password
from ..protocol.constants import CommandStatus
from ..writes import AccountCreated, LedgerAppended, Write

BIND_TYPE_OF = {0x00000001: "receiver", 0x00000002: "transmitter", 0x00000009: "transceiver"}

INITIAL_BALANCE_REFERENCE = "initial-balance:{}"


def open_account_writes(wallets: Wallets, system_id: str, unit: str, initial: int, now: float) -> list[Write]:
    """A new account gets a wallet at 0 and, when it has one, its opening balance as a top-up
    entry, so that balance == sum of ledger entries from the start.  Returns what to store."""
    wallets.open(system_id, unit or MONEY, 0)
    ops: list[Write] = [AccountCreated(system_id, 0, unit, AccountStatus.ACTIVE, "", now)]
    if initial > 0:
        entry = wallets[system_id].topup(initial, INITIAL_BALANCE_REFERENCE.format(system_id), "config", now)
        assert isinstance(entry, LedgerEntry)
        ops.append(LedgerAppended(entry))
    return ops


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, at most one second's worth saved up."""

    rate: float
    tokens: float
    last: float

    def take(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class AccountState:
    config: AccountConfig
    status: AccountStatus
    binds: int = 0
    pledged: bool = False  # an information-security pledge is on record
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(0.0, 0.0, 0.0))


class AccountBook:
    def __init__(
        self,
        *,
        bind_gate: Callable[[str, int, int], bool] | None = None,
        on_release: Callable[[str], None] | None = None,
    ) -> None:
        self._accounts: dict[str, AccountState] = {}
        # After one slow hash check succeeds, later binds compare a salted fast digest in constant time.
        self._salt = os.urandom(16)
        self._verified: dict[str, bytes] = {}
        # Several nodes: the bind limit is counted over all of them (account, bind command, limit -> allowed).
        self.bind_gate = bind_gate
        self.on_release = on_release

    def add(self, config: AccountConfig, status: str | None = None) -> AccountState:
        state = AccountState(config, AccountStatus(status or config.status))
        state.bucket = TokenBucket(config.throughput, config.throughput, 0.0)
        self._accounts[config.system_id] = state
        return state

    def update(self, config: AccountConfig) -> None:
        """Apply new settings (a reload or the admin API) keeping status and bind count."""
        state = self._accounts.get(config.system_id)
        if state is None:
            self.add(config)
            return
        if state.config.password != config.password:
            self._verified.pop(config.system_id, None)
        state.config = config
        state.bucket = TokenBucket(config.throughput, config.throughput, state.bucket.last)

    def get(self, system_id: str) -> AccountState | None:
        return self._accounts.get(system_id)

    def __iter__(self) -> Iterator[AccountState]:
        return iter(self._accounts.values())

    def __contains__(self, system_id: object) -> bool:
        return system_id in self._accounts

    def set_status(self, system_id: str, status: AccountStatus) -> None:
        self._accounts[system_id].status = status

    def set_password(self, system_id: str, password_hash: str) -> None:
        state = self._accounts[system_id]
        state.config = replace(state.config, password=password_hash)
        self._verified.pop(system_id, None)

    def password_ok(self, system_id: str, password: str) -> bool:
        """The account's password check, without a bind (the customer HTTP interface signs in with it)."""
        state = self._accounts.get(system_id)
        return state is not None and self._password_ok(state, password)

    def _password_ok(self, state: AccountState, password: str) -> bool:
        digest = hashlib.sha256(self._salt + password.encode("utf-8")).digest()
        known = self._verified.get(state.config.system_id)
        if known is not None:
            return hmac.compare_digest(known, digest)
        if verify_password(password, state.config.password):
            self._verified[state.config.system_id] = digest
            return True
        return False

    def authenticate(self, system_id: str, password: str, bind_command: int, peer_host: str, now: float) -> int:
        """The bind_resp status for this bind attempt (ESME_ROK counts the bind)."""
        state = self._accounts.get(system_id)
        if state is None:
            return CommandStatus.ESME_RINVSYSID
        cfg = state.config
        if cfg.ip_allowlist:  # checked before the password: a wrong address learns nothing
            try:
                addr = ipaddress.ip_address(peer_host)
            except ValueError:
                return CommandStatus.ESME_RBINDFAIL
            if not any(addr in net for net in cfg.ip_allowlist):
                return CommandStatus.ESME_RBINDFAIL
        if not self._password_ok(state, password):
            return CommandStatus.ESME_RINVPASWD
        if state.status is not AccountStatus.ACTIVE or (cfg.pledge_required and not state.pledged):
            return CommandStatus.ESME_RBINDFAIL
        if (cfg.not_before is not None and now < cfg.not_before) or (cfg.not_after is not None and now > cfg.not_after):
            return CommandStatus.ESME_RBINDFAIL
        if BIND_TYPE_OF.get(bind_command) not in cfg.bind_types:
            return CommandStatus.ESME_RBINDFAIL
        if state.binds >= cfg.max_binds:
            return CommandStatus.ESME_RBINDFAIL
        if self.bind_gate is not None and not self.bind_gate(system_id, bind_command, cfg.max_binds):
            return CommandStatus.ESME_RBINDFAIL
        state.binds += 1
        return CommandStatus.ESME_ROK

    def release_bind(self, system_id: str) -> None:
        state = self._accounts.get(system_id)
        if state is not None and state.binds > 0:
            state.binds -= 1
            if self.on_release is not None:
                self.on_release(system_id)
