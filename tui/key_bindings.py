"""Every key binding of the TUI, with an id the user can remap in `[tui.bindings]`.

Kept free of Textual imports (pure data and checks). The TUI checks `[tui.bindings]` against
`BINDING_IDS` when it starts; the daemon's settings only carry the mapping, since the daemon
layer knows nothing of the TUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from takeaways_daemon.errors import ConfigError


@dataclass(frozen=True)
class KeySpec:
    """One remappable binding: its id, default key(s), footer label and what it does."""

    id: str
    keys: str
    label: str
    help: str
    show: bool = True
    """Whether the footer shows it (the help screen lists every binding)."""


# The main screen's actions, in the order the footer shows them. Help texts stay within 44
# characters and the footer (with the global keys) within 80 columns: the app must work in 80x24.
MAIN: tuple[KeySpec, ...] = (
    KeySpec("accept", "a", "Accept", "Apply the patch; refused if the file changed"),
    KeySpec("reject", "r", "Reject", "Dismiss the suggestion"),
    KeySpec("rate-up", "plus", "👍", "Rate the suggestion up", show=False),
    KeySpec("rate-down", "minus", "👎", "Rate the suggestion down", show=False),
    KeySpec("copy-patch", "c", "Copy", "Copy the patch (a unified diff)"),
    KeySpec("open-editor", "o", "Open", "Open the file in $EDITOR at its line"),
    KeySpec("explain-more", "e", "More", "Ask the model to explain further"),
    KeySpec("ask", "i", "Ask", "Ask your own question about it"),
    KeySpec("scroll-detail", "space", "Scroll", "Page the detail and diff down (wraps)", False),
    KeySpec("cancel-task", "x", "Cancel", "Cancel the background task in flight", False),
)
# Screens and the app itself.
GLOBAL: tuple[KeySpec, ...] = (
    KeySpec("history", "h", "History", "Search and filter past suggestions"),
    KeySpec("stats", "s", "Stats", "Latency, acceptance rate and ratings"),
    KeySpec("help", "question_mark,f1", "Help", "This list of keys"),
    KeySpec("quit", "q", "Quit", "Leave (the daemon stays unless you say)"),
    KeySpec("back", "escape", "Back", "Close a screen, the question or the search", False),
)
# Shown in the footer of the screens that sit on top of the main one.
BACK_VISIBLE = KeySpec("back", "escape", "Back", GLOBAL[-1].help)
# The history screen.
HISTORY: tuple[KeySpec, ...] = (
    KeySpec("history-search", "slash", "Search", "Focus the search box"),
    KeySpec("history-kind", "k", "Kind", "Cycle the kind filter"),
    KeySpec("history-outcome", "u", "Outcome", "Cycle the outcome filter"),
)

ALL: tuple[KeySpec, ...] = MAIN + GLOBAL + HISTORY
BINDING_IDS: frozenset[str] = frozenset(spec.id for spec in ALL)


def check_binding_ids(remapped: dict[str, str]) -> dict[str, str]:
    """Return `remapped` unchanged, or raise ConfigError naming the unknown ids and the valid ones.

    >>> check_binding_ids({"accept": "ctrl+y"})
    {'accept': 'ctrl+y'}
    >>> check_binding_ids({"acept": "y"})
    Traceback (most recent call last):
    ...
    takeaways_daemon.errors.ConfigError: [tui.bindings] has unknown binding id 'acept'; \
valid ids: accept, ask, back, cancel-task, copy-patch, explain-more, help, history, \
history-kind, history-outcome, history-search, open-editor, quit, rate-down, rate-up, reject, \
scroll-detail, stats
    """
    unknown = sorted(set(remapped) - BINDING_IDS)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise ConfigError(
            f"[tui.bindings] has unknown binding id {names}; "
            f"valid ids: {', '.join(sorted(BINDING_IDS))}"
        )
    for binding_id, keys in remapped.items():
        if not keys.strip():
            raise ConfigError(
                f"[tui.bindings] binding {binding_id!r} has no key; give one like 'ctrl+y'"
            )
    return remapped


def to_bindings(specs: tuple[KeySpec, ...]) -> list[Any]:
    """Textual `Binding`s for `specs`; each action is the id with underscores (`rate_up`)."""
    from textual.binding import Binding

    return [
        Binding(spec.keys, spec.id.replace("-", "_"), spec.label, show=spec.show, id=spec.id)
        for spec in specs
    ]


def keys_for(spec: KeySpec, remapped: dict[str, str]) -> str:
    """The key(s) a binding uses after the user's remapping, as shown on the help screen.

    >>> keys_for(MAIN[0], {"accept": "ctrl+y"})
    'ctrl+y'
    """
    return remapped.get(spec.id, spec.keys)
