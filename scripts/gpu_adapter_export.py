"""Turn the adapter that `scripts/gpu_recipe_run.py` sent back into a served GGUF, here.

The second half of the GPU recipe on a lent machine: join the adapter's weight parts, merge it
into the packaged base (materialized by this machine's transformers, the tokenizer the data was
sized with), export the GGUF and check it token for token against the merged model, exactly as
`takeaways model build` does after training. The GGUF is not installed: evaluate it first
(`takeaways eval humaneval --model PATH`).

    python scripts/gpu_adapter_export.py --adapter-parts DIR --out BUILD_DIR [--quant q4_K_M]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from takeaways_daemon.backends.model_files import built_gguf_stem
from takeaways_daemon.deployment_config import served_model
from training.base_model import EMBEDDED, resolve_base
from training.gguf_export import export_gguf
from training.merge import merge_adapter
from training.verify import verify_export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter-parts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quant", default="q4_K_M")
    parser.add_argument("--stem", help="file name before `.QUANT.gguf` (default: the build's)")
    args = parser.parse_args()
    started = time.perf_counter()
    adapter = join_adapter(args.adapter_parts, args.out / "adapter")
    print("[1/3] merge the adapter into the base", flush=True)
    merged = merge_adapter(resolve_base(EMBEDDED), adapter, args.out / "merged")
    print(f"[2/3] export GGUF ({args.quant})", flush=True)
    stem = args.stem or built_gguf_stem(served_model().name, "gemma-3-270m-gpu")
    paths = export_gguf(merged, args.out / "gguf", stem, (args.quant,))
    print("[3/3] verify: greedy tokens of the merged model and the f16 GGUF", flush=True)
    agreement = verify_export(merged, paths["f16"])
    summary = {
        "gguf": {quant: str(path) for quant, path in paths.items()},
        "verify": {"agreement": round(agreement.ratio, 4), "positions": agreement.positions},
        "seconds": round(time.perf_counter() - started, 1),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def join_adapter(parts: Path, target: Path) -> Path:
    """The adapter folder, its `NAME.partN` files joined in N's order into NAME."""
    target.mkdir(parents=True, exist_ok=True)
    joined: dict[str, list[Path]] = {}
    for item in parts.iterdir():
        name, dot, number = item.name.rpartition(".part")
        if dot and number.isdigit():
            joined.setdefault(name, []).append(item)
        elif item.name.startswith("adapter_"):
            shutil.copyfile(item, target / item.name)
    for name, pieces in joined.items():
        with (target / name).open("wb") as out:
            for piece in sorted(pieces, key=lambda p: int(p.name.rpartition(".part")[2])):
                out.write(piece.read_bytes())
    return target


if __name__ == "__main__":
    main()
