"""The public pay page a connector's QR code opens (docs/payments.md)."""
