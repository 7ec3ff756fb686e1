"""Message ids: one numeric sequence, shown in each account's configured form.

hex ids are 15 hex digits and decimal ids are plain digits, so both fit a signed 64-bit number
(what Kannel's msg-id-type converts them to); uuid ids are derived from the number.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f1d2c1e-8a3b-4c55-9a57-0c6a4d1b2e70")


def format_message_id(seq: int, form: str) -> str:
    if form == "decimal":
        return str(seq)
    if form == "uuid":
        return str(uuid.uuid5(_NAMESPACE, str(seq)))
    return "%015x" % seq  # noqa: UP031 -- compiled, an f-string with a format spec is a str.format call
