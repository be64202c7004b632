#!/usr/bin/env bash
# `make run`: the TUI on a project; the TUI starts the daemon (embedded model) if none runs.
# History needs a Secret Service for its key. A desktop session has one. On a headless machine,
# takeaways starts its own (dbus + gnome-keyring, kept running for the daemons and for
# `takeaways …` in other shells): it unlocks, or on first use creates, a login keyring with a
# passphrase typed at this terminal. The passphrase goes down a pipe, never into argv or the
# environment (takeaways_daemon/history/session_keyring.py).
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

if [[ -z ${DBUS_SESSION_BUS_ADDRESS:-} ]] || ! secret_service_answers 2>/dev/null; then
    unset DBUS_SESSION_BUS_ADDRESS
    # Reuses the keyring an earlier run started; asks for the passphrase only when it must.
    session=$(.venv/bin/python -m takeaways_daemon.history.session_keyring ensure) || exit $?
    eval "$session"
fi
.venv/bin/takeaways-tui "$project" && exit 0
status=$?
echo "run: takeaways-tui exited with status $status (see the message above, or \`takeaways status $project\`)" >&2
exit "$status"
