"""`takeaways start|stop|status|watch [PATH]`: one daemon per project root."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from takeaways_daemon.cli.model_option import MODEL_OPTION, model_environment, model_overrides
from takeaways_daemon.cli.project_path import PATH_ARGUMENT


@click.command()
@PATH_ARGUMENT
@click.option(
    "--timeout", default=60.0, show_default=True, help="Seconds to wait for it to answer."
)
@MODEL_OPTION
def start(path: Path, timeout: float, model: str | None) -> None:
    """Start the daemon for PATH in the background."""
    from takeaways_daemon import lifecycle

    result = lifecycle.start(path, timeout=timeout, environment=model_environment(model))
    if result.started_here:
        click.echo(f"takeaways daemon {result.pid} serving {result.root} at {result.address}")
    else:
        click.echo(
            f"already running for {result.root}: daemon {result.pid} at {result.address} "
            "(see `takeaways status`)"
        )
        if model:
            click.echo(
                f"--model {model} was not applied: the running daemon keeps its model; "
                "`takeaways stop` it first",
                err=True,
            )


@click.command()
@PATH_ARGUMENT
@click.option("--timeout", default=15.0, show_default=True, help="Seconds to wait for it to exit.")
def stop(path: Path, timeout: float) -> None:
    """Stop the daemon for PATH (SIGTERM, then wait for it to exit)."""
    from takeaways_daemon import lifecycle

    click.echo(f"stopped daemon {lifecycle.stop(path, timeout=timeout).pid}")


@click.command()
@PATH_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(path: Path, as_json: bool) -> None:
    """Show the daemon's address, backend and model, what it works on now, and its queue."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.cli.printing import status_text

    with DaemonClient.for_project(path, timeout=5) as client:
        record = asdict(client.record)
        current = client.status()
    if as_json:
        click.echo(json.dumps({"daemon": record, **current.model_dump(mode="json")}, indent=2))
    else:
        click.echo(status_text(record, current))


@click.command()
@PATH_ARGUMENT
def cancel(path: Path) -> None:
    """Cancel the task the daemon for PATH is working on (the TUI's cancel key)."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.sanitize import strip_control

    with DaemonClient.for_project(path, timeout=5) as client:
        result = client.cancel()
    if result.task is None:
        click.echo("nothing to cancel: the daemon is idle")
    else:
        task = result.task
        click.echo(strip_control(f"cancelled {task.kind} {task.path}"))


@click.command()
@PATH_ARGUMENT
@MODEL_OPTION
def watch(path: Path, model: str | None) -> None:
    """Run the daemon in the foreground and print suggestions as they come (Ctrl-C stops)."""
    import asyncio

    from takeaways_daemon.cli.printing import suggestion_text
    from takeaways_daemon.daemon import configure_logging, run_daemon
    from takeaways_daemon.runtime_files import ProjectFiles, RuntimeRecord
    from takeaways_daemon.service import DaemonService
    from takeaways_daemon.settings import load_settings

    files = ProjectFiles(path)
    if files.is_locked():
        _follow_running_daemon(files.root)
        return
    settings = load_settings(**model_overrides(model))
    files.prepare()
    configure_logging(files.log, console=True)

    async def announce(service: DaemonService, record: RuntimeRecord) -> None:
        queue = service.store.subscribe()
        click.echo(f"watching {files.root} (api {record.address}); save a file to get suggestions")
        shown_backend = None
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                event = None
            backend = service.supervisor.status
            if (backend.state, backend.model) != shown_backend:
                shown_backend = (backend.state, backend.model)
                click.echo(
                    click.style(
                        f"backend: {backend.backend} {backend.model} ({backend.state})", dim=True
                    )
                )
            if event and event.type == "added":
                click.echo(suggestion_text(event.suggestion.model_dump()))

    asyncio.run(run_daemon(files.root, settings, on_started=announce))


def _follow_running_daemon(root: Path) -> None:
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.cli.printing import suggestion_text
    from takeaways_daemon.wire import SuggestionEvent

    with DaemonClient.for_project(root, timeout=10) as client:
        click.echo(f"a daemon already serves {root}; following its suggestions")
        for event in client.events():
            if isinstance(event, SuggestionEvent) and event.type == "added":
                click.echo(suggestion_text(event.suggestion.model_dump()))


@click.command(hidden=True)
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def serve(path: Path) -> None:
    """Run the daemon (what `takeaways start` launches in the background)."""
    import asyncio

    from takeaways_daemon.daemon import configure_logging, run_daemon
    from takeaways_daemon.runtime_files import ProjectFiles
    from takeaways_daemon.settings import load_settings

    files = ProjectFiles(path)
    files.prepare()
    configure_logging(files.log)
    asyncio.run(run_daemon(files.root, load_settings()))


COMMANDS = [start, stop, status, cancel, watch, serve]
