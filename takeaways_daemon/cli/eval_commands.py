"""Placeholder: filled in by the work on this command group."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
