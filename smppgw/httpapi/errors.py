"""Why a request is refused, in one vocabulary that every front renders in its own dialect.

The rows of the bad-input table (wrong password, bad number, too long, ...) are `Reason`s; the
fronts' renderers turn an `ApiError` into the exact bytes their clients expect.  Refusals that come
back from the gateway's submit as an SMPP command_status map onto the same reasons
(`error_for_status`), so a front never needs to know SMPP codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..protocol.constants import CommandStatus


class Reason(Enum):
    """A row of the bad-input table (`code` is its v1 `error.code`)."""

    MISSING_CREDENTIALS = "missing_credentials"
    INVALID_CREDENTIALS = "invalid_credentials"
    IP_NOT_ALLOWED = "ip_not_allowed"
    ACCOUNT_SUSPENDED = "account_suspended"
    API_NOT_ENABLED = "api_not_enabled"
    PULL_NOT_ALLOWED = "pull_not_allowed"
    NO_RECIPIENT = "no_recipient"
    EMPTY_CONTENT = "empty_content"
    INVALID_NUMBER = "invalid_number"
    NO_ROUTE = "no_route"
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    BAD_ENCODING = "bad_encoding"
    TEXT_TOO_LONG = "text_too_long"
    INVALID_SCHEDULE = "invalid_schedule"
    INVALID_VALIDITY = "invalid_validity"  # Kannel tells validity from deferred; v1 does not
    INVALID_SOURCE = "invalid_source"
    INVALID_CALLBACK_URL = "invalid_callback_url"
    SIGNATURE_REQUIRED = "signature_required"
    CONTENT_REJECTED = "content_rejected"
    OUTSIDE_SEND_WINDOW = "outside_send_window"
    OPTED_OUT = "opted_out"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    UNKNOWN_FIELD = "unknown_field"  # unknown argument, or the legacy family's unknown action
    INVALID_FIELD = "invalid_field"  # a known argument with a value of the wrong shape
    MALFORMED_BODY = "invalid_body"  # unparseable JSON, or no arguments at all
    BODY_TOO_LARGE = "body_too_large"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"

    @property
    def code(self) -> str:
        """The v1 `error.code`; a few rows share one and differ by `field`."""
        return _V1_CODES.get(self, self.value)


_V1_CODES = {
    Reason.NO_RECIPIENT: "missing_field",
    Reason.EMPTY_CONTENT: "missing_field",
    Reason.INVALID_VALIDITY: "invalid_schedule",
}


# Refusals a client may retry unchanged later.
RETRYABLE = frozenset({Reason.THROTTLED, Reason.UNAVAILABLE})

# Reasons that count as a failed sign-in for the account/address lockout.
AUTH_FAILURES = frozenset({Reason.INVALID_CREDENTIALS})


@dataclass(frozen=True, slots=True)
class ApiError:
    """A refusal: the reason plus what a dialect may echo back.

    `field` is the argument concerned as the client spelled it, `value` its offending value,
    `detail` extra words (matched terms, a content category, an argument Jasmin does not know).
    `username` is who tried, for lockout counting and for Jasmin's `Authorization failed for user`.
    """

    reason: Reason
    field: str = ""
    value: str = ""
    detail: str = ""
    username: str = ""
    smpp_status: int | None = None
    retry_after: int | None = None  # seconds, for THROTTLED

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE


_BY_STATUS: dict[int, Reason] = {
    CommandStatus.SMPPGW_RNOBALANCE: Reason.INSUFFICIENT_BALANCE,
    CommandStatus.SMPPGW_RNOSIGNATURE: Reason.SIGNATURE_REQUIRED,
    CommandStatus.SMPPGW_RCONTENT: Reason.CONTENT_REJECTED,
    CommandStatus.SMPPGW_RQUIETHOURS: Reason.OUTSIDE_SEND_WINDOW,
    CommandStatus.SMPPGW_ROPTEDOUT: Reason.OPTED_OUT,
    CommandStatus.SMPPGW_RSUSPENDED: Reason.ACCOUNT_SUSPENDED,
    # A number that got past the front's syntax check but has no route.
    CommandStatus.ESME_RINVDSTADR: Reason.NO_ROUTE,
    CommandStatus.ESME_RINVSRCADR: Reason.INVALID_SOURCE,
    CommandStatus.ESME_RINVMSGLEN: Reason.TEXT_TOO_LONG,
    CommandStatus.ESME_RINVSCHED: Reason.INVALID_SCHEDULE,
    CommandStatus.ESME_RINVEXPIRY: Reason.INVALID_SCHEDULE,
    CommandStatus.ESME_RTHROTTLED: Reason.THROTTLED,
    CommandStatus.ESME_RSYSERR: Reason.UNAVAILABLE,
    CommandStatus.ESME_RMSGQFUL: Reason.UNAVAILABLE,
    CommandStatus.ESME_RINVPASWD: Reason.INVALID_CREDENTIALS,
    CommandStatus.ESME_RINVSYSID: Reason.INVALID_CREDENTIALS,
}


def error_for_status(status: int, *, detail: str = "", retry_after: int | None = None) -> ApiError:
    """The refusal a front shows for a command_status the gateway's submit answered.

    Codes without a row of their own are shown as `unavailable` (the table's "other error").
    """
    reason = _BY_STATUS.get(status, Reason.UNAVAILABLE)
    return ApiError(reason, detail=detail, smpp_status=status, retry_after=retry_after)


def gateway_code(status: int) -> str:
    """`GW:0405`: how a refusal after acceptance shows in reports (`errorcode`, `gateway_code`)."""
    return f"GW:{status & 0xFFFF:04X}"
