"""Load: 50 concurrent clients for 60 s on `/generate`, `/suggestions` and the event stream.

A live daemon on loopback (`tests/live_daemon.py`) with the `scripted` model, installed through
its entry point, answering every prompt after 20 ms: the test measures the daemon (admission,
API, engine, store, stream), not a model. While the clients run, files are saved one after
another, each making one suggestion. Proven here:

- p99 latency of admitted requests and the daemon's memory stay bounded (and are printed);
- every saved file's suggestion is kept exactly once, and every stream client that was
  connected before it was made receives it exactly once (nothing lost, nothing duplicated);
- load beyond a lane's slots is refused at once with 429 or 503 and `Retry-After`, and no
  request hangs (each has a 10 s client timeout; one running out fails the test).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httpx
import pytest

from takeaways_daemon.api.admission import MODEL_LANE
from takeaways_daemon.metrics import percentile
from takeaways_daemon.prompt_format import render_answer
from takeaways_daemon.settings import Settings
from takeaways_daemon.telemetry.memory import process_rss_bytes
from tests.live_daemon import LiveDaemon
from tests.plugins.install import install_plugin

if TYPE_CHECKING:
    from takeaways_scripted import ScriptedBackend

CLIENTS = 50
DURATION_S = float(os.environ.get("TAKEAWAYS_TEST_LOAD_SECONDS", "60"))
MODEL_DELAY_S = 0.02
SAVE_EVERY_S = 0.5
CLIENT_TIMEOUT_S = 10.0
P99_BOUND_S = 5.0
RSS_GROWTH_BOUND = 300 << 20
BROKEN = "def greet(name)\n    print('hi', name)\n"
GOOD = render_answer(
    "Add the missing colon",
    "The def line lacked its colon.",
    "def greet(name):\n    print('hi', name)",
)


class Tally:
    """What the clients saw."""

    def __init__(self) -> None:
        self.latency_s: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.missing_retry_after = 0
        self.seen: dict[int, list[str]] = defaultdict(list)
        self.stream_open_at: dict[int, float] = {}
        self.stream_closed_at: dict[int, float] = {}

    def record(self, route: str, response: httpx.Response, started: float) -> None:
        self.statuses[(route, response.status_code)] += 1
        if response.status_code in (429, 503):
            self.missing_retry_after += "retry-after" not in response.headers
        else:
            self.latency_s[route].append(time.monotonic() - started)


async def generate_client(http: httpx.AsyncClient, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        response = await http.post("/generate", json={"prompt": "add two numbers"})
        tally.record("/generate", response, started)
        if response.status_code == 200:
            assert "def greet" in response.json()["code"]
        elif response.status_code in (429, 503):
            await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 0.2))
        else:
            raise AssertionError(f"/generate: {response.status_code} {response.text}")


async def list_client(http: httpx.AsyncClient, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        response = await http.get("/suggestions")
        tally.record("/suggestions", response, started)
        assert response.status_code in (200, 429), response.text
        if response.status_code == 200:
            ids = [item["id"] for item in response.json()]
            assert len(ids) == len(set(ids)), "a suggestion listed twice"
        await asyncio.sleep(0.01)


async def stream_client(http: httpx.AsyncClient, tally: Tally, index: int, until: float) -> None:
    started = time.monotonic()
    async with http.stream(
        "GET", "/events", timeout=httpx.Timeout(CLIENT_TIMEOUT_S, read=20)
    ) as response:
        tally.record("/events", response, started)
        assert response.status_code == 200
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
                if event == "hello":
                    tally.stream_open_at[index] = time.time()
            elif line.startswith("data:") and event == "added":
                tally.seen[index].append(json.loads(line.partition(":")[2])["id"])
            if time.monotonic() >= until:
                tally.stream_closed_at[index] = time.time()
                return


async def saver(root: Path, until: float, saved: list[str]) -> None:
    while time.monotonic() < until - 2:  # the last save has time to become a suggestion
        name = f"mod_{len(saved):04d}.py"
        (root / name).write_text(BROKEN)
        saved.append(name)
        await asyncio.sleep(SAVE_EVERY_S)


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return install_plugin(
        tmp_path / "site", monkeypatch, "takeaways-scripted",
        {"scripted": "takeaways_scripted:register"},
    )  # fmt: skip


def test_fifty_clients_for_a_minute(scripted: Path, tmp_path: Path) -> None:
    settings = Settings(
        backend={"prefer": ["scripted"]}, tasks={"enabled": ["fix"]}, watcher={"debounce_ms": 50}
    )
    with LiveDaemon(tmp_path / "project", settings) as daemon:
        daemon.wait_for(lambda: daemon.service.supervisor.status.state == "ready")
        backend = cast("ScriptedBackend", daemon.service.supervisor.backend)
        for _ in range(int(DURATION_S * MODEL_LANE.slots / MODEL_DELAY_S) + 1000):
            backend.enqueue(GOOD, delay_s=MODEL_DELAY_S)
        rss_before = process_rss_bytes() or 0
        tally, saved = Tally(), []

        async def run() -> None:
            limits = httpx.Limits(max_connections=CLIENTS + 5, max_keepalive_connections=CLIENTS)
            async with httpx.AsyncClient(
                base_url=daemon.base_url, headers={"Authorization": f"Bearer {daemon.token}"},
                timeout=CLIENT_TIMEOUT_S, limits=limits,
            ) as http:  # fmt: skip
                until = time.monotonic() + DURATION_S
                clients = []
                for index in range(CLIENTS):
                    if index % 3 == 0:
                        clients.append(stream_client(http, tally, index, until))
                    elif index % 3 == 1:
                        clients.append(generate_client(http, tally, until))
                    else:
                        clients.append(list_client(http, tally, until))
                await asyncio.sleep(0)
                clients.append(saver(daemon.root, until, saved))
                await asyncio.gather(*clients)

        asyncio.run(run())
        daemon.wait_for(lambda: daemon.service.watcher.queue_depth == 0, timeout_s=30)
        daemon.wait_for(lambda: len(daemon.service.store) >= len(saved), timeout_s=30)
        kept = daemon.call(lambda: list(daemon.service.store))
        rss_after = process_rss_bytes() or 0
        metrics = daemon.http.get("/metrics").text

    p99 = {route: percentile(values, 0.99) for route, values in tally.latency_s.items()}
    print(f"\nload: {CLIENTS} clients, {DURATION_S:.0f} s, {len(saved)} files saved")
    print("  requests:", dict(sorted(tally.statuses.items())))
    print("  p99 (s):", {route: round(value or 0, 3) for route, value in p99.items()})
    print(f"  RSS: {rss_before >> 20} MiB → {rss_after >> 20} MiB")

    # Nothing lost, nothing duplicated: one suggestion per saved file, each id once.
    assert sorted(item.path for item in kept) == sorted(saved)
    assert len({item.id for item in kept}) == len(kept)
    added_ids = {item.id: item.created_at for item in kept}
    for index, seen in tally.seen.items():
        assert len(seen) == len(set(seen)), f"stream client {index} got an event twice"
        opened, closed = tally.stream_open_at[index], tally.stream_closed_at[index]
        # Every suggestion stored while the client listened (the daemon may still be catching
        # up on the last saves after the clients stop: those it cannot have seen).
        expected = {
            sid for sid, created in added_ids.items() if opened + 0.5 < created < closed - 0.5
        }
        assert expected <= set(seen), f"stream client {index} missed {expected - set(seen)}"
    assert len(tally.stream_open_at) == len(range(0, CLIENTS, 3))
    # Excess load was refused, with Retry-After; admitted requests were answered in bounds.
    refused = sum(n for (route, status), n in tally.statuses.items() if status in (429, 503))
    assert refused > 0 and tally.missing_retry_after == 0
    assert 'takeaways_requests_refused_total{route="model",status="503"}' in metrics
    assert tally.statuses[("/generate", 200)] > 0 and tally.statuses[("/suggestions", 200)] > 0
    assert all(value is not None and value < P99_BOUND_S for value in p99.values()), p99
    assert rss_after - rss_before < RSS_GROWTH_BOUND
