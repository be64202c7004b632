"""Whether bubblewrap can build a sandbox on this machine, and if not, why (for `status`).

No sandbox means test-driven fixes are off: project-controlled code never runs outside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from takeaways_daemon.sandbox.bubblewrap import SandboxUnavailable, _drop_root, system_mounts


@dataclass(frozen=True)
class SandboxState:
    """Whether the sandbox works here: the bwrap in use, or the reason there is none."""

    available: bool
    reason: str
    """`bubblewrap at /usr/bin/bwrap`, or what is missing and how to fix it."""
    bwrap: Path | None = None


def sandbox_state(bwrap: str | Path | None = None) -> SandboxState:
    """Probe `bwrap` (default: the one on PATH) by starting one empty sandbox."""
    found = shutil.which("bwrap") if bwrap is None else str(bwrap)
    if found is None or not Path(found).is_file() or not os.access(found, os.X_OK):
        where = "on PATH" if bwrap is None else f"at {bwrap}"
        return SandboxState(
            False,
            f"bubblewrap (bwrap) is not installed {where}, so the project's tests never run; "
            "install it (`sudo apt-get install bubblewrap`)",
        )
    try:
        argv = [*_drop_root(), found, "--unshare-all", "--die-with-parent", *system_mounts()]
    except SandboxUnavailable as error:
        return SandboxState(False, str(error))
    try:
        probe = subprocess.run(
            [*argv, "--", "/usr/bin/true"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return SandboxState(False, f"bubblewrap at {found} did not start: {error}")
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        return SandboxState(
            False,
            f"bubblewrap cannot create its sandbox ({last}); enable unprivileged user namespaces "
            "(`sudo sysctl -w kernel.unprivileged_userns_clone=1`, or on Ubuntu "
            "`kernel.apparmor_restrict_unprivileged_userns=0`)",
        )
    return SandboxState(True, f"bubblewrap at {found}", Path(found))
