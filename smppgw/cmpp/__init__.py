"""CMPP 2.0 / 3.0 (China Mobile Peer to Peer) as pure code: bytes in, events out, time as an argument.

- ``packets``: one frozen dataclass per packet; the same value in both versions.
- ``codec``: the 2.0 and 3.0 layout tables, ``encode(packet, version)`` / ``decode(frame, version)``;
  a bad packet raises ``errors.CmppDecodeError`` carrying the Result to answer.
- ``framing``: whole packets out of a byte stream, Total_Length bounded.
- ``login``: the MD5 authenticators of CONNECT and which version a client is served in.
- ``msgid``: the 64-bit Msg_Id (time, gateway code, sequence) and its decimal and hex forms.
- ``text``, ``longmsg``, ``deliveries``: Msg_Content as text, long-message parts and their
  reassembly, and the report / MO DELIVERs the gateway sends.
- ``session``: the gateway side of one connection, checked against an ``account.AccountLookup``.
"""
