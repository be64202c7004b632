"""One learning round: export → train → merge → gguf → gate → swap, each stage announced.

Everything a round writes before the swap lives in its scratch folder, wiped when the next
round starts; the served model changes only by the swap's rename. A process killed at any
point therefore leaves the served model whole and serving, and the next round starts clean.
Two rounds never overlap (a file lock, released by the kernel even on SIGKILL).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from takeaways_daemon import locations
from takeaways_daemon.errors import ConfigError, TakeawaysError
from takeaways_daemon.learning_paths import round_lock_file, round_work_dir, versions_dir
from takeaways_daemon.learning_trigger import STAGE_MARKER
from takeaways_daemon.settings import Settings
from training.learning import audit as learning_audit
from training.learning.build_artifacts import adapter_to_continue, build_data_file
from training.learning.filters import Selection, select_examples
from training.learning.mixing import RoundData, mix_round, read_replay_rows
from training.learning.round_state import LearningState
from training.learning.versions import (
    REJECTED_DIR,
    keep_served_if_unknown,
    keep_version,
    prune_versions,
    serve_version,
    served_version,
)

STAGES = ("export", "train", "merge", "gguf", "gate", "swap")
PURPOSE = "takeaways learn: a round on accepted suggestions"
Decision = Literal["installed", "rejected", "nothing-to-learn", "dry-run"]


class LearningOff(TakeawaysError):
    """Learning is off, so no round may read the history."""

    exit_code = 2


class RoundBusy(TakeawaysError):
    """Another round is running."""

    exit_code = 3


@dataclass
class RoundResult:
    """How a round ended, its report, and the version it made (if any)."""

    decision: Decision
    report: dict[str, Any] = field(default_factory=dict)
    version: str | None = None


def last_report_file() -> Path:
    """The report of the last round that ended (installed, rejected, nothing to learn, failed)."""
    return round_lock_file().parent / "last-round.json"


def _save_report(report: dict[str, Any]) -> None:
    """Keep the round's report (counts, stage times, gate numbers; never text) for later reading."""
    path = last_report_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    partial.replace(path)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_round(
    settings: Settings, *, dry_run: bool = False, say: Callable[[str], None] = _stderr
) -> RoundResult:
    """Run one round (or only its export and filters with `dry_run`)."""
    learning = settings.learning
    if not learning.enabled:
        raise LearningOff("learning is off; turn it on with `takeaways learn on`")
    if settings.backend.embedded.model_path is not None:
        raise ConfigError(
            "backend.embedded.model_path pins the served GGUF, so a round could not swap it; "
            "unset it to let learning serve its models"
        )
    started = time.time()
    with _round_lock():
        work = round_work_dir()
        _clear_leftovers(work)
        work.mkdir(parents=True)
        state = LearningState.load()
        timings: dict[str, float] = {}
        stage = _Stages(say, timings)
        stage("export")
        selection = _export(settings, state)
        replay_path = learning.replay_data or build_data_file(learning.base)
        data = mix_round(
            selection.examples, holdout_fraction=learning.holdout_fraction,
            verified_weight=learning.verified_weight, replay_rows=read_replay_rows(replay_path),
            replay_ratio=learning.replay_ratio, seed=state.rounds,
        )  # fmt: skip
        report: dict[str, Any] = {
            "started_at": started, "base": learning.base, **selection.counts(),
            "data": data.counts(), "replay_file": str(replay_path) if replay_path else None,
            "timings_s": timings,
        }  # fmt: skip
        say(f"      {json.dumps(selection.counts())}")
        if dry_run:
            return RoundResult("dry-run", report)
        if data.new_examples == 0:
            _finish(settings, state, selection, report, "nothing-to-learn", None)
            return RoundResult("nothing-to-learn", report)
        try:
            result = _train_and_gate(settings, work, data, stage, report, say)
        except BaseException as error:
            if isinstance(error, Exception):
                report["error"] = str(error)
                report["decision"] = "failed"
                _save_report(report)
                learning_audit.audit(
                    settings.history, learning_audit.ROUND, _audited(report, "failed")
                )
            raise
        _finish(settings, state, selection, report, result.decision, result.version)
        shutil.rmtree(work, ignore_errors=True)
        return result


class _Stages:
    """Announces each stage on stderr and times it."""

    def __init__(self, say: Callable[[str], None], timings: dict[str, float]) -> None:
        self.say, self.timings = say, timings
        self.current: str | None = None
        self.since = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.current is not None:
            self.timings[self.current] = round(now - self.since, 2)
        self.current, self.since = name, now
        number = STAGES.index(name) + 1 if name in STAGES else 0
        self.say(f"{STAGE_MARKER}{name} [{number}/{len(STAGES)}]")

    def end(self) -> None:
        """Close the timing of the last stage."""
        if self.current is not None:
            self.timings[self.current] = round(time.perf_counter() - self.since, 2)
            self.current = None


def _export(settings: Settings, state: LearningState) -> Selection:
    """Accepted rows since the last round, decrypted in memory only, then filtered."""
    from takeaways_daemon.history.maintenance import records_for_training
    from takeaways_daemon.history.store import HistoryStore, NoHistory

    if not settings.history.enabled:
        raise ConfigError("history is off, so there are no accepted suggestions to learn from")
    try:
        with HistoryStore.open(settings.history, create=False) as store:
            rows = records_for_training(store, PURPOSE)
    except NoHistory:
        rows = []
    return select_examples(rows, cursor=state.cursor, known=state.fingerprints)


def _train_and_gate(
    settings: Settings,
    work: Path,
    data: RoundData,
    stage: _Stages,
    report: dict[str, Any],
    say: Callable[[str], None],
) -> RoundResult:
    from takeaways_daemon.backends.model_files import embedded_model
    from takeaways_daemon.model_identity import ModelIdentity
    from training.base_model import resolve_base
    from training.evaluation.humaneval import load_problems
    from training.gguf_export import export_gguf
    from training.learning.continued_training import train_round
    from training.learning.fix_bench import daemon_fixes, fix_tasks
    from training.learning.gate import ModelScores, decide, measure
    from training.learning.gate_questions import gate_questions
    from training.merge import merge_adapter
    from training.verify import verify_export

    learning = settings.learning
    stage("train")
    base_path = resolve_base(learning.base)
    current = served_version()
    start_from = adapter_to_continue(current, learning.base)
    report["continued_from"] = current.id if current and start_from else None
    report["train"] = train_round(
        base_path, _round_recipe(settings), data.train_rows, work, start_from=start_from
    )
    stage("merge")
    merged = merge_adapter(base_path, work / "adapter", work / "merged")
    stage("gguf")
    paths = export_gguf(merged, work / "gguf", "takeaways-learned", (learning.quant,))
    agreement = verify_export(merged, paths["f16"])
    report["verify"] = {"agreement": round(agreement.ratio, 4)}
    candidate = paths[learning.quant]
    stage("gate")
    served_gguf, served_identity = embedded_model(settings.backend.embedded)
    fixes = daemon_fixes(fix_tasks(learning.fix_bugs)) if learning.fix_bugs else []
    problems = load_problems()[: learning.humaneval_problems] if learning.humaneval_problems else []
    questions = gate_questions(fixes, problems)

    def measured(gguf: Path, identity: ModelIdentity, label: str) -> ModelScores:
        return measure(gguf, identity, label=label, held_out=data.held_out, questions=questions,
                       settings=settings, say=say)  # fmt: skip

    # Once installed, the candidate is served as the built takeaways model: asked as such.
    gate = decide(
        measured(candidate, ModelIdentity.built(), "candidate"),
        measured(served_gguf, served_identity, served_identity.label),
        learning,
    )
    report["gate"] = gate.to_dict()
    stage("swap")
    meta = {
        "base": learning.base, "source": "round", "examples": data.new_examples,
        "replay": data.replay, "gate": gate.to_dict(), "continued_from": report["continued_from"],
    }  # fmt: skip
    if not gate.passed:
        kept = keep_version(
            candidate, meta, adapter=work / "adapter", root=versions_dir() / REJECTED_DIR
        )
        report["rejected_because"] = gate.reasons()
        report["kept_for_inspection"] = str(kept.folder)
        for reason in gate.reasons():
            say(f"      rejected: {reason}")
        stage.end()
        return RoundResult("rejected", report, kept.id)
    previous = keep_served_if_unknown(learning.base, fallback=served_gguf)
    version = keep_version(candidate, meta, adapter=work / "adapter")
    serve_version(version)
    say(f"      serving {version.id}")
    from training.learning.ollama_swap import register_served

    report["registration"] = register_served(version.gguf, settings, say)
    report["pruned"] = prune_versions(
        learning.keep_versions, protect=lambda v: v.id in {version.id}
    )
    learning_audit.audit(
        settings.history, learning_audit.SWAP,
        {"to": version.id, "from": previous.id if previous else None, "sha256": version.sha256,
         "reason": "round"},
    )  # fmt: skip
    stage.end()
    return RoundResult("installed", report, version.id)


def _finish(
    settings: Settings,
    state: LearningState,
    selection: Selection,
    report: dict[str, Any],
    decision: Decision,
    version: str | None,
) -> None:
    """Remember what this round looked at, and audit it."""
    state.cursor = max(state.cursor, selection.cursor)
    state.fingerprints |= {example.fingerprint for example in selection.examples}
    state.rounds += 1
    report["decision"] = decision
    report["version"] = version
    report["seconds"] = round(time.time() - report["started_at"], 1)
    state.last_round = {"at": time.time(), "decision": decision, "version": version}
    state.save()
    _save_report(report)
    learning_audit.audit(settings.history, learning_audit.ROUND, _audited(report, decision))


def _audited(report: dict[str, Any], decision: str) -> dict[str, Any]:
    """The round's numbers for the audit log (counts and gate numbers; never text)."""
    gate = report.get("gate") or {}
    return {
        "decision": decision,
        "accepted_new": report.get("accepted_new"),
        "used": report.get("used"),
        "dropped": report.get("dropped"),
        "data": report.get("data"),
        "gate": {
            "passed": gate.get("passed"),
            "candidate": gate.get("candidate"),
            "served": gate.get("served"),
            "failed": [c["name"] for c in gate.get("checks", []) if not c["passed"]],
        },
        "version": report.get("version"),
        "error": report.get("error"),
    }


def _round_recipe(settings: Settings) -> Any:
    """The recipe a round trains with: the setting's, else the base's own, for one epoch."""
    from takeaways_daemon.deployment_config import load_deployment_config
    from training.build import default_recipe_for
    from training.recipe import load_recipe

    learning = settings.learning
    if learning.recipe:
        recipe = load_recipe(learning.recipe)
    else:
        recipe = default_recipe_for(learning.base, load_deployment_config()).with_overrides(
            epochs=1
        )
    return recipe.with_overrides(base=learning.base, max_steps=learning.max_steps)


def _clear_leftovers(work: Path) -> None:
    """Remove whatever a killed round left: its scratch folder and half-written copies."""
    shutil.rmtree(work, ignore_errors=True)
    for root in (versions_dir(), versions_dir() / REJECTED_DIR):
        for partial in root.glob("*.partial") if root.is_dir() else ():
            shutil.rmtree(partial, ignore_errors=True)
    served = locations.built_model_path()
    served.with_name(served.name + ".partial").unlink(missing_ok=True)


@contextmanager
def _round_lock() -> Iterator[None]:
    path = round_lock_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RoundBusy("another learning round is running; try again later") from None
        yield
