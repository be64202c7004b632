"""What a person sees in `takeaways-tui` while the model works, in a real terminal (tmux).

The TUI is the installed console script; it starts a real daemon (real watcher, engine,
supervisor, API) whose model is the scripted plugin, configured in config.toml to answer every
request with the same text after a fixed delay: a slow model, deterministic, in seconds.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from takeaways_daemon.prompt_format import FOLLOW_UP_INSTRUCTION, render_answer
from tests.scripted_terminal import (
    install_scripted,
    journal_entries,
    pane_environment,
    tui_in_tmux,
    write_config,
)
from tests.tmux_pane import TmuxPane

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

BROKEN = "def greet(name)\n    print('hi', name)\n"
# Still broken after the scripted fix replaces the def: the checks reject every candidate.
BROKEN_TWICE = "def greet(name)\n    print('hi', name)\n\n\nprint((1)\n"
LONG_FIX = "def greet(name):\n" + "".join(f"    step_{n} = {n}\n" for n in range(40))
REPLY = render_answer("Add the missing colon", "The def line lacked its colon.", LONG_FIX)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("demo\n")
    return root


def scripted_config(tmp_path: Path, delay_s: float, candidates: int = 3) -> Path:
    """config.toml for a slow scripted model; returns the journal's path."""
    journal = tmp_path / "journal.jsonl"
    write_config(
        {
            "backend": {"prefer": ["scripted"]},
            "backend.scripted": {"reply": REPLY, "reply_delay_s": delay_s, "journal": str(journal)},
            "tasks": {"enabled": ["fix"]},
            "sampling": {"candidates": candidates},
            # The long reply is far more than a missing colon needs, so its check fails: show it
            # anyway (marked), after exactly `candidates` tries, as these tests count them.
            "fix": {"max_candidates": candidates, "show_unverified": True},
            "watcher": {"debounce_ms": 100},
        }
    )
    return journal


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return install_scripted(tmp_path / "site")


@contextmanager
def connected_tui(
    tmp_path: Path, project: Path, site: Path, size: tuple[int, int]
) -> Iterator[TmuxPane]:
    """The TUI in tmux, once it shows a connected daemon."""
    with tui_in_tmux(tmp_path, project, pane_environment(site), size=size) as pane:
        pane.wait_for(lambda shown: "● connected" in shown, timeout=60)
        yield pane


def test_the_progress_line_shows_the_task_its_candidates_and_why_it_found_nothing(
    tmp_path: Path, project: Path, site: Path
) -> None:
    """At 80x24: `fix bad.py · candidate k/3 · N s` while it runs, then the checks' reason; the
    status bar still ends with the watcher mode."""
    scripted_config(tmp_path, delay_s=1.5)
    with connected_tui(tmp_path, project, site, (80, 24)) as pane:
        (project / "bad.py").write_text(BROKEN_TWICE)
        pane.wait_for(lambda shown: "⟳ fix bad.py · candidate 1/3" in shown, timeout=20)
        shown = pane.wait_for(lambda shown: "candidate 2/3" in shown, timeout=20)
        assert "x cancels" in shown
        status_bar = next(line for line in shown.splitlines() if "● connected" in line)
        assert status_bar.rstrip().endswith("inotify"), status_bar
        shown = pane.wait_for(lambda shown: "found nothing" in shown, timeout=20)
        line = next(line for line in shown.splitlines() if "found nothing" in line)
        assert "fix bad.py: 3 candidates rejected" in line, line


def test_the_cancel_key_cancels_the_task_in_flight(
    tmp_path: Path, project: Path, site: Path
) -> None:
    """`x` during a 60 s candidate ends it at once, and the line says it was cancelled."""
    scripted_config(tmp_path, delay_s=60)
    with connected_tui(tmp_path, project, site, (120, 40)) as pane:
        (project / "bad.py").write_text(BROKEN_TWICE)
        pane.wait_for(lambda shown: "candidate 1/3" in shown, timeout=20)
        started = time.monotonic()
        pane.keys("x")
        shown = pane.wait_for(lambda shown: "found nothing" in shown, timeout=10)
        assert time.monotonic() - started < 10
        assert "fix bad.py: cancelled" in shown


def test_a_new_suggestion_is_selected_and_its_diff_scrolls_with_space_at_80x24(
    tmp_path: Path, project: Path, site: Path
) -> None:
    """The newest suggestion takes the cursor (so `e` explains what just arrived); its 40-line
    diff is below the fold at 80x24, and space (listed in the help) pages through it."""
    scripted_config(tmp_path, delay_s=0.2, candidates=1)
    with connected_tui(tmp_path, project, site, (80, 24)) as pane:
        (project / "first.py").write_text(BROKEN)
        pane.wait_for(lambda shown: "first.py:1-2" in shown, timeout=20)
        (project / "second.py").write_text(BROKEN)
        # The detail pane's heading names the selected suggestion with its line range.
        shown = pane.wait_for(lambda shown: "second.py:1-" in shown, timeout=20)
        assert "first.py:1-" not in shown
        assert "step_39" not in shown
        seen_last_line = False
        for _ in range(12):
            pane.keys("Space")
            time.sleep(0.3)
            if "step_39" in pane.screen():
                seen_last_line = True
                break
        assert seen_last_line, pane.screen()
        pane.keys("?")
        help_screen = pane.wait_for(lambda shown: "scroll-detail" in shown, timeout=10)
        assert "space" in help_screen


def test_an_interactive_request_is_served_before_the_queued_background_candidates(
    tmp_path: Path, project: Path, site: Path
) -> None:
    """`e` (explain more) during a 3-candidate background task gets the model at the next
    candidate boundary: the journal shows it between candidates 1 and 2, never overlapping."""
    journal = scripted_config(tmp_path, delay_s=2.0)
    with connected_tui(tmp_path, project, site, (120, 40)) as pane:
        (project / "good.py").write_text(BROKEN)
        # Its 3 candidates all fail their check (the reply rewrites far more than the colon);
        # the first is shown, marked unverified: a suggestion to explain.
        pane.wait_for(lambda shown: "good.py:1-" in shown, timeout=30)
        (project / "bad.py").write_text(BROKEN_TWICE)
        pane.wait_for(lambda shown: "candidate 1/3" in shown, timeout=20)
        pane.keys("e")
        pane.wait_for(lambda shown: "found nothing" in shown, timeout=40)
    entries = sorted(journal_entries(journal), key=lambda entry: entry["start"])
    kinds = [
        "ask" if entry["instruction"].startswith(FOLLOW_UP_INSTRUCTION[:30]) else "task"
        for entry in entries
    ]
    # good.py's three candidates, bad.py's first, then the question, then bad.py's other two.
    assert kinds == ["task"] * 4 + ["ask", "task", "task"], entries
    for earlier, later in itertools.pairwise(entries):
        assert later["start"] >= earlier["end"] - 0.05, "the model served two requests at once"
