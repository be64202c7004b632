"""`takeaways learn on | off | status | now | list | rollback`: the opt-in learning loop.

`list` and `rollback` live here rather than under `takeaways model`, so that this command group
stays in one module of its own. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import json

import click

from takeaways_daemon.sanitize import strip_control


@click.group("learn")
def learn_group() -> None:
    """Learn from the suggestions you accept (opt-in; off by default)."""


@learn_group.command("on")
def learn_on() -> None:
    """Turn learning on (saved in config.toml)."""
    _switch(True)


@learn_group.command("off")
def learn_off() -> None:
    """Turn learning off: nothing reads the history for training."""
    _switch(False)


def _switch(enabled: bool) -> None:
    from takeaways_daemon.settings import load_settings
    from training.learning.config_file import set_learning_enabled

    path = set_learning_enabled(enabled)
    word = "on" if enabled else "off"
    click.echo(f"learning is {word} (saved in {path})")
    if load_settings().learning.enabled is not enabled:
        click.echo("note: TAKEAWAYS_LEARNING__ENABLED overrides the file in this shell", err=True)


@learn_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def learn_status(as_json: bool) -> None:
    """Whether learning is on, what the last round did, and which model is served."""
    from takeaways_daemon.learning_paths import read_learning_state
    from takeaways_daemon.settings import load_settings
    from training.learning.versions import versions_summary

    settings = load_settings()
    state = read_learning_state()
    served = next((row["id"] for row in versions_summary() if row["served"]), None)
    status = {
        "enabled": settings.learning.enabled,
        "accepted_per_round": settings.learning.accepted_per_round,
        "rounds": state.get("rounds", 0),
        "last_round": state.get("last_round"),
        "served_version": served,
    }
    if as_json:
        click.echo(json.dumps(status))
        return
    click.echo(f"learning: {'on' if status['enabled'] else 'off'}")
    click.echo(f"rounds so far: {status['rounds']}; a round after "
               f"{status['accepted_per_round']} new accepted suggestions")  # fmt: skip
    if status["last_round"]:
        last = status["last_round"]
        click.echo(f"last round: {last.get('decision')} ({last.get('version') or 'no version'})")
    click.echo(f"served version: {served or 'not from a round'}")


@learn_group.command("now")
@click.option("--dry-run", is_flag=True, help="Only read and filter: show what a round would use.")
@click.option(
    "--auto", is_flag=True, hidden=True,
    help="Started by the daemon: run only when enough new suggestions were accepted.",
)  # fmt: skip
def learn_now(dry_run: bool, auto: bool) -> None:
    """Run a round now: export → train → merge → gguf → gate → swap."""
    from takeaways_daemon.settings import load_settings
    from training.learning.round import run_round

    settings = load_settings()
    if auto and not settings.learning.enabled:
        return  # turned off since the daemon decided: nothing to do, nothing read
    result = run_round(settings, dry_run=dry_run, say=lambda line: click.echo(line, err=True))
    gate = result.report.get("gate") or {}
    click.echo(f"round: {result.decision}" + (f" ({result.version})" if result.version else ""))
    for reason in result.report.get("rejected_because", []):
        click.echo(f"  rejected: {strip_control(reason)}")
    summary = {key: result.report.get(key) for key in ("accepted_new", "used", "dropped", "data")}
    click.echo(json.dumps({**summary, "gate_passed": gate.get("passed")}))


@learn_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
def learn_list(as_json: bool) -> None:
    """Kept model versions: date, base, examples, gate numbers, and which is served."""
    from training.learning.versions import versions_summary

    rows = versions_summary()
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no model versions kept yet")
        return
    click.echo(f"  {'version':34} {'date':16} {'base':14} {'examples':>8} "
               f"{'loss':>7} {'humaneval':>9} {'fixes':>6}")  # fmt: skip
    for row in rows:
        mark = "*" if row["served"] else " "
        click.echo(
            f"{mark} {row['id']:34} {row['date']:16} {str(row['base'])[-14:]:14} "
            f"{_number(row['examples']):>8} {_number(row['held_out_loss']):>7} "
            f"{_number(row['humaneval_pass1']):>9} {_number(row['fix_success']):>6}"
        )
    click.echo("* served")


def _number(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@learn_group.command("rollback")
@click.argument("version", required=False)
def learn_rollback(version: str | None) -> None:
    """Serve VERSION again (default: the one kept before the served one), in Ollama too."""
    from takeaways_daemon.settings import load_settings
    from training.learning.rollback import rollback

    rollback(load_settings(), version, say=lambda line: click.echo(strip_control(line)))


COMMANDS: list[click.Command] = [learn_group]
