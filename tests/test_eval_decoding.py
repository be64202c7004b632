"""Evaluation decodes exactly as the daemon does, unless an override says otherwise, visibly.

The same task is asked of the real `SuggestionEngine` (through a real `BackendSupervisor`) and
of the real explain run (through eval's `BackendRunner`); both talk to `RecordingBackend`, which
keeps each request and answers nothing useful. A recorder stands in for a model because what is
compared is the request, not the answer: the real model would only make the test slow.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from takeaways_daemon.backends.base import Backend, GenerationRequest
from takeaways_daemon.backends.supervisor import BackendSupervisor
from takeaways_daemon.engine import SuggestionEngine
from takeaways_daemon.metrics import Metrics
from takeaways_daemon.model_identity import ModelIdentity
from takeaways_daemon.settings import Settings, load_settings
from takeaways_daemon.suggestions import SuggestionStore
from tests.plugins.stand_in import registry_serving
from training.evaluation.benchmark_run import sample_request
from training.evaluation.decoding import DecodingOverride
from training.evaluation.explanation_quality import ITEMS
from training.evaluation.explanation_run import run_explanations, summarize_explanations
from training.evaluation.humaneval import load_problems
from training.evaluation.model_runner import BackendRunner
from training.evaluation.reports import write_report
from training.evaluation.results_store import RunStore

MODELS = [ModelIdentity.packaged_base(), ModelIdentity.built()]


class RecordingBackend(Backend):
    """Keeps every request; answers with text that parses as nothing."""

    name = "recording"

    def __init__(self, model: str) -> None:
        self.model = model
        self.requests: list[GenerationRequest] = []

    async def ensure_ready(self) -> None:
        return None

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.requests.append(request)
        yield "not an answer"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    # A fixed seed: the daemon then seeds attempt i with seed + i, and eval follows the rule.
    monkeypatch.setenv("TAKEAWAYS_SAMPLING__SEED", "7")
    return load_settings()


def daemon_request(settings: Settings, model: ModelIdentity, tmp_path: Path) -> GenerationRequest:
    """The first request the daemon's engine makes for the first explain item."""
    backend = RecordingBackend(model.label)
    # Under both names: whichever the supervisor tries first.
    registry = registry_serving(backend, "ollama", "embedded")
    supervisor = BackendSupervisor(settings, registry)
    engine = SuggestionEngine(tmp_path, settings, supervisor, SuggestionStore(), Metrics())

    async def suggest() -> None:
        await supervisor.select()  # as the daemon's start does, before any suggestion
        assert await engine.suggest(ITEMS[0].task()) is None  # nothing parses

    asyncio.run(suggest())
    return backend.requests[0]


def eval_store(tmp_path: Path, settings: Settings, override: DecodingOverride) -> RunStore:
    from training.evaluation.decoding import decoding_settings

    run = {"benchmark": "explain", "model": "m", "model_spec": "m", "judge_model": None,
           "n": 1, **decoding_settings(settings.sampling, override)}  # fmt: skip
    return RunStore(tmp_path / "run", run)


def eval_request(
    settings: Settings, model: ModelIdentity, store: RunStore, override: DecodingOverride
) -> GenerationRequest:
    """The request eval's explain run makes for the first item."""
    backend = RecordingBackend(model.label)
    runner = BackendRunner(backend, model)
    try:
        run_explanations(runner, store, sampling=settings.sampling, override=override,
                         items=ITEMS[:1], progress=False)  # fmt: skip
    finally:
        runner.close()
    return backend.requests[0]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.label)
def test_eval_asks_exactly_what_the_daemon_asks_for_the_same_model_and_kind(
    settings: Settings, model: ModelIdentity, tmp_path: Path
) -> None:
    daemon = daemon_request(settings, model, tmp_path)
    store = eval_store(tmp_path, settings, DecodingOverride())
    evaluated = eval_request(settings, model, store, DecodingOverride())
    assert evaluated == daemon
    assert (daemon.temperature, daemon.repeat_penalty) == (0.7, 1.1)  # takeaways.yaml's
    # The worked example goes to models not tuned on our format, in the daemon and in eval.
    assert daemon.prompt == ITEMS[0].task().prompt(few_shot=not model.is_tuned)
    summary = summarize_explanations(store)
    assert summary["decoding_overrides"] == {}
    _, markdown = write_report(store.folder, summary)
    assert "decoding: the daemon's sampling" in markdown.read_text()


def test_an_override_changes_only_what_it_names_and_the_report_shows_it(
    settings: Settings, tmp_path: Path
) -> None:
    model = ModelIdentity.packaged_base()
    daemon = daemon_request(settings, model, tmp_path)
    override = DecodingOverride.greedy(max_tokens=64)
    store = eval_store(tmp_path, settings, override)
    evaluated = eval_request(settings, model, store, override)
    assert evaluated != daemon
    assert (evaluated.temperature, evaluated.repeat_penalty, evaluated.max_tokens) == (0, 1, 64)
    same = {"prompt", "top_p", "num_ctx", "stop", "seed", "grammar", "json_schema"}
    assert all(getattr(evaluated, name) == getattr(daemon, name) for name in same)
    summary = summarize_explanations(store)
    assert summary["decoding_overrides"] == {
        "temperature": {"used": 0.0, "daemon": 0.7},
        "repeat_penalty": {"used": 1.0, "daemon": 1.1},
        "max_tokens": {"used": 64, "daemon": 384},
    }
    json_path, markdown = write_report(store.folder, summary)
    assert "decoding: OVERRIDDEN: temperature 0.0 (daemon 0.7)" in markdown.read_text()
    assert json.loads(json_path.read_text())["decoding_overrides"] == summary["decoding_overrides"]


def test_benchmark_samples_use_the_daemons_sampling_unless_overridden(settings: Settings) -> None:
    problem = load_problems()[0]
    sampling = settings.sampling
    plain = sample_request(problem, 2, sampling, DecodingOverride())
    daemon = GenerationRequest.from_settings(problem.prompt, sampling)
    keys = ("temperature", "top_p", "repeat_penalty", "max_tokens", "num_ctx")
    assert all(getattr(plain, key) == getattr(daemon, key) for key in keys)
    assert plain.seed == 7 + 2 and plain.stop == problem.stop
    greedy = sample_request(problem, 2, sampling, DecodingOverride.greedy(max_tokens=512))
    assert (greedy.temperature, greedy.repeat_penalty, greedy.max_tokens) == (0, 1, 512)
    assert greedy.top_p == daemon.top_p
