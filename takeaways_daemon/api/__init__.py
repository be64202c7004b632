"""The daemon's local HTTP API (FastAPI): the only way clients talk to a daemon."""
