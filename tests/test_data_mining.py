"""Specification of mined training examples: real Python source on this machine (the standard
library, and hand-made trees for the skip rules) turned into one example per daemon task kind,
each exactly what the daemon would ask and exactly what its parser and patcher accept."""

from __future__ import annotations

import ast
import random
import re
import sysconfig
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from takeaways_daemon import prompt_format
from takeaways_daemon.context.task_planner import plan_file_tasks
from training.data.alpaca_record import AlpacaRecord
from training.data.mining import mine_records
from training.data.mining.bug_injection import inject_bug
from training.data.mining.functions import functions_in
from training.data.mining.source_files import SourceFile, iter_source_files

STDLIB = Path(sysconfig.get_paths()["stdlib"])
# The stdlib is mostly unannotated: asking it for `types` examples walks every file for few.
UNTYPED_KINDS = ("fix", "complete", "docstring", "explain")
_CODE = re.compile(r"^Code:\n(`{3,4})python\n(?P<code>.*)\n\1$", re.S | re.M)

SAMPLE_MODULE = '''\
import math


def hypotenuse(a, b):
    """Return the length of the hypotenuse of a right triangle with legs a and b."""
    total = a * a + b * b
    if total < 0:
        raise ValueError("negative")
    return round(math.sqrt(total), 12)


def window_sums(values, size):
    """Return the sums of every window of `size` consecutive values."""
    sums = []
    for start in range(len(values) - size + 1):
        sums.append(sum(values[start:start + size]))
    return sums


class Account:
    def deposit(self, amount: int, note: str = "") -> int:
        """Add `amount` to the balance and return the new balance."""
        if amount <= 0 or amount > 10_000:
            raise ValueError(note)
        self.balance = max(self.balance, 0) + amount
        return self.balance
'''


def shown_code(record: AlpacaRecord) -> str:
    match = _CODE.search(record.input)
    assert match, record.input
    return match["code"]


@pytest.fixture(scope="module")
def stdlib_records() -> list[AlpacaRecord]:
    records, _ = mine_records([STDLIB], per_kind=12, kinds=UNTYPED_KINDS, seed=7, progress=False)
    return records


class TestMinedExamples:
    def test_every_kind_is_mined_from_the_real_standard_library(
        self, stdlib_records: list[AlpacaRecord]
    ) -> None:
        kinds = Counter(record.kind for record in stdlib_records)
        assert kinds == {"fix": 12, "complete": 12, "docstring": 12, "explain": 12}
        assert all(record.source.startswith("mined:") for record in stdlib_records)

    def test_instructions_are_the_daemons_and_answers_parse(
        self, stdlib_records: list[AlpacaRecord]
    ) -> None:
        for record in stdlib_records:
            assert record.instruction == prompt_format.instruction(record.kind)
            assert record.input.startswith("File: ") and "(python)" in record.input
            answer = prompt_format.parse_answer(record.output, record.kind)
            assert answer.title and answer.explanation

    def test_inputs_match_what_the_daemon_renders_for_the_shown_file(
        self, stdlib_records: list[AlpacaRecord]
    ) -> None:
        """Replanning the shown code as a file gives back the same task input (path, symbol)."""
        for record in stdlib_records:
            if record.kind not in ("docstring", "types", "explain"):
                continue
            path = record.input.split(" ", 2)[1]
            code = textwrap.dedent(shown_code(record))
            symbol = re.search(r"^Symbol: (.+)$", record.input, re.M)[1]
            tasks = plan_file_tasks(path, code + "\n", [record.kind])
            assert any(task.symbol.split(".")[-1] == symbol.split(".")[-1] for task in tasks)

    def test_complete_inputs_end_in_a_stub_and_answers_fill_it(
        self, stdlib_records: list[AlpacaRecord]
    ) -> None:
        for record in (r for r in stdlib_records if r.kind == "complete"):
            code = shown_code(record)
            stub = code.rstrip().splitlines()[-1].strip()
            assert stub in ("pass", "...", "raise NotImplementedError")
            body = prompt_format.parse_answer(record.output, "complete").code
            indent = re.match(r"\s*", code.splitlines()[-1])[0]
            filled = code.rstrip()[: -len(stub)].rstrip(" ") + textwrap.indent(body, indent)
            ast.parse(textwrap.dedent(filled))

    def test_docstring_inputs_lack_the_docstring_the_answer_gives(
        self, stdlib_records: list[AlpacaRecord]
    ) -> None:
        for record in (r for r in stdlib_records if r.kind == "docstring"):
            function = ast.parse(textwrap.dedent(shown_code(record))).body[0]
            assert ast.get_docstring(function) is None
            assert prompt_format.parse_answer(record.output, "docstring").code.strip()

    def test_fix_inputs_are_broken_and_answers_are_the_original(
        self, stdlib_records: list[AlpacaRecord]
    ) -> None:
        fixes = [r for r in stdlib_records if r.kind == "fix"]
        for record in fixes:
            broken = textwrap.dedent(shown_code(record))
            fixed = prompt_format.parse_answer(record.output, "fix").code
            assert fixed != broken
            ast.parse(fixed)
            assert re.search(r"^Error: .+$", record.input, re.M)
        syntax = [r for r in fixes if re.search(r"^Error: line \d+", r.input, re.M)]
        assert syntax, "some fixes should carry Python's own syntax error"
        for record in syntax:
            with pytest.raises(SyntaxError):
                ast.parse(textwrap.dedent(shown_code(record)))

    def test_mining_is_deterministic_for_a_seed(self, stdlib_records: list[AlpacaRecord]) -> None:
        again, _ = mine_records([STDLIB], per_kind=12, kinds=UNTYPED_KINDS, seed=7, progress=False)
        other, _ = mine_records([STDLIB], per_kind=12, kinds=UNTYPED_KINDS, seed=8, progress=False)
        assert again == stdlib_records
        assert other != stdlib_records

    def test_a_default_sized_set_from_the_stdlib_takes_well_under_a_minute(self) -> None:
        # CPU time, not wall time: on a loaded 2-core machine other processes would otherwise
        # decide the result.
        started = time.process_time()
        # Every kind asked for: `types` never fills up here, so this walks the whole stdlib.
        records, report = mine_records([STDLIB], per_kind=400, progress=False)
        took = time.process_time() - started
        assert took < 40, f"mining took {took:.1f}s"
        kinds = Counter(record.kind for record in records)
        assert all(kinds[kind] == 400 for kind in UNTYPED_KINDS), kinds
        assert kinds["types"] >= 5 and report.files_seen > 300


class TestTypesExamples:
    def test_annotations_are_stripped_and_the_answer_is_the_annotated_signature(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "bank.py").write_text(SAMPLE_MODULE)
        records, _ = mine_records([tmp_path], kinds=("types",), per_kind=5, progress=False)
        (record,) = records
        assert "Symbol: Account.deposit" in record.input
        assert "    def deposit(self, amount, note=''):" in shown_code(record)
        assert prompt_format.parse_answer(record.output, "types").code == (
            'def deposit(self, amount: int, note: str = "") -> int:'
        )
        assert "`amount` is `int`, `note` is `str` and it returns `int`" in record.output


class TestBugInjection:
    def test_bugs_change_the_code_and_semantic_ones_still_parse(self, tmp_path: Path) -> None:
        source = SourceFile(tmp_path / "geometry.py", "geometry.py")
        functions = list(functions_in(source, SAMPLE_MODULE))
        assert [f.qualname for f in functions] == ["hypotenuse", "window_sums", "Account.deposit"]
        seen: Counter[str] = Counter()
        for seed in range(60):
            for function in functions:
                bug = inject_bug(function, random.Random(seed))
                assert bug is not None
                seen[bug.bug] += 1
                assert bug.text != function.text
                if bug.breaks_syntax:
                    with pytest.raises(SyntaxError):
                        ast.parse(bug.text)
                    assert bug.symptom is None
                else:
                    ast.parse(bug.text)
                    assert bug.symptom
        expected = {
            "wrong-operator", "wrong-comparison", "off-by-one", "wrong-name", "missing-return",
            "swapped-arguments", "missing-colon", "missing-comma", "misspelt-keyword",
        }  # fmt: skip
        assert expected <= set(seen), seen

    def test_arguments_of_symmetric_calls_are_never_swapped_as_a_bug(self, tmp_path: Path) -> None:
        """`max(a, b)` and `max(b, a)` are the same: a "fix" between them would teach nothing."""
        module = (
            "def larger_gap(first, second, third):\n"
            '    """Return the larger of two gaps between the three values."""\n'
            "    low = second - first\n"
            "    high = third - second\n"
            "    gap = max(low, high)\n"
            "    return min(gap, 100)\n"
        )
        (function,) = functions_in(SourceFile(tmp_path / "gaps.py", "gaps.py"), module)
        bugs = {inject_bug(function, random.Random(seed)).bug for seed in range(80)}  # type: ignore[union-attr]
        assert "swapped-arguments" not in bugs
        assert "missing-comma" in bugs  # the calls still give syntax bugs

    def test_a_misspelt_name_reports_the_name_error_python_would_raise(
        self, tmp_path: Path
    ) -> None:
        source = SourceFile(tmp_path / "geometry.py", "geometry.py")
        function = next(iter(functions_in(source, SAMPLE_MODULE)))
        for seed in range(200):
            bug = inject_bug(function, random.Random(seed))
            if bug and bug.symptom and bug.symptom.startswith("NameError"):
                typo = re.search(r"name '(\w+)'", bug.symptom)[1]
                assert re.search(rf"\b{typo}\b", bug.text) and typo not in function.text
                return
        pytest.fail("no misspelt-name bug in 200 seeds")


class TestSourceFiles:
    def test_tests_vendored_generated_huge_and_broken_files_are_skipped(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "pkg" / "tests").mkdir(parents=True)
        (tmp_path / "pkg" / "_vendor").mkdir()
        (tmp_path / "pkg" / "good.py").write_text(SAMPLE_MODULE)
        (tmp_path / "pkg" / "tests" / "helpers.py").write_text(SAMPLE_MODULE)
        (tmp_path / "pkg" / "_vendor" / "copy.py").write_text(SAMPLE_MODULE)
        (tmp_path / "pkg" / "test_good.py").write_text(SAMPLE_MODULE)
        (tmp_path / "pkg" / "api_pb2.py").write_text(SAMPLE_MODULE)
        (tmp_path / "pkg" / "huge.py").write_text(SAMPLE_MODULE + "#" * 400_000)
        (tmp_path / "pkg" / "made.py").write_text(
            "# Generated by protoc. DO NOT EDIT.\n" + SAMPLE_MODULE
        )
        (tmp_path / "pkg" / "broken.py").write_text(SAMPLE_MODULE + "def (:\n")

        listed = [f.display_path for f in iter_source_files([tmp_path])]
        assert listed == ["pkg/broken.py", "pkg/good.py", "pkg/made.py"]
        records, report = mine_records([tmp_path], per_kind=10, progress=False)
        assert {record.source for record in records} == {"mined:pkg"}
        assert all("File: pkg/good.py" in record.input for record in records)
        assert report.files_skipped == 1  # made.py: generated; broken.py does not parse

    def test_a_missing_root_is_an_error_naming_the_fix(self, tmp_path: Path) -> None:
        from training.data.errors import DataError

        with pytest.raises(DataError, match="is not a folder; pass folders of Python source"):
            mine_records([tmp_path / "nowhere"], progress=False)
