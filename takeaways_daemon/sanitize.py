"""Make untrusted text (model output, file names) safe to print in a terminal.

Model text may carry escape sequences that retitle the terminal, clear it, move the cursor or
smuggle hyperlinks. They are removed before anything is stored or shown.

>>> strip_control("ok\\x1b]0;pwned\\x07 \\x1b[2Jdone\\r\\n")
'ok done\\n'
"""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC (ESC P|X|^|_ … ST), and the
# two-byte escapes; then the 8-bit C1 forms of the same.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?
    | \x1b[@-Z\\-_]
    | \x1b
    | \x9b[0-?]*[ -/]*[@-~]
    | \x9d[^\x07\x9c]*(?:\x07|\x9c)?
    | [\x90\x98\x9e\x9f][^\x9c]*\x9c?
    """,
    re.VERBOSE,
)
# Control characters other than tab and newline (CR is dropped: it can overwrite a line).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional overrides can make code read differently from how it runs (Trojan Source).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_control(text: str) -> str:
    """Remove terminal escape sequences, control characters and bidi overrides."""
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n")
    text = _CONTROLS.sub("", text)
    return _BIDI.sub("", text)
