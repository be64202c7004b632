"""`takeaways data build` and `takeaways data stats`: the fine-tuning data set."""

from __future__ import annotations

import json
from pathlib import Path

import click

_DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".parquet")


@click.group("data")
def data_group() -> None:
    """Build and inspect the fine-tuning data set (Alpaca JSONL)."""


@data_group.command("build")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The JSONL to write; its report goes beside it as NAME.report.json.",
)  # fmt: skip
@click.option(
    "--source", "sources", multiple=True, metavar="FILE|NAME",
    help="A local Alpaca JSON/JSONL/Parquet file (StackOverflow exports too), or a hub data set: "
    "codealpaca, codeinstruct or owner/name (needs internet). Repeatable.",
)  # fmt: skip
@click.option("--mine-stdlib", is_flag=True, help="Mine examples from the standard library.")
@click.option("--mine-site-packages", is_flag=True, help="Mine examples from installed packages.")
@click.option(
    "--mine-root", "mine_roots", multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Mine examples from Python source under this folder. Repeatable.",
)  # fmt: skip
@click.option(
    "--include-history", is_flag=True,
    help="Add your accepted suggestions from the encrypted history (opt-in; audited).",
)  # fmt: skip
@click.option(
    "--max-per-kind", default=800, show_default=True, type=click.IntRange(min=1),
    help="At most this many mined examples of each task kind.",
)  # fmt: skip
@click.option(
    "--hub-limit", type=click.IntRange(min=1), default=None,
    help="At most this many rows from each hub data set.",
)  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Seed for mining and shuffling.")
@click.option(
    "--mbpp", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A local MBPP file to decontaminate against, besides HumanEval.",
)  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def build(
    out: Path,
    sources: tuple[str, ...],
    mine_stdlib: bool,
    mine_site_packages: bool,
    mine_roots: tuple[Path, ...],
    include_history: bool,
    max_per_kind: int,
    hub_limit: int | None,
    seed: int,
    mbpp: Path | None,
    no_progress: bool,
) -> None:
    """Assemble, clean and decontaminate the training set, and write it as JSONL."""
    from training.data.build import build_dataset, report_path_for, write_jsonl
    from training.data.mining.source_files import default_roots

    files = [source for source in sources if _is_file_source(source)]
    hub = [source for source in sources if not _is_file_source(source)]
    roots = [*default_roots(stdlib=mine_stdlib, site_packages=mine_site_packages), *mine_roots]
    mine = bool(mine_stdlib or mine_site_packages or mine_roots)
    result = build_dataset(
        files=files, hub=hub, mine=mine, mine_roots=roots if mine else None,
        include_history=include_history, max_per_kind=max_per_kind, hub_limit=hub_limit,
        seed=seed, mbpp=mbpp, progress=not no_progress,
    )  # fmt: skip
    write_jsonl(result.records, out, result.report)
    report = result.report
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.by_kind.items()))
    dropped = ", ".join(f"{why} {count}" for why, count in sorted(report.dropped.items()) if count)
    click.echo(f"wrote {report.total} examples to {out} ({kinds}) in {report.seconds:.1f}s")
    click.echo(f"dropped: {dropped or 'none'}")
    if report.secrets:
        click.echo(f"secrets scrubbed: {sum(report.secrets.values())}")
    click.echo(f"report: {report_path_for(out)}")


def _is_file_source(source: str) -> bool:
    """A --source that names a file (existing, or with a data file's suffix) is a local file."""
    return Path(source).exists() or source.lower().endswith(_DATA_SUFFIXES)


@data_group.command("stats")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--png", type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the histograms and counts into this PNG.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(path: Path, png: Path | None, as_json: bool) -> None:
    """Counts per source and kind, length histograms, and decontamination hits of a data file."""
    from takeaways_daemon.sanitize import strip_control
    from training.data.stats import collect_stats, render_text, save_png

    collected = collect_stats(path)
    if as_json:
        click.echo(json.dumps(collected.to_dict(), indent=2))
    else:
        # Source names and n-gram samples come from data files: untrusted text.
        click.echo(strip_control(render_text(collected)))
    if png is not None:
        click.echo(f"histograms: {save_png(collected, png)}", err=as_json)
