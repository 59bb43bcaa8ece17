"""The CSMS: OCPP 1.6-J and 2.0.1 central system (see docs/architecture.md, "CSMS").

- `server`: WebSocket server, admission at the upgrade (path, subprotocol, known id, HTTP Basic),
  connection registry, ping liveness, housekeeping; `csms_server.main()` runs it.
- `base`: what every connection does (frame parsing, dispatch, retry replay, outgoing calls).
- `v16`, `v201`: one module per OCPP version, translation only.
- `chargers`, `transactions`, `authorization`, `device_model`: bookkeeping both versions share.
- `writer`: group commit (each message's effect committed before its answer, many per transaction).
- `commands`: the command bus the web app and the API use (`send_command`); `redis_bus` routes it
  to the node holding the socket in scale-out.
- `framing`, `validation`, `timefmt`, `errors`: protocol details kept out of the handlers.
- `uptime`: monthly online / degraded / offline seconds from the connection and status histories.
"""
