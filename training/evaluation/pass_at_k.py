"""The unbiased pass@k estimator of Chen et al. (2021), "Evaluating Large Language Models
Trained on Code": with n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k).

Computed as a running product, which stays exact in floating point where the binomials overflow.
"""

from __future__ import annotations

from collections.abc import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c of them correct) passes.

    >>> pass_at_k(1, 1, 1), pass_at_k(1, 0, 1)
    (1.0, 0.0)
    >>> pass_at_k(10, 3, 1)  # with k = 1 it is just the fraction that passed
    0.3
    >>> round(pass_at_k(10, 3, 5), 4)  # 1 - C(7,5)/C(10,5) = 1 - 21/252
    0.9167
    >>> pass_at_k(5, 4, 2)  # fewer than k failures: some draw always includes a pass
    1.0
    >>> pass_at_k(3, 1, 4)
    Traceback (most recent call last):
    ...
    ValueError: pass@4 needs at least 4 samples per task, got 3
    """
    if not 0 <= c <= n:
        raise ValueError(f"correct count {c} must be between 0 and the sample count {n}")
    if k < 1 or n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    missing = 1.0
    for drawn in range(n - c + 1, n + 1):
        missing *= 1.0 - k / drawn
    return round(1.0 - missing, 12)


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass@k averaged over tasks, from (samples, correct) per task.

    >>> mean_pass_at_k([(1, 1), (1, 0), (1, 0), (1, 1)], 1)
    0.5
    """
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("no tasks to average over")
    return sum(values) / len(values)
