"""`takeaways stats [--json]`: latency, accuracy and memory for the last hour, day and all time."""

from __future__ import annotations

from pathlib import Path

import click

PATH_ARGUMENT = click.argument(
    "path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)


@click.command()
@PATH_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def stats(path: Path, as_json: bool) -> None:
    """Show latency by stage, acceptance, ratings, verified fixes and memory (hour, day, all)."""
    from takeaways_daemon.api_client import DaemonClient
    from takeaways_daemon.telemetry.stats_rows import report_text

    with DaemonClient.for_project(path, timeout=30) as client:
        report = client.stats()
    click.echo(report.model_dump_json(indent=2) if as_json else report_text(report))


COMMANDS = [stats]
