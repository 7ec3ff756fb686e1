"""What several handler modules show of an account or a message: built from the node's live state."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..config.accounts import account_settings
from ..model import Message
from ..pipeline.accounts import AccountState
from .http import ApiError, iso_time
from .node import Node
from .shapes import decision_json, message_json, receipt_status


class Views:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.offset = node.config.utc_offset_minutes

    # ---- accounts -----------------------------------------------------------------------------

    def account_state(self, system_id: str) -> AccountState:
        state = self.node.accounts.get(system_id)
        if state is None:
            raise ApiError(404, f"no account {system_id!r}")
        return state

    def account_summary(self, state: AccountState) -> dict[str, Any]:
        cfg = state.config
        wallet = self.node.wallets.get(cfg.system_id)
        return {
            "system_id": cfg.system_id,
            "status": state.status,
            "balance": wallet.balance if wallet is not None else 0,
            "unit": wallet.unit if wallet is not None else cfg.billing_unit,
            "rate_plan": cfg.rate_plan,
            "source_addrs": list(cfg.source_addrs),
            "bound": len(self.node.factory.sessions_of(cfg.system_id)),
        }

    def account_detail(self, state: AccountState) -> dict[str, Any]:
        detail = self.account_summary(state)
        detail["origin"] = "config" if state.config.system_id in self.node.config.accounts else "api"
        detail["settings"] = account_settings(state.config)
        detail.update(self._compliance_fields(state))
        return detail

    def _compliance_fields(self, state: AccountState) -> dict[str, Any]:
        cfg = state.config
        pledge = self.node.store.pledges().get(cfg.system_id) if cfg.pledge_required or state.pledged else None
        why = None
        if state.status != "active":
            why = f"the account is {state.status}" + (" (reinstate: POST /api/accounts/{id}/reinstate)")
        elif cfg.pledge_required and not state.pledged:
            why = "no information-security pledge is recorded (POST /api/accounts/{id}/pledge)"
        return {
            "pledge_required": cfg.pledge_required,
            "pledge": None
            if pledge is None
            else {**dataclasses.asdict(pledge), "recorded_at": iso_time(pledge.recorded_at, self.offset)},
            "binds_refused": why.replace("{id}", cfg.system_id) if why else None,
        }

    # ---- messages -----------------------------------------------------------------------------

    def receipt_queued(self, message: Message) -> bool:
        """The message's receipt is stored and its client has not acknowledged it yet."""
        node = self.node
        if message.message_id in node.gateway.settling:  # final, its receipt is being stored right now
            return True
        if node.cluster is not None:  # several nodes: the receipt waits in the shared outbox
            return node.cluster.store.receipt_queued(message.message_id)
        # The queue holds what is stored and not yet acknowledged (reloaded from the store on restart).
        return node.deliveries.receipt_pending(message.account, message.message_id)

    def message(self, message: Message) -> dict[str, Any]:
        receipt = receipt_status(message, message.is_final and self.receipt_queued(message))
        return message_json(message, receipt, self.offset)

    def message_detail(self, message: Message) -> dict[str, Any]:
        """A message with what compliance holds and decided about it."""
        held = self.node.compliance.held.get(message.message_id)
        decisions = [decision_json(d, self.offset) for d in self.node.store.decisions(message.message_id)]
        return {**self.message(message), "held": None if held is None else held.kind, "decisions": decisions}

    def fresh(self, message: Message) -> Message:
        """The live copy of a stored message, when the gateway holds one."""
        gateway = self.node.gateway
        return gateway.active.get(message.message_id) or gateway.settling.get(message.message_id) or message


__all__ = ["Views"]
