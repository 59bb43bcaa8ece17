"""Demo data for `pipelet run` and `pipelet seed-demo`."""
