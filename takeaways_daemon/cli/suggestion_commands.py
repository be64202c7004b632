"""Act on a running daemon's suggestions: list, apply, reject, rate; and ask it directly.

Each takes the project as a trailing `[PATH]` (any folder inside it), like `takeaways status`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from takeaways_daemon.cli.project_path import PATH_ARGUMENT, PROJECT_OPTION, chosen_project


@click.command()
@PATH_ARGUMENT
@PROJECT_OPTION
@click.option("--all", "show_all", is_flag=True, help="Include accepted, rejected and stale ones.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def suggestions(path: Path, project: Path | None, show_all: bool, as_json: bool) -> None:
    """List the daemon's suggestions for PATH, newest first."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.cli.printing import suggestion_text

    with DaemonClient.for_project(chosen_project(path, project)) as client:
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
@PATH_ARGUMENT
@PROJECT_OPTION
def apply(suggestion_id: str, path: Path, project: Path | None) -> None:
    """Apply suggestion ID to its file (refused if the file changed since)."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.sanitize import strip_control

    with DaemonClient.for_project(chosen_project(path, project)) as client:
        item = client.accept(suggestion_id)
    click.echo(strip_control(f"applied {item.id} to {item.path}:{item.start_line}-{item.end_line}"))


@click.command()
@click.argument("suggestion_id")
@PATH_ARGUMENT
@PROJECT_OPTION
def reject(suggestion_id: str, path: Path, project: Path | None) -> None:
    """Dismiss suggestion ID."""
    from takeaways_daemon.api_client import DaemonClient

    with DaemonClient.for_project(chosen_project(path, project)) as client:
        client.reject(suggestion_id)
    click.echo(f"rejected {suggestion_id}")


@click.command()
@click.argument("suggestion_id")
@click.argument("verdict", type=click.Choice(["up", "down"]))
@PATH_ARGUMENT
@PROJECT_OPTION
def rate(suggestion_id: str, verdict: str, path: Path, project: Path | None) -> None:
    """Rate suggestion ID up or down."""
    from takeaways_daemon.api_client import DaemonClient

    with DaemonClient.for_project(chosen_project(path, project)) as client:
        client.rate(suggestion_id, 1 if verdict == "up" else -1)
    click.echo(f"rated {suggestion_id} {verdict}")


@click.command()
@click.argument("prompt")
@PATH_ARGUMENT
@PROJECT_OPTION
@click.option("--max-tokens", type=int, default=None, help="Longest answer, in tokens.")
@click.option(
    "--code-only", is_flag=True,
    help="Print only the code of the answer, once it is complete (no streaming).",
)  # fmt: skip
def generate(
    prompt: str, path: Path, project: Path | None, max_tokens: int | None, code_only: bool
) -> None:
    """Prompt in, code out, through the daemon's model, printed as it is written.

    It goes before the daemon's background work. `--code-only` prints just the fenced code.
    """
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.errors import BackendUnavailable
    from takeaways_daemon.wire import AnswerChunk

    with DaemonClient.for_project(chosen_project(path, project), timeout=300) as client:
        if code_only:
            click.echo(client.generate(prompt, max_tokens).code)
            return
        for record in client.generate_stream(prompt, max_tokens):
            if isinstance(record, AnswerChunk):
                click.echo(record.text, nl=False)
            elif record.error:
                click.echo()
                raise BackendUnavailable(record.error)
            elif record.result is not None:
                result = record.result
                click.echo()
                seconds = result.latency_ms / 1000
                note = f"{result.backend} {result.model}, {seconds:.1f} s"
                click.echo(click.style(note, dim=True), err=True)


COMMANDS = [suggestions, apply, reject, rate, generate]
