"""The Modelfile: rendered from `modelfiles/Modelfile.in`, `takeaways.yaml` and the prompt format.

`FROM` is the built GGUF; `TEMPLATE` is `prompt_format.ollama_template()`; `SYSTEM` is the
daemon's system prompt; the PARAMETERs are takeaways.yaml's sampling settings plus one `stop`
per prompt-format section header. `parse_modelfile` reads one back (tests, and registration,
which sends the same fields to Ollama's create API).

>>> parsed = parse_modelfile('FROM ./m.gguf\\nPARAMETER temperature 0.7\\nSYSTEM "Be brief."')
>>> (parsed.from_, parsed.parameters, parsed.system)
('./m.gguf', {'temperature': 0.7}, 'Be brief.')
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from takeaways_daemon import prompt_format
from takeaways_daemon.deployment_config import DeploymentConfig
from takeaways_daemon.errors import TakeawaysError

MODELFILES_DIR = Path(__file__).resolve().parents[1] / "modelfiles"
TEMPLATE_PATH = MODELFILES_DIR / "Modelfile.in"
RENDERED_PATH = MODELFILES_DIR / "Modelfile"
_COMMANDS = {"FROM", "TEMPLATE", "SYSTEM", "PARAMETER", "ADAPTER", "LICENSE", "MESSAGE"}


class ModelfileError(TakeawaysError):
    """A Modelfile that does not parse."""


def stop_sequences() -> list[str]:
    """The stops: each section header of the prompt format, without its leading newline.

    Ollama's Modelfile has no escape for a newline inside a quoted value, and stopping at the
    header alone is equivalent (the daemon trims the answer).
    """
    return [stop.strip() for stop in prompt_format.STOP_SEQUENCES]


def model_parameters(config: DeploymentConfig) -> dict[str, Any]:
    """What Ollama gets as `parameters`: takeaways.yaml's sampling settings and the stops."""
    return {**config.parameters, "stop": stop_sequences()}


def render_modelfile(
    gguf: str, config: DeploymentConfig, template_path: Path = TEMPLATE_PATH
) -> str:
    """The Modelfile text for `gguf` (a path, written as given)."""
    for text in (prompt_format.ollama_template(), prompt_format.SYSTEM_PROMPT):
        if '"""' in text:
            raise ModelfileError('the prompt format contains """, which a Modelfile cannot quote')
    lines = []
    for key, value in model_parameters(config).items():
        for item in value if isinstance(value, list) else [value]:
            shown = f'"{item}"' if isinstance(item, str) else item
            lines.append(f"PARAMETER {key} {shown}")
    return Template(template_path.read_text(encoding="utf-8")).substitute(
        gguf=gguf,
        template=prompt_format.ollama_template(),
        system=prompt_format.SYSTEM_PROMPT,
        parameters="\n".join(lines),
    )


@dataclass
class ParsedModelfile:
    """The fields of a Modelfile that takeaways uses."""

    from_: str = ""
    template: str = ""
    system: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


_INSTRUCTION = re.compile(r"^(?P<command>[A-Za-z]+)\s+(?P<rest>.*)$", re.DOTALL)


def parse_modelfile(text: str) -> ParsedModelfile:
    """Parse FROM / TEMPLATE / SYSTEM / PARAMETER lines, with triple-quoted blocks and quotes."""
    parsed = ParsedModelfile()
    for number, (command, value) in enumerate(_instructions(text), start=1):
        if command == "FROM":
            parsed.from_ = value
        elif command == "TEMPLATE":
            parsed.template = value
        elif command == "SYSTEM":
            parsed.system = value
        elif command == "PARAMETER":
            key, _, raw = value.partition(" ")
            if not raw.strip():
                raise ModelfileError(f"instruction {number}: PARAMETER {key} has no value")
            item = _parameter_value(raw.strip())
            if key == "stop":
                parsed.parameters.setdefault("stop", []).append(item)
            else:
                parsed.parameters[key] = item
    if not parsed.from_:
        raise ModelfileError("the Modelfile has no FROM line")
    return parsed


def _instructions(text: str) -> list[tuple[str, str]]:
    """(COMMAND, value) pairs; comments and blank lines skipped, triple-quoted values whole."""
    result, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _INSTRUCTION.match(line)
        command = match["command"].upper() if match else ""
        if command not in _COMMANDS:
            raise ModelfileError(f"line {index}: unknown instruction {line.split()[0]!r}")
        rest = match["rest"] if match else ""
        if rest.startswith('"""'):
            body = rest[3:]
            while not body.endswith('"""'):
                if index >= len(lines):
                    raise ModelfileError(f'line {index}: a """ block is never closed')
                body += "\n" + lines[index]
                index += 1
            rest = body[:-3]
        elif command != "PARAMETER" and rest.startswith('"') and rest.endswith('"'):
            rest = rest[1:-1]
        result.append((command, rest))
    return result


def _parameter_value(raw: str) -> Any:
    """A PARAMETER value as Ollama reads it: quoted text, an int, or a float."""
    if raw.startswith('"'):
        return shlex.split(raw)[0]
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def write_modelfile(target: Path, gguf: str, config: DeploymentConfig) -> Path:
    """Render and write a Modelfile (written beside and renamed: never half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(render_modelfile(gguf, config), encoding="utf-8")
    partial.replace(target)
    return target
