"""Dynamic electricity tariffs fetched from their providers, as `domain.surplus.PriceSeries`."""
