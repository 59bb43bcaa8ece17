"""Actuation of the PV-surplus controller: site state in, charging profiles out (see `loop`)."""
