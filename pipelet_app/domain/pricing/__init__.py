"""Session pricing: plans (plan.py), their time-of-use schedule in a site's zone (schedule.py) and the
price of a session's meter readings (engine.py). Pure: no I/O, Decimal money (docs/pricing.md)."""

from pipelet_app.domain.pricing.engine import Line, Price, Reading, Tariff, quantum
from pipelet_app.domain.pricing.plan import Plan, Rate, Window
from pipelet_app.domain.pricing.schedule import Schedule

__all__ = ["Line", "Plan", "Price", "Rate", "Reading", "Schedule", "Tariff", "Window", "quantum"]
