"""Site energy data: MQTT payload checks, the batch writer behind every source, and the feeds.

Sources (MQTT consumer, OCPP meter values) turn their input into `SampleIn` rows and hand them to
`store.write_batch`, which stores them idempotently and re-aggregates the minutes they touch.
"""
