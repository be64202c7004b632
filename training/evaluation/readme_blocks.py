"""Blocks of a README that a script writes: text between a start and an end marker line.

The README's measured tables are program output, never typed in by hand: a script that
measures (or renders a saved report) replaces its own block and leaves the rest as it was.
"""

from __future__ import annotations

from pathlib import Path


def block_markers(writer: str, name: str, command: str | None = None) -> tuple[str, str]:
    """The start and end marker lines of `writer`'s block called `name`; `command` is what
    writes it (default: `writer --readme`)."""
    return (
        f"<!-- {writer} table: {name} (written by `{command or writer + ' --readme'}`) -->",
        f"<!-- end of {writer} table: {name} -->",
    )


def replace_block(
    readme: Path, writer: str, name: str, text: str, command: str | None = None
) -> None:
    """Put `text` between the block's markers; a README without them gets an error naming them."""
    start, end = block_markers(writer, name, command)
    content = readme.read_text()
    if start not in content or end not in content:
        raise SystemExit(f"{readme} has no block for {name}: add the lines\n{start}\n{end}")
    before, rest = content.split(start, 1)
    after = rest.split(end, 1)[1]
    readme.write_text(f"{before}{start}\n{text.strip()}\n{end}{after}")
