"""Static evidence from the real ruff, and candidates checked against it (no sandbox needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from takeaways_daemon.verification.diagnostics import (
    DiagnosticsUnavailable,
    find_diagnostics,
)
from takeaways_daemon.verification.verdict import SyntaxEvidence, Verdict, verify_candidate

ORDERS = """\
import os


def order_total(items, tax=0.2):
    subtotal = sum(item.price for item in items)
    return subtotl * (1 + tax)


def add_item(item, basket=[]):
    basket.append(item)
    return basket
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "orders.py").write_text(ORDERS)
    # The project's own ruff configuration may not hide bugs nor add style rules.
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["E", "W"]\n')
    return tmp_path


class TestFindDiagnostics:
    def test_bugs_are_found_and_style_is_not(self, project: Path) -> None:
        found = find_diagnostics(ORDERS, "shop/orders.py", project_root=project)
        assert [(d.code, d.line, d.message) for d in found] == [
            ("F821", 6, "Undefined name `subtotl`"),
            ("B006", 9, "Do not use mutable data structures for argument defaults"),
        ]
        assert found[0].path == "shop/orders.py" and found[0].col == 12
        assert found[0].describe() == "F821 Undefined name `subtotl` (line 6)"
        assert [d.snippet for d in found] == ["subtotl", "[]"]

    def test_a_file_that_does_not_parse_has_no_bug_diagnostics(self, project: Path) -> None:
        assert find_diagnostics("def f(:\n", "shop/orders.py", project_root=project) == []

    def test_a_missing_ruff_is_a_typed_error(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The ruff binary is made unfindable; the real lookup code runs."""
        import takeaways_daemon.verification.diagnostics as diagnostics

        monkeypatch.setattr(diagnostics, "ruff_binary", lambda: str(project / "no-ruff"))
        with pytest.raises(DiagnosticsUnavailable, match="ruff did not run"):
            find_diagnostics(ORDERS, "shop/orders.py", project_root=project)


class TestDiagnosticVerdicts:
    def verify(self, project: Path, candidate: str) -> Verdict:
        evidence = find_diagnostics(ORDERS, "shop/orders.py", project_root=project)[0]
        return verify_candidate(project, "shop/orders.py", ORDERS, candidate, evidence)

    def test_a_candidate_that_defines_the_name_is_verified(self, project: Path) -> None:
        verdict = self.verify(project, ORDERS.replace("return subtotl", "return subtotal"))
        assert verdict == Verdict(True, "F821 Undefined name `subtotl` gone; was line 6")

    def test_a_candidate_that_leaves_it_is_not(self, project: Path) -> None:
        verdict = self.verify(project, ORDERS.replace("tax=0.2", "tax=0.25"))
        assert verdict == Verdict(False, "F821 Undefined name `subtotl` (line 6) still reported")

    def test_a_candidate_that_brings_a_new_undefined_name_is_not(self, project: Path) -> None:
        verdict = self.verify(project, ORDERS.replace("return subtotl", "return subtotal + fee"))
        assert verdict == Verdict(False, "introduces F821 Undefined name `fee` (line 6)")

    def test_a_candidate_that_does_not_parse_is_not(self, project: Path) -> None:
        verdict = self.verify(project, ORDERS.replace("return subtotl", "return (subtotal"))
        assert verdict.verified is False and verdict.evidence.startswith("does not parse: line")

    def test_a_candidate_that_rewrites_the_file_is_too_far(self, project: Path) -> None:
        rewritten = ORDERS.replace("    ", "\t").replace("return subtotl", "return subtotal")
        verdict = self.verify(project, rewritten)
        assert verdict == Verdict(
            False, "too far from its evidence: changes the indentation from spaces to tabs"
        )


class TestOtherEvidence:
    def test_a_syntax_fix_is_verified_when_it_parses(self, project: Path) -> None:
        broken = ORDERS.replace("def add_item(item, basket=[]):", "def add_item(item, basket=[])")
        verdict = verify_candidate(
            project, project / "shop/orders.py", broken, ORDERS,
            SyntaxEvidence(9, "expected ':'"),
        )  # fmt: skip
        assert verdict == Verdict(True, "parses; was: line 9: expected ':'")

    def test_no_evidence_means_nothing_to_check_and_no_size_limit(self, project: Path) -> None:
        """A completion (no evidence) may add far more lines than a fix could."""
        body = "".join(f"    n_{i} = len(items) + {i}\n" for i in range(30))
        candidate = ORDERS + f"\n\ndef count(items):\n{body}    return n_29\n"
        verdict = verify_candidate(project, "shop/orders.py", ORDERS, candidate, None)
        assert verdict == Verdict(None, "nothing to check it against")
