"""Accounts: list, show, create, top up, ledger.

GET  /accounts          GET  /accounts/{id}          POST /accounts
POST /accounts/{id}/topups                           GET  /accounts/{id}/ledger
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.web.server import Request

from ..billing.ledger import LedgerEntry, Refused
from ..config import AccountConfig
from ..config.accounts import FieldError, account_from_json, account_to_json
from ..model import AccountStatus
from ..passwords import hash_password, is_password_hash
from ..pipeline.accounts import open_account_writes
from ..writes import AccountCreated
from .http import MAX_AMOUNT, ApiError, Reply, Result, Route, amount_field, peer_of, required_text, text_field
from .node import Node
from .shapes import entry_json
from .views import Views

log = Logger()


class AccountEndpoints:
    def __init__(self, node: Node, views: Views, threads: IReactorThreads) -> None:
        self.node = node
        self.views = views
        self.threads = threads  # where passwords are hashed

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("accounts",), self.list_accounts),
            (b"POST", ("accounts",), self.create_account),
            (b"GET", ("accounts", "*"), self.show_account),
            (b"POST", ("accounts", "*", "topups"), self.topup),
            (b"GET", ("accounts", "*", "ledger"), self.ledger),
        ]

    def list_accounts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        accounts = sorted(self.node.accounts, key=lambda s: s.config.system_id)
        return Reply(200, {"accounts": [self.views.account_summary(s) for s in accounts]})

    def show_account(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return Reply(200, self.views.account_detail(self.views.account_state(params[0])))

    def _check_new(self, account: AccountConfig) -> None:
        if account.system_id in self.node.accounts or account.system_id in self.node.wallets:
            raise ApiError(409, f"account {account.system_id!r} already exists", "system_id")
        sp_id = account.cmpp.sp_id if account.cmpp is not None else None
        if sp_id is not None and any(s.config.cmpp and s.config.cmpp.sp_id == sp_id for s in self.node.accounts):
            raise ApiError(409, f"cmpp: SP_Id {sp_id} is already another account's", "cmpp")

    def create_account(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        try:
            account = account_from_json(body)
        except FieldError as err:
            raise ApiError(400, str(err), err.field or None) from None
        if account.rate_plan not in self.node.gateway.prices.plans():
            raise ApiError(400, f"rate_plan: no rate plan {account.rate_plan!r}", "rate_plan")
        if account.initial_balance > MAX_AMOUNT:
            raise ApiError(400, f"balance: must be at most {MAX_AMOUNT}", "balance")
        if not is_password_hash(account.password) and len(account.password.encode("latin-1", "replace")) > 8:
            # bind PDUs carry the password in a C(9) field: a longer one could never bind.
            raise ApiError(400, "password: must be 1 to 8 characters (the SMPP bind limit)", "password")
        self._check_new(account)
        who = peer_of(request)
        if is_password_hash(account.password):
            return self._open(account, who)
        # PBKDF2 takes a good fraction of a second: not on the reactor thread.
        threads = self.threads
        hashed: Deferred[str] = deferToThreadPool(threads, threads.getThreadPool(), hash_password, account.password)
        return hashed.addCallback(lambda h: self._open(dataclasses.replace(account, password=h), who))

    def _open(self, account: AccountConfig, who: str) -> Deferred[Reply]:
        self._check_new(account)  # again: another request may have taken the name meanwhile
        node = self.node
        system_id = account.system_id
        now = node.reactor.seconds()
        ops = open_account_writes(node.wallets, system_id, account.billing_unit, account.initial_balance, now)
        # Same opening as a configured account, but the row also keeps the settings, so a restart
        # can rebuild the account without the configuration file knowing it.
        assert isinstance(ops[0], AccountCreated)
        settings = json.dumps(account_to_json(account), ensure_ascii=False, sort_keys=True)
        ops[0] = AccountCreated(system_id, 0, account.billing_unit, AccountStatus(account.status), settings, now)

        def stored(_: None) -> Reply:
            state = node.accounts.add(account)
            node.rig.account_added(account)
            log.info(
                "admin: account {system_id} created by {who} (balance {balance} {unit})",
                system_id=system_id,
                who=who,
                balance=account.initial_balance,
                unit=account.billing_unit,
            )
            return Reply(201, self.views.account_detail(state))

        return node.committer.write(ops).addCallback(stored)

    def topup(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        amount = amount_field(body, "amount")
        reference = required_text(body, "reference")
        operator = text_field(body, "operator", required=False) or "admin-api"
        system_id = self.views.account_state(params[0]).config.system_id
        result = self.node.gateway.topup(system_id, amount, reference, operator, self.node.reactor.seconds())
        if isinstance(result, Refused):
            if result.reason == "duplicate_reference":
                raise ApiError(409, f"reference {reference!r} was already credited", "reference")
            raise ApiError(404 if result.reason == "unknown_account" else 400, result.detail or result.reason)
        who = peer_of(request)

        def credited(entry: LedgerEntry | Refused) -> Reply:
            if isinstance(entry, Refused):  # another node credited this reference first
                raise ApiError(409, f"reference {reference!r} was already credited", "reference")
            log.info(
                "admin: top-up of {amount} {unit} to {system_id}, reference {reference}, by {operator} from {who}",
                amount=amount,
                unit=entry.unit,
                system_id=system_id,
                reference=reference,
                operator=operator,
                who=who,
            )
            return Reply(201, {"entry": entry_json(entry, self.views.offset), "balance": entry.balance_after})

        return result.addCallback(credited)

    def ledger(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = params[0]
        if system_id not in self.node.accounts and system_id not in self.node.wallets:
            raise ApiError(404, f"no account {system_id!r}")
        entries = self.node.store.ledger(system_id)
        return Reply(200, {"account": system_id, "entries": [entry_json(e, self.views.offset) for e in entries]})


__all__ = ["AccountEndpoints"]
