"""The API's wire models: every shape the daemon's HTTP API sends, defined once.

The routes (`takeaways_daemon/api/*`) return these and `DaemonClient` parses answers into them,
so the CLI, the TUI and scripts work on typed objects instead of indexing string keys. A field
added here is added for the server and every client at once.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from takeaways_daemon.kinds import Outcome, SuggestionStatus, TaskKind
from takeaways_daemon.patches import LinePatch


def new_suggestion_id() -> str:
    """A short random id that is easy to type (`takeaways apply 3f9c2a1b`)."""
    return secrets.token_hex(4)


STAGES = ("queue", "prompt", "prefill", "generation", "verification", "parse")
"""Where a suggestion's time went, in order: waiting for the engine, building the prompt, the
model reading it (to its first token), the model writing, checking the answer in the sandbox,
and parsing and checking the answer."""


class SuggestionTelemetry(BaseModel):
    """How one suggestion was made: time per stage (ms, summed over best-of-n attempts), tokens,
    attempts, and whether the sandbox verified it (None: not verified either way)."""

    stages_ms: dict[str, float] = Field(default_factory=dict)
    tokens_in: int | None = None
    tokens_out: int | None = None
    attempts: int = 1
    verified: bool | None = None


class Suggestion(BaseModel):
    """One checked suggestion. `replacement` replaces lines `start_line..end_line` (1-based)."""

    id: str = Field(default_factory=new_suggestion_id)
    kind: TaskKind
    path: str
    start_line: int
    end_line: int
    replacement: str
    original: str
    title: str
    explanation: str
    diff: str = ""
    file_sha256: str
    """The file's fingerprint when the suggestion was made (or last re-anchored); apply refuses
    on a mismatch."""
    symbol: str | None = None
    backend: str = ""
    model: str = ""
    latency_ms: float = 0.0
    created_at: float = Field(default_factory=time.time)
    status: SuggestionStatus = "open"
    rating: int | None = None
    telemetry: SuggestionTelemetry | None = None
    injection_signs: list[str] = Field(default_factory=list)
    """Signs that the code the model read tries to steer it (`injection_markers.py`); such a
    suggestion is marked in the TUI and never becomes training data."""
    verified: bool | None = None
    """Whether the fix held up against its evidence in the sandbox; None: nothing to check it
    against (not a fix, or no sandbox)."""
    evidence: str = ""
    """What the check found, e.g. `tests/test_calc.py::test_total passed; was: assert 6 == 10`."""

    def patch(self) -> LinePatch:
        """The suggestion's edit as a `LinePatch`."""
        return LinePatch(self.path, self.start_line, self.end_line, self.replacement, self.original)

    def scan_view(self) -> dict[str, object]:
        """The stable JSON shape of `takeaways scan --json`."""
        return self.model_dump(
            include={
                "id", "kind", "path", "start_line", "end_line", "replacement", "title",
                "explanation", "diff", "verified", "evidence",
            }
        )  # fmt: skip


SuggestionEventType = Literal["added", "updated", "removed"]


class SuggestionEvent(BaseModel):
    """A change in the daemon's suggestions, as sent on the event stream (`GET /events`).

    `removed`: the daemon no longer keeps the suggestion (its store's bound pushed it out).
    """

    type: SuggestionEventType
    suggestion: Suggestion


class Health(BaseModel):
    """`GET /health`: the daemon answers."""

    ok: bool
    version: str
    root: str


class BackendView(BaseModel):
    """The model side of `/status`."""

    state: Literal["starting", "ready", "down"]
    name: str | None = None
    model: str | None = None
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class WatcherView(BaseModel):
    """The file watcher's side of `/status`."""

    mode: str
    queue_depth: int = 0


class SuggestionCounts(BaseModel):
    """How many suggestions the daemon keeps, and how many are still open."""

    kept: int = 0
    open: int = 0


class LatencyView(BaseModel):
    """Save → suggestion latency (ms) of this daemon run, and the model's mean generation time."""

    last: float | None = None
    p50: float | None = None
    p95: float | None = None
    generation_mean: float | None = None


class MetricsView(BaseModel):
    """What the daemon has done since it started: named counters and latencies."""

    counters: dict[str, int] = Field(default_factory=dict)
    latency_ms: LatencyView = Field(default_factory=LatencyView)


class HistoryView(BaseModel):
    """Whether history is kept, and where (the path and key source only when it is on)."""

    enabled: bool
    path: str | None = None
    key_source: str | None = None
    errors: int = 0
    pending_writes: int = 0


class LearningView(BaseModel):
    """The opt-in learning loop: on or off, and the automatic round in progress, if any."""

    enabled: bool = False
    round_running: bool = False
    stage: str | None = None
    """The running round's stage: export, train, merge, gguf, gate or swap."""
    last_decision: str | None = None
    rounds_started: int = 0


class TaskProgress(BaseModel):
    """The task the model works on now: which file and kind, which candidate, for how long."""

    path: str
    kind: TaskKind
    symbol: str | None = None
    candidate: int = 0
    """1-based: the candidate asked for now (or waiting its turn while `interactive` > 0)."""
    candidates: int = 1
    elapsed_s: float = 0.0


class NothingFound(BaseModel):
    """A task that ended without a suggestion, and why (so a quiet save is not a mystery)."""

    path: str
    kind: TaskKind
    reason: str
    """One sentence: "3 candidates rejected: the patched file does not parse", "cancelled"…"""
    at: float = Field(default_factory=time.time)


class ProgressView(BaseModel):
    """What the daemon is doing now (`/status`'s `progress`, and the event stream's `progress`)."""

    current: TaskProgress | None = None
    queued: int = 0
    """Background work waiting: changed files in the watcher's queue plus tasks left of the
    current change."""
    interactive: int = 0
    """Interactive requests (ask, explain more, generate) using or waiting for the model."""
    recent: list[NothingFound] = Field(default_factory=list)
    """The latest tasks that produced nothing, newest first."""


class FixView(BaseModel):
    """The fix checks' side of `/status`: whether the project's tests can run, and with what."""

    tests: str
    """The `fix.tests` setting: off, on-failure or scan-only."""
    sandbox: bool
    sandbox_reason: str
    """`bubblewrap at /usr/bin/bwrap`, or why there is no sandbox (then no test ever runs)."""
    interpreter: str
    """The Python the tests run with, and why that one."""


class DaemonStatus(BaseModel):
    """`GET /status` and the event stream's `hello`: everything the status bar and CLI show."""

    version: str
    pid: int
    root: str
    uptime_s: float
    backend: BackendView
    watcher: WatcherView
    suggestions: SuggestionCounts
    metrics: MetricsView
    history: HistoryView
    progress: ProgressView = Field(default_factory=ProgressView)
    learning: LearningView = Field(default_factory=LearningView)
    fix: FixView | None = None


StreamEvent = DaemonStatus | SuggestionEvent | ProgressView
"""What `DaemonClient.events()` yields: the `hello` status first, then suggestion events and
progress updates as they happen."""


class GenerateResult(BaseModel):
    """`POST /generate`: the code from the model's answer, the whole answer, who answered."""

    code: str
    text: str
    backend: str
    model: str
    latency_ms: float


class GenerateDone(BaseModel):
    """A streamed `POST /generate`'s last NDJSON line: the whole result, or why it failed."""

    done: Literal[True] = True
    result: GenerateResult | None = None
    error: str | None = None


class CancelResult(BaseModel):
    """`POST /progress/cancel`: whether a task was in flight to cancel, and which."""

    cancelled: bool
    task: TaskProgress | None = None


class AnswerChunk(BaseModel):
    """More of a follow-up answer (`POST /suggestions/{id}/ask`, one NDJSON line)."""

    text: str


class AnswerDone(BaseModel):
    """The follow-up answer's last line: which model answered, how fast, or why it failed."""

    done: Literal[True] = True
    backend: str | None = None
    model: str | None = None
    latency_ms: float | None = None
    error: str | None = None


AnswerRecord = AnswerChunk | AnswerDone


class HistoryItem(BaseModel):
    """One history row (`GET /history`). A tampered row has `tampered` set and blank text."""

    id: str
    created_at: float
    updated_at: float = 0.0
    kind: str
    path: str
    start_line: int
    end_line: int
    title: str
    explanation: str
    diff: str
    backend: str
    model: str
    latency_ms: float
    outcome: Outcome
    rating: int | None = None
    verified: bool | None = None
    evidence: str = ""
    tampered: bool = False


class HistoryItemDetail(HistoryItem):
    """One history row with what the model was shown (`GET /history/{id}`)."""

    context: str = ""
    prompt: str = ""


class HistoryPage(BaseModel):
    """A page of history rows, newest first, and how many match in all."""

    items: list[HistoryItem]
    total: int


class RatingCounts(BaseModel):
    """👍 and 👎 over the history."""

    up: int = 0
    down: int = 0


class HistoryLatency(BaseModel):
    """Save → suggestion latency percentiles (ms) over the history."""

    p50: float | None = None
    p95: float | None = None


class HistoryStats(BaseModel):
    """`GET /history/stats`: counts by kind and outcome, acceptance rate, ratings, latency."""

    total: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    outcomes: dict[str, int] = Field(default_factory=dict)
    acceptance_rate: float | None = None
    ratings: RatingCounts = Field(default_factory=RatingCounts)
    latency_ms: HistoryLatency = Field(default_factory=HistoryLatency)


class StageLatency(BaseModel):
    """Mean and p95 (ms) of one stage over a window's suggestions."""

    mean: float | None = None
    p95: float | None = None


class AccuracyRow(BaseModel):
    """How one task kind did with one model version over a window."""

    kind: str
    model: str
    suggestions: int = 0
    accepted: int = 0
    rejected: int = 0
    acceptance_rate: float | None = None
    """Accepted / (accepted + rejected); None before any decision."""
    rated: int = 0
    mean_rating: float | None = None
    """Mean of the 👍 (+1) and 👎 (-1) given; None before any rating."""
    verified: int = 0
    verified_fix_rate: float | None = None
    """Fixes the sandbox verified / fixes whose verification is known; None when none is."""


class StatsWindow(BaseModel):
    """The numbers for one stretch of time (last hour, last day, all time)."""

    name: str
    since: float | None = None
    suggestions: int = 0
    latency_ms: dict[str, float | None] = Field(default_factory=dict)
    """Save → suggestion p50, p95 and p99."""
    stages_ms: dict[str, StageLatency] = Field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    accuracy: list[AccuracyRow] = Field(default_factory=list)


class MemoryView(BaseModel):
    """The daemon's resident memory and the model's share of it (bytes), last sampled."""

    rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    model_bytes: int | None = None
    """The model's resident pages (the embedded GGUF mapped in this process); None when the model
    lives elsewhere (Ollama) or is not loaded."""
    sampled_at: float | None = None


class StatsReport(BaseModel):
    """`GET /stats`: the last hour, day and all time, from history and this run's live numbers."""

    windows: list[StatsWindow]
    memory: MemoryView = Field(default_factory=MemoryView)
    queue_depth: int = 0
    backend: str | None = None
    model: str | None = None
    counters: dict[str, int] = Field(default_factory=dict)
    recent_latency_ms: list[float] = Field(default_factory=list)
    """Save → suggestion latency of the latest suggestions, oldest first (the TUI's chart)."""
    history: bool = False
    """Whether windows include the encrypted history (else this run only)."""
