"""One learning round's wall time, split by stage, with 30 and 300 accepted suggestions.

Run: .venv/bin/python bench/learn.py                 # the tiny random-weight test model
     .venv/bin/python bench/learn.py --base embedded # gemma-3-270m (slow: tens of minutes)

Each size gets a fresh TAKEAWAYS_HOME and a throwaway keyring: accepted fixes are written to a
real encrypted history (their files to a scratch project), replay rows to a JSONL, and one round
runs in this process pinned to 2 cores (`sched_setaffinity`, torch threads): export → train →
merge → gguf (+ verify) → gate → swap. The gate runs its default size (20 HumanEval problems,
10 injected bugs) on both models. Prints a Markdown table and writes the reports as JSON.
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
    args = parser.parse_args()

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


def _one_round(size: int, base: str, served: Path | None, home: Path, kind: str) -> dict[str, Any]:
    from takeaways_daemon import locations
    from takeaways_daemon.settings import load_settings
    from tests.learning_helpers import accepted_fix, record_in_history
    from tests.training_helpers import write_alpaca_jsonl
    from training.learning.round import run_round

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
    started = time.perf_counter()
    result = run_round(load_settings(), say=lambda line: print(line, file=sys.stderr))
    return {**result.report, "decision": result.decision, "wall_s": time.perf_counter() - started}


if __name__ == "__main__":
    main()
