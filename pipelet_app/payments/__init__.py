"""Card payments for sessions: the Stripe gateway, the ledger, the pay flow and the webhook
(docs/payments.md). Money rules are pure in domain/payments.py."""
