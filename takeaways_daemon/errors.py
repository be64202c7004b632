"""Typed errors: each says what happened and what to do; the CLI prints them as one line."""

from __future__ import annotations


class TakeawaysError(Exception):
    """Base of every error takeaways raises on purpose."""

    exit_code = 1


class ConfigError(TakeawaysError):
    """Settings could not be read."""

    exit_code = 2


class BackendUnavailable(TakeawaysError):
    """A model backend cannot answer now (down, missing model, timed out)."""


class ModelNotFound(BackendUnavailable):
    """The backend runs, but does not have the requested model."""


class BackendStalled(BackendUnavailable):
    """The backend stopped producing output within the allowed time."""


class PromptTooLong(TakeawaysError):
    """The prompt does not fit the model's context: the request's fault, not the backend's.

    Deliberately not a `BackendUnavailable`, so the backend is not marked down for it.
    """


class MalformedAnswer(TakeawaysError):
    """The model's answer does not follow the prompt format."""


class PatchRejected(TakeawaysError):
    """A patch does not apply, leaves the project, or breaks the file."""


class FileChangedError(PatchRejected):
    """The file changed since the suggestion was made, so applying it could lose work."""


class DaemonNotRunning(TakeawaysError):
    """No daemon serves this project."""

    exit_code = 3
