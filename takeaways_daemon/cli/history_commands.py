"""`takeaways history list|show|search|stats|export|purge`, `keys rotate`, `audit verify|list`.

These read the encrypted history database directly (no daemon needed); SQLite's WAL mode lets
them run beside a daemon that is writing. Model and file text is sanitized before printing.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from takeaways_daemon.kinds import OUTCOMES, TASK_KINDS

if TYPE_CHECKING:
    from takeaways_daemon.history.store import HistoryStore

KINDS = click.Choice(TASK_KINDS)
OUTCOMES_CHOICE = click.Choice(OUTCOMES)


def _open_store(*, create: bool = False) -> HistoryStore:
    from takeaways_daemon.errors import ConfigError
    from takeaways_daemon.history.store import HistoryStore
    from takeaways_daemon.settings import load_settings

    settings = load_settings().history
    if not settings.enabled:
        raise ConfigError("history is off (history.enabled = false); nothing is recorded")
    return HistoryStore.open(settings, create=create)


def _filters(
    kind: str | None, outcome: str | None, project: Path | None, query: str | None
) -> dict[str, Any]:
    filters: dict[str, Any] = {"kind": kind, "outcome": outcome, "q": query}
    if project is not None:
        filters["project"] = str(project.resolve())
    return {name: value for name, value in filters.items() if value}


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def _row_line(item: dict[str, Any]) -> str:
    from takeaways_daemon.sanitize import strip_control

    if item["tampered"]:
        # The clear columns of a tampered row are as untrusted as its payload.
        return strip_control(
            f"{item['id']}  {_when(item['created_at'])}  {item['kind']:<9} TAMPERED (unreadable)"
        )
    rating = {1: " +1", -1: " -1"}.get(item["rating"], "")
    where = f"{item['path']}:{item['start_line']}-{item['end_line']}"
    return strip_control(
        f"{item['id']}  {_when(item['created_at'])}  {item['kind']:<9} {item['outcome']:<8}"
        f"{rating}  {where}  {item['title']}"
    )


def _print_rows(filters: dict[str, Any], limit: int, as_json: bool) -> None:
    from takeaways_daemon.history.store import NoHistory

    try:
        with _open_store() as store:
            records, total = store.query(limit=limit, **filters)
    except NoHistory as error:
        click.echo(str(error))
        return
    items = [record.item() for record in records]
    if as_json:
        click.echo(json.dumps({"items": items, "total": total}, indent=2))
        return
    for item in items:
        click.echo(_row_line(item))
    click.echo(click.style(f"{len(items)} of {total} rows", dim=True))


FILTER_OPTIONS = [
    click.option("--kind", type=KINDS, help="Only this kind."),
    click.option("--outcome", type=OUTCOMES_CHOICE, help="Only this outcome."),
    click.option(
        "--project", type=click.Path(file_okay=False, path_type=Path), help="Only this project."
    ),
]


def filter_options(function: Any) -> Any:
    """Add --kind, --outcome and --project."""
    for option in reversed(FILTER_OPTIONS):
        function = option(function)
    return function


@click.group()
def history() -> None:
    """The encrypted history of suggestions and what you did with them."""


@history.command("list")
@filter_options
@click.option("--limit", default=20, show_default=True, help="Most rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_rows(
    kind: str | None, outcome: str | None, project: Path | None, limit: int, as_json: bool
) -> None:
    """Rows, newest first."""
    _print_rows(_filters(kind, outcome, project, None), limit, as_json)


@history.command()
@click.argument("text")
@filter_options
@click.option("--limit", default=20, show_default=True, help="Most rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(
    text: str,
    kind: str | None,
    outcome: str | None,
    project: Path | None,
    limit: int,
    as_json: bool,
) -> None:
    """Rows whose title, explanation, path or patch contain TEXT (any case)."""
    _print_rows(_filters(kind, outcome, project, text), limit, as_json)


@history.command()
@click.argument("suggestion_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(suggestion_id: str, as_json: bool) -> None:
    """One row in full: patch, explanation, context and prompt."""
    from takeaways_daemon.cli.printing import suggestion_text
    from takeaways_daemon.history.errors import UnknownRecord
    from takeaways_daemon.sanitize import strip_control

    with _open_store() as store:
        record = store.get(suggestion_id)
    if record is None:
        raise UnknownRecord(f"no history row {suggestion_id!r}; see `takeaways history list`")
    item = record.full_item()
    if as_json:
        click.echo(json.dumps(item, indent=2))
        return
    if record.tampered:
        click.echo(_row_line(item))
        return
    click.echo(suggestion_text(item))
    when = _when(item["updated_at"])
    click.echo(f"outcome: {item['outcome']}  rating: {item['rating']}  ({when})")
    for title in ("context", "prompt"):
        click.echo(click.style(f"--- {title} ---", dim=True))
        click.echo(strip_control(item[title]))


@history.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool) -> None:
    """Counts by kind and outcome, acceptance rate, ratings and latency."""
    from takeaways_daemon.cli.printing import stats_text
    from takeaways_daemon.history.stats import history_stats
    from takeaways_daemon.wire import HistoryStats

    with _open_store() as store:
        numbers = history_stats(store)
    if as_json:
        click.echo(json.dumps(numbers, indent=2))
        return
    click.echo(stats_text(HistoryStats.model_validate(numbers)))


@history.command()
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@filter_options
def export(destination: Path, kind: str | None, outcome: str | None, project: Path | None) -> None:
    """Write rows, decrypted, as JSON lines to a new file (0600; never overwrites; audited)."""
    from takeaways_daemon.history.maintenance import export_jsonl

    with _open_store() as store:
        count = export_jsonl(store, destination, **_filters(kind, outcome, project, None))
    click.echo(f"exported {count} rows to {destination} (plain text: keep it safe)")


def _parse_before(value: str) -> float:
    """`30d` (older than 30 days) or an ISO date/time."""
    if value.endswith("d") and value[:-1].replace(".", "", 1).isdigit():
        return time.time() - float(value[:-1]) * 86400
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise click.BadParameter(f"{value!r}: use a date (2025-01-31) or an age (30d)") from None


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    # A closed stdin (a service, `<&-`) leaves sys.stdin None: refuse rather than crash or wait.
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        raise click.UsageError(f"{question} Add --yes to confirm without a terminal.")
    click.confirm(question, abort=True)


@history.command()
@click.option("--all", "everything", is_flag=True, help="Every row.")
@click.option("--before", help="Rows made before a date (2025-01-31) or older than an age (30d).")
@click.option("--id", "ids", multiple=True, help="A suggestion id (repeatable).")
@click.option("--tampered", is_flag=True, help="Rows that fail authentication.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(
    everything: bool, before: str | None, ids: tuple[str, ...], tampered: bool, yes: bool
) -> None:
    """Delete rows for good (audited)."""
    from takeaways_daemon.history.maintenance import purge as purge_rows

    if not (everything or before or ids or tampered):
        raise click.UsageError("say what to purge: --all, --before, --id or --tampered")
    cutoff = _parse_before(before) if before else None
    _confirm("Delete these history rows for good?", yes)
    with _open_store() as store:
        count = purge_rows(store, everything=everything, before=cutoff, ids=ids, tampered=tampered)
    click.echo(f"purged {count} rows")


@click.group()
def keys() -> None:
    """The history's data key."""


@keys.command()
def rotate() -> None:
    """Re-encrypt every row under a new data key, in one transaction; the old key is deleted."""
    from takeaways_daemon.history.maintenance import rotate_key

    with _open_store() as store:
        click.echo(f"re-encrypting {store.count()} rows…", err=True)
        count = rotate_key(store)
        click.echo(f"rotated: {count} rows now sealed under key {store.key_id}; old key deleted")


@click.group()
def audit() -> None:
    """The hash-chained log of sensitive actions (export, purge, rotation, apply, training)."""


@audit.command()
def verify() -> None:
    """Check the log for edited, deleted, reordered or cut entries (exit 1 if any)."""
    with _open_store() as store:
        report = store.verify_audit()
    if report.ok:
        click.echo(f"audit log intact: {report.entries} entries (keyring head: {report.head_seq})")
        return
    for problem in report.problems:
        click.echo(f"audit: {problem}", err=True)
    raise SystemExit(1)


@audit.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_entries(as_json: bool) -> None:
    """Every entry, oldest first."""
    with _open_store() as store:
        entries = store.audit.entries()
    if as_json:
        rows = [
            {"seq": e.seq, "at": e.at, "action": e.action, "details": e.details} for e in entries
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    from takeaways_daemon.sanitize import strip_control

    for entry in entries:
        details = json.dumps(entry.details, sort_keys=True)
        # Anyone with the file can append rows with escape sequences; verify is what flags them.
        line = f"{entry.seq:>5}  {_when(entry.at)}  {entry.action:<13} {details}"
        click.echo(strip_control(line))


COMMANDS: list[click.Command] = [history, keys, audit]
