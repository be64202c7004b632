"""Cleaning steps: secrets scrubbed, duplicates removed, evaluation problems kept out."""
