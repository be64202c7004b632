"""422 answers for invalid requests that are always valid JSON themselves.

Python's JSON parser reads `1e400`, `NaN` and `Infinity` as non-finite floats. FastAPI's own
422 handler echoes the offending input back, and strict JSON cannot carry those values, so the
error answer itself failed and became a 500 with a traceback. Here non-finite numbers are named
in words instead.

>>> json_safe({"input": float("inf"), "loc": ["body", "rating"]})
{'input': 'Infinity (not a finite number)', 'loc': ['body', 'rating']}
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by a short description."""
    if isinstance(value, float) and not math.isfinite(value):
        word = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return f"{word} (not a finite number)"
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


async def validation_error_reply(_: Request, error: Exception) -> JSONResponse:
    """422 with FastAPI's usual `detail` list, made safe to encode."""
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": json_safe(jsonable_encoder(error.errors()))}, status_code=422)
