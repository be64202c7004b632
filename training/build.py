"""`takeaways model build`: data → train → merge → export → verify → Modelfile → install → register.

Each stage leaves its output under OUT and records a fingerprint of its inputs in
`OUT/build_state.json`; a later run skips every finished stage whose fingerprint still matches,
so an interrupted build picks up where it stopped (`--resume` also continues an interrupted
training from its last checkpoint). The verified GGUF is installed atomically where the
embedded backend looks for it, the previous one kept beside it for a rollback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from takeaways_daemon import locations
from takeaways_daemon.backends.model_files import built_gguf_stem
from takeaways_daemon.deployment_config import DeploymentConfig
from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.model_identity import PACKAGED_BASE_ID
from training.base_model import EMBEDDED, base_short_name, load_tokenizer, resolve_base
from training.recipe import Recipe

STATE_FILE = "build_state.json"
SUMMARY_FILE = "summary.json"


class BuildError(TakeawaysError):
    """A build stage could not run."""


@dataclass
class BuildOptions:
    """What to build and where (the `takeaways model build` options)."""

    recipe: Recipe
    out_dir: Path
    data: Path | None = None
    quants: tuple[str, ...] = ("f16", "q8_0", "q4_K_M")
    serve_quant: str = "q4_K_M"
    register: bool = True
    resume: bool = False
    install: bool = True
    ollama_host: str = "http://127.0.0.1:11434"
    mine_per_kind: int = 200


@dataclass
class _State:
    """Fingerprints of finished stages, saved after each one."""

    path: Path
    done: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> _State:
        done = json.loads(path.read_text()) if path.is_file() else {}
        return cls(path, done)

    def finished(self, stage: str, fingerprint: str) -> bool:
        return self.done.get(stage) == fingerprint

    def mark(self, stage: str, fingerprint: str) -> None:
        self.done[stage] = fingerprint
        self.path.write_text(json.dumps(self.done, indent=2))


def _fingerprint(*parts: Any) -> str:
    """A short hash of JSON-able inputs."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_build(
    options: BuildOptions, config: DeploymentConfig, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run every stage (skipping finished ones) and return the build summary."""
    out = options.out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    state = _State.load(out / STATE_FILE)
    started = time.perf_counter()
    summary: dict[str, Any] = {"name": config.name, "base": options.recipe.base}
    recipe = options.recipe
    stem = built_gguf_stem(config.name, base_short_name(recipe.base))

    say("[1/7] data")
    data_path, data_fp, examples = _data_stage(options, out)
    summary["dataset"] = {"file": str(data_path), "examples": examples}

    say(f"[2/7] train on {recipe.base}")
    base_path = resolve_base(recipe.base)
    train_fp = _fingerprint(data_fp, recipe.to_dict(), base_path)
    adapter_dir = out / "adapter"
    if state.finished("train", train_fp) and (adapter_dir / "adapter_config.json").is_file():
        say("      finished earlier: skipped")
        summary["train"] = json.loads((out / "train" / "result.json").read_text())
    else:
        summary["train"] = _train_stage(options, base_path, data_path, out, train_fp)
        state.mark("train", train_fp)

    say("[3/7] merge the adapter into the base")
    from training.merge import merge_adapter

    merged_dir = merge_adapter(base_path, adapter_dir, out / "merged")
    summary["merged"] = str(merged_dir)

    say(f"[4/7] export GGUF ({', '.join(options.quants)})")
    export_fp = _fingerprint(train_fp, options.quants)
    gguf_dir = out / "gguf"
    paths = {q: gguf_dir / f"{stem}.{q}.gguf" for q in dict.fromkeys(["f16", *options.quants])}
    if state.finished("export", export_fp) and all(p.is_file() for p in paths.values()):
        say("      finished earlier: skipped")
    else:
        from training.gguf_export import export_gguf

        paths = export_gguf(merged_dir, gguf_dir, stem, options.quants)
        state.mark("export", export_fp)
    summary["gguf"] = {quant: str(path) for quant, path in paths.items()}

    say("[5/7] verify: greedy tokens of the merged model and the f16 GGUF")
    verify_file = out / "verify.json"
    if state.finished("verify", export_fp) and verify_file.is_file():
        summary["verify"] = json.loads(verify_file.read_text())
    else:
        from training.verify import verify_export

        agreement = verify_export(merged_dir, paths["f16"])
        summary["verify"] = {
            "agreement": round(agreement.ratio, 4),
            "matching": agreement.matching,
            "positions": agreement.positions,
            "prompts": agreement.prompts,
        }
        verify_file.write_text(json.dumps(summary["verify"], indent=2))
        state.mark("verify", export_fp)
    say(f"      {summary['verify']['agreement']:.1%} of greedy tokens agree")

    served = paths.get(options.serve_quant) or paths[list(paths)[-1]]
    say("[6/7] Modelfile")
    from training.modelfile import write_modelfile

    modelfile = write_modelfile(out / "Modelfile", f"./{served.relative_to(out)}", config)
    summary["modelfile"] = str(modelfile)
    if options.install:
        summary["installed"] = str(install_gguf(served))
        say(f"      installed {served.name} for the embedded backend: {summary['installed']}")

    say("[7/7] register with Ollama")
    from training.ollama_registration import equivalent_command, register_model

    summary["ollama_command"] = f"cd {out} && {equivalent_command(config, modelfile)}"
    summary["build_seconds"] = round(time.perf_counter() - started, 1)
    # Written before registering: a missing Ollama must not hide what was built.
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    if options.register:
        registration = register_model(
            served, config, host=options.ollama_host, modelfile=modelfile,
            on_status=lambda status: say(f"      {status}"),
        )  # fmt: skip
        summary["registered"] = {"name": registration.name, "previous": registration.kept_previous}
    else:
        say(f"      skipped (--no-register); by hand: {summary['ollama_command']}")
    summary["build_seconds"] = round(time.perf_counter() - started, 1)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return summary


def _data_stage(options: BuildOptions, out: Path) -> tuple[Path, str, int]:
    """The training JSONL: the given file, or the default mined set built into OUT."""
    if options.data is not None:
        if not options.data.is_file():
            raise BuildError(f"no data file {options.data}; pass an Alpaca JSONL with --data")
        from training.data.local_files import read_alpaca_records

        records = read_alpaca_records(options.data)
        target = out / "data" / "train.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    else:
        target = out / "data" / "train.jsonl"
        if not target.is_file():
            from training.data import build_dataset, write_jsonl

            result = build_dataset(mine=True, max_per_kind=options.mine_per_kind)
            write_jsonl(result.records, target, result.report)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()[:16]
    count = sum(1 for line in target.read_text().split("\n") if line.strip())
    return target, digest, count


def _train_stage(
    options: BuildOptions, base_path: str, data_path: Path, out: Path, fingerprint: str
) -> dict[str, Any]:
    """Tokenize, pack and fit; the adapter and tokenizer are saved to OUT/adapter."""
    import torch

    from training.packing import pack_examples, rows_from_examples
    from training.qlora import load_for_training, use_4bit
    from training.tokenize_examples import tokenize_rows
    from training.trainer import setup

    args = options.recipe.train
    train_dir = out / "train"
    stamp = train_dir / "fingerprint"
    resume = options.resume and stamp.is_file() and stamp.read_text() == fingerprint
    if not resume:
        shutil.rmtree(train_dir, ignore_errors=True)
    train_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    tokenizer = load_tokenizer(base_path)
    rows = [json.loads(line) for line in data_path.read_text().split("\n") if line.strip()]
    examples, dropped = tokenize_rows(tokenizer, rows, args.max_seq_len)
    if not examples:
        raise BuildError(f"no example fits {args.max_seq_len} tokens; raise max_seq_len")
    packed = (
        pack_examples(examples, args.max_seq_len) if args.pack else rows_from_examples(examples)
    )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_for_training(base_path, options.recipe, device)
    result = setup(model, packed, args=args, out_dir=train_dir, pad_id=tokenizer.pad_token_id,
                   resume=resume)  # fmt: skip
    adapter_dir = out / "adapter"
    shutil.rmtree(adapter_dir, ignore_errors=True)
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    summary = {
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "final_loss": round(result.final_loss, 4),
        "validation_loss": (
            None if result.validation_loss is None else round(result.validation_loss, 4)
        ),
        "validation_rows": result.validation_rows,
        "examples": len(examples),
        "dropped_too_long": dropped,
        "packed_rows": len(packed),
        "tokens": result.tokens,
        "answer_tokens": result.answer_tokens,
        "seconds": round(result.seconds, 1),
        "tokens_per_second": round(result.tokens_per_second, 1),
        "quantization": "nf4" if use_4bit(options.recipe, device) else "none",
        "device": device.type,
        "loss_log": str(train_dir / "loss_log.jsonl"),
        "loss_curve": str(train_dir / "loss_curve.png"),
    }
    (train_dir / "result.json").write_text(json.dumps(summary, indent=2))
    return summary


def install_gguf(gguf: Path, target: Path | None = None) -> Path:
    """Copy the GGUF where the embedded backend looks, atomically; keep the previous one."""
    target = target or locations.built_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(gguf, partial)
    if target.exists():
        # A hard link keeps the old file as the rollback while `target` never goes missing.
        previous = target.with_name(target.stem + ".previous.gguf")
        previous.unlink(missing_ok=True)
        os.link(target, previous)
    partial.replace(target)
    return target


def default_recipe_for(base: str | None, config: DeploymentConfig) -> Recipe:
    """The recipe for a base: gemma-3-270m's for `embedded`, else the Mistral QLoRA one."""
    from training.recipe import load_recipe

    base = base or config.base
    recipe = load_recipe(PACKAGED_BASE_ID if base == EMBEDDED else "mistral-7b")
    return recipe.with_overrides(base=base)
