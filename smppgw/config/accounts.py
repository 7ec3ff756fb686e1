"""Accounts as JSON: what the admin API accepts, and what the store keeps for accounts made through it.

Validation is the configuration file's own (``read_account``), so an account is held to the same rules
whether it comes from the TOML file or over HTTP; only the way an error names its place differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from . import AccountConfig, CmppLogin, ConfigError, read_account, system_id_problem
from .rig import faults_to_dict, outbind_to_dict

# The API calls the opening balance "balance"; the configuration (and AccountConfig) "initial_balance".
BALANCE_ALIAS = "balance"


class FieldError(ValueError):
    """A request field that is missing or wrong; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


class _JsonFields:
    """config.Locator for a flat JSON object: an error names the field."""

    def error(self, keys: Sequence[str], problem: str) -> ValueError:
        return FieldError(keys[-1] if keys else "system_id", problem)


def account_from_json(data: Mapping[str, Any]) -> AccountConfig:
    """Validate an account object ({"system_id", "password", ...the AccountConfig fields}).

    Raises FieldError (a ValueError) naming the first bad field.  The password is kept as given:
    hashing it is the caller's business, so that stored settings (already hashed) read back unchanged.
    """
    if not isinstance(data, Mapping):
        raise FieldError("", "the account must be a JSON object")
    system_id = data.get("system_id")
    if not isinstance(system_id, str):
        raise FieldError("system_id", "is required (a string)" if system_id is None else "must be a string")
    problem = system_id_problem(system_id)
    if problem is not None:
        raise FieldError("system_id", problem)
    table = {key: value for key, value in data.items() if key != "system_id"}
    if BALANCE_ALIAS in table:
        if "initial_balance" in table:
            raise FieldError(BALANCE_ALIAS, "give balance or initial_balance, not both")
        table["initial_balance"] = table.pop(BALANCE_ALIAS)
    return read_account(table, system_id, _JsonFields())


def account_from_stored(settings: str, system_id: str, where: str) -> AccountConfig:
    """An account created through the admin API, from the settings the store keeps for it (JSON of
    account_to_json); a ConfigError names ``where`` (the store) and the account."""
    try:
        return account_from_json(json.loads(settings))
    except ValueError as err:
        raise ConfigError(f"{where}: stored account {system_id}: {err}") from None


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def account_to_json(account: AccountConfig) -> dict[str, Any]:
    """The inverse of account_from_json: every field, in the form account_from_json reads back."""
    return {
        "system_id": account.system_id,
        "password": account.password,
        "bind_types": sorted(account.bind_types),
        "ip_allowlist": [str(net) for net in account.ip_allowlist],
        "max_binds": account.max_binds,
        "throughput": account.throughput,
        "not_before": _iso(account.not_before),
        "not_after": _iso(account.not_after),
        "status": account.status,
        "rate_plan": account.rate_plan,
        "source_addrs": list(account.source_addrs),
        "message_id_format": account.message_id_format,
        "initial_balance": account.initial_balance,
        "billing_unit": account.billing_unit,
        "signatures": list(account.signatures),
        "signature_required": account.signature_required,
        "pledge_required": account.pledge_required,
        "send_window": _window_text(account.send_window),
        "outside_window": account.outside_window,
        "faults": None if account.faults is None else faults_to_dict(account.faults),
        "scripted_outcomes": account.scripted_outcomes,
        "outbind": None if account.outbind is None else outbind_to_dict(account.outbind),
        "cmpp": None if account.cmpp is None else _cmpp_json(account.cmpp),
    }


def _cmpp_json(login: CmppLogin) -> dict[str, str]:
    return {
        "sp_id": login.sp_id,
        "secret": login.secret,
        "service_code": login.service_code,
        "version": login.version_text,
    }


def _window_text(window: tuple[int, int] | None) -> str:
    if window is None:
        return ""
    (sh, sm), (eh, em) = divmod(window[0], 60), divmod(window[1], 60)
    return f"{sh:02d}:{sm:02d}-{eh:02d}:{em:02d}"


def account_settings(account: AccountConfig) -> dict[str, Any]:
    """The public view of an account's settings: everything but the password (hash)."""
    settings = account_to_json(account)
    del settings["password"]
    if settings["cmpp"] is not None:
        del settings["cmpp"]["secret"]
    if settings["outbind"] is not None:
        del settings["outbind"]["password"]
    return settings
