"""The learning loop: rounds of training on the suggestions the user accepted (opt-in).

A round reads accepted suggestions (filters.py), mixes them with replay data (mixing.py),
continues training the served adapter (continued_training.py), merges and exports, gates the
candidate against the served model (gate.py) and swaps it in atomically (versions.py).
"""
