"""`takeaways config show`."""

from __future__ import annotations

import json

import click


@click.group("config")
def config_group() -> None:
    """Inspect settings (defaults, then config.toml, then TAKEAWAYS_* variables)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(as_json: bool) -> None:
    """Print every effective setting and where its value came from."""
    from takeaways_daemon import locations
    from takeaways_daemon.settings import describe_sources, load_settings

    rows = describe_sources(load_settings())
    if as_json:
        click.echo(json.dumps([{"name": n, "value": v, "source": s} for n, v, s in rows], indent=2))
        return
    click.echo(f"# config file: {locations.config_file()}")
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        click.echo(f"{name:<{width}}  {json.dumps(value)}  [{source}]")


COMMANDS = [config_group]
