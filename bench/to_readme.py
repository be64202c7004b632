"""Run a bench script and put what it printed into the README, between its block's markers.

Run: .venv/bin/python bench/to_readme.py [--fence] [--readme README.md] bench/history.py [ARGS...]
     .venv/bin/python bench/to_readme.py --saved bench/results/OUT.txt bench/SLOW.py [ARGS...]

The README's measured tables are program output, never typed in by hand. Benches that print
Markdown (`bench/history.py`, `bench/eval.py`) are inserted as they are; `--fence` wraps plain
text output (`bench/latency.py`) in a code block. The command line and the machine go under the
output, so a reader knows how to get the numbers again. The block is the script's
(`<!-- bench/history.py table: output ... -->`); a README without it gets an error naming the
two marker lines to add. The bench's exit status is passed on, and a missed target (exit 1)
still writes its output: it is reported, not hidden. A crash (another status, or a traceback)
leaves the README as it was.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.evaluation.benchmark_run import machine_description
from training.evaluation.readme_blocks import replace_block

BLOCK = "output"
WRITER = "bench/to_readme.py"


def main() -> int:
    """Run the bench, echo its output, and write it into the README block."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--fence", action="store_true", help="wrap the output in a code block")
    parser.add_argument(
        "--saved", type=Path,
        help="insert this file, the script's output saved from an earlier run, instead of running",
    )  # fmt: skip
    parser.add_argument("script", help="the bench script, e.g. bench/history.py")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args()
    shown = " ".join(["python", args.script, *args.arguments])
    if args.saved is not None:
        # A bench too slow to rerun each time: its own saved output, never retyped.
        output = args.saved.read_text().rstrip().strip("\n")
        write_block(args, output, f"`{shown}`, its output saved in `{args.saved}`")
        return 0
    command = [sys.executable, args.script, *args.arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    output = done.stdout.rstrip().strip("\n")  # a first line's indentation is output too
    print(output)
    print(done.stderr, end="", file=sys.stderr)
    # Exit 1 is how a bench reports a missed target, which is a result to show; Python exits 1
    # on an uncaught exception too, so a traceback is what marks a crash.
    if done.returncode not in (0, 1) or "Traceback (most recent call last)" in done.stderr:
        print(f"{args.script} failed (exit {done.returncode}); the README is left as it was")
        return done.returncode or 1
    write_block(args, output, f"`{shown}` on {machine_description()}")
    return done.returncode


def write_block(args: argparse.Namespace, output: str, source: str) -> None:
    """The output (fenced if asked) and where it came from, into the script's README block."""
    body = f"```text\n{output}\n```" if args.fence else output
    text = f"{body}\n\n({source}; written by `{WRITER}`)"
    replace_block(args.readme, args.script, BLOCK, text, command=WRITER)


if __name__ == "__main__":
    sys.exit(main())
