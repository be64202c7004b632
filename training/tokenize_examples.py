"""Alpaca examples → token ids with labels: the loss is taken on the answer only.

The prompt comes from the daemon's shared prompt format (`format_training_example`), so the
model is trained on exactly the text it will see when serving. Prompt tokens get the label -100
(ignored by the loss); the answer is followed by EOS, so the model learns to stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from takeaways_daemon import prompt_format

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100


@dataclass(frozen=True)
class TokenizedExample:
    """One example's token ids and labels (-100 where no loss is taken)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def answer_tokens(self) -> int:
        """How many tokens carry a loss: the useful tokens of this example."""
        return sum(label != IGNORE_INDEX for label in self.labels)


def tokenize_example(
    tokenizer: PreTrainedTokenizerBase, row: Mapping[str, Any], max_len: int
) -> TokenizedExample | None:
    """Tokenize one {instruction, input, output} row; None if not even a few answer tokens fit."""
    prompt, completion = prompt_format.format_training_example(
        str(row["instruction"]), str(row.get("input") or ""), str(row["output"])
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    answer_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    answer_ids = [*answer_ids, tokenizer.eos_token_id]
    room = max_len - len(prompt_ids)
    if room < min(8, len(answer_ids)):
        return None
    answer_ids = answer_ids[:room]
    return TokenizedExample(
        input_ids=[*prompt_ids, *answer_ids],
        labels=[IGNORE_INDEX] * len(prompt_ids) + answer_ids,
    )


def tokenize_rows(
    tokenizer: PreTrainedTokenizerBase, rows: Iterable[Mapping[str, Any]], max_len: int
) -> tuple[list[TokenizedExample], int]:
    """Tokenize every row; also returns how many were dropped as too long for `max_len`."""
    examples, dropped = [], 0
    for row in rows:
        example = tokenize_example(tokenizer, row, max_len)
        if example is None:
            dropped += 1
        else:
            examples.append(example)
    return examples, dropped


def chat_template() -> str:
    """A Jinja chat template that renders the shared prompt format (written into the GGUF).

    The system message defaults to the daemon's; each user message is an instruction and each
    assistant message a response, exactly as `prompt_format.render_prompt` lays them out.
    """
    system = prompt_format.SYSTEM_PROMPT.replace("'", "\\'")
    instruction = prompt_format.INSTRUCTION_HEADER.replace("\n", "\\n")
    response = prompt_format.RESPONSE_HEADER.replace("\n", "\\n")
    return (
        "{%- set ns = namespace(system='" + system + "') -%}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'system' -%}{%- set ns.system = message['content'] -%}"
        "{%- endif -%}{%- endfor -%}"
        "{%- if ns.system -%}{{ ns.system + '\\n\\n' }}{%- endif -%}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}"
        "{{ '" + instruction + "' + message['content'] | trim + '\\n\\n" + response + "' }}"
        "{%- elif message['role'] == 'assistant' -%}"
        "{{ message['content'] + eos_token + '\\n\\n' }}"
        "{%- endif -%}{%- endfor -%}"
    )
