"""A Hypothesis state machine: append / outcome / query / rotate / purge / reopen on a real
store (key in the throwaway keyring) must always agree with a plain dictionary."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from history_helpers import keyring_keys
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from takeaways_daemon.history import maintenance
from takeaways_daemon.history.records import HistoryRecord
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.kinds import OUTCOMES

KINDS = ["fix", "complete", "docstring", "explain"]
WORDS = st.sampled_from(["alpha", "Beta", "gamma", "DELTA", "ünïcode", "x\ny"])


class HistoryMachine(RuleBasedStateMachine):
    """The model: id → (created_at, kind, title, outcome)."""

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="history-machine-"))
        self.keys = keyring_keys()
        self.store = HistoryStore(self.folder / "h.sqlite3", self.keys)
        self.model: dict[str, tuple[float, str, str, str]] = {}
        self.clock = 1000.0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(target=ids, kind=st.sampled_from(KINDS), title=st.lists(WORDS, min_size=1, max_size=3))
    def append(self, kind: str, title: list[str]) -> str:
        self.clock += 1
        suggestion_id = f"id{len(self.model)}-{int(self.clock)}"
        text = " ".join(title)
        self.store.append(
            HistoryRecord(id=suggestion_id, kind=kind, created_at=self.clock, title=text)
        )
        self.model[suggestion_id] = (self.clock, kind, text, "open")
        return suggestion_id

    @rule(suggestion_id=ids, outcome=st.sampled_from(OUTCOMES))
    def record_outcome(self, suggestion_id: str, outcome: str) -> None:
        found = self.store.record_outcome(suggestion_id, outcome)  # type: ignore[arg-type]
        assert found == (suggestion_id in self.model)
        if found:
            created, kind, title, _ = self.model[suggestion_id]
            self.model[suggestion_id] = (created, kind, title, outcome)

    @rule(kind=st.none() | st.sampled_from(KINDS), outcome=st.none() | st.sampled_from(OUTCOMES),
          q=st.none() | WORDS, limit=st.integers(1, 5), offset=st.integers(0, 3))  # fmt: skip
    def query(
        self, kind: str | None, outcome: str | None, q: str | None, limit: int, offset: int
    ) -> None:
        expected = [
            suggestion_id
            for suggestion_id, (_, k, title, o) in sorted(
                self.model.items(), key=lambda item: item[1][0], reverse=True
            )
            if (kind is None or k == kind)
            and (outcome is None or o == outcome)
            and (q is None or q.casefold() in title.casefold())
        ]
        records, total = self.store.query(
            kind=kind, outcome=outcome, q=q, limit=limit, offset=offset
        )
        assert total == len(expected)
        assert [r.id for r in records] == expected[offset : offset + limit]
        for record in records:
            assert (record.kind, record.title, record.outcome) == self.model[record.id][1:]

    @rule()
    def rotate(self) -> None:
        assert maintenance.rotate_key(self.store) == len(self.model)

    @rule(suggestion_id=consumes(ids))
    def purge_one(self, suggestion_id: str) -> None:
        expected = 1 if suggestion_id in self.model else 0
        assert maintenance.purge(self.store, ids=(suggestion_id,)) == expected
        self.model.pop(suggestion_id, None)

    @rule(age=st.integers(0, 10))
    def purge_older(self, age: int) -> None:
        cutoff = self.clock - age
        doomed = [key for key, value in self.model.items() if value[0] < cutoff]
        assert maintenance.purge(self.store, before=cutoff) == len(doomed)
        for key in doomed:
            del self.model[key]

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = HistoryStore(self.folder / "h.sqlite3", self.keys)

    @invariant()
    def same_rows_and_an_intact_audit_log(self) -> None:
        assert self.store.count() == len(self.model)
        assert self.store.audit.verify().ok


HistoryMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestHistoryMachine = HistoryMachine.TestCase
