"""The customer HTTP interface, pure part: three fronts as parse/render pairs, and callback formats.

Fronts (every one a pure `parse(HttpRequest, now, CredentialLookup, Limits) -> request | Rejection`
and `render(Reply, Outcome, Limits) -> HttpResponse`, reached through `fronts.parse`/`fronts.render`):

- `legacy`: the sms.aspx family (sms.aspx, smsGBK.aspx, smsJson.aspx, v2sms.aspx, statusApi.aspx,
  callApi.aspx and the v2 pulls), HTTP 200 with the family's XML (or JSON) for every answer;
- `jasmin` and `kannel` (the compat front): Jasmin's /send, /balance, /rate, /ping and /secure/*,
  Kannel's /cgi-bin/sendsms;
- `v1`: the JSON API under /v1/.

`callbacks` builds the HTTP request that pushes a receipt or MO in each channel's format (Jasmin,
Kannel `dlr-url` escapes, legacy XML push, signed v1 webhooks) and reads the answer (`verdict`);
`retry` is the backoff schedule, `urlpolicy` the guard against callbacks to private addresses.

How the follow-up shells use it (none of this module imports Twisted, the store or the pipeline):

1. The Twisted listener (its own port, never the admin routes) turns a `twisted.web` request into
   an `HttpRequest` (method, path, raw query bytes, headers as latin-1 text, body bytes capped at
   `Limits.max_body_bytes`, peer host) and calls `fronts.parse(request, clock.seconds(), lookup,
   limits)`.  `lookup` is a `CredentialLookup` over the account registry: it verifies the SMPP
   password hash, finds accounts by legacy userid and by API secret (constant-time), and applies
   the IP allowlist; it maps suspended *or expired* to `ApiAccount.suspended`.
2. A `Rejection` is rendered at once with `fronts.render(rejection.reply, rejection.error,
   limits)`; an error whose reason is in `errors.AUTH_FAILURES` counts toward the account/address
   lockout (`ApiError.username`).  Requests are logged through `wire.redacted_query` (secrets
   replaced, phone numbers masked), never with their raw query string or body.
3. Any other value goes to the pipeline adapter, which owns the decisions that need the store:
   - `SendRequest`: check money for all `messages` as a whole (refusing with
     `error_for_status(SMPPGW_RNOBALANCE)`), commit the task durably, reply, then feed each
     `OutboundMessage` (one recipient) to the gateway's one submit function at the account's
     throughput (`Text` lets the gateway pick GSM-7/UCS-2; `Octets` go as given; `source` already
     has the extno appended).  `refused` recipients, and refusals after acceptance, become failed
     reports with `errors.gateway_code(status)`.  It answers with `SendOutcome` (or, if nothing
     was accepted, the first refusal's `ApiError`), and replays the stored answer for a repeated
     `Idempotency` key, or `Reason.IDEMPOTENCY_CONFLICT` when the fingerprint differs.
   - `BalanceRequest` -> `Balance`; `RateRequest` -> `RateQuote`; `ContentCheckRequest` ->
     `ContentVerdict` (the content rules without charging); `StatusRequest` -> `MessageStatus`;
     `PullRequest` -> `EventPage` (legacy pulls delete after the reply is written; v1 pulls lease
     the page until an `AckRequest` with its cursor -> `Acked`); `PingRequest` -> `Pong`.
   - A gateway refusal (an SMPP command_status) becomes `errors.error_for_status(status)`, which
     every front renders in its own words.
4. Each message's `report` channel decides where its receipts go: `NoReport`, `AccountChannel`
   (the account's report_url for that front, else its pull mailbox) or `PushChannel`.  The
   webhook pusher, a delivery-queue receiver, builds `ReportEvent`/`InboundEvent` values, asks
   `callbacks.report_callback`/`inbound_callback` for the request (None: the level or mask does
   not want this event, so it is acknowledged at once), checks resolved addresses with
   `urlpolicy.callback_url_problem(..., resolved=...)` before connecting, sends it, and deletes the
   delivery only on `Verdict.ACKED`; otherwise `retry.RetryPolicy.next_attempt` gives the next try
   or None to park it (still pullable).
"""
