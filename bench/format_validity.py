"""Format validity per task kind: the share of answers that become a valid suggestion.

Tasks are planned by the daemon's own planner from real code that no training set holds: the
packages the miner skips (`lib2to3`, `turtledemo`, `setuptools`, `pip`). Each kind gets N tasks:
- fix: a real function with a syntax error injected (a def's colon or a closing bracket dropped);
- complete: a real documented function with its body cut down to `pass`;
- docstring, types, explain: real functions as they are (the planner asks only where it fits).

Every answer is generated as the daemon generates it (`task_decoding.task_request`, few-shot by
the model's `ModelIdentity`, the configured sampling with a fixed seed, first attempt only) and
counts when `parse_answer` and `build_suggestion` both accept it; rejections are tallied by
reason. Target (issue 14): at least 95% for every kind. Several models run side by side.

Run: python bench/format_validity.py [--per-kind 20] [--model base --model path/to/takeaways.gguf]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from takeaways_daemon import prompt_format
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.errors import BackendStalled, MalformedAnswer, PatchRejected
from takeaways_daemon.kinds import TASK_KINDS, TaskKind
from takeaways_daemon.settings import load_settings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.task_decoding import task_request
from takeaways_daemon.tasks import Task
from training.evaluation.model_runner import open_model
from training.evaluation.reports import model_labels, slug, write_rates_report

TARGET = 0.95
MAX_FUNCTION_LINES = 40


def never_mined_files() -> list[tuple[Path, str]]:
    """(path, display path) of Python files under the packages the training miner skips."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    roots = [stdlib / "lib2to3", stdlib / "turtledemo", site / "setuptools", site / "pip"]
    files = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "test" not in path.parts[-2] and not path.name.startswith("test"):
                files.append((path, path.relative_to(root.parent).as_posix()))
    return files


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or node.end_lineno is None:
            continue
        if node.end_lineno - node.lineno < MAX_FUNCTION_LINES:
            yield node


def _break_syntax(text: str, function: ast.FunctionDef) -> str | None:
    """`text` with the colon that ends the function's def line removed."""
    lines = text.splitlines(keepends=True)
    header_end = function.body[0].lineno - 1 if function.body else function.lineno
    header = lines[header_end - 1]
    if header.rstrip().endswith(":"):
        stripped = header.rstrip()
        lines[header_end - 1] = stripped[:-1] + header[len(stripped) :]
        return "".join(lines)
    return None


def _stub_body(text: str, function: ast.FunctionDef) -> str | None:
    """`text` with a documented function's body after its docstring replaced by `pass`."""
    body = function.body
    if len(body) < 2 or ast.get_docstring(function) is None or function.end_lineno is None:
        return None
    lines = text.splitlines(keepends=True)
    first = body[1].lineno
    indent = re.match(r"[ \t]*", lines[first - 1])
    if indent is None:
        return None
    kept = [*lines[: first - 1], f"{indent.group(0)}pass\n", *lines[function.end_lineno :]]
    return "".join(kept)


def tasks_of(path: str, text: str, kind: TaskKind) -> list[Task]:
    """The tasks of `kind` the daemon's planner makes from one real file."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    if kind in ("docstring", "types", "explain"):
        return plan_file_tasks(path, text, [kind])
    tasks: list[Task] = []
    for function in _functions(tree):
        changed = _break_syntax(text, function) if kind == "fix" else _stub_body(text, function)
        if changed is not None:
            tasks += [t for t in plan_file_tasks(path, changed, [kind]) if t.kind == kind]
    return tasks


def sample_tasks(per_kind: int, seed: int) -> dict[TaskKind, list[Task]]:
    """`per_kind` tasks of every kind, drawn from different files where possible."""
    files = never_mined_files()
    rng = random.Random(seed)
    rng.shuffle(files)
    chosen: dict[TaskKind, list[Task]] = {kind: [] for kind in TASK_KINDS}
    for path, display in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind in TASK_KINDS:
            if len(chosen[kind]) < per_kind:
                found = tasks_of(display, text, kind)
                if found:
                    chosen[kind].append(rng.choice(found))  # one per file: varied code
        if all(len(tasks) >= per_kind for tasks in chosen.values()):
            break
    return chosen


@dataclass
class KindResult:
    """How one model's answers of one kind fared."""

    valid: int = 0
    total: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """The share of answers that became a suggestion."""
        return self.valid / self.total if self.total else 0.0


def reason_label(error: Exception) -> str:
    """A rejection's reason without the parts that differ per answer (names, quotes, lines)."""
    text = str(error)
    text = re.sub(r"\(.*\)", "(…)", text)
    return re.sub(r"renames \w+", "renames the function", text)


def judge(task: Task, text: str) -> str | None:
    """None when `text` becomes a valid suggestion for `task`, else why not."""
    try:
        answer = prompt_format.parse_answer(text, task.kind)
        build_suggestion(task, answer)
    except (MalformedAnswer, PatchRejected) as error:
        return f"{type(error).__name__}: {reason_label(error)}"
    return None


def run_model(
    spec: str, tasks: dict[TaskKind, list[Task]], seed: int, show: int
) -> dict[TaskKind, KindResult]:
    """Generate one answer per task with model `spec` and judge each."""
    settings = load_settings()
    sampling = settings.sampling.model_copy(update={"seed": seed})
    runner = open_model(spec, num_ctx=sampling.num_ctx)
    few_shot = runner.identity.wants_few_shot(settings.tasks.few_shot)
    results: dict[TaskKind, KindResult] = {}
    try:
        for kind, kind_tasks in tasks.items():
            result = results.setdefault(kind, KindResult())
            for task in kind_tasks:
                request = task_request(task, sampling, few_shot=few_shot)
                started = time.perf_counter()
                try:
                    text = runner.generate(request)
                except BackendStalled as error:  # the daemon drops such an answer too
                    text, problem = "", f"{type(error).__name__}: {reason_label(error)}"
                else:
                    problem = judge(task, text)
                result.seconds += time.perf_counter() - started
                result.total += 1
                verdict = problem or "valid"
                print(f"{kind} {task.path}:{task.target_start}: {verdict}", flush=True)
                if problem is None:
                    result.valid += 1
                    continue
                result.reasons[problem] += 1
                if result.reasons[problem] <= show:
                    print(f"--- {spec} {kind} {task.path}:{task.target_start} {problem}\n{text}\n")
            print(
                f"{runner.identity.label:>32} {kind:>9}: {result.valid}/{result.total}", flush=True
            )
    finally:
        runner.close()
    return results


def markdown(results: dict[str, dict[TaskKind, KindResult]]) -> str:
    """A table of validity per kind, one column per model, and the rejection reasons."""
    models = list(results)
    lines = ["| kind | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for kind in TASK_KINDS:
        cells = []
        for model in models:
            result = results[model].get(kind)
            if result is None or not result.total:
                cells.append("–")
                continue
            mark = "" if result.rate >= TARGET else " ✗"
            cells.append(f"{result.valid}/{result.total} ({result.rate:.0%}){mark}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("")
    for model in models:
        for kind, result in results[model].items():
            for reason, count in result.reasons.most_common():
                lines.append(f"- {model} · {kind}: {count}× {reason}")
    return "\n".join(lines)


def main() -> None:
    """Plan the tasks once, run each model on them, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--model", action="append", help="base (default), a .gguf, or Ollama")
    parser.add_argument("--kind", action="append", choices=TASK_KINDS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=1, help="answers to print per reason")
    parser.add_argument(
        "--threads", type=int, help="llama.cpp threads (1 is far faster on a busy machine)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/format_validity.json"))
    parser.add_argument(
        "--label", action="append", default=[], help="each --model's name in reports, in order"
    )
    parser.add_argument(
        "--report-dir", type=Path, help="a run folder per model here, for `takeaways eval compare`"
    )
    args = parser.parse_args()
    if args.threads:
        os.environ["TAKEAWAYS_BACKEND__EMBEDDED__N_THREADS"] = str(args.threads)
    tasks = sample_tasks(args.per_kind, args.seed)
    if args.kind:
        tasks = {kind: tasks[kind] for kind in args.kind}
    results = {
        spec: run_model(spec, tasks, args.seed, args.show) for spec in args.model or ["base"]
    }
    table = markdown(results)
    print(table)
    if args.report_dir:
        for spec, label in zip(results, model_labels(list(results), args.label), strict=True):
            rates = {f"format valid: {kind}": r.rate for kind, r in results[spec].items()}
            write_rates_report(args.report_dir / f"format-{slug(label)}", "bench", label, rates,
                               per_kind=args.per_kind, seed=args.seed)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                spec: {
                    kind: {
                        "valid": r.valid,
                        "total": r.total,
                        "seconds": round(r.seconds, 1),
                        "reasons": dict(r.reasons),
                    }
                    for kind, r in per_kind.items()
                }
                for spec, per_kind in results.items()
            },
            indent=2,
        )
        + "\n"
    )
    failing = [
        kind for per_kind in results.values() for kind, r in per_kind.items() if r.rate < TARGET
    ]
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()
