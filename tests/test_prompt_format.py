"""Specification of the one prompt format: prompts, answers, the decoding grammar and templates."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from takeaways_daemon import few_shot, prompt_format
from takeaways_daemon.errors import MalformedAnswer
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.prompt_format import (
    INSTRUCTION_HEADER,
    RESPONSE_HEADER,
    STOP_SEQUENCES,
    SYSTEM_PROMPT,
    answer_grammar,
    format_training_example,
    instruction,
    ollama_template,
    parse_answer,
    render_answer,
    render_prompt,
    render_task_input,
)
from takeaways_daemon.tasks import Task

KINDS: tuple[TaskKind, ...] = get_args(TaskKind)
CODE_KINDS = tuple(kind for kind in KINDS if kind != "explain")

CODE = "def add(a, b):\n\n    `backticks` inside = '``'\n    return a + b"


def _rendered(kind: TaskKind) -> str:
    code = None if kind == "explain" else CODE
    return render_answer("Add  the\tcolon", "It was missing.\nNow it is there.", code)


class TestAnswers:
    @pytest.mark.parametrize("kind", KINDS)
    def test_a_rendered_answer_parses_back(self, kind: TaskKind) -> None:
        answer = parse_answer(_rendered(kind), kind)
        assert answer.kind == kind
        assert answer.title == "Add the colon"
        assert answer.explanation == "It was missing.\nNow it is there."
        assert answer.code == ("" if kind == "explain" else CODE)

    def test_an_explanation_has_no_code_block(self) -> None:
        assert "```" not in render_answer("Prints a greeting", "It prints.", None)

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("stop", STOP_SEQUENCES)
    def test_text_after_a_stop_sequence_is_ignored(self, kind: TaskKind, stop: str) -> None:
        """A model that runs on into a new prompt section still yields its first answer."""
        rambling = f"{_rendered(kind)}{stop}\nTitle: another\nExplanation: more"
        assert parse_answer(rambling, kind) == parse_answer(_rendered(kind), kind)

    def test_crlf_answers_parse_like_lf_answers(self) -> None:
        crlf = _rendered("fix").replace("\n", "\r\n")
        assert parse_answer(crlf, "fix") == parse_answer(_rendered("fix"), "fix")

    def test_leading_whitespace_and_fence_languages_are_tolerated(self) -> None:
        text = "\n  Title: T\n```py\nx = 1\n```\nExplanation: E"
        assert parse_answer(text, "fix").code == "x = 1"

    def test_an_overlong_title_is_cut(self) -> None:
        answer = parse_answer(render_answer("word " * 50, "E", "x = 1"), "fix")
        assert len(answer.title) == prompt_format.MAX_TITLE_CHARS

    @pytest.mark.parametrize(
        ("kind", "text", "message"),
        [
            ("fix", "```python\nx = 1\n```\nExplanation: E", "lacks a `Title:`"),
            ("explain", "Explanation: no title", "lacks a `Title:`"),
            ("fix", "Title: T\nExplanation: forgot the code", "no code"),
            ("complete", "Title: T\n```python\n\n```\nExplanation: E", "no code"),
            ("explain", "Title: T\nExplanation:   ", "empty explanation"),
            ("docstring", "Title:   \n```\nx\n```\nExplanation: E", "empty title"),
            ("fix", "Sure! Here is the fixed code: x = 1", "lacks a `Title:`"),
            ("fix", "Title: T\n```python\nx = 1\n    y = 2", "lacks a `Title:`"),
            ("explain", "Title: T\nThis does things.", "lacks a `Title:`"),
        ],
        ids=[
            "no title",
            "explain without title",
            "code kind without code",
            "blank code",
            "empty explanation",
            "blank title",
            "prose",
            "cut off inside the code",
            "no explanation line",
        ],
    )
    def test_malformed_answers_are_refused(self, kind: TaskKind, text: str, message: str) -> None:
        with pytest.raises(MalformedAnswer, match=re.escape(message)):
            parse_answer(text, kind)

    def test_an_unclosed_fence_ends_where_the_explanation_line_starts(self) -> None:
        """The packaged base wrote its explanation inside a block it never closed (real code)."""
        text = "Title: Document\n```python\nReturn the total.\n\nExplanation: Says what it does."
        answer = parse_answer(text, "docstring")
        assert (answer.code, answer.explanation) == ("Return the total.", "Says what it does.")
        inline = "Title: T\n```python\nprint('Explanation: no')\n```\nExplanation: E"
        assert parse_answer(inline, "fix").code == "print('Explanation: no')"

    def test_overlong_code_is_refused(self) -> None:
        code = "x = 1\n" * (prompt_format.MAX_CODE_CHARS // 5)
        with pytest.raises(MalformedAnswer, match="too long"):
            parse_answer(render_answer("T", "E", code), "fix")


def _gbnf_to_regex(grammar: str) -> re.Pattern[str]:
    """Translate a small, non-recursive GBNF grammar into an equivalent Python regex.

    llama-cpp-python 0.3 only parses a grammar when it builds a sampler for a loaded model, and
    tests never load the model, so this stands in for llama.cpp's parser. It supports exactly
    what `answer_grammar` uses: literals, character classes, rule names, `|`, `( )`, `* + ?`.
    """
    rules = {}
    for line in grammar.splitlines():
        name, _, body = line.partition("::=")
        assert body, f"not a rule: {line!r}"
        rules[name.strip()] = body
    token = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|[A-Za-z][\w-]*|[|*+?()])')
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}

    def compile_rule(name: str, depth: int = 0) -> str:
        assert depth < 20, "recursive grammar"
        tokens = token.findall(rules[name])
        assert not token.sub("", rules[name]).strip(), f"cannot tokenise {name}"
        position = 0

        def alternatives() -> str:
            nonlocal position
            options = [sequence()]
            while position < len(tokens) and tokens[position] == "|":
                position += 1
                options.append(sequence())
            return "(?:" + "|".join(options) + ")"

        def sequence() -> str:
            nonlocal position
            parts = []
            while position < len(tokens) and tokens[position] not in ("|", ")"):
                current = tokens[position]
                position += 1
                if current == "(":
                    atom = alternatives()
                    assert tokens[position] == ")"
                    position += 1
                elif current.startswith('"'):
                    text = re.sub(r"\\(.)", lambda m: escapes[m[1]], current[1:-1])
                    atom = re.escape(text)
                elif current.startswith("["):
                    atom = current  # GBNF classes and their escapes read the same in `re`.
                else:
                    assert current in rules, f"undefined rule {current}"
                    atom = f"(?:{compile_rule(current, depth + 1)})"
                if position < len(tokens) and tokens[position] in "*+?":
                    atom = f"(?:{atom}){tokens[position]}"
                    position += 1
                parts.append(atom)
            return "".join(parts)

        pattern = alternatives()
        assert position == len(tokens), f"trailing tokens in {name}"
        return pattern

    return re.compile(compile_rule("root"))


class TestAnswerGrammar:
    @pytest.mark.parametrize("kind", KINDS)
    def test_every_rule_it_names_is_defined(self, kind: TaskKind) -> None:
        """llama.cpp refuses a grammar that refers to a rule it does not define."""
        grammar = answer_grammar(kind)
        defined = {line.partition("::=")[0].strip() for line in grammar.splitlines()}
        outside_literals = re.sub(r'"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]', " ", grammar)
        named = set(re.findall(r"[A-Za-z][\w-]*", outside_literals))
        assert "root" in defined
        assert named == defined

    @pytest.mark.parametrize("kind", KINDS)
    def test_admits_the_rendered_answer_of_its_kind(self, kind: TaskKind) -> None:
        assert _gbnf_to_regex(answer_grammar(kind)).fullmatch(_rendered(kind))

    @pytest.mark.parametrize("kind", KINDS)
    def test_admits_the_few_shot_demonstration_answer(self, kind: TaskKind) -> None:
        demo = few_shot.demonstration(kind)
        answer = demo.split(RESPONSE_HEADER, 1)[1].rstrip("\n")
        assert _gbnf_to_regex(answer_grammar(kind)).fullmatch(answer)

    def test_code_kinds_must_have_a_code_block_and_explain_must_not(self) -> None:
        with_code, without_code = _rendered("fix"), _rendered("explain")
        for kind in CODE_KINDS:
            assert not _gbnf_to_regex(answer_grammar(kind)).fullmatch(without_code)
        assert not _gbnf_to_regex(answer_grammar("explain")).fullmatch(with_code)

    def test_the_fence_names_the_language(self) -> None:
        rust = render_answer("T", "E", "let x = 1;", language="rust")
        assert _gbnf_to_regex(answer_grammar("fix", "rust")).fullmatch(rust)
        assert not _gbnf_to_regex(answer_grammar("fix", "python")).fullmatch(rust)

    @pytest.mark.parametrize(
        "text",
        [
            "Sure! Here is the fix.",
            "Title: T\nExplanation: E\n### Instruction:\nsomething else",
            "Title: T\nExplanation: one\ntwo\nthree\nfour\nfive",
            "Title: T\nExplanation: E\n\nafter a blank line",
            "Title: `T`\nExplanation: E",
            "Title: T\nExplanation: E\n",
        ],
        ids=[
            "prose",
            "runs into a new section",
            "five lines",
            "blank line",
            "fenced title",
            "newline",
        ],
    )
    def test_refuses_what_the_parser_would_refuse_or_the_prompt_would_confuse(
        self, text: str
    ) -> None:
        assert not _gbnf_to_regex(answer_grammar("explain")).fullmatch(text)

    def test_a_fence_line_inside_the_code_ends_the_block(self) -> None:
        """No code line may start with ``` (it would close the fence early for the parser)."""
        nested = "Title: T\n```python\n```inner\n```\nExplanation: E"
        assert not _gbnf_to_regex(answer_grammar("fix")).fullmatch(nested)


class TestTemplates:
    def test_the_ollama_template_has_go_placeholders(self) -> None:
        template = ollama_template()
        for placeholder in ("{{ .Prompt }}", "{{ .Response }}", "{{ .System }}"):
            assert placeholder in template
        order = [template.index(part) for part in (
            "{{ .System }}", INSTRUCTION_HEADER, "{{ .Prompt }}", RESPONSE_HEADER, "{{ .Response }}"
        )]  # fmt: skip
        assert order == sorted(order)

    @pytest.mark.parametrize("system", [SYSTEM_PROMPT, ""])
    def test_the_ollama_template_renders_like_render_prompt(self, system: str) -> None:
        """Filling the Modelfile template gives the daemon's prompt text exactly."""
        text = ollama_template()
        text = re.sub(
            r"\{\{ if \.System \}\}(.*?)\{\{ end \}\}",
            lambda m: m[1] if system else "",
            text,
            flags=re.DOTALL,
        )
        user = "Write a function that adds two numbers."
        filled = text.replace("{{ .System }}", system).replace("{{ .Prompt }}", user)
        assert filled.replace("{{ .Response }}", "") == render_prompt(user, "", system=system)

    def test_training_examples_use_the_daemons_prompt(self) -> None:
        task = _task("x = (\n", kind="fix", error="line 1: '(' was never closed")
        inputs = render_task_input(path="a.py", language="python", code="x = (", error=task.error)
        prompt, completion = format_training_example(instruction("fix"), inputs, "Title: T")
        assert prompt == task.prompt()
        assert completion == "Title: T"


def _task(text: str, *, kind: TaskKind = "explain", error: str | None = None) -> Task:
    lines = len(text.splitlines())
    return Task(
        kind=kind, path="a.py", language="python", file_text=text, shown_start=1,
        shown_end=lines, target_start=1, target_end=lines, symbol="f" if kind != "fix" else None,
        error=error, frameworks=("pytest",) if kind != "fix" else (),
    )  # fmt: skip


class TestTaskPrompt:
    def test_the_code_comes_last_just_before_the_response(self) -> None:
        text = "def f(x):\n    return x\n"
        prompt = _task(text).prompt()
        assert prompt.startswith(SYSTEM_PROMPT)
        assert prompt.endswith(f"```python\n{text}```\n\n{RESPONSE_HEADER}")
        code_at = prompt.index("def f(x):")
        for known in ("File: a.py (python)", "Symbol: f", "Uses: pytest", INSTRUCTION_HEADER):
            assert prompt.index(known) < code_at

    def test_prompts_for_one_file_share_everything_before_the_first_changed_line(self) -> None:
        """The embedded backend reuses the prefill of the shared prefix, so it must be long."""
        lines = [f"    value_{n} = {n}\n" for n in range(40)]
        before = "def f():\n" + "".join(lines)
        lines[25] = "    value_25 = 'changed'\n"
        after = "def f():\n" + "".join(lines)
        first, second = _task(before).prompt(), _task(after).prompt()
        shared = next(n for n, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
        assert shared >= first.index("    value_25 = 25")
        assert "value_25 = 25" not in first[:shared]

    def test_a_code_block_holding_a_fence_gets_a_longer_fence(self) -> None:
        prompt = _task('DOC = """\n```python\nx\n```\n"""\n').prompt()
        assert "Code:\n````python\n" in prompt
        assert prompt.endswith(f'"""\n````\n\n{RESPONSE_HEADER}')

    @pytest.mark.parametrize("kind", KINDS)
    def test_few_shot_puts_one_system_prompt_and_a_valid_demonstration_first(
        self, kind: TaskKind
    ) -> None:
        task = _task("def f(x):\n    return x\n", kind=kind)
        prompt = task.prompt(few_shot=True)
        assert prompt.startswith(SYSTEM_PROMPT)
        assert prompt.count(SYSTEM_PROMPT) == 1
        assert prompt.count(RESPONSE_HEADER) == 2
        assert prompt.endswith(task.prompt().removeprefix(f"{SYSTEM_PROMPT}\n\n"))
        demo_answer = prompt.split(RESPONSE_HEADER)[1]
        answer = parse_answer(demo_answer, kind)
        assert answer.title
        assert answer.kind == kind
        assert bool(answer.code) == (kind != "explain")
