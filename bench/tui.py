"""TUI responsiveness: keypress → screen updated, with 1,000 suggestions listed vs an empty list.

Both runs happen in this one process, one after the other, against a real daemon API on
loopback whose store holds the suggestions (tests/tui_support.py; no model, no watcher), with
the app headless at 120×40. A keypress counts as done when Textual has handled the key, laid
out and rendered the frame (the moment it hands the frame to the terminal driver); with the
empty list nothing changes on screen, so it ends when the app is idle again.

Measures: cursor down/up through the list; a new suggestion arriving at the top of the list
(the event handler: insert + keep newest first); a reconnect (the whole list rebuilt).

    .venv/bin/python bench/tui.py [--presses 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = 50.0


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def measure(count: int, presses: int) -> dict[str, tuple[float, float]]:
    """Latencies (p50, p95 in ms) for each measure, with `count` suggestions listed."""
    from textual import events

    from tests.tui_support import RECORDED_NOW, RecordedDaemon, many_suggestions
    from tui.app import TakeawaysApp
    from tui.daemon_link import DaemonLink
    from tui.main_screen import MainScreen

    root = Path(tempfile.mkdtemp()) / "project"
    root.mkdir()
    suggestions = many_suggestions(count + 1)
    extra, listed = suggestions[-1], suggestions[:count]
    results: dict[str, tuple[float, float]] = {}
    with RecordedDaemon(root, listed):
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        frames: list[float] = []
        original_display = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                frames.append(time.perf_counter())
            original_display(screen, renderable)

        app._display = display  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen_stack[0]
            assert isinstance(screen, MainScreen)
            while screen.suggestions.row_count != count or screen.status_bar.link != "connected":
                await pilot.pause(0.05)
            await pilot.pause(0.5)

            handled: list[float] = []
            table = screen.suggestions
            for name in ("action_cursor_down", "action_cursor_up"):
                action = getattr(table, name)

                def record(action: Any = action) -> None:
                    action()
                    handled.append(time.perf_counter())

                setattr(table, name, record)

            firsts: list[float] = []

            async def timed(action: Any) -> float:
                """From the input to the last frame it caused (or to its handling, if none).

                The first frame it caused is kept in `firsts`.
                """
                frames.clear()
                handled.clear()
                started = time.perf_counter()
                await action()
                await pilot.pause()
                await pilot.pause()
                ends = frames + handled
                last = max(ends) if ends else time.perf_counter()
                firsts.append(((min(frames) if frames else last) - started) * 1000)
                return (last - started) * 1000

            async def press(key: str) -> None:
                # What the terminal driver does with a keystroke: post it to the app.
                app.post_message(events.Key(key, None))

            samples = []
            for index in range(presses):
                key = "down" if (index // 20) % 2 == 0 else "up"
                samples.append(await timed(lambda key=key: press(key)))
            results["cursor down/up: first frame (cursor moved)"] = _percentiles(firsts)
            results["cursor down/up: last frame (detail pane shown)"] = _percentiles(samples)

            async def arrive() -> None:
                screen.post_message(DaemonLink.Changed("added", extra.model_dump()))

            async def leave() -> None:
                removed = extra.model_copy(update={"status": "rejected"})
                screen.post_message(DaemonLink.Changed("updated", removed.model_dump()))
                await pilot.pause()

            samples = []
            for _ in range(max(10, presses // 10)):
                samples.append(await timed(arrive))
                await leave()
            results["new suggestion arrives"] = _percentiles(samples)

            items = [item.model_dump() for item in reversed(listed)]

            async def reconnect() -> None:
                screen.post_message(DaemonLink.Connected(items))

            samples = [await timed(reconnect) for _ in range(5)]
            results["reconnect: whole list rebuilt"] = _percentiles(samples)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=200, help="keypresses per run")
    args = parser.parse_args()
    os.environ["TAKEAWAYS_HOME"] = tempfile.mkdtemp()
    os.environ["TAKEAWAYS_HISTORY__ENABLED"] = "false"  # the bench measures the UI, not sqlite
    empty = asyncio.run(measure(0, args.presses))
    full = asyncio.run(measure(1000, args.presses))
    print(f"keypress → screen updated, 120×40 headless, {args.presses} presses (ms)\n")
    print("| measure | 1,000 listed p50 / p95 | empty list p50 / p95 | target |")
    print("| --- | --- | --- | --- |")
    for name in full:
        (f50, f95), (e50, e95) = full[name], empty[name]
        target = f"p95 < {TARGET_MS:.0f} ms" if name.startswith("cursor") else ""
        print(f"| {name} | {f50:.1f} / {f95:.1f} | {e50:.1f} / {e95:.1f} | {target} |")
    for name in full:
        if name.startswith("cursor"):
            verdict = "meets" if full[name][1] < TARGET_MS else "MISSES"
            print(f"{name}, p95 with 1,000 suggestions: {verdict} the target")


if __name__ == "__main__":
    main()
