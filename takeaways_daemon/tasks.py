"""A task: one question for the model about one place in one file."""

from __future__ import annotations

from dataclasses import dataclass, field

from takeaways_daemon import few_shot as few_shot_examples
from takeaways_daemon import prompt_format
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.verification.verdict import Evidence


@dataclass(frozen=True)
class Task:
    """What to ask, about which lines, and which lines the answer may replace.

    Lines are 1-based and inclusive. `shown_*` is the snippet given to the model; `target_*` is
    the range a patch built from the answer replaces (see suggestion_builder for each kind).
    """

    kind: TaskKind
    path: str
    """Path relative to the project root, with forward slashes."""
    language: str
    file_text: str
    """The whole file as analysed: patches are checked against it."""
    shown_start: int
    shown_end: int
    target_start: int
    target_end: int
    indent: str = ""
    """Indentation the answer's code is re-indented to."""
    symbol: str | None = None
    """Enclosing function or class, such as `Parser.feed`."""
    error: str | None = None
    """The error a fix addresses, with line and column."""
    frameworks: tuple[str, ...] = field(default=())
    evidence: Evidence = field(default=None, compare=False)
    """What a fix answers and is checked against (syntax error, diagnostic, failing tests)."""
    failure: str | None = None
    """A failing test's evidence for the prompt: the end of its traceback."""

    @property
    def shown_code(self) -> str:
        """The snippet the model sees."""
        lines = self.file_text.splitlines()
        return "\n".join(lines[self.shown_start - 1 : self.shown_end])

    def input_text(self) -> str:
        """The prompt's input section (also what training examples are built from)."""
        return prompt_format.render_task_input(
            path=self.path,
            language=self.language,
            code=self.shown_code,
            symbol=self.symbol,
            error=self.error,
            frameworks=self.frameworks,
            failure=self.failure,
        )

    def prompt(self, *, few_shot: bool = False) -> str:
        """The full prompt for this task; `few_shot` puts a worked example first."""
        prompt = prompt_format.render_prompt(
            prompt_format.instruction(self.kind, self.language),
            self.input_text(),
            system="" if few_shot else prompt_format.SYSTEM_PROMPT,
        )
        if few_shot:
            # The system line goes first, once; the demonstration follows it.
            demo = few_shot_examples.demonstration(self.kind, self.language)
            return demo + prompt
        return prompt

    def messages(self, *, few_shot: bool = False) -> tuple[prompt_format.ChatMessage, ...]:
        """The same prompt as chat turns (system, worked example, task), for chat templates."""
        examples = [few_shot_examples.demonstration_turns(self.kind, self.language)]
        return prompt_format.chat_messages(
            prompt_format.instruction(self.kind, self.language),
            self.input_text(),
            examples=examples if few_shot else (),
        )
