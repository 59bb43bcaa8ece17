"""UI strings of the operator's payments page (`/operator/payments`, issue 15), merged into the catalogue."""

from __future__ import annotations

PAYMENTS: dict[str, dict[str, str]] = {
    "en": {
        "nav.payments": "Payments",
        "payments.title": "Payments and revenue",
        "payments.list": "Payments",
        "payments.filter_state": "State",
        "payments.filter_provider": "Paid by",
        "payments.filter_charger": "Charger",
        "payments.any": "any",
        "payments.show": "Show",
        "payments.when": "Created (UTC)",
        "payments.state": "State",
        "payments.stuck": "stuck",
        "payments.step.pending": "waiting for Stripe's answer; the sweep asks again with the same key",
        "payments.step.authorized": (
            "waiting for the session to start or end; captured or cancelled automatically"
        ),
        "payments.step.captured": "done; a refund is possible",
        "payments.step.cancelled": "done; nothing was charged",
        "payments.step.failed": "done; nothing was charged, no session started",
        "payments.step.refunded": "done; refunded",
        "payments.step.terminal": (
            "waiting for the session to end and the terminal's settlement (it captures by itself)"
        ),
        "payments.step.stuck": (
            "stuck: the session has not ended or was not settled; reconciliation"
            " captures its price so far or cancels on day 6 (Stripe voids a hold after 7 days)"
        ),
        "payment_provider.stripe": "Stripe (online)",
        "payment_provider.payter": "Payter (card terminal)",
        "payment_state.pending": "Pending",
        "payment_state.authorized": "Authorised",
        "payment_state.captured": "Captured",
        "payment_state.cancelled": "Cancelled",
        "payment_state.failed": "Failed",
        "payments.provider": "Paid by",
        "payments.amounts": "Held / taken",
        "payments.next": "Next step",
        "payments.refund": "Refund",
        "payments.refund_confirm": "Refund the whole captured amount to the card? This cannot be undone.",
        "payments.refunded": "Refunded.",
        "payments.none": "No payments yet: they appear when drivers pay by QR code or terminal.",
        "payments.revenue": "Revenue and energy cost by site",
        "payments.site": "Site",
        "payments.sessions": "Sessions",
        "payments.energy": "Energy (kWh)",
        "payments.revenue_col": "Revenue",
        "payments.collected": "Collected",
        "payments.energy_cost": "Energy cost",
        "payments.margin": "Margin",
        "payments.cost_unknown": "(incomplete: a site without energy price)",
        "payments.sessions_of": "Sessions behind",
        "payments.drill": "Sessions",
        "payments.csv": "Download CSV",
        "payments.price_title": "Energy price of a site",
        "payments.price_site": "Site",
        "payments.price_value": "Price per kWh (site currency; empty = unknown)",
        "payments.price_save": "Save price",
        "payments.price_saved": "Energy price saved.",
        "payments.transaction": "Transaction",
        "payments.price": "Price",
    },
    "de": {
        "nav.payments": "Zahlungen",
        "payments.title": "Zahlungen und Umsatz",
        "payments.list": "Zahlungen",
        "payments.filter_state": "Status",
        "payments.filter_provider": "Bezahlt über",
        "payments.filter_charger": "Ladestation",
        "payments.any": "alle",
        "payments.show": "Anzeigen",
        "payments.when": "Angelegt (UTC)",
        "payments.state": "Status",
        "payments.stuck": "hängt",
        "payments.step.pending": (
            "wartet auf die Antwort von Stripe; der Abgleich fragt mit demselben Schlüssel erneut"
        ),
        "payments.step.authorized": (
            "wartet auf Beginn oder Ende des Ladevorgangs; wird automatisch eingezogen oder storniert"
        ),
        "payments.step.captured": "erledigt; eine Erstattung ist möglich",
        "payments.step.cancelled": "erledigt; nichts wurde belastet",
        "payments.step.failed": "erledigt; nichts wurde belastet, kein Ladevorgang gestartet",
        "payments.step.refunded": "erledigt; erstattet",
        "payments.step.terminal": (
            "wartet auf das Ende des Ladevorgangs und die Abrechnung des Terminals (es zieht selbst ein)"
        ),
        "payments.step.stuck": (
            "hängt: Der Ladevorgang ist nicht beendet oder nicht abgerechnet; der"
            " Abgleich zieht den bisherigen Preis ein oder storniert an Tag 6 (Stripe gibt eine"
            " Reservierung nach 7 Tagen frei)"
        ),
        "payment_provider.stripe": "Stripe (online)",
        "payment_provider.payter": "Payter (Kartenterminal)",
        "payment_state.pending": "Ausstehend",
        "payment_state.authorized": "Autorisiert",
        "payment_state.captured": "Eingezogen",
        "payment_state.cancelled": "Storniert",
        "payment_state.failed": "Fehlgeschlagen",
        "payments.provider": "Bezahlt über",
        "payments.amounts": "Reserviert / eingezogen",
        "payments.next": "Nächster Schritt",
        "payments.refund": "Erstatten",
        "payments.refund_confirm": "Den ganzen eingezogenen Betrag auf die Karte erstatten? Das lässt sich "
        "nicht rückgängig machen.",
        "payments.refunded": "Erstattet.",
        "payments.none": "Noch keine Zahlungen: sie erscheinen, wenn jemand per QR-Code oder Terminal zahlt.",
        "payments.revenue": "Umsatz und Energiekosten nach Standort",
        "payments.site": "Standort",
        "payments.sessions": "Ladevorgänge",
        "payments.energy": "Energie (kWh)",
        "payments.revenue_col": "Umsatz",
        "payments.collected": "Eingezogen",
        "payments.energy_cost": "Energiekosten",
        "payments.margin": "Marge",
        "payments.cost_unknown": "(unvollständig: ein Standort ohne Energiepreis)",
        "payments.sessions_of": "Ladevorgänge zu",
        "payments.drill": "Ladevorgänge",
        "payments.csv": "CSV herunterladen",
        "payments.price_title": "Energiepreis eines Standorts",
        "payments.price_site": "Standort",
        "payments.price_value": "Preis je kWh (Währung des Standorts; leer = unbekannt)",
        "payments.price_save": "Preis speichern",
        "payments.price_saved": "Energiepreis gespeichert.",
        "payments.transaction": "Ladevorgang",
        "payments.price": "Preis",
    },
}
