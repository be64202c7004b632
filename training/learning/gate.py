"""The gate: the candidate against the served model, measured the same way, before any swap.

Both are GGUF files served by the daemon's own embedded backend. Four checks, each with a
margin from `[learning]`: answers in the shared format parse (format validity), the held-out
accepted suggestions' loss is lower, HumanEval pass@1 (greedy, sandboxed) is not lower by more
than its margin, and the share of held-out injected bugs fixed (sandboxed tests) is not lower.
Any failure keeps the candidate out; the report says which check failed and by how much.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args

from takeaways_daemon import prompt_format
from takeaways_daemon.errors import MalformedAnswer
from takeaways_daemon.kinds import TaskKind
from takeaways_daemon.settings import LearningSettings
from training.data.alpaca_record import AlpacaRecord
from training.learning.fix_bench import FixTask

GATE_MAX_TOKENS = 256
_FORMAT_PROMPTS = 5
_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ModelScores:
    """One model's numbers in the gate (None: not measured)."""

    label: str
    format_valid: float
    answers: int
    held_out_loss: float | None
    humaneval_pass1: float | None
    fix_success: float | None


@dataclass(frozen=True)
class Check:
    """One gate check: passed or not, and the numbers behind it."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class GateReport:
    """The gate's verdict on a candidate."""

    candidate: ModelScores
    served: ModelScores
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    def reasons(self) -> list[str]:
        """The failed checks, one line each."""
        return [f"{check.name}: {check.detail}" for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (kept with the version, audited, printed)."""
        return {
            "passed": self.passed,
            "checks": [asdict(check) for check in self.checks],
            "candidate": asdict(self.candidate),
            "served": asdict(self.served),
        }


def decide(candidate: ModelScores, served: ModelScores, settings: LearningSettings) -> GateReport:
    """Apply the margins to two models' numbers."""
    checks = [
        _no_worse("format", candidate.format_valid, served.format_valid, settings.format_margin),
        _lower_loss(candidate.held_out_loss, served.held_out_loss, settings.loss_margin),
        _no_worse(
            "humaneval",
            candidate.humaneval_pass1,
            served.humaneval_pass1,
            settings.humaneval_margin,
        ),
        _no_worse("fixes", candidate.fix_success, served.fix_success, settings.fix_margin),
    ]
    return GateReport(candidate, served, tuple(checks))


def _no_worse(name: str, candidate: float | None, served: float | None, margin: float) -> Check:
    if candidate is None or served is None:
        return Check(name, True, "skipped (not measured)")
    passed = candidate >= served - margin - 1e-12
    relation = "within" if passed else "below"
    return Check(name, passed, f"{candidate:.3f} vs {served:.3f} ({relation} margin {margin})")


def _lower_loss(candidate: float | None, served: float | None, margin: float) -> Check:
    if candidate is None or served is None:
        return Check("held_out_loss", True, "skipped (no held-out examples)")
    passed = candidate < served - margin
    relation = "lower" if passed else "not lower"
    return Check(
        "held_out_loss", passed, f"{candidate:.4f} vs {served:.4f} ({relation}, margin {margin})"
    )


def measure(
    gguf: Path,
    label: str,
    *,
    held_out: Sequence[AlpacaRecord],
    fix_set: Sequence[FixTask],
    humaneval_problems: int,
    say: Callable[[str], None] = lambda line: None,
) -> ModelScores:
    """Every gate number for one GGUF, through the daemon's embedded backend."""
    from takeaways_daemon.backends.base import GenerationRequest
    from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
    from takeaways_daemon.model_identity import ModelIdentity
    from takeaways_daemon.sandbox import Sandbox
    from takeaways_daemon.settings import load_settings
    from training.evaluation.humaneval import load_problems
    from training.evaluation.model_runner import BackendRunner
    from training.evaluation.parallel_execution import execute_all
    from training.evaluation.problems import truncate_at_stop
    from training.learning.gguf_loss import held_out_loss

    say(f"      {label}: held-out loss")
    loss = held_out_loss(gguf, held_out)
    embedded = load_settings().backend.embedded
    backend = EmbeddedBackend(embedded, num_ctx=2048, model_path=gguf)
    runner = BackendRunner(backend, ModelIdentity.named(label))

    def greedy(prompt: str, stop: tuple[str, ...] = prompt_format.STOP_SEQUENCES) -> str:
        # Greedy for both models: the gate compares them, so sampling noise must not decide.
        request = GenerationRequest(prompt, temperature=0.0, max_tokens=GATE_MAX_TOKENS, stop=stop)
        return runner.generate(request)

    sandbox = Sandbox()
    try:
        say(f"      {label}: {len(fix_set)} fixes, {humaneval_problems} HumanEval problems")
        parsed = 0
        fix_jobs = []
        for index, task in enumerate(fix_set):
            text = greedy(task.prompt())
            code = _parsed_code(text, "fix")
            parsed += code is not None
            fix_jobs.append((index, task.program(code if code is not None else task.broken)))
        format_prompts = [r for r in held_out if r.kind in get_args(TaskKind)][:_FORMAT_PROMPTS]
        for record in format_prompts:
            text = greedy(prompt_format.render_prompt(record.instruction, record.input))
            parsed += _parsed_code(text, record.kind) is not None  # type: ignore[arg-type]
        answers = len(fix_set) + len(format_prompts)
        problems = load_problems()[:humaneval_problems] if humaneval_problems else []
        programs = []
        for problem in problems:
            raw = greedy(problem.prompt, problem.stop)
            programs.append((problem.task_id, problem.program(truncate_at_stop(raw, problem.stop))))
    finally:
        runner.close()
    fixed = sum(r.passed for _, r in execute_all(fix_jobs, sandbox, timeout_s=_TIMEOUT_S))
    passed = sum(r.passed for _, r in execute_all(programs, sandbox, timeout_s=_TIMEOUT_S))
    return ModelScores(
        label=label,
        format_valid=parsed / answers if answers else 1.0,
        answers=answers,
        held_out_loss=None if loss is None else round(loss, 4),
        humaneval_pass1=passed / len(problems) if problems else None,
        fix_success=fixed / len(fix_set) if fix_set else None,
    )


def real_bugs(tasks: Sequence[FixTask]) -> list[FixTask]:
    """The tasks whose broken code really fails its tests (checked in the sandbox)."""
    from takeaways_daemon.sandbox import Sandbox
    from training.evaluation.parallel_execution import execute_all

    jobs = [(index, task.broken_program()) for index, task in enumerate(tasks)]
    failing = {index for index, result in execute_all(jobs, Sandbox(), timeout_s=_TIMEOUT_S)
               if not result.passed}  # fmt: skip
    return [task for index, task in enumerate(tasks) if index in failing]


def _parsed_code(text: str, kind: TaskKind) -> str | None:
    """The answer's code when it parses in the shared format (explain: its explanation)."""
    try:
        answer = prompt_format.parse_answer(text, kind)
    except MalformedAnswer:
        return None
    return answer.code or answer.explanation
