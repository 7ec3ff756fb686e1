"""The account a CMPP session logs in as, and the seam it is looked up through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .constants import Version


@dataclass(frozen=True, slots=True)
class CmppAccount:
    sp_id: str  # Source_Addr of CONNECT and Msg_src of SUBMIT
    secret: str
    version: Version  # the highest version the account may log in with
    service_code: str  # Src_Id must start with it (106...)
    name: str = ""  # the gateway's own name for the account


class AccountLookup(Protocol):
    def __call__(self, sp_id: str, /) -> CmppAccount | None:
        """The account with this SP_Id, or None when there is none."""
