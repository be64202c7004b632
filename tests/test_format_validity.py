"""Format validity: what keeps a well-meant answer from becoming a suggestion, and its bench.

A fix answer rewrites the whole shown window; at the configured 384 tokens a 40-line window was
cut mid-code, so the answer could never parse (3 of the first 6 base answers on real code).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.errors import PatchRejected
from takeaways_daemon.few_shot import example_code
from takeaways_daemon.settings import SamplingSettings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.task_decoding import (
    answer_token_budget,
    task_request,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import format_validity  # a bench script, importable from its folder

LONG_BROKEN = "def report(rows)\n" + "".join(
    f"    total_{i} = sum(row[{i}] for row in rows)  # column {i}\n" for i in range(40)
)


def _fix_task():
    (task,) = plan_file_tasks("report.py", LONG_BROKEN, ["fix"])
    return task


class TestAnswerBudget:
    def test_a_long_fix_may_write_all_of_its_code_back(self, base_gguf: Path) -> None:
        """Counted with the real model's tokenizer (only its vocabulary is loaded)."""
        from llama_cpp import Llama

        vocabulary = Llama(model_path=str(base_gguf), vocab_only=True, verbose=False)
        task = _fix_task()
        request = task_request(task, SamplingSettings(max_tokens=384), few_shot=False)
        answer = prompt_format.render_answer(
            "Add the missing colon", "The def line lacked its closing colon.", task.shown_code
        )
        needed = len(vocabulary.tokenize(answer.encode(), add_bos=False))
        assert 384 < needed <= request.max_tokens

    def test_short_fixes_get_less_and_other_kinds_keep_the_configured_budget(self) -> None:
        (short,) = plan_file_tasks("a.py", "def f(x)\n    return x\n", ["fix"])
        # A two-line fix needs its code and a short explanation, not the whole cap: the base
        # model otherwise rambled on until it.
        assert answer_token_budget(short, 384) == len(short.shown_code) // 2 + 64 < 384
        (explain,) = plan_file_tasks("b.py", LONG_BROKEN.replace(")\n", "):\n", 1), ["explain"])
        assert answer_token_budget(explain, 384) == 384

    def test_an_explicit_override_still_wins(self) -> None:
        request = task_request(_fix_task(), SamplingSettings(), few_shot=False, max_tokens=32)
        assert request.max_tokens == 32


class TestBenchTasks:
    def test_tasks_come_from_code_the_miner_never_reads(self) -> None:
        from training.data.mining.source_files import _SKIP_DIRS

        files = format_validity.never_mined_files()
        assert files
        assert all(path.parts[-2] in _SKIP_DIRS or set(path.parts) & _SKIP_DIRS
                   for path, _ in files)  # fmt: skip

    def test_each_kind_is_planned_by_the_daemon_from_real_code(self) -> None:
        tasks = format_validity.sample_tasks(2, seed=0)
        for kind, planned in tasks.items():
            assert len(planned) == 2
            assert all(task.kind == kind for task in planned)
        fix = tasks["fix"][0]
        assert fix.error and "expected ':'" in fix.error
        assert "pass" in tasks["complete"][0].shown_code

    def test_the_judge_counts_a_valid_answer_and_names_a_rejection(self) -> None:
        task = format_validity.sample_tasks(1, seed=0)["docstring"][0]
        prose = prompt_format.render_answer("Doc", "Says what it does.", "Return the result.")
        assert format_validity.judge(task, prose) is None
        code = prompt_format.render_answer("Doc", "Copied.", "f(x)")
        assert format_validity.judge(task, code) == (
            "PatchRejected: the docstring is not prose about the function: it is code, "
            "not a description"
        )
        try:
            build_suggestion(task, prompt_format.parse_answer(code, "docstring"))
        except PatchRejected:
            pass
        else:
            raise AssertionError("the bench and the daemon must reject the same answers")


@pytest.fixture(scope="module")
def vocabulary(base_gguf: Path) -> Any:
    """The packaged model's tokenizer alone (no weights): what llama.cpp's grammar checks."""
    from llama_cpp import Llama

    return Llama(model_path=str(base_gguf), vocab_only=True, verbose=False)


class TestCodeBlockGrammar:
    """Checked with llama.cpp's own grammar sampler on the real vocabulary (no weights loaded)."""

    def _allowed_after(self, vocabulary: Any, prefix: str, piece: str) -> bool:
        """Whether the grammar lets `piece`'s first token follow `prefix` in a docstring answer."""
        import ctypes

        import llama_cpp

        def tokens(text: str) -> list[int]:
            return vocabulary.tokenize(text.encode(), add_bos=False, special=False)

        grammar = prompt_format.answer_grammar("docstring").encode()
        sampler = llama_cpp.llama_sampler_init_grammar(vocabulary._model.vocab, grammar, b"root")
        try:
            for token in tokens(prefix):
                llama_cpp.llama_sampler_accept(sampler, token)
            candidate = (llama_cpp.llama_token_data * 1)(
                llama_cpp.llama_token_data(tokens(piece)[0], 1.0, 0.0)
            )
            batch = llama_cpp.llama_token_data_array(candidate, 1, -1, False)
            llama_cpp.llama_sampler_apply(sampler, ctypes.byref(batch))
            return candidate[0].logit != float("-inf")
        finally:
            llama_cpp.llama_sampler_free(sampler)

    def test_a_code_line_cannot_start_the_explanation(self, vocabulary: Any) -> None:
        inside = "Title: Document\n```python\nReturn the total.\n"
        assert not self._allowed_after(vocabulary, inside, "Explanation")
        assert self._allowed_after(vocabulary, inside, "```")  # closing the block is the way
        assert self._allowed_after(vocabulary, inside, "Each")
        assert self._allowed_after(vocabulary, inside + "```\n", "Explanation")


class TestCopiedExample:
    def test_echoing_the_worked_example_is_rejected(self) -> None:
        task = format_validity.sample_tasks(1, seed=0)["docstring"][0]
        _, example = example_code("docstring")
        echo = prompt_format.render_answer("Document", "States it.", example)
        with pytest.raises(PatchRejected, match="copies the worked example"):
            build_suggestion(task, prompt_format.parse_answer(echo, "docstring"))

    def test_the_example_task_itself_may_get_the_example_answer(self) -> None:
        shown, example = example_code("fix")
        assert example is not None
        (task,) = plan_file_tasks("greet.py", shown + "\n", ["fix"])
        answer = prompt_format.render_answer("Add the colon", "It lacked one.", example)
        assert build_suggestion(task, prompt_format.parse_answer(answer, "fix")).replacement


class TestDocstringGrammar:
    """A docstring answer's code must read as prose: no def line, call or indented code."""

    def _docstring_allows(self, vocabulary: Any, piece: str, after: str = "") -> bool:
        import ctypes

        import llama_cpp

        (task,) = plan_file_tasks("a.py", "def total(xs):\n    return sum(xs)\n", ["docstring"])

        def tokens(text: str) -> list[int]:
            return vocabulary.tokenize(text.encode(), add_bos=False, special=False)

        grammar = grammar_for(task).encode()
        sampler = llama_cpp.llama_sampler_init_grammar(vocabulary._model.vocab, grammar, b"root")
        try:
            for token in tokens("Title: Document total\n```python\n" + after):
                llama_cpp.llama_sampler_accept(sampler, token)
            candidate = (llama_cpp.llama_token_data * 1)(
                llama_cpp.llama_token_data(tokens(piece)[0], 1.0, 0.0)
            )
            batch = llama_cpp.llama_token_data_array(candidate, 1, -1, False)
            llama_cpp.llama_sampler_apply(sampler, ctypes.byref(batch))
            return candidate[0].logit != float("-inf")
        finally:
            llama_cpp.llama_sampler_free(sampler)

    def test_the_first_line_is_a_sentence_not_code(self, vocabulary: Any) -> None:
        assert self._docstring_allows(vocabulary, "Return")
        assert self._docstring_allows(vocabulary, "A")
        for code in ("def", "    def", "total", '"""', "```"):
            assert not self._docstring_allows(vocabulary, code), code
        assert not self._docstring_allows(vocabulary, "(", after="Total")

    def test_later_lines_may_not_hold_the_explanation(self, vocabulary: Any) -> None:
        assert self._docstring_allows(vocabulary, "The", after="Return the sum.\n\n")
        assert not self._docstring_allows(vocabulary, "Explanation", after="Return the sum.\n")
