"""Specification of `strip_control`: model text is safe to print in a terminal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeaways_daemon.sanitize import strip_control


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        pytest.param("ok\x1b]0;pwned\x07 done", "ok done", id="OSC title set, BEL-terminated"),
        pytest.param("ok\x1b]0;pwned\x1b\\ done", "ok done", id="OSC title set, ST-terminated"),
        pytest.param("a\x1b[2Jb", "ab", id="CSI clear screen"),
        pytest.param("a\x1b[1;31mred\x1b[0mb", "aredb", id="CSI colours"),
        pytest.param("a\x1b[?1049hb", "ab", id="CSI private mode (alternate screen)"),
        pytest.param(
            "see \x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\ now",
            "see docs now",
            id="OSC 8 hyperlink keeps only its visible text",
        ),
        pytest.param("a\x9b31mb", "ab", id="8-bit CSI"),
        pytest.param("a\x9d0;pwned\x9cb", "ab", id="8-bit OSC"),
        pytest.param("a\x1bPq#0;2;0;0;0\x1b\\b", "ab", id="DCS (sixel)"),
        pytest.param("a\x90q#0\x9cb", "ab", id="8-bit DCS"),
        pytest.param("a\x1b_hidden\x1b\\b", "ab", id="APC"),
        pytest.param("a\x1bcb", "acb", id="bare ESC before a letter"),
        pytest.param("a\x1b7b", "a7b", id="bare ESC before a digit"),
        pytest.param("trailing\x1b", "trailing", id="ESC at the very end"),
        pytest.param("a\x1b]0;never terminated", "a", id="unterminated OSC swallows the rest"),
        pytest.param("password: secret\rpassword: ******", "password: secretpassword: ******",
                     id="CR cannot overwrite a line"),
        pytest.param("a\r\nb\r\n", "a\nb\n", id="CRLF becomes LF"),
        pytest.param("access = 'user\u202e \u2066// admin\u2069\u2066'", "access = 'user // admin'",
                     id="bidi overrides and isolates (Trojan Source)"),
        pytest.param("a\x00b\x08c\x7fd", "abcd", id="NUL, backspace and DEL"),
        pytest.param("bell\x07 vt\x0b ff\x0c", "bell vt ff", id="other C0 controls"),
    ],
)  # fmt: skip
def test_removes_terminal_control(raw: str, clean: str) -> None:
    assert strip_control(raw) == clean


@pytest.mark.parametrize(
    "text",
    [
        "def f(x):\n\treturn x  # tab-indented\n",
        "Größe, naïve café, 日本語, emoji 🎉, math ∑∫",
        "brackets [0m and a lone ] or ^ stay",
        "עברית and العربية are right-to-left without any override",
        "",
    ],
)
def test_keeps_ordinary_text_unchanged(text: str) -> None:
    """Tabs, newlines and any printable Unicode pass through untouched."""
    assert strip_control(text) == text


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Biased towards the characters that matter, so sequences actually form.
_hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\x1b\x07\x9b\x9c\x9d\x90\x98\x9e\x9f[]P^_\\;0m?\r\n\t\u202e\u2066")),
        st.characters(max_codepoint=0x2100),
    ),
    max_size=60,
)


@settings(max_examples=500, database=None, deadline=None)
@given(_hostile_text)
def test_output_never_holds_escape_or_control_characters(text: str) -> None:
    """Whatever goes in, only tab and newline survive among the control characters."""
    assert _UNSAFE.search(strip_control(text)) is None


@settings(max_examples=300, database=None, deadline=None)
@given(_hostile_text)
def test_stripping_twice_changes_nothing_more(text: str) -> None:
    """Clean text stays as it is, so stored text can be re-sanitised safely."""
    once = strip_control(text)
    assert strip_control(once) == once
