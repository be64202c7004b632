"""Reading one file robustly, fingerprinting the tree, and reconciling (pure, on real files)."""

from __future__ import annotations

import os
from pathlib import Path

from takeaways_daemon.watcher import IgnoreRules
from takeaways_daemon.watcher.file_snapshot import Fingerprint, read_snapshot
from takeaways_daemon.watcher.rescan import reconcile, scan_tree


class TestReadSnapshot:
    def test_text(self, tmp_path: Path) -> None:
        path = tmp_path / "a.py"
        path.write_text("héllo = 1\n")
        snapshot = read_snapshot(path, 1000)
        assert (snapshot.status, snapshot.text) == ("text", "héllo = 1\n")
        assert snapshot.fingerprint == Fingerprint.of(path.stat())

    def test_missing_file_is_gone(self, tmp_path: Path) -> None:
        assert read_snapshot(tmp_path / "nope.py", 1000).status == "gone"
        assert read_snapshot(tmp_path / "nope" / "deeper.py", 1000).status == "gone"

    def test_binary_undecodable_oversized_links_and_fifos_are_skipped(self, tmp_path: Path) -> None:
        (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
        (tmp_path / "latin1.py").write_bytes("café\n".encode("latin-1"))
        (tmp_path / "big.py").write_text("x" * 101)
        (tmp_path / "link.py").symlink_to(tmp_path / "nul.py")
        os.mkfifo(tmp_path / "pipe.py")
        for name in ["nul.py", "latin1.py", "big.py", "link.py", "pipe.py"]:
            assert read_snapshot(tmp_path / name, 100).status == "skipped", name

    def test_a_binary_file_keeps_its_fingerprint_so_rescans_skip_it(self, tmp_path: Path) -> None:
        path = tmp_path / "blob.py"
        path.write_bytes(b"\x00" * 10)
        assert read_snapshot(path, 100).fingerprint == Fingerprint.of(path.stat())


class TestScanTree:
    def test_only_watched_small_regular_files(self, tmp_path: Path) -> None:
        (tmp_path / "pkg").mkdir()
        (tmp_path / "pkg" / "a.py").write_text("a")
        (tmp_path / "node_modules").mkdir()
        (tmp_path / "node_modules" / "x.js").write_text("x")
        (tmp_path / "big.py").write_text("x" * 50)
        (tmp_path / "link.py").symlink_to(tmp_path / "pkg" / "a.py")
        (tmp_path / "linkdir").symlink_to(tmp_path / "pkg", target_is_directory=True)
        found = scan_tree(tmp_path, IgnoreRules(tmp_path), max_file_bytes=10)
        assert found == {"pkg/a.py": Fingerprint.of((tmp_path / "pkg" / "a.py").stat())}


class TestReconcile:
    A, B, C = Fingerprint(1, 1), Fingerprint(2, 2), Fingerprint(3, 3)

    def test_changed_appeared_and_removed(self) -> None:
        known = {"same.py": self.A, "edited.py": self.A, "gone.py": self.A}
        current = {"same.py": self.A, "edited.py": self.B, "new.py": self.C}
        found = reconcile(known, {}, current)
        assert (found.changed, found.removed) == (["edited.py", "new.py"], ["gone.py"])

    def test_known_binaries_are_not_re_read(self) -> None:
        found = reconcile(
            {}, {"blob.py": self.A, "blob2.py": self.A}, {"blob.py": self.A, "blob2.py": self.B}
        )
        assert found.changed == ["blob2.py"]

    def test_a_rules_change_adopts_and_forgets_silently(self, tmp_path: Path) -> None:
        (tmp_path / ".gitignore").write_text("old_hidden/\n")
        before = IgnoreRules(tmp_path)
        (tmp_path / ".gitignore").write_text("now_hidden.py\n")
        after = IgnoreRules(tmp_path)
        known = {"now_hidden.py": self.A, "deleted.py": self.A}
        current = {"old_hidden/a.py": self.B, "brand_new.py": self.C}
        found = reconcile(known, {}, current, rules=after, previous_rules=before)
        assert found.adopted == {"old_hidden/a.py": self.B}
        assert found.forgotten == ["now_hidden.py"]
        assert (found.changed, found.removed) == (["brand_new.py"], ["deleted.py"])
