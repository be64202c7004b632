"""Command groups join `takeaways` through the `takeaways.commands` entry point, lazily.

Real processes and real installed metadata: a third-party plugin is a `*.dist-info` folder on
PYTHONPATH, exactly what pip would leave behind, so discovery goes through importlib.metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "llama_cpp", "textual", "tqdm", "matplotlib")


def takeaways(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip


def install_plugin(site: Path, name: str, entry: str, module_source: str | None = None) -> Path:
    """Write a distribution's metadata (and its module) the way pip installs one."""
    dist = site / f"{name}_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[takeaways.commands]\n{name} = {entry}\n")
    if module_source is not None:
        module = entry.split(":")[0]
        (site / f"{module}.py").write_text(textwrap.dedent(module_source))
    return site


def test_help_lists_the_training_groups_without_importing_them_heavily() -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from takeaways_daemon.cli.main import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "print(result.output)\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    commands = done.stdout.split("Commands:")[1]
    for group in ("data", "model", "eval"):
        assert f"\n  {group} " in commands
    assert "HEAVY []" in done.stdout


def test_a_third_party_command_joins_the_cli_the_same_way(tmp_path: Path) -> None:
    site = install_plugin(tmp_path, "hello", "hello_plugin:hello", """\
        import click

        @click.command()
        @click.argument("who")
        def hello(who):
            \"\"\"Greet WHO (a third party's command).\"\"\"
            click.echo(f"hello {who}")
    """)  # fmt: skip
    shown = takeaways("--help", extra_path=site)
    assert "hello    " in shown.stdout and "Greet WHO" in shown.stdout
    ran = takeaways("hello", "world", extra_path=site)
    assert ran.returncode == 0 and ran.stdout == "hello world\n"


@pytest.mark.parametrize(
    ("entry", "why"),
    [("missing_module_xyz:command", "ModuleNotFoundError"), ("os:sep", "not a click command")],
)
def test_a_broken_plugin_costs_one_line_not_the_other_commands(
    tmp_path: Path, entry: str, why: str
) -> None:
    site = install_plugin(tmp_path, "broken", entry)
    shown = takeaways("--help", extra_path=site)
    assert shown.returncode == 0
    assert "eval " in shown.stdout and "broken" not in shown.stdout
    (line,) = shown.stderr.splitlines()
    assert line.startswith(f"takeaways: the 'broken' command ({entry}) ")
    assert why in line
    ran = takeaways("broken", extra_path=site)
    assert ran.returncode == 1
    assert len(ran.stderr.splitlines()) == 1 and why in ran.stderr
    assert "Traceback" not in ran.stderr + shown.stderr
    # Commands that are not the broken plugin never load it: no warning at all.
    other = takeaways("eval", "--help", extra_path=site)
    assert other.returncode == 0 and other.stderr == ""
