"""takeaways-tui: the terminal UI beside the editor. It talks to the project's daemon API only.

`takeaways-tui [PATH]` attaches to the daemon serving PATH (default: the current folder) and
starts one if none runs. On quit the daemon keeps running, unless this TUI started it and the
user says to stop it (`tui.stop_daemon_on_exit`: ask, always or never).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.screen import Screen

from takeaways_daemon.errors import TakeawaysError
from takeaways_daemon.history import session_keyring
from takeaways_daemon.settings import Settings, load_settings
from tui.daemon_link import DaemonLink
from tui.display_text import clean
from tui.help_screen import HelpScreen
from tui.history_screen import HistoryScreen
from tui.key_bindings import GLOBAL, check_binding_ids, to_bindings
from tui.main_screen import MainScreen
from tui.quit_screen import StopDaemonScreen
from tui.stats_screen import StatsScreen
from tui.terminal_guard import stray_output_to_log


class TakeawaysApp(App[bool]):
    """Live suggestions for one project. The result says whether to stop the daemon on exit."""

    CSS_PATH = "takeaways.tcss"
    TITLE = "takeaways"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = to_bindings(GLOBAL)

    def __init__(
        self,
        project: Path,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        start_daemon: bool = True,
    ) -> None:
        """`clock` dates the "age" column (tests pin it); `start_daemon=False` only attaches."""
        super().__init__()
        self.settings = settings or load_settings()
        self.link = DaemonLink(project)
        self.clock = clock
        self.start_daemon = start_daemon
        self.start_failure: str | None = None
        """The daemon's start-up error while no daemon answers (None once one does)."""
        # A mistyped id would otherwise be ignored silently: refuse to start, naming the ids.
        self.set_keymap(check_binding_ids(self.settings.tui.bindings))

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def on_mount(self) -> None:
        # A folder name is file-system text: it may hold escape sequences like model text can.
        self.sub_title = clean(self.link.root.name)
        if not self.is_headless and sys.__stdin__ is not None and sys.__stdin__.isatty():
            self._exit_when_terminal_goes(sys.__stdin__.fileno())

    def _exit_when_terminal_goes(self, terminal: int) -> None:
        """Quit when the terminal closes, instead of spinning on a dead input.

        A closed terminal leaves stdin readable at EOF forever, and Textual's input thread
        then loops without sleeping (~90% of a core). SIGHUP is the normal notice; the
        poll covers a TUI started with SIGHUP ignored (nohup, some session wrappers).
        """
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._terminal_gone)

        def check() -> None:
            try:
                termios.tcgetattr(terminal)
            except OSError:  # EIO: the terminal was hung up
                self._terminal_gone()

        self.set_interval(1.0, check)

    def _terminal_gone(self) -> None:
        # Nobody is left to answer "stop the daemon too?": only the `always` policy stops it.
        self.exit(self._stop_daemon_without_asking() is True)

    def action_history(self) -> None:
        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_stats(self) -> None:
        if not isinstance(self.screen, StatsScreen):
            self.push_screen(StatsScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif isinstance(self.screen, MainScreen):
            self.screen.hide_question_box()

    async def action_quit(self) -> None:
        stop = self._stop_daemon_without_asking()
        if stop is None:
            self.push_screen(StopDaemonScreen(), self._quit_answered)
        else:
            self.exit(stop)

    def _stop_daemon_without_asking(self) -> bool | None:
        """Whether quitting stops the daemon, or None when the user is to be asked."""
        policy = self.settings.tui.stop_daemon_on_exit
        if not self.link.started_here or policy == "never":
            return False
        return True if policy == "always" else None

    def _quit_answered(self, stop: bool | None) -> None:
        if stop is not None:
            self.exit(stop)


def main(argv: list[str] | None = None) -> None:
    """Run `takeaways-tui [PATH]`."""
    parser = argparse.ArgumentParser(
        prog="takeaways-tui",
        description="The takeaways terminal UI: live suggestions for PATH, beside your editor.",
    )
    parser.add_argument("path", nargs="?", type=Path, default=Path.cwd(), help="project folder")
    args = parser.parse_args(argv)
    if not args.path.is_dir():
        sys.exit(f"takeaways-tui: {args.path} is not a folder; give the project's folder")
    session_keyring.adopt()
    try:
        app = TakeawaysApp(args.path)
    except TakeawaysError as error:
        sys.exit(f"takeaways-tui: {error}")
    with stray_output_to_log(app.link.root):
        stop = app.run()
    if app.start_failure is not None:
        # `make run` (and any script) must see that no daemon could be started.
        sys.exit(f"takeaways-tui: the daemon could not start: {clean(app.start_failure)}")
    if stop:
        print(f"stopping the daemon for {app.link.root}…")
        try:
            app.link.stop()
        except TakeawaysError as error:
            sys.exit(f"takeaways-tui: {error}")
