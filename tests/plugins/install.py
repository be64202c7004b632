"""Install a test plugin the way pip does, so the daemon's real entry-point discovery finds it.

pip puts a `NAME-VERSION.dist-info` folder with `METADATA` and `entry_points.txt` beside the
code on `sys.path`; `importlib.metadata.entry_points()` reads exactly that. The plugins' code
stays in this folder, as with an editable install.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from takeaways_daemon.backends.registry import ENTRY_POINT_GROUP

PLUGINS = Path(__file__).parent


def install_plugin(
    site: Path, monkeypatch: pytest.MonkeyPatch, distribution: str, backends: dict[str, str]
) -> Path:
    """Write `distribution`'s dist-info (entry point name → `module:register`) and put it on the
    path for this test only; returns the dist-info folder."""
    dist_info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n"
    )
    entries = "".join(f"{name} = {target}\n" for name, target in backends.items())
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entries}")
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.syspath_prepend(str(site))
    return dist_info
