"""Charging-network integrations (Loop, EVRange, ChargePoint, Helios): one module per network.

See docs/networks.md. The protocol and error taxonomy are in ``base``; names map to classes in
``registry``; the poll job is ``pollers/networks.py``; the operator's service is ``services/networks.py``.
"""
