"""`takeaways start|stop|status|watch [PATH]`: one daemon per project root."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from takeaways_daemon.cli.model_option import MODEL_OPTION, model_environment, model_overrides

PATH_ARGUMENT = click.argument(
    "path",
    required=False,
    default=".",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)


def _wait_for_daemon(root: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.errors import DaemonNotRunning, TakeawaysError
    from takeaways_daemon.runtime_files import ProjectFiles

    files = ProjectFiles(root)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = files.log.read_text()[-2000:] if files.log.exists() else ""
            raise TakeawaysError(f"the daemon exited at start (code {process.returncode}):\n{tail}")
        try:
            with DaemonClient.for_project(root, timeout=2) as client:
                client.health()
                return
        except DaemonNotRunning:
            time.sleep(0.1)
    raise TakeawaysError(f"the daemon did not answer within {timeout:.0f} s; see {files.log}")


@click.command()
@PATH_ARGUMENT
@click.option(
    "--timeout", default=60.0, show_default=True, help="Seconds to wait for it to answer."
)
@MODEL_OPTION
def start(path: Path, timeout: float, model: str | None) -> None:
    """Start the daemon for PATH in the background."""
    from takeaways_daemon.runtime_files import ProjectFiles

    files = ProjectFiles(path)
    if files.is_locked():
        click.echo(f"already running for {files.root} (see `takeaways status`)")
        return
    files.prepare()
    with files.log.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "takeaways_daemon", "serve", str(files.root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, **model_environment(model)},
        )  # fmt: skip
    _wait_for_daemon(files.root, process, timeout)
    record = files.read_runtime()
    click.echo(f"takeaways daemon {record.pid} serving {files.root} at {record.address}")


@click.command()
@PATH_ARGUMENT
@click.option("--timeout", default=15.0, show_default=True, help="Seconds to wait for it to exit.")
def stop(path: Path, timeout: float) -> None:
    """Stop the daemon for PATH (SIGTERM, then wait for it to exit)."""
    from takeaways_daemon.errors import TakeawaysError
    from takeaways_daemon.runtime_files import ProjectFiles

    files = ProjectFiles(path)
    record = files.read_runtime()
    os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while files.is_locked():
        if time.monotonic() > deadline:
            raise TakeawaysError(f"daemon {record.pid} did not stop within {timeout:.0f} s")
        time.sleep(0.05)
    click.echo(f"stopped daemon {record.pid}")


@click.command()
@PATH_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(path: Path, as_json: bool) -> None:
    """Show the daemon's address, token file, backend and model, watcher mode and queue depth."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.cli.printing import status_text

    with DaemonClient.for_project(path, timeout=5) as client:
        record = asdict(client.record)
        current = client.status()
    if as_json:
        click.echo(json.dumps({"daemon": record, **current}, indent=2))
    else:
        click.echo(status_text(record, current))


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

    with DaemonClient.for_project(root, timeout=10) as client:
        click.echo(f"a daemon already serves {root}; following its suggestions")
        for event, data in client.events():
            if event == "added":
                click.echo(suggestion_text(json.loads(data)))


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


COMMANDS = [start, stop, status, watch, serve]
