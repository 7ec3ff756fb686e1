"""The CMPP 2.0/3.0 listener: the pure ``smppgw.cmpp`` session on the reactor, on the same pipeline
as SMPP (``runtime.runner.GatewayRunner``) and the same delivery queue.

- ``mapping``: pure translations between CMPP packets and the gateway's records (a SUBMIT's
  destinations as submit_sm, refusals as Result codes, receipts and MO as DELIVERs, the Msg_Id
  and the message id the store keeps).
- ``protocol``: one connection; ``factory``: the listener, its sessions and its Msg_Id generator.
"""
