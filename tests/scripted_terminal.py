"""`takeaways-tui` in tmux on a daemon whose model is the scripted plugin (test helper).

The TUI is the installed console script and starts its daemon as a user's would; the daemon
finds the `scripted` backend through its entry point (a dist-info on PYTHONPATH, as pip writes
it) and is configured in the user's `config.toml`: every request gets the same reply after a
fixed delay, so a "slow model" is deterministic and costs seconds, not a model load. With
`journal` set the backend writes one line per request (start, end, instruction), so a test
can check the order in which the model served requests.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from takeaways_daemon import locations
from takeaways_daemon.runtime_files import ProjectFiles
from tests.plugins.install import PLUGINS
from tests.tmux_pane import TmuxPane

REPO = Path(__file__).resolve().parents[1]
TUI = Path(sys.executable).with_name("takeaways-tui")


def install_scripted(site: Path) -> Path:
    """Write the `takeaways-scripted` dist-info into `site` (a folder for PYTHONPATH)."""
    dist_info = site / "takeaways_scripted-1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: takeaways-scripted\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[takeaways.backends]\nscripted = takeaways_scripted:register\n"
    )
    return site


def toml_value(value: Any) -> str:
    """A TOML value for a string, number, bool or list of those (JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def write_config(sections: dict[str, dict[str, Any]]) -> Path:
    """Write the user's config.toml (under this test's TAKEAWAYS_HOME) with `sections`."""
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def pane_environment(site: Path, **extra: str) -> dict[str, str]:
    """What the TUI's shell needs: our TAKEAWAYS_* and keyring variables, and the plugin path."""
    passed = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("TAKEAWAYS_", "DBUS_", "PYTHON_KEYRING"))
        or name in ("PATH", "HOME", "LANG")
    }
    passed["PYTHONPATH"] = os.pathsep.join([str(site), str(PLUGINS), str(REPO)])
    passed.update(extra)
    return passed


@contextmanager
def tui_in_tmux(
    tmp_path: Path,
    project: Path,
    environment: dict[str, str],
    size: tuple[int, int] = (120, 40),
) -> Iterator[TmuxPane]:
    """The TUI on `project` in a private tmux server; after it exits the pane shows
    `tui exited N`. The daemon it started is stopped at the end."""
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in environment.items())
    tui = f"{shlex.quote(str(TUI))} {shlex.quote(str(project))}"
    command = f"env -i {assignments} {tui}; echo tui exited $?; sleep 600"
    pane = TmuxPane(tmp_path / "tmux.sock", "tui")
    pane.start(command, width=size[0], height=size[1])
    try:
        yield pane
    finally:
        pane.kill_server()
        if ProjectFiles(project).is_locked():
            subprocess.run(
                [sys.executable, "-m", "takeaways_daemon", "stop", str(project)],
                capture_output=True, timeout=60, check=False,
                env={**os.environ, "PYTHONPATH": environment["PYTHONPATH"]},
            )  # fmt: skip


def journal_entries(path: Path) -> list[dict[str, Any]]:
    """The scripted backend's request journal, in the order requests ended."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
