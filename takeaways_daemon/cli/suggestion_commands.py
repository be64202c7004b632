"""Act on a running daemon's suggestions: list, apply, reject, rate; and ask it directly."""

from __future__ import annotations

import json
from pathlib import Path

import click

PROJECT_OPTION = click.option(
    "--project", "-p", default=".", show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Project whose daemon to use.",
)  # fmt: skip


@click.command()
@PROJECT_OPTION
@click.option("--all", "show_all", is_flag=True, help="Include accepted, rejected and stale ones.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def suggestions(project: Path, show_all: bool, as_json: bool) -> None:
    """List the daemon's suggestions, newest first."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.cli.printing import suggestion_text

    with DaemonClient.for_project(project) as client:
        found = client.suggestions() if show_all else client.suggestions(status="open")
    items = [item.model_dump(mode="json") for item in found]
    if as_json:
        click.echo(json.dumps({"suggestions": items}, indent=2))
        return
    if not items:
        click.echo("no suggestions yet: save a file in the project")
    for item in items:
        click.echo(suggestion_text(item))


@click.command()
@click.argument("suggestion_id")
@PROJECT_OPTION
def apply(suggestion_id: str, project: Path) -> None:
    """Apply suggestion ID to its file (refused if the file changed since)."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.sanitize import strip_control

    with DaemonClient.for_project(project) as client:
        item = client.accept(suggestion_id)
    click.echo(strip_control(f"applied {item.id} to {item.path}:{item.start_line}-{item.end_line}"))


@click.command()
@click.argument("suggestion_id")
@PROJECT_OPTION
def reject(suggestion_id: str, project: Path) -> None:
    """Dismiss suggestion ID."""
    from takeaways_daemon.api_client import DaemonClient

    with DaemonClient.for_project(project) as client:
        client.reject(suggestion_id)
    click.echo(f"rejected {suggestion_id}")


@click.command()
@click.argument("suggestion_id")
@click.argument("verdict", type=click.Choice(["up", "down"]))
@PROJECT_OPTION
def rate(suggestion_id: str, verdict: str, project: Path) -> None:
    """Rate suggestion ID up or down."""
    from takeaways_daemon.api_client import DaemonClient

    with DaemonClient.for_project(project) as client:
        client.rate(suggestion_id, 1 if verdict == "up" else -1)
    click.echo(f"rated {suggestion_id} {verdict}")


@click.command()
@click.argument("prompt")
@PROJECT_OPTION
@click.option("--max-tokens", type=int, default=None, help="Longest answer, in tokens.")
def generate(prompt: str, project: Path, max_tokens: int | None) -> None:
    """Prompt in, code out, through the daemon's model."""
    from takeaways_daemon.api_client import DaemonClient

    with DaemonClient.for_project(project, timeout=300) as client:
        click.echo(client.generate(prompt, max_tokens).code)


COMMANDS = [suggestions, apply, reject, rate, generate]
