"""Benchmark the sandbox's cost per project test run against running the same tests directly.

Run: .venv/bin/python bench/fix_sandbox.py   (about half a minute; all in a temp folder)

The sample project (a package, tests/ with a conftest.py, its own venv) runs the same test file
ROUNDS times each way, alternating: directly (`python -m pytest`, as the user would) and through
`ProjectSandbox.run_tests` with a candidate bound over the module (as a fix check does). The
target (issue 12) is sandboxed ≤ 1.5 × direct + 150 ms on the medians; exits 1 when missed or
when the two runs disagree on any test's outcome.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from takeaways_daemon.sandbox import ProjectSandbox
from tests.sample_project import (
    CALC,
    CALC_FIXED,
    CONFTEST,
    TEST_CALC,
    make_venv,
    world_readable_folder,
    write_project,
)

ROUNDS = 15
TEST_FILE = "tests/test_calc.py"
RATIO_TARGET, OVERHEAD_TARGET_S = 1.5, 0.150


def direct_run(root: Path) -> tuple[float, int]:
    """Seconds for the project's own pytest on TEST_FILE, unsandboxed, and its exit status."""
    python = root / ".venv" / "bin" / "python"
    argv = [str(python), "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST_FILE]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, capture_output=True, check=False)
    return time.perf_counter() - started, done.returncode


def sandboxed_run(box: ProjectSandbox, candidate: str) -> tuple[float, int | None]:
    """Seconds for the same file in the sandbox, with `candidate` bound over calc.py."""
    started = time.perf_counter()
    run = box.run_tests([TEST_FILE], replacements={"calc.py": candidate}, timeout_s=60)
    return time.perf_counter() - started, run.exit_code


def main() -> int:
    """Measure both ways, print the medians and the ratio, and check the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    rounds = parser.parse_args().rounds
    with world_readable_folder("takeaways-bench-fix-") as root:
        files = {"calc.py": CALC_FIXED, "conftest.py": CONFTEST, TEST_FILE: TEST_CALC}
        write_project(root, files)
        make_venv(root / ".venv")
        box = ProjectSandbox(root)
        state = box.state()
        if not state.available:
            print(f"no sandbox: {state.reason}")
            return 1
        direct_run(root), sandboxed_run(box, CALC_FIXED)  # warm the page cache both ways
        direct, sandboxed, disagreements = [], [], 0
        for index in range(rounds):
            # Alternate the good and the broken module so that outcomes vary and must agree.
            text = CALC_FIXED if index % 2 == 0 else CALC
            (root / "calc.py").write_text(text)
            seconds, direct_status = direct_run(root)
            direct.append(seconds)
            (root / "calc.py").write_text(CALC_FIXED if text is CALC else CALC)
            seconds, sandboxed_status = sandboxed_run(box, text)  # the candidate wins inside
            sandboxed.append(seconds)
            disagreements += direct_status != sandboxed_status
    direct_s, sandboxed_s = statistics.median(direct), statistics.median(sandboxed)
    ratio = sandboxed_s / direct_s
    allowed_s = RATIO_TARGET * direct_s + OVERHEAD_TARGET_S
    print(f"interpreter: {box.interpreter.describe()}")
    print(f"test file: {TEST_FILE} (3 tests), {rounds} rounds each way, medians")
    print(f"direct pytest:     {direct_s * 1000:7.1f} ms")
    print(f"sandboxed pytest:  {sandboxed_s * 1000:7.1f} ms  (p95 {p95(sandboxed) * 1000:.1f} ms)")
    print(f"ratio:             {ratio:7.2f}x  (+{(sandboxed_s - direct_s) * 1000:.1f} ms per run)")
    met = sandboxed_s <= allowed_s
    target = f"≤ {RATIO_TARGET}x + {OVERHEAD_TARGET_S * 1000:.0f} ms = {allowed_s * 1000:.1f} ms"
    print(f"target {target}: {'met' if met else 'MISSED'}")
    if disagreements:
        print(f"outcomes disagreed in {disagreements} of {rounds} rounds")
    return 0 if met and not disagreements else 1


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
