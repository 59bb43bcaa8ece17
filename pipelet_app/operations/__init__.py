"""An operator's chargers: scoped look-ups and commands shared by the operator console and the API."""
