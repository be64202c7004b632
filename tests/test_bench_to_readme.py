"""`bench/to_readme.py`: a bench's printed output goes into its README block, nothing else moves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from training.evaluation.readme_blocks import block_markers

REPOSITORY = Path(__file__).resolve().parents[1]
START, END = block_markers("fake_bench.py", "output", "bench/to_readme.py")


def run(tmp_path: Path, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "fake_bench.py").write_text(script)
    readme = tmp_path / "README.md"
    return subprocess.run(
        [sys.executable, str(REPOSITORY / "bench/to_readme.py"), "--readme", str(readme),
         *options, "fake_bench.py", "--rounds", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_output_and_how_to_get_it_again_replace_the_block(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(f"# Title\n\nbefore\n{START}\nold numbers\n{END}\nafter\n")
    script = "import sys\nprint('| a | b |')\nprint('rounds', sys.argv[2])\n"
    done = run(tmp_path, script)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "README.md").read_text()
    assert text.startswith(f"# Title\n\nbefore\n{START}\n| a | b |\nrounds 2\n\n(`python ")
    assert "fake_bench.py --rounds 2` on " in text and " cores, " in text
    assert text.endswith(f"{END}\nafter\n") and "old numbers" not in text


def test_fence_wraps_plain_text_and_a_missed_target_is_still_written(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(f"{START}\n{END}\n")
    done = run(tmp_path, "print('   ratio 0.9x  target MISSED')\nraise SystemExit(1)\n", "--fence")
    assert done.returncode == 1
    assert "```text\n   ratio 0.9x  target MISSED\n```" in (tmp_path / "README.md").read_text()


def test_a_crashing_bench_leaves_the_readme_as_it_was(tmp_path: Path) -> None:
    before = f"{START}\nkept\n{END}\n"
    (tmp_path / "README.md").write_text(before)
    done = run(tmp_path, "print('half')\nraise RuntimeError('boom')\n")
    assert done.returncode == 1 and "left as it was" in done.stdout
    assert (tmp_path / "README.md").read_text() == before


def test_a_readme_without_the_block_names_the_lines_to_add(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# no markers\n")
    done = run(tmp_path, "print('x')\n")
    assert done.returncode != 0
    assert START in done.stderr and END in done.stderr


def test_a_saved_output_goes_in_verbatim_without_running_the_bench(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(f"{START}\n{END}\n")
    (tmp_path / "saved.txt").write_text("\n  kind  tok/s\n  fix   9.8\n\n")
    done = run(tmp_path, "raise SystemExit('must not run')\n", "--fence", "--saved", "saved.txt")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "README.md").read_text()
    assert "```text\n  kind  tok/s\n  fix   9.8\n```" in text
    assert "its output saved in `saved.txt`" in text
