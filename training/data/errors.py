"""Errors of the training-data pipeline: each names what is wrong and how to fix it."""

from __future__ import annotations

from takeaways_daemon.errors import TakeawaysError


class DataError(TakeawaysError):
    """A training-data source or option cannot be used as given."""

    exit_code = 2


class DataFileError(DataError):
    """A local data file is missing, unreadable, empty or not Alpaca-shaped."""


class HubSourceUnavailable(DataError):
    """A named hub data set cannot be loaded here (offline, unknown id, no `datasets`)."""
