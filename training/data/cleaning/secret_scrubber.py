"""Secrets scrubbed from training text before a model can memorize them.

Mined code, Q&A exports and accepted suggestions may hold real credentials. Each pattern below
matches one well-known kind; the secret part is replaced by `<REDACTED:kind>` and the rest of
the text (the variable name, the URL's host) is kept so the example still reads naturally.

>>> scrub_secrets("db = 'postgres://admin:hunter22@db.local/app'")[0]
"db = 'postgres://admin:<REDACTED:url-password>@db.local/app'"
"""

from __future__ import annotations

import re
from collections import Counter

# (kind, pattern, group holding the secret: 0 means the whole match)
_PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    (
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
            re.S,
        ),
        0,
    ),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), 0),
    (
        "aws-secret-key",
        re.compile(
            r"(?i)aws.{0,20}?(?:secret|key).{0,20}?['\"=:\s]([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        1,
    ),
    (
        "github-token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
        0,
    ),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), 0),
    (
        "slack-webhook",
        re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+"),
        0,
    ),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), 0),
    ("openai-key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b"), 0),
    ("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), 0),
    ("stripe-key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{20,}\b"), 0),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"), 0),
    ("url-password", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@"), 1),
    (
        "assigned-secret",
        re.compile(
            r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|api_?key|access_?token|auth_?token)"
            r"[\w.-]*['\"]?\s*[:=]\s*['\"]([^'\"\s]{8,})['\"]"
        ),
        1,
    ),
)
# Values that name a secret rather than hold one: keep them, they teach nothing dangerous.
_PLACEHOLDER = re.compile(
    r"(?i)^(?:<.*>|\$\{?\w+\}?|%\(?\w*\)?s|\{\w*\}|x{4,}|\*{4,}|changeme|password\d*|"
    r"your[_-]?\w*|example\w*|dummy\w*|test\w*|secret\w*|redacted\w*|none|null)$"
)


def scrub_secrets(text: str) -> tuple[str, Counter[str]]:
    """`text` with every recognised secret replaced, and how many of each kind were found."""
    found: Counter[str] = Counter()
    for kind, pattern, group in _PATTERNS:

        def replace(match: re.Match[str], kind: str = kind, group: int = group) -> str:
            secret = match.group(group)
            if group and _PLACEHOLDER.match(secret):
                return match.group(0)
            found[kind] += 1
            start, end = match.start(group) - match.start(), match.end(group) - match.start()
            whole = match.group(0)
            return f"{whole[:start]}<REDACTED:{kind}>{whole[end:]}"

        text = pattern.sub(replace, text)
    return text, found
