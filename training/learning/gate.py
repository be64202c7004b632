"""The gate: the candidate against the served model, measured the same way, before any swap.

Both are GGUF files served by the daemon's own embedded backend, each asked the gate's questions
exactly as the daemon would ask that model (`gate_questions`). Four checks, each with a margin
from `[learning]`: the share of answers the daemon would turn into a suggestion (format
validity), the held-out accepted suggestions' loss is lower, HumanEval pass@1 (asked as the
daemon's `complete` task, greedy, sandboxed) is not lower by more than its margin, and the share
of held-out injected bugs fixed (sandboxed tests) is not lower. Any failure keeps the candidate
out; the report says which check failed and by how much.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.settings import LearningSettings, Settings
from training.data.alpaca_record import AlpacaRecord
from training.learning.gate_questions import Question, ask_and_score

if TYPE_CHECKING:
    from training.evaluation.model_runner import ModelRunner


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
    identity: ModelIdentity,
    *,
    label: str,
    held_out: Sequence[AlpacaRecord],
    questions: Sequence[Question],
    settings: Settings,
    say: Callable[[str], None] = lambda line: None,
) -> ModelScores:
    """Every gate number for one GGUF, served by the daemon's embedded backend as `identity`.

    `identity` is who the daemon would take the model for once served (the candidate: the
    built takeaways model), which decides the worked example, as in the daemon.
    """
    from training.learning.gguf_loss import held_out_loss

    say(f"      {label}: held-out loss")
    loss = held_out_loss(gguf, held_out)
    runner = open_gate_model(gguf, identity, settings)
    say(f"      {label}: {len(questions)} questions (fixes, HumanEval, format)")
    try:
        scores = ask_and_score(
            runner, questions, sampling=settings.sampling, policy=settings.tasks.few_shot, say=say
        )
    finally:
        runner.close()
    return ModelScores(
        label=label,
        format_valid=scores.format_valid,
        answers=scores.answers,
        held_out_loss=None if loss is None else round(loss, 4),
        humaneval_pass1=scores.humaneval_pass1,
        fix_success=scores.fix_success,
    )


def open_gate_model(gguf: Path, identity: ModelIdentity, settings: Settings) -> ModelRunner:
    """`gguf` in the daemon's embedded backend, with the daemon's context size."""
    from takeaways_daemon.backends.embedded_backend import EmbeddedBackend
    from training.evaluation.model_runner import BackendRunner

    backend = EmbeddedBackend(
        settings.backend.embedded, num_ctx=settings.sampling.num_ctx, model_path=gguf
    )
    return BackendRunner(backend, identity)
