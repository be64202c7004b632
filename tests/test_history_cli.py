"""Specification of `takeaways history|keys|audit`: click's CliRunner on the real store in this
test's TAKEAWAYS_HOME, and real subprocesses for the "no keyring, stdin closed" faults."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from history_helpers import PLANTED, database_bytes, make_record

from takeaways_daemon import locations
from takeaways_daemon.cli.main import cli
from takeaways_daemon.history.store import HistoryStore
from takeaways_daemon.settings import load_settings


@pytest.fixture
def seeded(isolated_home: Path) -> Path:
    """The default history database with three rows, one accepted and rated."""
    with HistoryStore.open(load_settings().history) as store:
        store.append(make_record(1, created_at=1000.0))
        store.append(make_record(2, kind="docstring", created_at=2000.0))
        hostile = make_record(3, created_at=3000.0)
        hostile.title = "Innocent \x1b[2J\x1b]0;pwned\x07title"
        store.append(hostile)
        store.record_outcome("s0000001", "accepted", 1)
    return locations.history_db_path()


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        return 1, f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.output


class TestReading:
    def test_list_shows_rows_newest_first_without_terminal_escapes(self, seeded: Path) -> None:
        code, output = run("history", "list")
        assert code == 0
        lines = output.splitlines()
        assert [line.split()[0] for line in lines[:3]] == ["s0000003", "s0000002", "s0000001"]
        assert "\x1b" not in output and "Innocent" in output
        assert "accepted +1" in lines[2]
        assert "3 of 3 rows" in lines[3]

    def test_list_filters_and_prints_json(self, seeded: Path) -> None:
        code, output = run("history", "list", "--kind", "docstring", "--json")
        assert code == 0
        report = json.loads(output)
        assert report["total"] == 1 and report["items"][0]["id"] == "s0000002"

    def test_search_finds_decrypted_text(self, seeded: Path) -> None:
        code, output = run("history", "search", "MISSING COLON 2")
        assert code == 0 and output.startswith("s0000002")

    def test_show_prints_the_patch_context_and_prompt(self, seeded: Path) -> None:
        code, output = run("history", "show", "s0000001")
        assert code == 0
        assert "+def add(a, b):" in output and PLANTED in output and "### Instruction" in output
        code, output = run("history", "show", "nope")
        assert code == 1 and "no history row 'nope'" in output

    def test_reading_with_no_history_says_so_and_creates_nothing(self) -> None:
        code, output = run("history", "list")
        assert code == 0 and "no history yet" in output
        assert not locations.history_db_path().exists()


class TestWriting:
    def test_export_refuses_to_overwrite_and_is_audited(self, seeded: Path, tmp_path: Path) -> None:
        target = tmp_path / "export.jsonl"
        code, output = run("history", "export", str(target))
        assert code == 0 and "exported 3 rows" in output
        assert len(target.read_text().splitlines()) == 3
        code, output = run("history", "export", str(target))
        assert code == 1 and "exists" in output
        code, output = run("audit", "list", "--json")
        assert [entry["action"] for entry in json.loads(output)] == ["export"]

    def test_purge_needs_confirmation_without_a_terminal(self, seeded: Path) -> None:
        code, output = run("history", "purge", "--before", "1970-01-01T00:30:00+00:00")
        assert code != 0 and "--yes" in output
        code, output = run("history", "purge", "--before", "1970-01-01T00:30:00+00:00", "--yes")
        assert (code, output.strip()) == (0, "purged 1 rows")
        code, output = run("history", "purge", "--id", "s0000003", "--yes")
        assert (code, output.strip()) == (0, "purged 1 rows")
        assert json.loads(run("history", "list", "--json")[1])["total"] == 1

    def test_keys_rotate_keeps_every_row_readable(self, seeded: Path) -> None:
        code, output = run("keys", "rotate")
        assert code == 0 and "rotated: 3 rows" in output
        code, output = run("history", "show", "s0000002", "--json")
        assert json.loads(output)["title"] == "Add the missing colon 2"

    def test_audit_verify_passes_then_catches_an_edit(self, seeded: Path) -> None:
        run("keys", "rotate")
        run("history", "purge", "--id", "s0000001", "--yes")
        code, output = run("audit", "verify")
        assert code == 0 and "intact: 2 entries" in output
        with sqlite3.connect(seeded) as raw:
            raw.execute("DROP TRIGGER audit_log_no_update")
            raw.execute("UPDATE audit_log SET action = 'nothing' WHERE seq = 2")
        code, output = run("audit", "verify")
        assert code == 1 and "entry 2 (nothing) was edited" in output


def takeaways(env: dict[str, str], *args: str, close_stdin: bool = True):  # type: ignore[no-untyped-def]
    """The real CLI in a process whose stdin is closed (not even /dev/null), like a service's."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "takeaways_daemon", *args],
        capture_output=True, text=True, timeout=60, env=env,
        stdin=subprocess.DEVNULL if not close_stdin else None,
        preexec_fn=(lambda: os.close(0)) if close_stdin else None,
    )  # fmt: skip
    return result, time.monotonic() - started


class TestNoKeyring:
    @pytest.mark.parametrize(
        "breakage",
        [
            {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
            {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"},
        ],
        ids=["no-backend", "no-secret-service"],
    )
    def test_a_clear_error_within_5_s_and_the_file_unchanged(
        self, seeded: Path, breakage: dict[str, str]
    ) -> None:
        before = database_bytes(seeded)
        result, took = takeaways({**os.environ, **breakage}, "history", "list")
        assert took < 5
        assert result.returncode not in (0, None)
        assert "Secret Service" in result.stderr and "passphrase-file" in result.stderr
        assert "history.enabled = false" in result.stderr
        assert "Traceback" not in result.stderr
        assert database_bytes(seeded) == before

    def test_the_daemon_refuses_to_start_and_writes_nothing(self, tmp_path: Path) -> None:
        project = tmp_path / "project"
        project.mkdir()
        env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        result, took = takeaways(env, "start", str(project))
        assert result.returncode != 0 and took < 30
        assert "no usable OS keyring" in result.stderr and "passphrase-file" in result.stderr
        assert not locations.history_db_path().exists()

    def test_purge_with_stdin_closed_asks_for_yes_instead_of_crashing(self, seeded: Path) -> None:
        before = database_bytes(seeded)
        result, took = takeaways(dict(os.environ), "history", "purge", "--all")
        assert took < 30 and result.returncode not in (0, None)
        assert "--yes" in result.stderr and "Traceback" not in result.stderr
        assert database_bytes(seeded) == before

    def test_the_passphrase_file_needs_the_variable_when_stdin_is_closed(
        self, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TAKEAWAYS_HISTORY__KEY_SOURCE", "passphrase-file")
        monkeypatch.setenv("TAKEAWAYS_HISTORY_PASSPHRASE", "the right passphrase")
        with HistoryStore.open(load_settings().history) as store:
            store.append(make_record(1))
        env = dict(os.environ)
        del env["TAKEAWAYS_HISTORY_PASSPHRASE"]
        result, took = takeaways(env, "history", "list")
        assert took < 5 and result.returncode != 0
        assert "stdin is not a terminal; set TAKEAWAYS_HISTORY_PASSPHRASE" in result.stderr
        result, _ = takeaways({**env, "TAKEAWAYS_HISTORY_PASSPHRASE": "wrong"}, "history", "list")
        assert result.returncode != 0 and "wrong passphrase" in result.stderr
        result, _ = takeaways(
            {**env, "TAKEAWAYS_HISTORY_PASSPHRASE": "the right passphrase"}, "history", "list"
        )
        assert result.returncode == 0 and result.stdout.startswith("s0000001")
