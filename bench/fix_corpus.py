"""The code `bench/fix.py` injects bugs into: small working functions the miner never saw.

Each module holds one function (so a bug in the module is a bug in that function) and comes with
its own test file. They are written for this benchmark, so no training data was mined from them.
"""

from __future__ import annotations

MODULES: dict[str, tuple[str, str]] = {
    "cart": (
        '''\
def total(prices):
    """The sum of all prices."""
    result = 0
    for price in prices:
        result += price
    return result
''',
        """\
from cart import total


def test_total():
    assert total([4, 1, 5]) == 10


def test_total_of_nothing():
    assert total([]) == 0
""",
    ),
    "grades": (
        '''\
def passed(scores, threshold):
    """How many scores reach the threshold."""
    count = 0
    for score in scores:
        if score >= threshold:
            count += 1
    return count
''',
        """\
from grades import passed


def test_passed_counts_the_threshold_itself():
    assert passed([50, 49, 80], 50) == 2


def test_none_passed():
    assert passed([1, 2], 10) == 0
""",
    ),
    "ranges": (
        '''\
def clamp(value, low, high):
    """`value` limited to the range low..high."""
    if value < low:
        return low
    if value > high:
        return high
    return value
''',
        """\
from ranges import clamp


def test_inside():
    assert clamp(5, 0, 10) == 5


def test_below_and_above():
    assert clamp(-3, 0, 10) == 0
    assert clamp(42, 0, 10) == 10
""",
    ),
    "averages": (
        '''\
def mean(values):
    """The arithmetic mean of a non-empty list."""
    total = 0
    for value in values:
        total += value
    return total / len(values)
''',
        """\
from averages import mean


def test_mean():
    assert mean([2, 4, 6]) == 4


def test_single():
    assert mean([7]) == 7
""",
    ),
    "words": (
        '''\
def longest(words):
    """The longest word (the first one on a tie)."""
    best = ""
    for word in words:
        if len(word) > len(best):
            best = word
    return best
''',
        """\
from words import longest


def test_longest():
    assert longest(["a", "abc", "ab"]) == "abc"


def test_first_on_a_tie():
    assert longest(["ab", "cd"]) == "ab"
""",
    ),
    "series": (
        '''\
def last_n(items, n):
    """The last `n` items, in order."""
    start = len(items) - n
    if start < 0:
        start = 0
    return items[start:]
''',
        """\
from series import last_n


def test_last_two():
    assert last_n([1, 2, 3, 4], 2) == [3, 4]


def test_all():
    assert last_n([1, 2], 2) == [1, 2]


def test_more_than_there_are():
    assert last_n([1, 2], 5) == [1, 2]
""",
    ),
    "money": (
        '''\
def split_bill(amount, people):
    """Each person's share, rounded down to whole cents."""
    cents = int(amount * 100)
    share = cents // people
    return share / 100
''',
        """\
from money import split_bill


def test_even_split():
    assert split_bill(10, 4) == 2.5


def test_rounds_down():
    assert split_bill(10, 3) == 3.33
""",
    ),
    "counting": (
        '''\
def count_vowels(text):
    """How many vowels the text holds."""
    count = 0
    for char in text.lower():
        if char in "aeiou":
            count += 1
    return count
''',
        """\
from counting import count_vowels


def test_vowels():
    assert count_vowels("Banana") == 3


def test_none():
    assert count_vowels("xyz") == 0
""",
    ),
    "steps": (
        '''\
def countdown(start):
    """The numbers from start down to 1."""
    numbers = []
    for number in range(start, 0, -1):
        numbers.append(number)
    return numbers
''',
        """\
from steps import countdown


def test_countdown():
    assert countdown(3) == [3, 2, 1]


def test_zero():
    assert countdown(0) == []
""",
    ),
    "scaling": (
        '''\
def scale(values, factor):
    """Each value times the factor."""
    scaled = []
    for value in values:
        scaled.append(value * factor)
    return scaled
''',
        """\
from scaling import scale


def test_scale():
    assert scale([1, 2], 3) == [3, 6]


def test_by_one():
    assert scale([5], 1) == [5]
""",
    ),
}
"""Module name → (its source, its tests: `tests/test_<name>.py`)."""
