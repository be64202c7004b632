"""Answers decoded under the task's own grammar: `types` can only be its function's signature.

The pure tests pin the grammar text; the model tests decode with the real packaged GGUF, so
they show what a user gets: every `types` answer is a `def` line with the same parameters, and
each of them annotated.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.answer_grammars import grammar_for
from takeaways_daemon.backends.base import GenerationRequest
from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
from takeaways_daemon.context.task_planner import plan_file_tasks
from takeaways_daemon.settings import EmbeddedSettings
from takeaways_daemon.suggestion_builder import build_suggestion
from takeaways_daemon.tasks import Task

SOURCE = """import os


def add(a, b):
    return a + b


def is_hidden(path):
    name = os.path.basename(path)
    return name.startswith(".")


def label(value, /, prefix="it's", *rest, sep=", ", **extra):
    return prefix + sep.join(rest) + str(value)


class Cache:
    def get(self, key, default=None):
        return default

    async def fetch(self, *, key):
        return key
"""


def types_tasks() -> list[Task]:
    return plan_file_tasks("sample.py", SOURCE, ["types"])


def test_every_untyped_function_gets_a_grammar_naming_its_own_parameters() -> None:
    grammars = {task.symbol: grammar_for(task) for task in types_tasks()}
    assert set(grammars) == {"add", "is_hidden", "label", "Cache.get", "Cache.fetch"}
    code = {symbol: grammar.splitlines()[3] for symbol, grammar in grammars.items()}
    assert code["add"] == 'code ::= "def add(" "a" ": " type ", " "b" ": " type ") -> " type ":"'
    # Positional-only marker, the default kept verbatim (quote included), *rest, keyword-only.
    assert '"/"' in code["label"]
    assert "\" = 'it\\\\'s'\"" in code["label"] or '" = \\"it\'s\\""' in code["label"]
    assert '"*rest" ": " type' in code["label"] and '"**extra" ": " type' in code["label"]
    # A method's `self` stays bare; an async method keeps `async def` and its lone `*`.
    assert code["Cache.get"].startswith('code ::= "def get(" "self" ", " "key" ": " type')
    assert code["Cache.fetch"].startswith('code ::= "async def fetch(" "self" ", " "*" ", "')


def test_other_kinds_and_unparsable_files_keep_the_kind_grammar() -> None:
    (complete,) = plan_file_tasks("s.py", "def f(x):\n    pass\n", ["complete"])
    assert grammar_for(complete) == prompt_format.answer_grammar("complete", "python")
    broken = Task(
        kind="types", path="b.py", language="python", file_text="def f(x)\n    return x\n",
        shown_start=1, shown_end=2, target_start=1, target_end=1,
    )  # fmt: skip
    assert grammar_for(broken) == prompt_format.answer_grammar("types", "python")


@pytest.mark.model
@pytest.mark.timeout(900)  # grammar sampling over a 262k vocabulary is slow on a loaded 2-core box
def test_llama_cpp_accepts_every_grammar_and_decodes_only_annotated_signatures(
    base_gguf: Path,
) -> None:
    """Sampled as the daemon samples (temperature 0.7): all answers are usable signatures."""
    backend = EmbeddedBackend(EmbeddedSettings(model_path=base_gguf), num_ctx=2048)
    asyncio.run(backend.ensure_ready())
    built = 0
    try:
        # Three signatures cover every shape: plain, `/` + default + *rest + **extra, async + `*`.
        chosen = [task for task in types_tasks() if task.symbol in ("add", "label", "Cache.fetch")]
        for task in chosen:
            request = GenerationRequest(
                prompt=task.prompt(few_shot=True), temperature=0.7, max_tokens=120, seed=1,
                stop=prompt_format.STOP_SEQUENCES, grammar=grammar_for(task),
            )  # fmt: skip
            text = asyncio.run(backend.generate(request)).text
            code = text.split("```python\n", 1)[1].split("\n```", 1)[0]
            function = ast.parse(code.strip() + "\n    ...\n").body[0]
            assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            assert function.returns is not None
            arguments = function.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            annotated = [arg for arg in every if arg.arg not in ("self", "cls")]
            assert all(arg.annotation is not None for arg in annotated), code
            try:
                answer = prompt_format.parse_answer(text, "types")
            except Exception:  # the explanation may run out of tokens; the code is what counts
                continue
            build_suggestion(task, answer)
            built += 1
    finally:
        asyncio.run(backend.close())
    assert built >= 2
