"""Frameworks a Python file uses, named the way their users name them.

The prompt lists them (`Uses: Django, pytest`) so that a small model answers in the idiom of
the framework rather than in plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable

# Top-level import name → display name. Standard-library modules such as asyncio are left out on
# purpose: they are part of the language, not a framework the model needs reminding of.
FRAMEWORKS: dict[str, str] = {
    "pytest": "pytest",
    "unittest": "unittest",
    "hypothesis": "Hypothesis",
    "django": "Django",
    "rest_framework": "Django REST framework",
    "flask": "Flask",
    "fastapi": "FastAPI",
    "starlette": "Starlette",
    "aiohttp": "aiohttp",
    "tornado": "Tornado",
    "numpy": "NumPy",
    "pandas": "pandas",
    "polars": "Polars",
    "scipy": "SciPy",
    "sklearn": "scikit-learn",
    "matplotlib": "Matplotlib",
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "jax": "JAX",
    "transformers": "Transformers",
    "sqlalchemy": "SQLAlchemy",
    "pydantic": "Pydantic",
    "attrs": "attrs",
    "attr": "attrs",
    "click": "Click",
    "typer": "Typer",
    "requests": "Requests",
    "httpx": "HTTPX",
    "celery": "Celery",
    "textual": "Textual",
}


def detect_frameworks(modules: Iterable[str]) -> tuple[str, ...]:
    """Display names of the frameworks among imported `modules`, sorted case-insensitively.

    >>> detect_frameworks(["os", "django.db.models", "numpy", "pytest"])
    ('Django', 'NumPy', 'pytest')
    """
    found = {FRAMEWORKS[top] for top in (m.partition(".")[0] for m in modules) if top in FRAMEWORKS}
    return tuple(sorted(found, key=str.casefold))
