"""TUI responsiveness: keypress → screen updated, with 1,000 suggestions listed vs an empty list.

Both runs happen in this one process, one after the other, against a real daemon API on
loopback whose store holds the suggestions (tests/tui_support.py; no model, no watcher), with
the app headless at 120×40. Times run from the key event being posted to the app (what the
terminal driver does with a keystroke) to a frame being handed to the driver. A cursor move
counts as done only at the last frame written until the app is idle again, and not before a
frame whose detail-pane region contains the newly selected suggestion's title (the frames
written are read back, so a move whose detail never reaches the screen times out instead of
looking fast). With the empty list nothing changes on screen, so it ends when the app is idle.

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

from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = 50.0


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def region_text(update: Any, region: Region) -> str:
    """The text a frame writes inside `region` of the screen, whitespace collapsed."""
    lines: list[str] = []
    if isinstance(update, ChopsUpdate):
        for y in range(region.y, min(region.bottom, len(update.chops))):
            for x, strip in sorted(update.chops[y].items()):
                if strip is not None and x < region.right and x + strip.cell_length > region.x:
                    lines.append(strip.crop(max(0, region.x - x), region.right - x).text)
    elif isinstance(update, LayoutUpdate):
        for index, line in enumerate(update.strips):
            if region.y <= update.region.y + index < region.bottom:
                whole = Strip.join(list(line))
                start = region.x - update.region.x
                lines.append(whole.crop(max(0, start), start + region.width).text)
    return " ".join(" ".join(lines).split())


async def measure(count: int, presses: int) -> dict[str, tuple[float, float]]:
    """Latencies (p50, p95 in ms) for each measure, with `count` suggestions listed."""
    from textual import events

    from tests.tui_support import RECORDED_NOW, RecordedDaemon, many_suggestions
    from tui.app import TakeawaysApp
    from tui.daemon_link import DaemonLink
    from tui.display_text import one_line
    from tui.main_screen import MainScreen

    root = Path(tempfile.mkdtemp()) / "project"
    root.mkdir()
    suggestions = many_suggestions(count + 1)
    extra, listed = suggestions[-1], suggestions[:count]
    results: dict[str, tuple[float, float]] = {}
    with RecordedDaemon(root, listed):
        app = TakeawaysApp(root, clock=lambda: RECORDED_NOW, start_daemon=False)
        frames: list[float] = []
        written: list[tuple[float, Any]] = []  # each frame, read back after the timing
        original_display = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                now = time.perf_counter()
                frames.append(now)
                written.append((now, renderable))
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
            detail_region = screen.query_one("#detail-body").region

            def detail_written(title: str) -> float | None:
                """When the first frame showing `title` in the detail pane was written."""
                wanted = " ".join(title.split())
                for when, update in written:
                    if wanted in region_text(update, detail_region):
                        return when
                return None

            async def cursor_move(key: str) -> float:
                """Key → the last frame of the move, which must include the new detail."""
                frames.clear()
                handled.clear()
                written.clear()
                before = table.selected
                started = time.perf_counter()
                app.post_message(events.Key(key, None))
                await pilot.pause()
                shown_at = None
                if table.selected is not None and table.selected is not before:
                    title = one_line(table.selected.title, 60)
                    deadline = time.monotonic() + 5
                    while (shown_at := detail_written(title)) is None:
                        assert time.monotonic() < deadline, f"detail of {title!r} never drawn"
                        await pilot.pause()
                await pilot.pause()  # frames the move still causes (a scrollbar, say)
                ends = frames + handled
                last = max(ends) if ends else time.perf_counter()
                assert shown_at is None or last >= shown_at
                firsts.append(((min(frames) if frames else last) - started) * 1000)
                return (last - started) * 1000

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

            samples = []
            for index in range(presses):
                key = "down" if (index // 20) % 2 == 0 else "up"
                samples.append(await cursor_move(key))
            results["cursor down/up: first frame (cursor moved)"] = _percentiles(firsts)
            results["cursor down/up: last frame (detail pane shown)"] = _percentiles(samples)

            async def arrive() -> None:
                screen.post_message(DaemonLink.Changed("added", extra))

            async def leave() -> None:
                removed = extra.model_copy(update={"status": "rejected"})
                screen.post_message(DaemonLink.Changed("updated", removed))
                await pilot.pause()

            samples = []
            for _ in range(max(10, presses // 10)):
                samples.append(await timed(arrive))
                await leave()
            results["new suggestion arrives"] = _percentiles(samples)

            items = list(reversed(listed))

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
    print()  # Markdown ends a table at a blank line, not at a line of prose
    for name in full:
        if name.startswith("cursor"):
            verdict = "meets" if full[name][1] < TARGET_MS else "MISSES"
            print(f"{name}, p95 with 1,000 suggestions: {verdict} the target")


if __name__ == "__main__":
    main()
