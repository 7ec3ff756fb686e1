"""CMPP 2.0 / 3.0 (China Mobile Peer to Peer) as pure code: packets, codec, framing, login,
Msg_Id, message text and the server side of a session.  Bytes in, events out, time as an argument."""
