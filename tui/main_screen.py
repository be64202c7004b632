"""The main screen: live suggestions, the selected one in detail, its actions, the status bar.

Blocking work (the event stream, API calls, follow-up streams) runs in thread workers that talk
to the UI only through `post_message` and `call_from_thread`. The event-stream worker keeps
reconnecting until the screen goes away, so a restarted daemon is picked up on its own.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input
from textual.worker import get_current_worker

from takeaways_daemon.api_client import ApiError, DaemonClient
from takeaways_daemon.lifecycle import DaemonStartFailed
from takeaways_daemon.wire import AnswerChunk, DaemonStatus, ProgressView, Suggestion
from tui.daemon_link import LINK_ERRORS, DaemonLink
from tui.detail_body import DetailBody
from tui.detail_pane import DetailPane
from tui.display_text import clean, location
from tui.editor import NoEditor, editor_command
from tui.key_bindings import MAIN, to_bindings
from tui.progress_line import ProgressLine
from tui.start_error import StartErrorPanel
from tui.status_bar import StatusBar
from tui.suggestion_list import SuggestionList

if TYPE_CHECKING:
    from tui.app import TakeawaysApp

EXPLAIN_MORE = "Explain this suggestion in more detail: why it is right, and what to watch for."
RETRY_S = 0.5
AGE_REFRESH_S = 30.0


class MainScreen(Screen[None]):
    """Suggestions for one project, live."""

    BINDINGS: ClassVar[list[BindingType]] = to_bindings(MAIN)
    app: TakeawaysApp

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield StartErrorPanel(id="start-error")
        with Vertical(id="main"):
            yield SuggestionList(clock=self.app.clock, id="suggestions")
            yield DetailPane(id="detail")
        yield Input(
            id="ask-input", max_length=2000, placeholder="Ask about this suggestion (Enter sends)"
        )
        yield ProgressLine(id="progress-line")
        yield StatusBar(id="status-bar")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.suggestions = self.query_one(SuggestionList)
        self.detail = self.query_one(DetailPane)
        self.status_bar = self.query_one(StatusBar)
        self.progress_line = self.query_one(ProgressLine)
        self.start_error = self.query_one(StartErrorPanel)
        self.query_one("#ask-input").display = False
        self._stream_client: DaemonClient | None = None
        self._ask_client: DaemonClient | None = None
        self._outage_notified = False
        # Immediate: the detail is redrawn in the same frame as the cursor (suggestion_list.py).
        self.suggestions.selection_changed.subscribe(self, self.detail.show, immediate=True)
        self.suggestions.focus()
        self.follow_daemon()
        self.set_interval(self.app.settings.tui.status_interval_s, self.poll_status)
        self.set_interval(AGE_REFRESH_S, self.suggestions.refresh_ages)

    def on_unmount(self) -> None:
        self.close_link()

    def close_link(self) -> None:
        """Cut the event stream so its worker thread ends (a blocked read would hold exit)."""
        self.workers.cancel_group(self, "follow")
        self.workers.cancel_group(self, "ask")
        for client in (self._stream_client, self._ask_client):
            if client is not None:
                client.close()
        self._stream_client = self._ask_client = None

    # The daemon link: one thread follows the event stream and reconnects forever.

    @work(thread=True, exclusive=True, group="follow", name="follow the daemon")
    def follow_daemon(self) -> None:
        """Attach (starting the daemon first if none runs), then apply every event."""
        worker = get_current_worker()
        link = self.app.link
        may_start = self.app.start_daemon
        while not worker.is_cancelled:
            try:
                if may_start and not link.is_running():
                    self.post_message(DaemonLink.Starting())
                    try:
                        link.start(cancelled=lambda: worker.is_cancelled)
                    except DaemonStartFailed as failure:
                        self.post_message(
                            DaemonLink.StartFailed(failure.reason or str(failure), failure.log)
                        )
                        raise
                with link.client() as client:
                    self._stream_client = client
                    if worker.is_cancelled:  # close_link ran before the client was published
                        return
                    self.post_message(DaemonLink.Connected(client.suggestions()))
                    for event in client.events():
                        if worker.is_cancelled:
                            return
                        if isinstance(event, DaemonStatus):
                            self.post_message(DaemonLink.StatusUpdate(event))
                        elif isinstance(event, ProgressView):
                            self.post_message(DaemonLink.ProgressUpdate(event))
                        else:
                            self.post_message(DaemonLink.Changed(event.type, event.suggestion))
                reason = "the daemon closed the event stream"
            except LINK_ERRORS as error:
                reason = str(error)
            may_start = False  # only at launch: later, wait for the user's daemon to return
            if worker.is_cancelled:
                return
            self.post_message(DaemonLink.Disconnected(reason))
            time.sleep(RETRY_S)

    def poll_status(self) -> None:
        """Refresh the status bar from `/status` while connected (the stream owns reachability)."""
        if self.status_bar.link == "connected":
            self.fetch_status()

    @work(thread=True, exclusive=True, group="status")
    def fetch_status(self) -> None:
        """Ask the daemon for `/status`; a failure is left to the event stream to report."""
        try:
            with self.app.link.client(timeout=3) as client:
                status = client.status()
        except LINK_ERRORS:
            return
        self.post_message(DaemonLink.StatusUpdate(status))

    def on_daemon_link_starting(self, _: DaemonLink.Starting) -> None:
        self.status_bar.link = "starting"

    def on_daemon_link_connected(self, message: DaemonLink.Connected) -> None:
        self.suggestions.replace_all(message.suggestions)
        # The rows just built (and the app around them) live until the next rebuild: move them
        # out of the cyclic collector's reach. Otherwise a full collection that happens to run
        # during a keypress walks every row: with 1,000 rows a 100-200 ms pause (bench/tui.py).
        # Refcounting still frees them when they go; only cyclic garbage would stay.
        gc.freeze()
        self.status_bar.link = "connected"
        self.start_error.clear_error()
        self.app.start_failure = None
        if self._outage_notified:
            self.notify("Reconnected to the daemon.", title="takeaways")
            self._outage_notified = False

    def on_daemon_link_start_failed(self, message: DaemonLink.StartFailed) -> None:
        # Shown until a daemon answers: the panel, not a toast, and the exit code says so too.
        self.app.start_failure = message.reason
        self.start_error.show_error(message.reason, message.log)
        self.status_bar.link = "failed"
        self.progress_line.progress = None  # no daemon: nothing in progress
        self._outage_notified = True  # the panel says it; no toast on top

    def on_daemon_link_disconnected(self, message: DaemonLink.Disconnected) -> None:
        if self.app.start_failure is not None:
            return  # the start-up error panel stays the one message
        self.status_bar.link = "disconnected"
        if not self._outage_notified:
            self._outage_notified = True
            self.notify(
                f"{clean(message.reason)}\nThe TUI reconnects when it is back.",
                title="Daemon disconnected", severity="error", markup=False, timeout=8,
            )  # fmt: skip

    def on_daemon_link_changed(self, message: DaemonLink.Changed) -> None:
        if message.event == "removed":  # the daemon no longer keeps it: nothing to act on
            self.suggestions.discard(message.suggestion.id)
        else:
            # A new suggestion is selected: `e` and `a` then act on what just arrived.
            self.suggestions.upsert(message.suggestion, select=message.event == "added")

    def on_daemon_link_status_update(self, message: DaemonLink.StatusUpdate) -> None:
        self.status_bar.status = message.status
        self.progress_line.progress = message.status.progress

    def on_daemon_link_progress_update(self, message: DaemonLink.ProgressUpdate) -> None:
        self.progress_line.progress = message.progress

    # The task in flight, and the detail pane's scrolling.

    def action_cancel_task(self) -> None:
        progress = self.progress_line.progress
        if progress is None or progress.current is None:
            self.notify("No task is running.", severity="warning", timeout=3)
            return
        self.cancel_task()

    @work(thread=True, group="actions")
    def cancel_task(self) -> None:
        """Ask the daemon to cancel the task in flight."""
        try:
            with self.app.link.client() as client:
                result = client.cancel()
        except (ApiError, *LINK_ERRORS) as error:
            self.app.call_from_thread(
                self.notify, clean(error), title="Cancel failed", severity="error", markup=False
            )
            return
        task = result.task
        said = f"Cancelled {task.kind} {task.path}." if task else "Nothing was running."
        self.app.call_from_thread(self.notify, clean(said), markup=False, timeout=3)

    def action_scroll_detail(self) -> None:
        """Page the detail (explanation and diff) down; past the end, back to the top."""
        body = self.detail.query_one("#detail-body", DetailBody)
        if body.scroll_y >= body.max_scroll_y:
            body.scroll_home(animate=False)
        else:
            body.scroll_page_down(animate=False)

    # Actions on the selected suggestion.

    def _selected(self) -> Suggestion | None:
        item = self.suggestions.selected
        if item is None:
            self.notify("No suggestion selected.", severity="warning")
        return item

    @work(thread=True, group="actions")
    def call_daemon(
        self, verb: str, item: Suggestion, call: Callable[[DaemonClient], Suggestion]
    ) -> None:
        """Run one API call; a refusal or an unreachable daemon becomes a notification."""
        where = location(item)
        try:
            with self.app.link.client() as client:
                result = call(client)
        except ApiError as error:
            self.app.call_from_thread(
                self.notify, f"{where}: {clean(error)}", title=f"{verb} refused",
                severity="error", markup=False, timeout=8,
            )  # fmt: skip
            return
        except LINK_ERRORS as error:
            self.app.call_from_thread(
                self.notify, clean(error), title="Daemon unreachable", severity="error",
                markup=False,
            )  # fmt: skip
            return
        self.post_message(DaemonLink.Changed("updated", result))
        self.app.call_from_thread(self.notify, f"{verb}: {where}", markup=False, timeout=3)

    def action_accept(self) -> None:
        if item := self._selected():
            self.call_daemon("Accept", item, lambda client: client.accept(item.id))

    def action_reject(self) -> None:
        if item := self._selected():
            self.call_daemon("Reject", item, lambda client: client.reject(item.id))

    def action_rate_up(self) -> None:
        if item := self._selected():
            self.call_daemon("Rate 👍", item, lambda client: client.rate(item.id, 1))

    def action_rate_down(self) -> None:
        if item := self._selected():
            self.call_daemon("Rate 👎", item, lambda client: client.rate(item.id, -1))

    def action_copy_patch(self) -> None:
        if (item := self._selected()) is None:
            return
        if not item.diff:
            self.notify("This suggestion has no patch to copy.", severity="warning")
            return
        self.app.copy_to_clipboard(clean(item.diff))
        self.notify(f"Patch for {location(item)} copied.", markup=False, timeout=3)

    def action_open_editor(self) -> None:
        if (item := self._selected()) is None:
            return
        path = self.app.link.root / clean(item.path)
        try:
            command = editor_command(path, item.start_line)
            with self.app.suspend():
                # fd 2 goes to a log while the TUI runs (terminal_guard.py); the editor gets the
                # terminal back for its own messages.
                subprocess.run(command, check=False, stderr=sys.__stderr__)
        except NoEditor as error:
            self.notify(str(error), severity="warning", markup=False)
        except SuspendNotSupported:
            self.notify("This terminal cannot hand the screen to an editor.", severity="warning")
        except OSError as error:
            self.notify(
                f"Could not start the editor: {clean(error)}", severity="error", markup=False
            )

    # Follow-up questions, streamed into the detail pane.

    def action_explain_more(self) -> None:
        if item := self._selected():
            self.follow_up(item.id, EXPLAIN_MORE)

    def action_ask(self) -> None:
        if self._selected() is not None:
            box = self.query_one("#ask-input", Input)
            box.display = True
            box.focus()

    @on(Input.Submitted, "#ask-input")
    def send_question(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        event.input.clear()
        self.hide_question_box()
        item = self.suggestions.selected
        if question and item is not None:
            self.follow_up(item.id, question)

    def hide_question_box(self) -> None:
        """Hide the question box if it is open."""
        box = self.query_one("#ask-input", Input)
        if box.display:
            box.display = False
            self.suggestions.focus()

    def follow_up(self, suggestion_id: str, question: str) -> None:
        """Ask a new question; an answer still streaming is cut, so the model stops writing it."""
        previous = self._ask_client
        self.ask_model(suggestion_id, question)  # exclusive: cancels the previous worker first
        if previous is not None:
            previous.close()

    @work(thread=True, exclusive=True, group="ask")
    def ask_model(self, suggestion_id: str, question: str) -> None:
        """Stream the model's answer to `question` into the detail pane."""
        worker = get_current_worker()
        call = self.app.call_from_thread
        self.detail.post_message(DetailPane.FollowUpStarted(suggestion_id, question))
        note = "failed"
        try:
            with self.app.link.client() as client:
                self._ask_client = client
                for record in client.ask(suggestion_id, question):
                    if worker.is_cancelled:
                        return
                    if isinstance(record, AnswerChunk):
                        chunk = DetailPane.FollowUpChunk(suggestion_id, record.text)
                        self.detail.post_message(chunk)
                    elif record.error:
                        call(self.notify, clean(record.error), title="Backend failed",
                             severity="error", markup=False)  # fmt: skip
                    else:
                        seconds = (record.latency_ms or 0) / 1000
                        note = f"{record.backend} {record.model}, {seconds:.1f} s"
        except ApiError as error:
            call(self.notify, clean(error), title="Question refused", severity="error",
                 markup=False)  # fmt: skip
        except LINK_ERRORS as error:
            if not worker.is_cancelled:  # a cancelled answer's stream is cut on purpose
                call(self.notify, clean(error), title="Daemon unreachable", severity="error",
                     markup=False)  # fmt: skip
        finally:
            if not worker.is_cancelled:
                self.detail.post_message(DetailPane.FollowUpFinished(suggestion_id, note))
