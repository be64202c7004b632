#!/usr/bin/env bash
# `make run`: the TUI on a project; the TUI starts the daemon (embedded model) if none runs.
# History needs a Secret Service for its key. A desktop session has one. On a headless machine,
# start gnome-keyring for this session around the TUI: it unlocks (or creates, on first use) your
# persistent login keyring with a passphrase you type, so the key is never stored in the clear.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(realpath "${1:-.}")

secret_service_answers() {
    .venv/bin/python - <<'PY'
import sys

import keyring
from keyring.backends import fail

sys.exit(1 if isinstance(keyring.get_keyring(), fail.Keyring) else 0)
PY
}

if secret_service_answers 2>/dev/null; then
    exec .venv/bin/takeaways-tui "$project"
fi
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
    echo "run: no Secret Service, and dbus/gnome-keyring are not installed (scripts/setup.sh installs them)" >&2
    exit 1
fi
echo "run: no Secret Service is running; starting gnome-keyring for this session."
read -rsp "Login keyring passphrase (sets it on first use): " passphrase
echo
# The daemon the TUI starts uses this session's keyring: quit the TUI with "stop the daemon".
exec dbus-run-session -- bash -c '
    printf %s "$0" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec .venv/bin/takeaways-tui "$1"' "$passphrase" "$project"
