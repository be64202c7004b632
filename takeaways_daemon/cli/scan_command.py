"""`takeaways scan PATH [--json] [--tests]`: one-shot suggestions for files, without a daemon.

The `--json` shape is stable: `{"suggestions": [{"id", "kind", "path", "start_line",
"end_line", "replacement", "title", "explanation", "diff", "verified", "evidence"}]}`. Lines are
1-based and inclusive; `replacement` is the new text of those lines; `path` is relative to the
scanned folder; `verified` is true or false for a fix checked against its evidence (described in
`evidence`), null when there was nothing to check it against. Only that JSON goes to stdout;
progress goes to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from takeaways_daemon.cli.model_option import MODEL_OPTION, model_overrides
from takeaways_daemon.kinds import TASK_KINDS

if TYPE_CHECKING:
    from takeaways_daemon.kinds import TaskKind


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON shape.")
@click.option(
    "--kind", "kinds", multiple=True,
    type=click.Choice(TASK_KINDS),
    help="Task kinds to run (repeatable); default: the configured automatic kinds.",
)  # fmt: skip
@click.option(
    "--max-tasks", default=20, show_default=True, help="Stop after this many model calls."
)
@click.option(
    "--tests", "run_tests", is_flag=True,
    help="Run the project's tests first (sandboxed) and fix what fails, checked by those tests.",
)  # fmt: skip
@MODEL_OPTION
def scan(
    path: Path,
    as_json: bool,
    kinds: tuple[str, ...],
    max_tasks: int,
    run_tests: bool,
    model: str | None,
) -> None:
    """Analyse PATH (a file or folder) once and print suggestions."""
    import asyncio

    from takeaways_daemon.cli.printing import suggestion_text
    from takeaways_daemon.cli.scan_progress import ScanProgress
    from takeaways_daemon.scanner import scan_path
    from takeaways_daemon.settings import load_settings

    settings = load_settings(**model_overrides(model))
    # Progress and the reasons for finding nothing go to stderr: stdout stays the result.
    report = ScanProgress(lambda line: click.echo(click.style(line, dim=True), err=True))
    wanted = list(cast("tuple[TaskKind, ...]", kinds))  # click checked them against the choices
    found = asyncio.run(
        scan_path(
            path,
            settings,
            kinds=wanted or None,
            max_tasks=max_tasks,
            run_tests=run_tests,
            progress=report.say,
            tracker=report.tracker,
        )
    )
    if as_json:
        click.echo(json.dumps({"suggestions": [item.scan_view() for item in found]}, indent=2))
        return
    for item in found:
        click.echo(suggestion_text(item.model_dump()))
    click.echo(report.summary(len(found)), err=True)


COMMANDS = [scan]
