"""Evaluation: sandboxed HumanEval / MBPP pass@k, explanation quality, and reports.

Importable without torch: only the Hugging Face model runner imports it, and only when used.
"""
