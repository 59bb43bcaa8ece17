"""Bad input ends a command with exit status 2 and one line on stderr naming the field; never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

from pydantic import ValidationError

from pipelet_app.errors import BadInput
from pipelet_app.settings import settings_error_message

P = ParamSpec("P")
R = TypeVar("R")
__all__ = ["BadInput", "fail", "friendly_errors"]  # BadInput lives in pipelet_app.errors


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors bad input causes into exit 2 with a single line."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except BadInput as exc:
            fail(str(exc))
        except ValidationError as exc:
            fail(settings_error_message(exc))

    return wrapper
