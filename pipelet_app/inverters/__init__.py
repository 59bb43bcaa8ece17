"""Inverter Hub, cloud side: one adapter module per brand behind one protocol.

Public API (what the connect UI and the poll job call; none of it touches the database):

* ``registry.brands()``, ``registry.adapter_class(brand)``, ``registry.create_adapter(brand, creds, ...)`` —
  the brands and their classes; a class's ``display_name``, ``auth_kind`` (``oauth2``/``api_key``/
  ``password``) and ``credential_fields`` describe the connect form.
* ``service.connect(brand, creds)`` — live test call + wallbox discovery before saving;
  ``service.poll_account(brand, creds, wallboxes, state=, ledger=, failures=, native_since=)`` — one poll:
  snapshots or native sessions, a ``ConnectionStatus``, what to store, and ``next_poll_utc``.
* ``enphase.EnphaseAdapter.authorize_url(...)`` / ``await EnphaseAdapter.exchange_code(...)`` — OAuth.
* ``base`` — ``InverterAdapter`` (``test_credentials``, ``list_systems``, ``list_wallboxes``,
  ``fetch_snapshot``, ``fetch_native_sessions``, ``discover``), the shapes (``System``, ``Wallbox``,
  ``CounterSnapshot``, ``NativeSession``) and the errors (``InvalidCredentials``, ``ReauthRequired``,
  ``Throttled.retry_after_s``, ``BrandUnavailable``), whose texts are driver-facing and secret-free.
* ``credentials`` — ``encrypt_credentials``, ``decrypt_credentials``, ``rotate_credentials``, ``redact``,
  ``scrub``.
* ``pipelet_app.domain.quota`` — budgets and ``next_poll_time`` (pure).
"""
