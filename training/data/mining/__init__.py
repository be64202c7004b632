"""Training examples mined from real Python source, one per daemon task kind."""

from __future__ import annotations

from training.data.mining.miner import DEFAULT_PER_KIND, MINED_KINDS, MiningReport, mine_records

__all__ = ["DEFAULT_PER_KIND", "MINED_KINDS", "MiningReport", "mine_records"]
