"""One learning round's wall time, split by stage, with 30 and 300 accepted suggestions.

Run: .venv/bin/python bench/learn.py                 # the tiny random-weight test model
     .venv/bin/python bench/learn.py --base embedded # gemma-3-270m (slow: tens of minutes)
     .venv/bin/python bench/learn.py --latency 10    # save → suggestion p50 during a round

Each size gets a fresh TAKEAWAYS_HOME and a throwaway keyring: accepted fixes are written to a
real encrypted history (their files to a scratch project), replay rows to a JSONL, and one round
runs in this process pinned to 2 cores (`sched_setaffinity`, torch threads): export → train →
merge → gguf (+ verify) → gate → swap. The gate runs its default size (20 HumanEval problems,
10 injected bugs) on both models. Prints a Markdown table and writes the reports as JSON.

`--latency N` instead measures what a round costs the user: a real daemon service serving the
packaged gemma-3-270m on a scratch project, N broken-file saves → stored fix while idle, then N
more while a 300-example round on the tiny model runs beside it as `takeaways learn now` at
nice 19 (as the daemon starts it). Target: p50 during the round at most 1.5x the idle p50.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.learning.round import STAGES

CORES = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="tiny", help="`tiny` (default) or `embedded`")
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--out", type=Path, default=None, help="write the reports here (JSON)")
    parser.add_argument("--latency", type=int, default=0, metavar="N", help="saves per side")
    args = parser.parse_args()
    if args.latency:
        import asyncio

        asyncio.run(_latency_during_round(args.latency))
        return

    import torch

    from takeaways_daemon.history.throwaway_keyring import start_throwaway_secret_service
    from training.evaluation.benchmark_run import machine_description

    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:CORES]))
    torch.set_num_threads(CORES)
    service = start_throwaway_secret_service()
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
    scratch = Path(tempfile.mkdtemp(prefix="takeaways-bench-learn-"))
    reports: dict[int, dict[str, Any]] = {}
    try:
        base, served = _models(args.base, scratch)
        for size in args.sizes:
            reports[size] = _one_round(size, base, served, scratch / f"n{size}", args.base)
    finally:
        service.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    model = "tiny random Mistral (2 layers)" if args.base == "tiny" else "gemma-3-270m"
    print(f"\none learning round, {model}, {CORES} cores of: {machine_description()}\n")
    print("| accepted | used | train rows | " + " | ".join(STAGES) + " | total (s) | decision |")
    print("| --- " * (len(STAGES) + 5) + "|")
    for size, report in reports.items():
        stages = " | ".join(f"{report['timings_s'].get(stage, 0):.1f}" for stage in STAGES)
        print(
            f"| {size} | {report['used']} | {report['data']['train_rows']} | {stages} | "
            f"{report['wall_s']:.1f} | {report['decision']} |"
        )
    if args.out:
        args.out.write_text(json.dumps({"machine": machine_description(), "reports": reports}))


def _models(base: str, scratch: Path) -> tuple[str, Path | None]:
    """The base to train and the GGUF served before the round (None: the packaged base)."""
    if base != "tiny":
        return base, None
    from tests.learning_helpers import export_tiny_gguf
    from tests.training_helpers import build_tiny_mistral

    folder = build_tiny_mistral(scratch / "tiny-base")
    return str(folder), export_tiny_gguf(folder, scratch / "tiny-gguf")


def _one_round_setup(size: int, base: str, served: Path | None, home: Path, kind: str) -> None:
    """A fresh TAKEAWAYS_HOME (set in os.environ) with `size` accepted fixes and learning on."""
    from takeaways_daemon import locations
    from tests.learning_helpers import accepted_fix, record_in_history
    from tests.training_helpers import write_alpaca_jsonl

    os.environ["TAKEAWAYS_HOME"] = str(home)
    project = home / "project"
    project.mkdir(parents=True)
    replay = write_alpaca_jsonl(home / "replay.jsonl", count=2 * size)
    settings = {"enabled": "true", "base": base, "replay_data": str(replay)}
    if kind == "tiny":
        recipe = home / "recipe.yaml"
        recipe.write_text(
            "train:\n  epochs: 1\n  batch_size: 4\n  grad_accum: 1\n  lr: 0.001\n"
            "  max_seq_len: 768\n  gradient_checkpointing: false\n  quantization: none\n"
        )
        settings |= {"recipe": str(recipe), "quant": "f16"}
    for key, value in settings.items():
        os.environ[f"TAKEAWAYS_LEARNING__{key.upper()}"] = value
    if served is not None:
        locations.built_model_path().parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(served, locations.built_model_path())
    record_in_history(*[accepted_fix(project, n) for n in range(size)])


def _one_round(size: int, base: str, served: Path | None, home: Path, kind: str) -> dict[str, Any]:
    from takeaways_daemon.settings import load_settings
    from training.learning.round import run_round

    _one_round_setup(size, base, served, home, kind)
    started = time.perf_counter()
    result = run_round(load_settings(), say=lambda line: print(line, file=sys.stderr))
    return {**result.report, "decision": result.decision, "wall_s": time.perf_counter() - started}


async def _latency_during_round(saves: int) -> None:
    """Save → suggestion p50 with the daemon idle, then with a round running at nice 19."""
    import asyncio
    import subprocess

    from takeaways_daemon.history.throwaway_keyring import start_throwaway_secret_service
    from takeaways_daemon.learning_trigger import current_stage
    from takeaways_daemon.metrics import percentile
    from takeaways_daemon.service import DaemonService
    from takeaways_daemon.settings import Settings

    service_keyring = start_throwaway_secret_service()
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service_keyring.address
    scratch = Path(tempfile.mkdtemp(prefix="takeaways-bench-learn-latency-"))
    round_process: subprocess.Popen[bytes] | None = None
    try:
        base, served = _models("tiny", scratch)
        round_env = _prepare_round_home(300, base, served, scratch / "round")
        os.environ["TAKEAWAYS_HOME"] = str(scratch / "daemon")
        project = scratch / "project"
        project.mkdir()
        service = DaemonService(
            project,
            Settings(backend={"prefer": "embedded"}, sampling={"seed": 11, "candidates": 1}),
        )
        await service.start()
        while service.supervisor.status.state != "ready":
            await asyncio.sleep(0.1)
        idle = await _saves(service, project, saves, offset=0)
        log = scratch / "round.log"
        launcher = "from training.learning.commands import learn_group; learn_group(['now'])"
        with log.open("wb") as output:
            round_process = subprocess.Popen(
                ["nice", "-n", "19", sys.executable, "-c", launcher], env=round_env,
                stdout=output, stderr=output, cwd=Path(__file__).resolve().parents[1],
            )  # fmt: skip
        while current_stage(log) not in {"train", "merge", "gguf", "gate"}:
            await asyncio.sleep(0.5)
        busy = await _saves(service, project, saves, offset=saves)
        stage = current_stage(log)
        await service.stop()
    finally:
        if round_process is not None:
            round_process.kill()
        service_keyring.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    idle_p50, busy_p50 = percentile(idle, 0.5), percentile(busy, 0.5)
    assert idle_p50 is not None and busy_p50 is not None
    ratio = busy_p50 / idle_p50
    print(f"\nsave → suggestion p50, gemma-3-270m embedded, {os.cpu_count()} cores")
    print(f"  idle:         {idle_p50 * 1000:.0f} ms (n={len(idle)})")
    print(f"  during round: {busy_p50 * 1000:.0f} ms (n={len(busy)}; round reached {stage})")
    print(f"  ratio {ratio:.2f} (target ≤ 1.5) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")


async def _saves(service: Any, root: Path, count: int, *, offset: int) -> list[float]:
    """Seconds from writing a broken file to its stored suggestion, for `count` new files."""
    import asyncio

    broken = ["def add(a, b)\n    return a + b\n", "for i in range(10)\n    print(i)\n"]
    queue = service.store.subscribe()
    samples = []
    for index in range(offset, offset + count):
        path = root / f"module_{index}.py"
        written = time.perf_counter()
        path.write_text(broken[index % len(broken)])
        try:
            while True:
                event = await asyncio.wait_for(queue.get(), timeout=120)
                if event.type == "added" and event.suggestion.path == path.name:
                    samples.append(time.perf_counter() - written)
                    break
        except TimeoutError:
            print(f"  (no suggestion for {path.name})", file=sys.stderr)
    return samples


def _prepare_round_home(size: int, base: str, served: Path | None, home: Path) -> dict[str, str]:
    """A TAKEAWAYS_HOME with `size` accepted fixes and the served tiny model; the round's env."""
    saved = dict(os.environ)
    try:
        _one_round_setup(size, base, served, home, "tiny")
        return {key: value for key, value in os.environ.items()}
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    main()
