"""How the admin commands print the gateway's answers for a person: aligned tables and field lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .admin_client import (
    AccountDetail,
    AccountList,
    Carrier,
    CarrierList,
    DrainState,
    History,
    Ledger,
    MessageList,
    MobileOriginated,
    OptoutImport,
    Reload,
    Review,
    Session,
    SessionList,
    Topup,
    Verdict,
)


def format_amount(amount: int, unit: str) -> str:
    if unit == "li":
        sign = "-" if amount < 0 else ""
        yuan, li = divmod(abs(amount), 1000)
        return f"{sign}{yuan}.{li:03d} CNY"
    return f"{amount} {unit}"


def print_fields(fields: Mapping[str, Any]) -> None:
    width = max((len(k) for k in fields), default=0)
    for key, value in fields.items():
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "-"
        else:
            text = "-" if value is None else str(value)
        print(f"{key:<{width}}  {text}")


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


# ---- accounts --------------------------------------------------------------------------------


def show_account(a: AccountDetail) -> None:
    fields: dict[str, Any] = {
        "system_id": a["system_id"],
        "status": a["status"],
        "balance": f"{format_amount(a['balance'], a['unit'])} ({a['balance']} {a['unit']})",
        "rate_plan": a["rate_plan"],
        "source_addrs": a["source_addrs"],
        "bound": a["bound"],
    }
    if "origin" in a:
        fields["origin"] = a["origin"]
    fields.update({k: v for k, v in a.get("settings", {}).items() if k not in fields and k != "system_id"})
    if pledge := a.get("pledge"):
        fields["pledge"] = f"{pledge['reference']} signed {pledge['signed_on']}, recorded by {pledge['operator']}"
    if a.get("binds_refused"):
        fields["binds_refused"] = a["binds_refused"]
    print_fields(fields)


def show_http_access(a: dict[str, Any]) -> None:
    fields = {k: v for k, v in a.items() if k != "api_secret"}
    fields["fronts"] = ", ".join(a["fronts"]) or "(none: no HTTP access)"
    print_fields(fields)
    if "api_secret" in a:
        # Shown this once: the gateway never answers it again.
        print(f"\napi_secret: {a['api_secret']}\n(shown once: keep it now; 'account new-secret' replaces it)")


def show_account_list(result: AccountList) -> None:
    rows = [
        [
            a["system_id"],
            a["status"],
            format_amount(a["balance"], a["unit"]),
            a["rate_plan"],
            str(a["bound"]),
            ",".join(a["source_addrs"]) or "-",
        ]
        for a in result["accounts"]
    ]
    print_table(["SYSTEM_ID", "STATUS", "BALANCE", "PLAN", "BOUND", "SOURCE_ADDRS"], rows)


def show_created(result: AccountDetail) -> None:
    print(f"created account {result['system_id']}")
    show_account(result)


def show_topup(result: Topup) -> None:
    entry = result["entry"]
    print(
        f"credited {format_amount(entry['amount'], entry['unit'])} to {entry['account']} "
        f"(entry {entry['entry_id']}, reference {entry['reference']}): "
        f"balance {format_amount(result['balance'], entry['unit'])}"
    )


def show_ledger(result: Ledger) -> None:
    rows = [
        [
            str(e["entry_id"]),
            e["at"] or "-",
            e["kind"],
            str(e["amount"]),
            str(e["balance_after"]),
            e["message_id"] or e["reference"] or "-",
        ]
        for e in result["entries"]
    ]
    print_table(["ENTRY", "AT", "KIND", "AMOUNT", "BALANCE", "MESSAGE/REFERENCE"], rows)


# ---- messages and sessions ---------------------------------------------------------------------


def show_message(result: Mapping[str, Any]) -> None:
    print_fields(result)


def show_history(result: History) -> None:
    message = result["message"]
    print(f"message {message['message_id']}: {message['state']} at {message['carrier']}")
    print_table(["AT", "STEP", "DETAIL"], [[e["at"] or "-", e["step"], e["detail"]] for e in result["events"]])


def show_search(result: MessageList) -> None:
    rows = [
        [m["message_id"], m["account"], m["destination_addr"], m["carrier"], m["state"], m["submitted_at"] or "-"]
        for m in result["messages"]
    ]
    print_table(["MESSAGE_ID", "ACCOUNT", "DESTINATION", "CARRIER", "STATE", "SUBMITTED"], rows)


def _window_use(session: Session) -> str:
    return f"{session['window_in_use']}/{session['window']}"


def show_sessions(result: SessionList) -> None:
    rows = [
        [s["account"], s["bind_type"], s["peer"], s["since"] or "-", _window_use(s), str(s.get("id") or "-")]
        for s in result["sessions"]
    ]
    print_table(["ACCOUNT", "BIND", "PEER", "SINCE", "WINDOW", "ID"], rows)


def show_mo(result: MobileOriginated) -> None:
    print(f"MO accepted for {result['account']} (delivery {result['delivery_id']}, id {result['message_id']})")


# ---- the node and its carriers -------------------------------------------------------------------


def show_reload(result: Reload) -> None:
    print(f"reloaded {result['source']}: {result['routes']} routes")
    changes = {
        "accounts added": result["accounts_added"],
        "accounts updated": result["accounts_updated"],
        "accounts kept": result["accounts_kept"],
        "carriers added": result["carriers_added"],
        "carriers updated": result["carriers_updated"],
    }
    for what, names in changes.items():
        if names:
            print(f"  {what}: {', '.join(names)}")
    if result["restart_needed"]:
        print(f"  changed, needs a restart: {', '.join(result['restart_needed'])}")


def show_drain(result: DrainState) -> None:
    if result["status"] == "draining":
        print(f"draining since {result['draining_since']}: no new connections from the load balancer, "
              f"{result['bound']} bound session(s) stay")  # fmt: skip
    else:
        print(f"up: taking new connections ({result['bound']} bound session(s))")


def show_carriers(result: CarrierList) -> None:
    rows = [
        [
            c["code"],
            c["name"],
            "up" if c["up"] else "DOWN",
            str(c["queue_depth"]),
            str(c["in_flight"]),
            str(c["stats"]["dispatched"]),
        ]
        for c in result["carriers"]
    ]
    print_table(["CODE", "NAME", "LINK", "QUEUED", "IN_FLIGHT", "DISPATCHED"], rows)


def show_outage(result: Carrier) -> None:
    print(f"{result['code']} ({result['name']}) is {'up' if result['up'] else 'down'}")


# ---- compliance ----------------------------------------------------------------------------------


def show_review(result: Review) -> None:
    rows = [
        [h["message_id"], h["account"], h["category"], h["term"], h["deadline"] or "-", h["text"][:30]]
        for h in result["held"]
    ]
    print_table(["MESSAGE", "ACCOUNT", "CATEGORY", "TERM", "DEADLINE", "TEXT"], rows)


def show_verdict(result: Verdict) -> None:
    print(f"{result['decision']}: {' '.join(result['message_ids'])}")


def show_optout_import(result: OptoutImport) -> None:
    print(f"{result['count']} numbers, list {result['account']}")


def show_handset(result: Mapping[str, Any]) -> None:
    """A number's inbox: each message with its sender, parts, coding and text; broken ones with why."""
    messages = result["messages"]
    print(f"{result['number']} ({result['msisdn']}): {len(messages)} message(s), {result['broken']} broken")
    for m in messages:
        parts = f"{len(m['parts_received'])}/{m['parts_expected']} parts, {m['method_name']}"
        if m["reference"] is not None:
            parts += f" ref {m['reference']}"
        print()
        print(f"from {m['from']} at {m['received_at']} ({parts}; {m['coding']}; {', '.join(m['accounts'])})")
        if m["signature"]:
            print(f"  signature {m['signature']} at the {m['signature_at']}")
        print("  " + (m["text"] if m["text"] is not None else f"hex {m['hex']}"))
        for problem in m["problems"]:
            print(f"  BROKEN {problem['cause']}: {problem['detail']}")
