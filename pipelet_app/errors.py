"""Errors every layer may raise, below all of them: the CLI, services and tax code share these.

Kept here rather than in `cli/` so lower packages (`tax/`) can raise them without importing the CLI
(which imports them back: a cycle).
"""

from __future__ import annotations


class BadInput(Exception):
    """Raise with a message that names the field: 'row 3, lifetime_wh: not a number'."""
